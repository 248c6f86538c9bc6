//! rmcp's own OAuth client (the Rust MCP SDK, as used by Codex and other Rust MCP hosts) against
//! the notes example server and the development authorization server, over loopback only.
//!
//! The whole MCP authorization flow, each step done by rmcp's code and checked here:
//! connect → `401` with a challenge → protected-resource metadata (RFC 9728) →
//! authorization-server metadata (RFC 8414) → dynamic client registration (RFC 7591) →
//! authorization request with PKCE `S256` and `resource` (RFC 8707); the test plays the
//! browser and follows the authorization URL, reading `code`, `state` and `iss` (RFC 9207) from
//! the redirect → token request → `tools/list`, `whoami`; then step-up: `create_note` with the
//! read-only token → `403 insufficient_scope` → rmcp asks for a new authorization with the
//! challenged scope → new token → `create_note` succeeds and `list_notes` shows the note.
//!
//! And in every revision rmcp's client speaks (2025-06-18 and 2025-11-25 with the `initialize`
//! handshake, 2026-07-28 with `server/discover`): lists filtered to what a `write:notes` token
//! may use, then a step-up on a prompt (`summarize_notes`) and on a templated resource
//! (`notes://note/{id}`), both needing `read:notes`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{bind, spawn};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
    GetPromptRequestParams, Implementation, ProtocolVersion, ReadResourceRequestParams,
};
use rmcp::service::{ClientInitializeError, Peer, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{
    AuthClient, AuthorizationCallback, AuthorizationManager, AuthorizationMetadataSource,
    WWWAuthenticateParams,
};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt as _, ServiceExt as _};
use serde_json::{Value, json};

/// Where the authorization server sends the browser back. Nothing listens there: the test
/// reads the redirect's `Location` instead of following it.
const REDIRECT_URI: &str = "http://127.0.0.1:33418/callback";

/// One request as the MCP server saw it, before authentication.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// `"POST /mcp"`, `"GET /.well-known/..."`.
    request: String,
    /// The JSON-RPC method, with the tool or prompt name for `tools/call` and `prompts/get`
    /// (`"tools/call create_note"`), the URI for `resources/read`.
    rpc: Option<String>,
    bearer: bool,
    /// The `MCP-Protocol-Version` header.
    protocol_version: Option<String>,
    status: u16,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Records every request the MCP server receives (outermost layer, so rejections are seen).
async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .expect("a test request body under 1 MiB");
    let rpc = serde_json::from_slice::<Value>(&bytes).ok().and_then(|m| {
        let method = m.get("method")?.as_str()?.to_owned();
        let target = match method.as_str() {
            "tools/call" | "prompts/get" => m.pointer("/params/name"),
            "resources/read" => m.pointer("/params/uri"),
            _ => None,
        };
        Some(match target.and_then(Value::as_str) {
            Some(target) => format!("{method} {target}"),
            None => method,
        })
    });
    let request = format!("{} {}", parts.method, parts.uri.path());
    let bearer = parts.headers.contains_key(http::header::AUTHORIZATION);
    let protocol_version = parts
        .headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    log.lock().unwrap().push(Seen {
        request,
        rpc,
        bearer,
        protocol_version,
        status: response.status().as_u16(),
    });
    response
}

struct World {
    idp: AuthorizationServer,
    mcp_url: String,
    log: Log,
    /// A browser that does not follow redirects.
    browser: reqwest::Client,
}

impl World {
    /// The dev authorization server and the notes example server, both on random loopback
    /// ports (bind first, then give the server its identifier).
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
            app(&notes).layer(axum::middleware::from_fn_with_state(log.clone(), record)),
        );
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            idp,
            mcp_url,
            log,
            browser,
        }
    }

    fn transport_config(&self) -> StreamableHttpClientTransportConfig {
        StreamableHttpClientTransportConfig::with_uri(self.mcp_url.clone())
    }

    /// Plays the user's browser: opens the authorization URL, which the dev server (automatic
    /// consent) answers with a redirect to the client's redirect URI; returns that URL.
    async fn sign_in(&self, authorization_url: &str) -> String {
        let response = self.browser.get(authorization_url).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "the authorization endpoint redirects back, got {} {:?}",
            response.status(),
            response.text().await
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(REDIRECT_URI),
            "redirected to the registered redirect URI: {location}"
        );
        assert_eq!(
            query(&location, "error"),
            None,
            "authorization refused: {location}"
        );
        let callback = AuthorizationCallback::from_redirect_url(&location).unwrap();
        assert_eq!(
            callback.issuer.as_deref(),
            Some(self.idp.issuer()),
            "RFC 9207 `iss` in the authorization response"
        );
        location
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn structured(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {result:?}");
    result
        .structured_content
        .as_ref()
        .expect("the tool returns structured content")
}

async fn call(
    client: &Peer<RoleClient>,
    tool: &'static str,
    arguments: Value,
) -> Result<CallToolResult, ServiceError> {
    let Value::Object(arguments) = arguments else {
        panic!("tool arguments are an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
}

#[tokio::test]
async fn rmcp_client_authorizes_steps_up_and_calls_the_notes_tools() {
    tokio::time::timeout(Duration::from_secs(50), flow())
        .await
        .expect("the whole flow finishes within 50 s");
}

async fn flow() {
    let world = World::start().await;

    // 1. No credentials: the connection fails with the 401 challenge, which rmcp exposes.
    let refused = ()
        .serve(StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            world.transport_config(),
        ))
        .await
        .expect_err("the server requires a token");
    assert!(refused.is_authorization_required(), "{refused:?}");
    let challenge = refused
        .auth_challenge()
        .expect("the 401 carries WWW-Authenticate")
        .to_owned();
    assert_valid_bearer(&challenge);
    let params =
        WWWAuthenticateParams::parse(&challenge, &url::Url::parse(&world.mcp_url).unwrap());
    assert_eq!(
        params.resource_metadata_url.as_ref().map(url::Url::as_str),
        Some(
            format!(
                "{}/.well-known/oauth-protected-resource/mcp",
                origin(&world.mcp_url)
            )
            .as_str()
        )
    );
    let first = world.seen();
    assert_eq!(first.len(), 1, "one request before giving up: {first:?}");
    assert_eq!((first[0].bearer, first[0].status), (false, 401));

    // 2. Discovery from the challenge: the protected-resource metadata it names, then the
    //    authorization server's metadata.
    let mut manager = AuthorizationManager::new(world.mcp_url.as_str())
        .await
        .unwrap();
    let discovered = manager
        .resolve_metadata_from_challenge(Some(&challenge))
        .await
        .unwrap();
    assert_eq!(
        discovered.source,
        AuthorizationMetadataSource::ProtectedResourceMetadata
    );
    assert_eq!(
        discovered.metadata.issuer.as_deref(),
        Some(world.idp.issuer())
    );
    manager.set_metadata(discovered.metadata);

    // 3. Dynamic client registration for every scope the resource offers, then an
    //    authorization request for `read:notes` only (least privilege), so that `create_note`
    //    needs a step-up. (rmcp's one-call `OAuthState::start_authorization` registers the
    //    client with the scopes of that first request only, and the development server, like
    //    any authorization server that enforces RFC 7591's registered `scope`, then refuses
    //    the step-up with `invalid_scope`; so a least-privilege client registers broadly.)
    let registered = manager
        .register_client("rmcp e2e", REDIRECT_URI, &["read:notes", "write:notes"])
        .await
        .unwrap();
    let client_id = registered.client_id.clone();
    assert_eq!(world.idp.requests(&world.idp.registration_endpoint()), 1);
    let authorization_url = manager
        .get_authorization_url(&["read:notes"])
        .await
        .unwrap();
    assert!(authorization_url.starts_with(&world.idp.authorization_endpoint()));
    assert_eq!(
        query(&authorization_url, "client_id").as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(
        query(&authorization_url, "resource").as_deref(),
        Some(world.mcp_url.as_str())
    );
    assert_eq!(
        query(&authorization_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query(&authorization_url, "scope").as_deref(),
        Some("read:notes")
    );

    // 4. The browser signs in; rmcp checks `state` and `iss` and exchanges the code (PKCE).
    let callback =
        AuthorizationCallback::from_redirect_url(&world.sign_in(&authorization_url).await).unwrap();
    manager
        .exchange_code_for_token_with_issuer(
            &callback.code,
            &callback.csrf_token,
            callback.issuer.as_deref(),
        )
        .await
        .unwrap();
    let auth = AuthClient::new(reqwest::Client::new(), manager);

    // 5. Connected: the tools, and who the server thinks we are.
    let client = ()
        .serve(StreamableHttpClientTransport::with_client(
            auth.clone(),
            world.transport_config(),
        ))
        .await
        .expect("connected with the token");
    let mut tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        [
            "about",
            "backup_notes",
            "export_notes",
            "list_notes",
            "whoami"
        ],
        "a read:notes token is shown only the tools it may call"
    );
    let me = call(&client, "whoami", json!({})).await.unwrap();
    assert_eq!(
        structured(&me),
        &json!({"subject": world.idp.user(), "client_id": client_id, "scopes": ["read:notes"]})
    );
    let empty = call(&client, "list_notes", json!({})).await.unwrap();
    assert_eq!(structured(&empty), &json!({"notes": []}));

    // 6. create_note needs write:notes: a 403 insufficient_scope before the tool runs, which
    //    rmcp surfaces with the challenge.
    let forbidden = call(&client, "create_note", json!({"text": "hello"}))
        .await
        .expect_err("the read-only token cannot create notes");
    let challenge = forbidden
        .auth_challenge()
        .expect("the 403 carries WWW-Authenticate")
        .to_owned();
    assert_valid_bearer(&challenge);
    let params =
        WWWAuthenticateParams::parse(&challenge, &url::Url::parse(&world.mcp_url).unwrap());
    assert!(params.is_insufficient_scope(), "{challenge}");
    let needed = params.scope.expect("the challenge names the scopes");
    assert_eq!(needed, "write:notes read:notes");

    // 7. Step-up: rmcp builds the authorization URL for the union of the granted and the
    //    challenged scopes, with the same registered client.
    let upgrade_url = auth
        .auth_manager
        .lock()
        .await
        .request_scope_upgrade(&needed)
        .await
        .unwrap();
    assert_eq!(
        query(&upgrade_url, "client_id").as_deref(),
        Some(client_id.as_str())
    );
    let mut scopes: Vec<String> = query(&upgrade_url, "scope")
        .unwrap_or_default()
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["read:notes", "write:notes"]);
    let callback =
        AuthorizationCallback::from_redirect_url(&world.sign_in(&upgrade_url).await).unwrap();
    auth.auth_manager
        .lock()
        .await
        .exchange_code_for_token_with_issuer(
            &callback.code,
            &callback.csrf_token,
            callback.issuer.as_deref(),
        )
        .await
        .unwrap();

    // 8. The same running client, now with the new token.
    let created = call(&client, "create_note", json!({"text": "hello"}))
        .await
        .unwrap();
    assert_ne!(created.is_error, Some(true), "{created:?}");
    let listed = call(&client, "list_notes", json!({})).await.unwrap();
    assert_eq!(structured(&listed), &json!({"notes": ["hello"]}));
    let me = call(&client, "whoami", json!({})).await.unwrap();
    assert_eq!(
        structured(&me)["scopes"],
        json!(["read:notes", "write:notes"])
    );
    let mut tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        [
            "about",
            "backup_notes",
            "create_note",
            "draft_note",
            "export_notes",
            "list_notes",
            "publish_draft",
            "whoami"
        ],
        "after the step-up the write tools show, purge_notes (a role) still does not"
    );
    client.cancel().await.unwrap();

    // What the servers saw: one registration, two authorizations and token exchanges; the
    // MCP server refused exactly the anonymous request and the first create_note.
    assert_eq!(world.idp.requests(&world.idp.registration_endpoint()), 1);
    assert_eq!(world.idp.requests(&world.idp.authorization_endpoint()), 2);
    assert_eq!(world.idp.requests(&world.idp.token_endpoint()), 2);
    let seen: Vec<Seen> = world
        .seen()
        .into_iter()
        .filter(|s| s.request.ends_with(" /mcp"))
        .collect();
    let refusals: Vec<(Option<&str>, u16)> = seen
        .iter()
        .filter(|s| s.status >= 400)
        .map(|s| (s.rpc.as_deref(), s.status))
        .collect();
    assert_eq!(
        refusals,
        [
            (first[0].rpc.as_deref(), 401),
            (Some("tools/call create_note"), 403)
        ],
        "{seen:#?}"
    );
    assert!(
        seen.iter().skip(1).all(|s| s.bearer),
        "after authorization every request carries the token: {seen:#?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|s| s.rpc.as_deref() == Some("tools/call create_note") && s.status == 200)
            .count(),
        1
    );
    assert!(
        world.seen().iter().any(
            |s| s.request == "GET /.well-known/oauth-protected-resource/mcp" && s.status == 200
        ),
        "rmcp read the protected-resource metadata"
    );
}

fn origin(url: &str) -> String {
    url::Url::parse(url).unwrap().origin().ascii_serialization()
}

/// Connects rmcp's client speaking `revision`: the version is the `protocolVersion` of its
/// `ClientConfig` (`InitializeRequestParams`), sent in `initialize` before 2026-07-28; from
/// 2026-07-28 on there is no handshake, and `server/discover` negotiates the preferred version.
async fn connect<T, E, A>(
    transport: T,
    revision: &ProtocolVersion,
) -> Result<RunningService<RoleClient, ClientConfig>, ClientInitializeError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let config = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("rmcp e2e revisions", "1.0.0"),
    )
    .with_protocol_version(revision.clone());
    if revision.has_initialize() {
        config.serve(transport).await
    } else {
        config
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![revision.clone()],
                },
            )
            .await
    }
}

async fn names<T>(
    list: impl Future<Output = Result<Vec<T>, ServiceError>>,
    name: impl Fn(T) -> String,
) -> Vec<String> {
    let mut names: Vec<String> = list.await.unwrap().into_iter().map(name).collect();
    names.sort();
    names
}

/// The sorted scopes of the `insufficient_scope` challenge `error` carries.
fn insufficient_scope(error: &ServiceError, mcp_url: &str) -> Vec<String> {
    let challenge = error
        .auth_challenge()
        .unwrap_or_else(|| panic!("a 403 with WWW-Authenticate, got {error:?}"));
    assert_valid_bearer(challenge);
    let params = WWWAuthenticateParams::parse(challenge, &url::Url::parse(mcp_url).unwrap());
    assert!(params.is_insufficient_scope(), "{challenge}");
    let mut scopes: Vec<String> = params
        .scope
        .expect("the challenge names the scopes")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    scopes.sort();
    scopes
}

#[tokio::test]
async fn rmcp_client_steps_up_on_a_prompt_and_a_templated_resource_in_every_revision() {
    for revision in [
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
        ProtocolVersion::V_2026_07_28,
    ] {
        tokio::time::timeout(
            Duration::from_secs(50),
            prompt_and_template_step_up(&revision),
        )
        .await
        .unwrap_or_else(|_| panic!("the {revision} flow finishes within 50 s"));
    }
}

/// One revision, on its own servers (the dev server signs in the same user every time, and
/// `notes://note/1` is that user's first note).
async fn prompt_and_template_step_up(revision: &ProtocolVersion) {
    let world = World::start().await;

    // 1. Anonymous: the 401 challenge, in this revision's opening request.
    let refused = connect(
        StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            world.transport_config(),
        ),
        revision,
    )
    .await
    .expect_err("the server requires a token");
    assert!(
        refused.is_authorization_required(),
        "{revision}: {refused:?}"
    );
    let challenge = refused
        .auth_challenge()
        .expect("the 401 carries WWW-Authenticate")
        .to_owned();
    assert_valid_bearer(&challenge);

    // 2. Discovery, registration for both scopes, authorization for `write:notes` only.
    let mut manager = AuthorizationManager::new(world.mcp_url.as_str())
        .await
        .unwrap();
    let discovered = manager
        .resolve_metadata_from_challenge(Some(&challenge))
        .await
        .unwrap();
    manager.set_metadata(discovered.metadata);
    let registered = manager
        .register_client("rmcp e2e", REDIRECT_URI, &["read:notes", "write:notes"])
        .await
        .unwrap();
    let client_id = registered.client_id.clone();
    let authorization_url = manager
        .get_authorization_url(&["write:notes"])
        .await
        .unwrap();
    assert_eq!(
        query(&authorization_url, "scope").as_deref(),
        Some("write:notes")
    );
    let callback =
        AuthorizationCallback::from_redirect_url(&world.sign_in(&authorization_url).await).unwrap();
    manager
        .exchange_code_for_token_with_issuer(
            &callback.code,
            &callback.csrf_token,
            callback.issuer.as_deref(),
        )
        .await
        .unwrap();
    let auth = AuthClient::new(reqwest::Client::new(), manager);
    let client = connect(
        StreamableHttpClientTransport::with_client(auth.clone(), world.transport_config()),
        revision,
    )
    .await
    .unwrap_or_else(|e| panic!("{revision}: connected with the token: {e:?}"));
    assert_eq!(
        client.peer_info().map(|info| info.protocol_version.clone()),
        Some(revision.clone()),
        "the server speaks {revision}"
    );

    // 3. The lists show what a `write:notes` token may use: no prompt, no resource, no
    //    template; the write tools, `about` (public) and `whoami` (any token).
    let prompts = names(client.list_all_prompts(), |p| p.name).await;
    assert_eq!(prompts, Vec::<String>::new(), "{revision}: prompts");
    let templates = names(client.list_all_resource_templates(), |t| t.uri_template).await;
    assert_eq!(templates, Vec::<String>::new(), "{revision}: templates");
    let resources = names(client.list_all_resources(), |r| r.uri).await;
    assert_eq!(resources, Vec::<String>::new(), "{revision}: resources");
    let tools = names(client.list_all_tools(), |t| t.name.into_owned()).await;
    assert_eq!(
        tools,
        [
            "about",
            "create_note",
            "draft_note",
            "publish_draft",
            "whoami"
        ],
        "{revision}: tools"
    );
    let me = call(&client, "whoami", json!({})).await.unwrap();
    assert_eq!(
        structured(&me),
        &json!({"subject": world.idp.user(), "client_id": client_id, "scopes": ["write:notes"]})
    );
    let created = call(&client, "create_note", json!({"text": "first note"}))
        .await
        .unwrap();
    assert_ne!(created.is_error, Some(true), "{created:?}");

    // 4. The prompt and the templated resource need `read:notes`: 403 insufficient_scope,
    //    naming it (and the `write:notes` the client holds, so that the new token keeps it).
    let forbidden = client
        .get_prompt(GetPromptRequestParams::new("summarize_notes"))
        .await
        .expect_err("a write:notes token cannot get summarize_notes");
    let needed = insufficient_scope(&forbidden, &world.mcp_url);
    assert_eq!(needed, ["read:notes", "write:notes"], "{revision}: prompt");
    let forbidden = client
        .read_resource(ReadResourceRequestParams::new("notes://note/1"))
        .await
        .expect_err("a write:notes token cannot read notes://note/1");
    assert_eq!(
        insufficient_scope(&forbidden, &world.mcp_url),
        needed,
        "{revision}: templated resource"
    );

    // 5. Step-up, as rmcp does it: the union of the granted and the challenged scopes, with
    //    the same registered client.
    let upgrade_url = auth
        .auth_manager
        .lock()
        .await
        .request_scope_upgrade(&needed.join(" "))
        .await
        .unwrap();
    assert_eq!(
        query(&upgrade_url, "client_id").as_deref(),
        Some(client_id.as_str())
    );
    let mut scopes: Vec<String> = query(&upgrade_url, "scope")
        .unwrap_or_default()
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["read:notes", "write:notes"]);
    let callback =
        AuthorizationCallback::from_redirect_url(&world.sign_in(&upgrade_url).await).unwrap();
    auth.auth_manager
        .lock()
        .await
        .exchange_code_for_token_with_issuer(
            &callback.code,
            &callback.csrf_token,
            callback.issuer.as_deref(),
        )
        .await
        .unwrap();

    // 6. The same running client, with the new token: the prompt and the note, and the lists.
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("summarize_notes"))
        .await
        .unwrap_or_else(|e| panic!("{revision}: summarize_notes after the step-up: {e:?}"));
    assert_eq!(
        serde_json::to_value(&prompt.messages).unwrap()[0]["content"]["text"],
        "Summarize these notes:\nfirst note",
        "{revision}: {prompt:?}"
    );
    let note = client
        .read_resource(ReadResourceRequestParams::new("notes://note/1"))
        .await
        .unwrap_or_else(|e| panic!("{revision}: notes://note/1 after the step-up: {e:?}"));
    let contents = serde_json::to_value(&note.contents).unwrap();
    assert_eq!(contents.as_array().map(Vec::len), Some(1), "{contents}");
    assert_eq!(contents[0]["uri"], "notes://note/1");
    assert_eq!(contents[0]["text"], "first note", "{revision}");
    let prompts = names(client.list_all_prompts(), |p| p.name).await;
    assert_eq!(prompts, ["summarize_notes"], "{revision}: prompts");
    let templates = names(client.list_all_resource_templates(), |t| t.uri_template).await;
    assert_eq!(templates, ["notes://note/{id}"], "{revision}: templates");
    let resources = names(client.list_all_resources(), |r| r.uri).await;
    assert_eq!(resources, ["notes://stats"], "{revision}: resources");
    let tools = names(client.list_all_tools(), |t| t.name.into_owned()).await;
    assert_eq!(
        tools,
        [
            "about",
            "backup_notes",
            "create_note",
            "draft_note",
            "export_notes",
            "list_notes",
            "publish_draft",
            "whoami"
        ],
        "{revision}: tools"
    );
    client.cancel().await.unwrap();

    // What the servers saw: one registration, two authorizations; the MCP server refused
    // the anonymous request, then exactly the prompt and the note, each once, in this revision.
    assert_eq!(world.idp.requests(&world.idp.registration_endpoint()), 1);
    assert_eq!(world.idp.requests(&world.idp.authorization_endpoint()), 2);
    assert_eq!(world.idp.requests(&world.idp.token_endpoint()), 2);
    let seen: Vec<Seen> = world
        .seen()
        .into_iter()
        .filter(|s| s.request.ends_with(" /mcp"))
        .collect();
    let refusals: Vec<(bool, Option<&str>, u16)> = seen
        .iter()
        .filter(|s| s.status >= 400)
        .map(|s| (s.bearer, s.rpc.as_deref(), s.status))
        .collect();
    let opening = if revision.has_initialize() {
        "initialize"
    } else {
        "server/discover"
    };
    assert_eq!(
        refusals,
        [
            (false, Some(opening), 401),
            (true, Some("prompts/get summarize_notes"), 403),
            (true, Some("resources/read notes://note/1"), 403)
        ],
        "{revision}: {seen:#?}"
    );
    for rpc in [
        "prompts/get summarize_notes",
        "resources/read notes://note/1",
    ] {
        let statuses: Vec<(u16, Option<&str>)> = seen
            .iter()
            .filter(|s| s.rpc.as_deref() == Some(rpc))
            .map(|s| (s.status, s.protocol_version.as_deref()))
            .collect();
        assert_eq!(
            statuses,
            [
                (403, Some(revision.as_str())),
                (200, Some(revision.as_str()))
            ],
            "{revision}: {rpc}"
        );
    }
}
