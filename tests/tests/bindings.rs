//! State handles and tasks bound to their user (RS-57), on one instance and across two instances
//! of the notes server that share a binding store (a real `redis-server`), driven by rmcp's
//! client at 2026-07-28.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth::ResourceAuth;
use mcp_auth::binding::{BindingKey, BindingKind, MemoryStore, Owner, RedisStore, SharedStore};
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::mcp::McpAccess;
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{NoteStore, Notes, app_with_store};
use mcp_auth_tests::{RedisServer, bind, spawn};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
    GetTaskParams, Implementation, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{
    ClientLifecycleMode, ClientServiceExt as _, RoleServer, ServerHandler, tool, tool_handler,
    tool_router,
};
use serde_json::{Value, json};

/// An instance of the notes server: its own resource (key and token caches), over the shared
/// note data and the shared binding store.
struct Instance {
    url: String,
    _notes: ResourceAuth<Notes>,
}

async fn instance(
    idp: &AuthorizationServer,
    id: &str,
    data: &NoteStore,
    bindings: &SharedStore,
) -> Instance {
    let (listener, origin) = bind().await;
    let bindings = Arc::clone(bindings);
    let notes = Notes::builder()
        // Both instances serve one resource (behind one load balancer in production): same
        // identifier, so tokens and bindings are valid on either.
        .id(id)
        .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap()])
        .resource(move |r| r.bindings(|b| b.store(bindings)))
        .build()
        .await
        .unwrap();
    spawn(listener, app_with_store(&notes, data.clone()));
    Instance {
        url: format!("{origin}/mcp"),
        _notes: notes,
    }
}

/// rmcp's client at 2026-07-28 with the Tasks extension, sending `token`.
async fn client(url: &str, token: &str) -> RunningService<RoleClient, ClientConfig> {
    ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("mcp-auth bindings test", "1.0.0"),
    )
    .serve_with_lifecycle(
        StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            StreamableHttpClientTransportConfig::with_uri(url.to_owned())
                .auth_header(token.to_owned()),
        ),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .expect("connected")
}

async fn try_call(
    client: &RunningService<RoleClient, ClientConfig>,
    tool: &str,
    arguments: Value,
) -> Result<CallToolResult, rmcp::ServiceError> {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
}

async fn call(
    client: &RunningService<RoleClient, ClientConfig>,
    tool: &str,
    arguments: Value,
) -> CallToolResult {
    let result = try_call(client, tool, arguments)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"));
    assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
    result
}

/// The JSON-RPC error a refused handle gets.
async fn refused(
    client: &RunningService<RoleClient, ClientConfig>,
    tool: &str,
    arguments: Value,
) -> String {
    match try_call(client, tool, arguments).await {
        Err(rmcp::ServiceError::McpError(error)) => error.message.into_owned(),
        other => panic!("{tool} must be refused, got {other:?}"),
    }
}

fn notes_of(result: &CallToolResult) -> Value {
    result.structured_content.clone().expect("structured notes")["notes"].clone()
}

/// The users and the two instances (the same one twice for a single-instance run).
struct Scene {
    _idp: AuthorizationServer,
    first: Instance,
    second: Instance,
    alice: String,
    bob: String,
}

async fn scene(bindings: SharedStore, two: bool) -> Scene {
    let idp = AuthorizationServer::start().await.unwrap();
    // One identifier for the resource, as behind a load balancer; each instance listens on
    // its own port and is reached directly here. rmcp's host check accepts loopback names.
    let id = "http://127.0.0.1:3000/mcp";
    let data = NoteStore::default();
    let first = instance(&idp, id, &data, &bindings).await;
    let second = if two {
        instance(&idp, id, &data, &bindings).await
    } else {
        Instance {
            url: first.url.clone(),
            _notes: first._notes.clone(),
        }
    };
    let token = |subject: &str| {
        idp.token()
            .subject(subject)
            .audience(id)
            .scopes(["read:notes", "write:notes"])
            .mint()
    };
    let (alice, bob) = (token("alice"), token("bob"));
    Scene {
        _idp: idp,
        first,
        second,
        alice,
        bob,
    }
}

/// Alice drafts on the first instance; Bob cannot publish her draft or read her task on the
/// second; Alice can, there.
async fn handles_and_tasks_follow_their_owner(scene: Scene) {
    let alice_1 = client(&scene.first.url, &scene.alice).await;
    let alice_2 = client(&scene.second.url, &scene.alice).await;
    let bob_2 = client(&scene.second.url, &scene.bob).await;

    let drafted = call(&alice_1, "draft_note", json!({"text": "for Alice only"})).await;
    let draft = drafted.structured_content.clone().unwrap()["draft"]
        .as_str()
        .expect("a draft handle")
        .to_owned();
    assert_eq!(draft.len(), 43, "32 random bytes, base64url");

    let stolen = refused(&bob_2, "publish_draft", json!({"draft": draft})).await;
    assert!(
        stolen.contains("unknown handle"),
        "Bob cannot publish Alice's draft: {stolen}"
    );
    assert_eq!(
        notes_of(&call(&bob_2, "list_notes", json!({})).await),
        json!([])
    );

    call(&alice_2, "publish_draft", json!({"draft": draft})).await;
    assert_eq!(
        notes_of(&call(&alice_2, "list_notes", json!({})).await),
        json!(["for Alice only"]),
        "Alice publishes her draft on the other instance"
    );
    let again = refused(&alice_1, "publish_draft", json!({"draft": draft})).await;
    assert!(
        again.contains("unknown handle"),
        "a published draft's handle is released: {again}"
    );

    // A task made on the first instance: Bob is refused on the second before the server sees
    // his request (the task itself lives on the first instance).
    let CallToolResponse::Task(task) = alice_1
        .call_tool_once(CallToolRequestParams::new("export_notes"))
        .await
        .unwrap()
    else {
        panic!("a task");
    };
    let stolen = bob_2
        .get_task(GetTaskParams::new(task.task.task_id.clone()))
        .await;
    assert!(stolen.is_err(), "Bob cannot read Alice's task");
    alice_1
        .get_task(GetTaskParams::new(task.task.task_id.clone()))
        .await
        .expect("Alice reads her task where it runs");
    for c in [alice_1, alice_2, bob_2] {
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn rs57_a_state_handle_and_a_task_are_refused_to_another_user() {
    let store: SharedStore = Arc::new(MemoryStore::new());
    tokio::time::timeout(
        Duration::from_secs(30),
        handles_and_tasks_follow_their_owner(scene(store, false).await),
    )
    .await
    .expect("within 30 s");
}

/// The two-instance case: two notes servers behind one real `redis-server`. Alice's
/// draft handle and task, made on the first, are refused to Bob on the second, and Alice's
/// handle is still served to her there.
#[tokio::test]
async fn two_instances_behind_one_redis_refuse_alices_handle_and_task_to_bob() {
    let redis = RedisServer::start();
    let store: SharedStore = Arc::new(RedisStore::builder(&redis.url()).build().await.unwrap());
    tokio::time::timeout(
        Duration::from_secs(30),
        handles_and_tasks_follow_their_owner(scene(store, true).await),
    )
    .await
    .expect("within 30 s");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut redis.connection())
        .unwrap();
    assert!(!keys.is_empty(), "the bindings are in Redis");
    assert!(
        keys.iter().all(|k| k.contains("mcp-auth:v1:")),
        "only digests under our prefix: {keys:?}"
    );
}

/// A Redis store that gives up quickly (300 ms), so that an outage shows within a test.
async fn quick_redis_store(redis: &RedisServer) -> SharedStore {
    Arc::new(
        RedisStore::builder(&redis.url())
            .response_timeout(Duration::from_millis(300))
            .connection_timeout(Duration::from_millis(300))
            .build()
            .await
            .unwrap(),
    )
}

/// Redis unresponsive: a request whose binding must be checked (a task) or made (a task) is
/// refused `503` with `Retry-After`, never served unchecked; a request that needs no binding goes
/// on. Redis answering again: everything works, without a restart. Redis restarted empty (no
/// persistence): the lost bindings are refused, new ones work.
#[tokio::test]
async fn redis_down_refuses_binding_requests_with_503_and_recovers() {
    let mut redis = RedisServer::start();
    let store = quick_redis_store(&redis).await;
    let scene = scene(store, false).await;
    let alice = client(&scene.first.url, &scene.alice).await;
    let CallToolResponse::Task(task) = alice
        .call_tool_once(CallToolRequestParams::new("export_notes"))
        .await
        .unwrap()
    else {
        panic!("a task");
    };
    let task_id = task.task.task_id.clone();

    redis.pause();
    let http = reqwest::Client::new();
    let post = |method: &str, name: &str, params: Value| {
        http.post(&scene.first.url)
            .bearer_auth(&scene.alice)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .header("mcp-name", name)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
    };
    let get = post("tasks/get", &task_id, json!({"taskId": task_id}))
        .await
        .unwrap();
    assert_eq!(get.status(), 503, "a task binding that cannot be checked");
    assert!(get.headers().contains_key("retry-after"));
    let export = post("tools/call", "export_notes", export_params())
        .await
        .unwrap();
    assert_eq!(
        export.status(),
        503,
        "a task that cannot be bound is not handed out"
    );
    assert!(export.headers().contains_key("retry-after"));
    let whoami = alice.call_tool(CallToolRequestParams::new("whoami")).await;
    assert!(
        whoami.is_ok(),
        "no binding needed: served while Redis is down: {whoami:?}"
    );

    redis.resume();
    let mut recovered = false;
    for _ in 0..50 {
        if let Ok(t) = alice.get_task(GetTaskParams::new(task_id.clone())).await {
            assert_eq!(t.task.task.task_id, task_id);
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "Redis answers again: Alice's task is served again"
    );

    redis.stop();
    redis.restart();
    // The first call after the crash may still meet the broken connection (503, retry later);
    // once reconnected, the lost binding is refused like any unknown task.
    let mut status = 0;
    for _ in 0..50 {
        status = post("tasks/get", &task_id, json!({"taskId": task_id}))
            .await
            .unwrap()
            .status()
            .as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 404,
        "a binding Redis lost is refused, not served unchecked"
    );
    let again = alice
        .call_tool_once(CallToolRequestParams::new("export_notes"))
        .await
        .expect("a new task after the restart");
    let CallToolResponse::Task(again) = again else {
        panic!("a task");
    };
    alice
        .get_task(GetTaskParams::new(again.task.task_id.clone()))
        .await
        .expect("the new task is bound and served");
    alice.cancel().await.unwrap();
}

/// A state handle during a Redis outage (frozen: nothing answers): `draft_note` (which mints a
/// handle) and `publish_draft` (which checks one) are answered `503` with `Retry-After` and a
/// JSON-RPC error answering the call, naming the binding store, never `200` with an error
/// inside; the same calls through rmcp's client fail, and succeed once Redis answers again.
#[tokio::test]
async fn a_redis_outage_answers_draft_note_and_publish_draft_503_not_200() {
    let redis = RedisServer::start();
    let store = quick_redis_store(&redis).await;
    let scene = scene(store, false).await;
    let alice = client(&scene.first.url, &scene.alice).await;
    let drafted = call(&alice, "draft_note", json!({"text": "before the outage"})).await;
    let draft = drafted.structured_content.clone().unwrap()["draft"]
        .as_str()
        .expect("a draft handle")
        .to_owned();

    redis.pause();
    let http = reqwest::Client::new();
    for (id, tool, arguments) in [
        (7, "draft_note", json!({"text": "during the outage"})),
        (8, "publish_draft", json!({"draft": draft})),
    ] {
        let response = http
            .post(&scene.first.url)
            .bearer_auth(&scene.alice)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": tool_params(tool, arguments)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{tool}");
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "{tool}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], id, "{tool}: the error answers the call");
        assert_eq!(body["error"]["code"], -32603, "{tool}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("binding store"), "{tool}: {message}");
        assert!(
            !message.contains("authorization server"),
            "{tool}: {message}"
        );
    }
    let through_rmcp = try_call(&alice, "publish_draft", json!({"draft": draft})).await;
    assert!(through_rmcp.is_err(), "{through_rmcp:?}");

    redis.resume();
    let mut published = false;
    for _ in 0..50 {
        if let Ok(result) = try_call(&alice, "publish_draft", json!({"draft": draft})).await
            && result.is_error != Some(true)
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "Redis answers again: Alice's draft is published");
    assert_eq!(
        notes_of(&call(&alice, "list_notes", json!({})).await),
        json!(["before the outage"])
    );
    alice.cancel().await.unwrap();
}

/// A tool that swallows a failed handle and answers as if it had one: whatever a tool makes of
/// the error, the layer must not let its answer (with an unbound handle) through.
#[derive(Clone)]
struct Swallower {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Swallower {
    #[tool(description = "Mints a handle; answers \"unbound\" when the store refuses")]
    async fn draft_anyway(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let handle = mcp_auth::rmcp::state_handles(&ctx)?
            .mint(Duration::from_secs(60))
            .await
            .unwrap_or_else(|_| "unbound".to_owned());
        Ok(CallToolResult::structured(json!({ "draft": handle })))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Swallower {}

/// A full in-memory store (room for one binding, taken before the calls) refuses the handle a
/// tool mints, and the tool swallows the error and answers `"unbound"`. The layer answers `503`
/// naming the binding store when the answer is JSON, or an event stream whose head waits for the
/// tool; when the event stream's `200` went out before the tool ran, the stream ends with a
/// JSON-RPC error event in place of the tool's answer. The same holds behind the plain layer as
/// behind MCP mode: the tool's answer never reaches the client.
#[tokio::test]
async fn a_full_store_withholds_a_tools_answer_made_without_its_handle() {
    let idp = AuthorizationServer::start().await.unwrap();
    let id = "http://127.0.0.1:3000/mcp";
    let store: SharedStore = Arc::new(MemoryStore::with_capacity(1));
    store
        .claim(
            &BindingKey::new(id, BindingKind::Handle, "taken"),
            &Owner::new("https://elsewhere.example", "someone"),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let token = idp
        .token()
        .subject("alice")
        .audience(id)
        .scopes(["read:notes", "write:notes"])
        .mint();
    let issuer = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let notes = Notes::builder()
        .id(id)
        .replace_authorization_servers([issuer])
        .resource(move |r| r.bindings(|b| b.store(store)))
        .build()
        .await
        .unwrap();
    let serve = |json: bool, mcp_mode: bool| {
        let mcp = StreamableHttpService::new(
            || {
                Ok(Swallower {
                    tool_router: Swallower::tool_router(),
                })
            },
            Arc::new(NeverSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(json)
                .with_sse_keep_alive(None)
                .with_allowed_hosts(notes.allowed_hosts().to_vec()),
        );
        if mcp_mode {
            notes.mcp_router(mcp, McpAccess::new())
        } else {
            axum::Router::new()
                .route_service("/mcp", mcp)
                .layer(notes.layer())
        }
    };
    // 2026-07-28 (the request's `_meta` negotiates its revision): rmcp answers once the tool
    // has; 2025-11-25 without `_meta`: rmcp sends the event stream's head before the tool runs.
    let post = |url: String, id: u64, revision: &'static str| {
        let params = if revision == "2026-07-28" {
            tool_params("draft_anyway", json!({}))
        } else {
            json!({"name": "draft_anyway", "arguments": {}})
        };
        reqwest::Client::new()
            .post(url)
            .bearer_auth(&token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", revision)
            .header("mcp-method", "tools/call")
            .header("mcp-name", "draft_anyway")
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
            .send()
    };
    for mcp_mode in [true, false] {
        let wiring = if mcp_mode { "MCP mode" } else { "plain layer" };
        for (json_answers, revision) in [
            (true, "2026-07-28"),
            (false, "2026-07-28"),
            (false, "2025-11-25"),
        ] {
            let (listener, origin) = bind().await;
            spawn(listener, serve(json_answers, mcp_mode));
            let response = post(format!("{origin}/mcp"), 9, revision).await.unwrap();
            let case = format!("{wiring}, JSON answers {json_answers}, {revision}");
            let status = response.status();
            let streamed = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v == "text/event-stream");
            let retry = response.headers().get("retry-after").cloned();
            let text = response.text().await.unwrap();
            assert!(
                !text.contains("unbound"),
                "{case}: the tool's answer leaked: {text}"
            );
            assert!(text.contains("binding store"), "{case}: {text}");
            if revision == "2025-11-25" {
                assert_eq!((status.as_u16(), streamed), (200, true), "{case}");
                let error: Value = text
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .find_map(|data| serde_json::from_str(data.trim()).ok())
                    .unwrap_or_else(|| panic!("{case}: an error event in {text:?}"));
                assert_eq!(error["error"]["code"], -32603, "{case}: {error}");
            } else {
                assert_eq!(status, 503, "{case}: {text}");
                assert!(retry.is_some(), "{case}");
            }
        }
    }
}

/// The params of `tools/call tool` as rmcp's 2026-07-28 client sends them.
fn tool_params(tool: &str, arguments: Value) -> Value {
    json!({
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "curl", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}
        }
    })
}

/// `tools/call export_notes` as rmcp's 2026-07-28 client sends it: with the request metadata and
/// the Tasks extension declared.
fn export_params() -> Value {
    json!({
        "name": "export_notes",
        "arguments": {},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "curl", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {
                "extensions": {"io.modelcontextprotocol/tasks": {}}
            }
        }
    })
}
