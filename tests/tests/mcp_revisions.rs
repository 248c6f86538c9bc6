//! Every MCP revision we support, driven by rmcp's real client against the notes example server
//! behind the layer, with the development authorization server, over loopback only.
//!
//! For each of `2025-06-18`, `2025-11-25` (the `initialize` handshake) and `2026-07-28`
//! (`server/discover`, per-request metadata, the standard `Mcp-Method` / `Mcp-Name` headers):
//! - the authorization flow: `401` with a challenge → protected-resource metadata →
//!   authorization-server metadata → registration → PKCE authorization → token;
//! - per-tool scopes: `create_note` with a `read:notes` token is refused `403
//!   insufficient_scope` before the tool runs;
//! - a task of user A (`export_notes` under the Tasks extension) is refused to user B's own rmcp
//!   client (`tasks/get`, `tasks/cancel`), and still served to A;
//! - headers that disagree with the body get `400` (from 2026-07-28 missing ones too), and the
//!   tool does not run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{Notes, app_with_sessions};
use mcp_auth_tests::{bind, spawn};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities, ClientConfig,
    GetTaskParams, Implementation, ProtocolVersion, TaskStatus,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationCallback, AuthorizationManager};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt as _, ServiceExt as _};
use serde_json::{Value, json};

const REDIRECT_URI: &str = "http://127.0.0.1:33419/callback";

/// One request as the server saw it (outermost layer, so refusals are seen too).
#[derive(Debug, Clone)]
struct Seen {
    /// The JSON-RPC method, with the tool name for `tools/call`.
    rpc: Option<String>,
    /// The `Authorization` header's token, to tell users apart.
    token: Option<String>,
    protocol_version: Option<String>,
    mcp_method: Option<String>,
    status: u16,
    www_authenticate: Option<String>,
    /// The `Mcp-Session-Id` the server issued in its answer.
    issued_session: Option<String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let rpc = serde_json::from_slice::<Value>(&bytes).ok().and_then(|m| {
        let method = m.get("method")?.as_str()?.to_owned();
        Some(match m.pointer("/params/name").and_then(Value::as_str) {
            Some(name) if method == "tools/call" => format!("{method} {name}"),
            _ => method,
        })
    });
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let token = header("authorization").map(|v| v.trim_start_matches("Bearer ").to_owned());
    let protocol_version = header("mcp-protocol-version");
    let mcp_method = header("mcp-method");
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let issued_session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    log.lock().unwrap().push(Seen {
        issued_session,
        rpc,
        token,
        protocol_version,
        mcp_method,
        status: response.status().as_u16(),
        www_authenticate: response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    response
}

struct World {
    idp: AuthorizationServer,
    mcp_url: String,
    log: Log,
}

impl World {
    async fn start() -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let mcp_url = format!("{origin}/mcp");
        let notes = Notes::builder()
            .id(&mcp_url)
            .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
                .await
                .unwrap()])
            .build()
            .await
            .unwrap();
        let log = Log::default();
        spawn(
            listener,
            app_with_sessions(&notes)
                .layer(axum::middleware::from_fn_with_state(log.clone(), record)),
        );
        Self { idp, mcp_url, log }
    }

    /// A token for the MCP endpoint, of user `subject` with `scopes`.
    fn token(&self, subject: &str, scopes: &[&str]) -> String {
        self.idp
            .token()
            .subject(subject)
            .audience(self.mcp_url.as_str())
            .scopes(scopes.iter().copied())
            .mint()
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// What the server answered to the last request with this JSON-RPC method.
    fn last(&self, rpc: &str) -> Seen {
        self.seen()
            .into_iter()
            .rev()
            .find(|s| s.rpc.as_deref() == Some(rpc))
            .unwrap_or_else(|| panic!("no {rpc} request seen: {:?}", self.seen()))
    }

    fn config(&self) -> StreamableHttpClientTransportConfig {
        StreamableHttpClientTransportConfig::with_uri(self.mcp_url.clone())
    }

    /// The whole authorization flow, done by rmcp's OAuth client for the development server's
    /// user, for `read:notes` only: returns the authorized HTTP client.
    async fn authorize(&self, revision: &ProtocolVersion) -> AuthClient<reqwest::Client> {
        let refused = connect_with(
            StreamableHttpClientTransport::with_client(reqwest::Client::new(), self.config()),
            revision,
        )
        .await
        .expect_err("the server requires a token");
        let challenge = refused
            .auth_challenge()
            .unwrap_or_else(|| panic!("a 401 challenge, got {refused:?}"))
            .to_owned();
        assert!(challenge.contains("resource_metadata="), "{challenge}");
        let first = self.seen();
        assert_eq!(
            first.iter().map(|s| s.status).collect::<Vec<_>>(),
            [401],
            "one request before the challenge: {first:?}"
        );

        let mut manager = AuthorizationManager::new(self.mcp_url.as_str())
            .await
            .unwrap();
        let discovered = manager
            .resolve_metadata_from_challenge(Some(&challenge))
            .await
            .unwrap();
        assert_eq!(
            discovered.metadata.issuer.as_deref(),
            Some(self.idp.issuer())
        );
        manager.set_metadata(discovered.metadata);
        manager
            .register_client(
                "revisions e2e",
                REDIRECT_URI,
                &["read:notes", "write:notes"],
            )
            .await
            .unwrap();
        let url = manager
            .get_authorization_url(&["read:notes"])
            .await
            .unwrap();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let redirect = browser.get(&url).send().await.unwrap();
        let location = redirect.headers()["location"].to_str().unwrap().to_owned();
        let callback = AuthorizationCallback::from_redirect_url(&location).unwrap();
        manager
            .exchange_code_for_token_with_issuer(
                &callback.code,
                &callback.csrf_token,
                callback.issuer.as_deref(),
            )
            .await
            .unwrap();
        AuthClient::new(reqwest::Client::new(), manager)
    }
}

/// Connects rmcp's client at `revision`, declaring the Tasks extension: the `initialize`
/// handshake before 2026-07-28, `server/discover` from then on.
async fn connect_with<T, E, A>(
    transport: T,
    revision: &ProtocolVersion,
) -> Result<RunningService<RoleClient, ClientConfig>, rmcp::service::ClientInitializeError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("mcp-auth revisions test", "1.0.0"),
    )
    .with_protocol_version(revision.clone());
    if revision.has_initialize() {
        info.serve(transport).await
    } else {
        info.serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![revision.clone()],
            },
        )
        .await
    }
}

fn call(tool: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object");
    };
    CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments)
}

/// The standard headers rmcp's client sends at 2026-07-28 (and that we send by hand here).
fn raw_headers(revision: &ProtocolVersion, token: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert(
        "accept",
        "application/json, text/event-stream".parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("mcp-protocol-version", revision.as_str().parse().unwrap());
    headers
}

async fn revision(revision: ProtocolVersion) {
    let world = World::start().await;

    // 1. 401 → metadata → token, by rmcp's OAuth client.
    let auth = world.authorize(&revision).await;
    let alice = connect_with(
        StreamableHttpClientTransport::with_client(auth.clone(), world.config()),
        &revision,
    )
    .await
    .expect("connected with the token");
    let listed = alice
        .call_tool(call("list_notes", json!({})))
        .await
        .expect("list_notes with read:notes");
    assert_ne!(listed.is_error, Some(true), "{listed:?}");
    let seen = world.last("tools/call list_notes");
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.protocol_version.as_deref(),
        Some(revision.as_str()),
        "the client negotiated {revision}"
    );
    if !revision.has_initialize() {
        assert_eq!(
            seen.mcp_method.as_deref(),
            Some("tools/call"),
            "SEP-2243 headers"
        );
    }
    let alice_token = seen.token.clone().expect("a bearer token");

    // 2. Per-tool scopes, before dispatch.
    let refused = alice
        .call_tool(call("create_note", json!({"text": "nope"})))
        .await;
    assert!(
        refused.is_err(),
        "create_note needs write:notes: {refused:?}"
    );
    let seen = world.last("tools/call create_note");
    assert_eq!(seen.status, 403);
    let challenge = seen.www_authenticate.unwrap_or_default();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#) && challenge.contains("write:notes"),
        "{challenge}"
    );

    // 3. A task of Alice, refused to Bob's own client and still served to Alice.
    let created = alice
        .call_tool_once(call("export_notes", json!({})))
        .await
        .expect("export_notes");
    let CallToolResponse::Task(created) = created else {
        panic!("a client with the Tasks extension gets a task: {created:?}");
    };
    let task_id = created.task.task_id.clone();
    let bob_token = world.token("bob", &["read:notes", "write:notes"]);
    let bob = connect_with(
        StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            world.config().auth_header(bob_token.clone()),
        ),
        &revision,
    )
    .await
    .expect("Bob connects with his own token");
    let stolen = bob.get_task(GetTaskParams::new(task_id.clone())).await;
    assert!(stolen.is_err(), "Bob cannot read Alice's task: {stolen:?}");
    assert_eq!(world.last("tasks/get").status, 404);
    let cancelled = bob
        .cancel_task(CancelTaskParams::new(task_id.clone()))
        .await;
    assert!(cancelled.is_err(), "Bob cannot cancel Alice's task");
    assert_eq!(world.last("tasks/cancel").status, 404);
    let mut status = TaskStatus::Working;
    for _ in 0..100 {
        let task = alice
            .get_task(GetTaskParams::new(task_id.clone()))
            .await
            .expect("Alice reads her own task");
        status = task.task.task.status;
        if status != TaskStatus::Working {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, TaskStatus::Completed, "Alice's export finished");
    assert_eq!(world.last("tasks/get").status, 200);

    // 3b. Before 2026-07-28: Alice's session, refused to Bob's token (and to no token).
    if revision.has_initialize() {
        let session = world
            .seen()
            .into_iter()
            .find(|s| {
                s.token.as_deref() == Some(alice_token.as_str()) && s.issued_session.is_some()
            })
            .and_then(|s| s.issued_session)
            .expect("the server issued Alice a session");
        let list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
        let post = |token: Option<&str>| {
            let mut request = reqwest::Client::new()
                .post(&world.mcp_url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", revision.as_str())
                .header("mcp-session-id", &session)
                .json(&list);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        assert_eq!(
            post(Some(&bob_token)).await.unwrap().status(),
            404,
            "Bob with Alice's session"
        );
        assert_eq!(
            post(None).await.unwrap().status(),
            401,
            "Alice's session without a token"
        );
        assert_eq!(
            post(Some(&alice_token)).await.unwrap().status(),
            200,
            "Alice's own session"
        );
    }

    // 4. Headers that disagree with the body: 400 before the scope decision, the tool does not
    //    run. (Bob holds write:notes: without the check, his create_note would run.)
    let http = reqwest::Client::new();
    let mut headers = raw_headers(&revision, &bob_token);
    headers.insert("mcp-method", "tools/call".parse().unwrap());
    headers.insert("mcp-name", "list_notes".parse().unwrap());
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "create_note", "arguments": {"text": "smuggled"},
            "_meta": {"io.modelcontextprotocol/protocolVersion": revision.as_str()}}});
    let response = http
        .post(&world.mcp_url)
        .headers(headers)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        400,
        "Mcp-Name says list_notes, the body calls create_note"
    );
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], -32020, "{error}");
    assert_eq!(error["id"], 9);
    let bob_notes = bob.call_tool(call("list_notes", json!({}))).await.unwrap();
    assert_eq!(
        bob_notes.structured_content,
        Some(json!({"notes": []})),
        "the smuggled create_note did not run"
    );

    if !revision.has_initialize() {
        // From 2026-07-28 on, the headers are required.
        let response = http
            .post(&world.mcp_url)
            .headers(raw_headers(&revision, &alice_token))
            .json(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                "params": {"name": "list_notes", "arguments": {}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            400,
            "Mcp-Method and Mcp-Name are missing"
        );
    }
    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}

#[tokio::test]
async fn revision_2025_06_18_authorizes_scopes_tools_binds_tasks_and_checks_headers() {
    tokio::time::timeout(
        Duration::from_secs(60),
        revision(ProtocolVersion::V_2025_06_18),
    )
    .await
    .expect("finishes within 60 s");
}

#[tokio::test]
async fn revision_2025_11_25_authorizes_scopes_tools_binds_tasks_and_checks_headers() {
    tokio::time::timeout(
        Duration::from_secs(60),
        revision(ProtocolVersion::V_2025_11_25),
    )
    .await
    .expect("finishes within 60 s");
}

#[tokio::test]
async fn revision_2026_07_28_authorizes_scopes_tools_binds_tasks_and_checks_headers() {
    tokio::time::timeout(
        Duration::from_secs(60),
        revision(ProtocolVersion::V_2026_07_28),
    )
    .await
    .expect("finishes within 60 s");
}

/// The issue's acceptance case, on its own: `Mcp-Name: list_notes` while the body calls
/// `create_note`, with a token holding only `read:notes`: `400`, and the tool does not run.
#[tokio::test]
async fn sep2243_mcp_name_list_notes_with_a_create_note_body_is_400_and_nothing_runs() {
    let world = World::start().await;
    let token = world.token("carol", &["read:notes"]);
    let revision = ProtocolVersion::V_2026_07_28;
    let mut headers = raw_headers(&revision, &token);
    headers.insert("mcp-method", "tools/call".parse().unwrap());
    headers.insert("mcp-name", "list_notes".parse().unwrap());
    let response = reqwest::Client::new()
        .post(&world.mcp_url)
        .headers(headers)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "create_note", "arguments": {"text": "x"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "a malformed request, not a scope refusal"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32020, "{body}");
    // Nothing ran: the only request the server saw is this one, answered by the layer.
    let seen = world.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
}

/// `tools/call`, `prompts/get` and `resources/read` whose params are not an object, or whose
/// `name` / `uri` is missing or not a string, are answered `400` with JSON-RPC `-32602`
/// (invalid params) by the layer, with the request's id, in every revision: never passed to the
/// server, which would answer another code (`-32601`, or `415` for a string or an array).
#[tokio::test]
async fn named_operations_with_malformed_params_are_invalid_params_in_every_revision() {
    let world = World::start().await;
    let token = world.token("dave", &["read:notes", "write:notes"]);
    let http = reqwest::Client::new();
    let cases = [
        ("tools/call", Some(json!([]))),
        ("tools/call", Some(json!("create_note"))),
        ("tools/call", None),
        ("tools/call", Some(json!({"arguments": {}}))),
        ("tools/call", Some(json!({"name": 7}))),
        ("tools/call", Some(json!({"name": ["create_note"]}))),
        ("prompts/get", Some(json!([]))),
        ("prompts/get", Some(json!({"name": null}))),
        ("resources/read", Some(json!("notes://stats"))),
        ("resources/read", Some(json!({"uri": 1}))),
        ("resources/read", Some(json!({"name": "notes://stats"}))),
    ];
    let mut id = 100;
    for revision in [
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
        ProtocolVersion::V_2026_07_28,
    ] {
        for (method, params) in &cases {
            id += 1;
            let mut body = json!({"jsonrpc": "2.0", "id": id, "method": method});
            if let Some(params) = params {
                body["params"] = params.clone();
            }
            let mut headers = raw_headers(&revision, &token);
            headers.insert("mcp-method", method.parse().unwrap());
            let response = http
                .post(&world.mcp_url)
                .headers(headers)
                .json(&body)
                .send()
                .await
                .unwrap();
            let case = format!("{revision} {body}");
            assert_eq!(response.status(), 400, "{case}");
            assert!(
                response.headers().get("www-authenticate").is_none(),
                "{case}"
            );
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["id"], id, "{case}");
            assert_eq!(answer["error"]["code"], -32602, "{case}: {answer}");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("Invalid params: {method} needs params")),
                "{case}: {message}"
            );
        }
    }
}
