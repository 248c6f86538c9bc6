//! Wiring mistakes fail closed, or are caught and named when the first request shows them.
//!
//! A real rmcp server whose tools are marked `#[requires_scope]`, served over loopback HTTP and
//! wired the wrong ways a user might: behind the plain layer (no tool scopes), behind no layer at
//! all, with the metadata router inside the layer, mounted at another path than the identifier
//! says. And wired the one right way, `ResourceAuth::mcp_router`.

use axum::Router;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::{ResourceAuth, mcp_resource, requires_scope, tool_scopes};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::{LogCapture, Spy, bind, spawn};
use reqwest::StatusCode;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

#[mcp_resource(
    id = "http://127.0.0.1:3000/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[derive(Clone)]
struct NotesServer {
    /// Counts the runs of `list_notes`, to prove a refused call never ran.
    ran: Spy,
    tool_router: ToolRouter<Self>,
}

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "List notes")]
    #[requires_scope("read:notes")]
    async fn list_notes(&self) -> String {
        self.ran.hit();
        "[]".into()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for NotesServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("notes", "0"))
    }
}

/// The ways the endpoint is wired in these tests.
enum Wiring {
    /// `notes.mcp_router(service, NotesServer::tool_scopes())`.
    OneCall,
    /// The MCP service behind `notes.layer()`: no tool scopes in the layer.
    PlainLayer,
    /// The MCP service behind `notes.layer().mcp_max_body_bytes(..)`: a body limit for MCP mode,
    /// without MCP mode.
    BodyLimitOnly,
    /// The MCP service behind no layer.
    NoLayer,
    /// `.merge(metadata_router())` before `.layer(..)`: the document behind the layer.
    MetadataInsideLayer,
    /// The MCP service at `/api/mcp` while the identifier ends in `/mcp`.
    OtherPath,
}

struct App {
    idp: AuthorizationServer,
    notes: ResourceAuth<Notes>,
    origin: String,
    ran: Spy,
    http: reqwest::Client,
}

impl App {
    async fn start(wiring: Wiring) -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let notes = Notes::builder()
            .id(format!("{origin}/mcp"))
            .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
                .await
                .unwrap()])
            .build()
            .await
            .unwrap();
        let ran = Spy::default();
        let spy = ran.clone();
        let service = StreamableHttpService::new(
            move || {
                Ok(NotesServer {
                    ran: spy.clone(),
                    tool_router: NotesServer::tool_router(),
                })
            },
            NeverSessionManager::default().into(),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true)
                .with_allowed_hosts(notes.allowed_hosts().to_vec()),
        );
        let app = match wiring {
            Wiring::OneCall => notes.mcp_router(service, NotesServer::tool_scopes()),
            Wiring::PlainLayer => Router::new()
                .route_service("/mcp", service)
                .layer(notes.layer())
                .merge(notes.metadata_router()),
            Wiring::BodyLimitOnly => Router::new()
                .route_service("/mcp", service)
                .layer(notes.layer().mcp_max_body_bytes(64 * 1024))
                .merge(notes.metadata_router()),
            Wiring::NoLayer => Router::new()
                .route_service("/mcp", service)
                .merge(notes.metadata_router()),
            Wiring::MetadataInsideLayer => Router::new()
                .route_service("/mcp", service)
                .merge(notes.metadata_router())
                .layer(notes.mcp_layer(NotesServer::tool_scopes())),
            Wiring::OtherPath => Router::new()
                .route_service("/api/mcp", service)
                .layer(notes.mcp_layer(NotesServer::tool_scopes()))
                .merge(notes.metadata_router()),
        };
        spawn(listener, app);
        Self {
            idp,
            notes,
            origin,
            ran,
            http: reqwest::Client::new(),
        }
    }

    fn token(&self, scopes: &[&str]) -> String {
        self.idp
            .token()
            .audience(self.notes.id())
            .subject("alice")
            .scopes(scopes.iter().copied())
            .mint()
    }

    async fn call(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.origin))
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "list_notes", "arguments": {}}}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

#[tokio::test]
async fn the_one_call_wires_scopes_metadata_and_path() {
    let app = App::start(Wiring::OneCall).await;
    let (status, _) = app.call("/mcp", Some(&app.token(&[]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "403 before dispatch");
    let (status, body) = app.call("/mcp", Some(&app.token(&["read:notes"]))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.ran.count(), 1);
    let metadata = app.http.get(app.notes.metadata_url()).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK, "metadata is public");
}

#[tokio::test]
async fn behind_the_plain_layer_a_scoped_tool_refuses_a_token_without_its_scope() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::PlainLayer).await;
    for _ in 0..2 {
        let (status, body) = app.call("/mcp", Some(&app.token(&[]))).await;
        assert_eq!(status, StatusCode::OK, "the layer knows no tool scopes");
        assert_eq!(
            body["error"]["data"]["error"], "insufficient_scope",
            "the tool refused: {body}"
        );
        assert_eq!(body["error"]["data"]["scope"], "read:notes", "{body}");
    }
    // The error names what the call lacks, not what the token already holds.
    let (_, body) = app.call("/mcp", Some(&app.token(&["write:notes"]))).await;
    assert_eq!(body["error"]["data"]["scope"], "read:notes", "{body}");
    assert_eq!(app.ran.count(), 0, "the tool body never ran");
    assert_eq!(
        logs.count("not behind `mcp_layer(..::tool_scopes())`"),
        1,
        "the wiring mistake is logged once, with the fix: {}",
        logs.text()
    );
    let (_, body) = app.call("/mcp", Some(&app.token(&["read:notes"]))).await;
    assert!(body["result"].is_object(), "{body}");
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn a_body_limit_does_not_switch_mcp_mode_on_and_the_log_says_so() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::BodyLimitOnly).await;
    let (status, body) = app.call("/mcp", Some(&app.token(&[]))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no MCP mode: the layer reads no body"
    );
    assert_eq!(
        body["error"]["data"]["error"], "insufficient_scope",
        "the tool refused: {body}"
    );
    assert_eq!(app.ran.count(), 0);
    assert_eq!(
        logs.count("sets mcp_max_body_bytes but is not in MCP mode"),
        1,
        "the setting that does nothing is named, once: {}",
        logs.text()
    );
}

#[tokio::test]
async fn behind_no_layer_a_scoped_tool_is_refused_and_the_metadata_warns() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::NoLayer).await;
    let (status, body) = app.call("/mcp", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["error"]["code"], -32603,
        "internal error, not served: {body}"
    );
    assert_eq!(app.ran.count(), 0, "no token record means refused");
    let metadata = app.http.get(app.notes.metadata_url()).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    assert_eq!(
        logs.count("no bearer layer was made for it"),
        1,
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_forgotten_layer_is_named_at_start_up_before_any_request() {
    let (logs, _guard) = LogCapture::start();
    let _app = App::start(Wiring::NoLayer).await;
    // No request at all: the warning comes from start-up (2 s after the routers are made).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        logs.count("no bearer layer was made for it"),
        1,
        "named once, with the fix: {}",
        logs.text()
    );
    assert_eq!(logs.count("mcp_router(service"), 1, "{}", logs.text());
}

#[tokio::test]
async fn a_wired_layer_raises_no_start_up_warning() {
    let (logs, _guard) = LogCapture::start();
    let _app = App::start(Wiring::OneCall).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(logs.count("no bearer layer"), 0, "{}", logs.text());
}

#[tokio::test]
async fn metadata_merged_inside_the_layer_is_still_public() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::MetadataInsideLayer).await;
    for url in [
        app.notes.metadata_url().to_owned(),
        format!("{}/.well-known/oauth-protected-resource", app.origin),
    ] {
        let response = app.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["resource"], app.notes.id());
    }
    assert_eq!(
        logs.count("is merged inside the bearer layer"),
        1,
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_mount_path_that_differs_from_the_identifier_is_named() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::OtherPath).await;
    let (status, _) = app
        .call("/api/mcp", Some(&app.token(&["read:notes"])))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.call("/api/mcp", Some(&app.token(&["read:notes"])))
        .await;
    assert_eq!(
        logs.count("MCP requests arrive at `/api/mcp`"),
        1,
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_typ_jwt_refusal_names_its_fix_in_the_log_and_not_to_the_client() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::OneCall).await;
    let keycloak_like = app
        .idp
        .token()
        .audience(app.notes.id())
        .subject("alice")
        .scopes(["read:notes"])
        .typ(Some("JWT"))
        .mint();
    for _ in 0..2 {
        let response = app
            .http
            .post(format!("{}/mcp", app.origin))
            .bearer_auth(&keycloak_like)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.text().await.unwrap();
        assert!(challenge.contains("must be at+jwt"), "{challenge}");
        for seen_by_client in [&challenge, &body] {
            assert!(
                !seen_by_client.contains("accept_jwt_typ"),
                "no configuration hint to clients: {seen_by_client}"
            );
        }
    }
    assert_eq!(
        logs.count("accept_jwt_typ = true"),
        1,
        "the operator's log names the setting, once: {}",
        logs.text()
    );
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_client_posting_elsewhere_cannot_raise_the_mount_path_warning() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start(Wiring::MetadataInsideLayer).await;
    let (status, _) = app
        .call("/not-mcp", Some(&app.token(&["read:notes"])))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.ran.count(), 0);
    assert_eq!(logs.count("MCP requests arrive at"), 0, "{}", logs.text());
}
