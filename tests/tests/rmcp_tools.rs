//! A real rmcp server (`#[tool_router]`, `StreamableHttpService`) behind the MCP layer, with the
//! per-tool scopes collected by `#[tool_scopes]`, driven over loopback HTTP with raw JSON-RPC:
//! a tool needing more scope gets `403 insufficient_scope` before dispatch (RS-46, RS-47), the
//! right token reaches the tool, which reads the verified token with
//! `mcp_auth::rmcp::auth_info` (or `auth_info_from_parts`), and a tool without `#[requires_scope]` needs only the base
//! scopes (RS-50).

use axum::Router;
use http::request::Parts;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::{AuthInfo, mcp_resource, requires_scope, tool_scopes};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{Spy, bind, rpc_result, spawn};
use reqwest::StatusCode;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// The issuer is the development server's, known only at run time.

#[mcp_resource(
    id = env("MCP_AUTH_RMCP_TOOLS_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
    name = "Notes",
)]
pub struct Notes;

#[derive(Debug, serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct NewNote {
    text: String,
}

#[derive(Clone)]
struct NotesServer {
    /// Counts the calls of `create`, to prove a refused call never ran.
    created: Spy,
}

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "List notes")]
    #[requires_scope("read:notes")]
    async fn list_notes(&self) -> String {
        "[]".into()
    }

    #[tool(name = "create", description = "Create a note")]
    #[requires_scope("write:notes")]
    async fn create_note(
        &self,
        Parameters(note): Parameters<NewNote>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.created.hit();
        let auth = mcp_auth::rmcp::auth_info(&ctx)?;
        let text = format!("{} by {}", note.text, auth.subject().unwrap_or("?"));
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }

    /// Reads the token from rmcp's `Extension<Parts>`; the plain `AuthInfo` the layer also
    /// inserts is the same.
    #[tool(description = "Who am I")]
    async fn whoami(&self, Extension(parts): Extension<Parts>) -> Result<String, McpError> {
        let auth = mcp_auth::rmcp::auth_info_from_parts(&parts)
            .ok_or_else(|| McpError::internal_error("not behind the layer", None))?;
        if parts.extensions.get::<AuthInfo>() != Some(auth) {
            return Err(McpError::internal_error("the plain AuthInfo differs", None));
        }
        Ok(auth.subject().unwrap_or("?").to_owned())
    }
}

#[tool_handler]
impl ServerHandler for NotesServer {}

struct App {
    idp: AuthorizationServer,
    url: String,
    created: Spy,
    http: reqwest::Client,
}

impl App {
    async fn start() -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let url = format!("{origin}/mcp");
        let issuer = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap();
        let notes = Notes::builder()
            .id(&url)
            .replace_authorization_servers([issuer])
            .build()
            .await
            .unwrap();

        let created = Spy::default();
        let spy = created.clone();
        let service = StreamableHttpService::new(
            move || {
                Ok(NotesServer {
                    created: spy.clone(),
                })
            },
            LocalSessionManager::default().into(),
            StreamableHttpServerConfig::default().with_sse_keep_alive(None),
        );
        let app = Router::new()
            .nest_service("/mcp", service)
            .layer(notes.mcp_layer(NotesServer::tool_scopes()))
            .merge(notes.metadata_router());
        spawn(listener, app);
        Self {
            idp,
            url,
            created,
            http: reqwest::Client::new(),
        }
    }

    fn token(&self, subject: &str, scopes: &[&str]) -> String {
        self.idp
            .token()
            .audience(&self.url)
            .subject(subject)
            .scopes(scopes.iter().copied())
            .mint()
    }

    async fn post(&self, token: &str, session: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        request.send().await.unwrap()
    }

    /// `initialize` and `notifications/initialized`: the session id.
    async fn open_session(&self, token: &str) -> String {
        let response = self
            .post(
                token,
                None,
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-auth-tests", "version": "0"}
                }}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let init = rpc_result(response).await;
        assert_eq!(
            init["result"]["protocolVersion"], PROTOCOL_VERSION,
            "{init}"
        );
        let ack = self
            .post(
                token,
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(ack.status(), StatusCode::ACCEPTED);
        session
    }
}

/// A protocol version with sessions, so that session binding is exercised too.
const PROTOCOL_VERSION: &str = "2025-06-18";

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

fn text_of(result: &Value) -> &str {
    result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content: {result}"))
}

#[tokio::test]
async fn rs46_rs47_rs50_rmcp_tools_are_scoped_per_tool_before_dispatch() {
    let app = App::start().await;

    // A reader: the tool list (without `create`, which it may not call) and the tools without
    // requirement.
    let reader = app.token("reader", &["read:notes"]);
    let session = app.open_session(&reader).await;
    let list = app
        .post(
            &reader,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
    assert_eq!(list.status(), StatusCode::OK);
    let list = rpc_result(list).await;
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["list_notes", "whoami"],
        "`create` needs write:notes: the reader is not shown it"
    );

    let refused = app
        .post(
            &reader,
            Some(&session),
            call(2, "create", json!({"text": "hello"})),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_valid_bearer(&challenge);
    assert!(
        challenge.starts_with(
            "Bearer error=\"insufficient_scope\", scope=\"write:notes read:notes\", resource_metadata=\""
        ),
        "{challenge}"
    );
    assert_eq!(app.created.count(), 0, "the tool never ran");

    let whoami = app
        .post(&reader, Some(&session), call(3, "whoami", json!({})))
        .await;
    assert_eq!(whoami.status(), StatusCode::OK);
    assert_eq!(text_of(&rpc_result(whoami).await), "reader");

    let listed = app
        .post(&reader, Some(&session), call(4, "list_notes", json!({})))
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(text_of(&rpc_result(listed).await), "[]");

    // A token without `read:notes` cannot list, but still reaches `whoami` (base scopes only).
    let nobody = app.token("nobody", &[]);
    let session = app.open_session(&nobody).await;
    let refused = app
        .post(&nobody, Some(&session), call(5, "list_notes", json!({})))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let whoami = app
        .post(&nobody, Some(&session), call(6, "whoami", json!({})))
        .await;
    assert_eq!(text_of(&rpc_result(whoami).await), "nobody");

    // A writer reaches `create`, which reads the verified token with `auth_info`.
    let writer = app.token("writer", &["read:notes", "write:notes"]);
    let session = app.open_session(&writer).await;
    let created = app
        .post(
            &writer,
            Some(&session),
            call(7, "create", json!({"text": "hello"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let created = rpc_result(created).await;
    assert_eq!(created["result"]["isError"], false, "{created}");
    assert_eq!(text_of(&created), "hello by writer");
    assert_eq!(app.created.count(), 1);

    // RS-56: the writer's session presented with the reader's token is not served.
    let hijack = app
        .post(&reader, Some(&session), call(8, "whoami", json!({})))
        .await;
    assert_eq!(hijack.status(), StatusCode::NOT_FOUND);

    // Without a token: 401 before rmcp sees the request.
    let anonymous = app
        .http
        .post(&app.url)
        .header("accept", "application/json, text/event-stream")
        .json(&call(9, "whoami", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
