//! The notes MCP server: an rmcp streamable-HTTP server whose tools are protected per scope.
//!
//! | tool | needs | does |
//! |---|---|---|
//! | `whoami` | a valid token | returns the caller's subject, client id and scopes (JSON) |
//! | `list_notes` | `read:notes` | lists the caller's notes |
//! | `create_note` | `write:notes` | adds a note (`{"text": ".."}`) to the caller's notes |
//!
//! **Base scope: none.** Every request to `/mcp` needs a valid token for this resource
//! (`initialize`, `tools/list`, `whoami`, ...); the layer adds the per-tool scopes of
//! `NotesServer::tool_scopes()` for `tools/call` and answers `403 insufficient_scope` *before* the tool runs
//! when the token lacks them, so MCP clients step up (a JSON-RPC error inside a `200` would not
//! make them re-authorize). Requests without a token get `401` naming both scopes, so a client
//! that asks for what the challenge says gets a token for every tool at once.
//!
//! **Stateless transport.** The server keeps no per-connection state (notes live in
//! [`NoteStore`], keyed by the token's issuer and subject), so rmcp runs without sessions
//! (`legacy_session_mode: false`) and answers plain JSON (`json_response: true`): a single
//! `POST /mcp` with `tools/list` works, from curl too. MCP clients initialize as usual.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_auth_examples::notes_server::{Notes, app};
//!
//! let notes = Notes::builder().build().await?;            // NOTES_ISSUER, NOTES_RESOURCE_ID
//! let listener = tokio::net::TcpListener::bind(notes.listen_address()).await?;
//! axum::serve(listener, app(&notes)).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use mcp_auth::rmcp::auth_info;
use mcp_auth::{AuthInfo, ResourceAuth, mcp_resource, requires_scope, tool_scopes};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::json;

/// The protected resource: the MCP endpoint and the authorization server it trusts.
///
/// `NOTES_RESOURCE_ID` is the public URL of the MCP endpoint (its path is where the server
/// listens); `NOTES_ISSUER` the issuer identifier of the authorization server, discovered at
/// start-up (RFC 8414 / OpenID Connect). The default issuer is the development authorization
/// server that `cargo run --example notes` starts on [`DEV_ISSUER_PORT`].
#[mcp_resource(
    id = env("NOTES_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = env("NOTES_ISSUER", default = "http://127.0.0.1:3002"),
    scopes = ["read:notes", "write:notes"],
    name = "Notes",
)]
pub struct Notes;

/// The port of the development authorization server started by the example: the default
/// `NOTES_ISSUER` is `http://127.0.0.1:3002`.
pub const DEV_ISSUER_PORT: u16 = 3002;

/// The user the development authorization server signs in (the `sub` of its tokens).
pub const DEV_USER: &str = "dev-user";

/// A user: the issuer and subject of the token (the client id for tokens without a subject).
type Owner = (String, String);

/// Notes per user, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct NoteStore {
    notes: Arc<Mutex<HashMap<Owner, Vec<String>>>>,
}

impl NoteStore {
    fn key(auth: &AuthInfo) -> Owner {
        (
            auth.issuer().to_owned(),
            auth.subject().or(auth.client_id()).unwrap_or("").to_owned(),
        )
    }

    /// The notes of the token's user.
    pub fn list(&self, auth: &AuthInfo) -> Vec<String> {
        let notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        notes.get(&Self::key(auth)).cloned().unwrap_or_default()
    }

    /// Adds a note for the token's user.
    pub fn add(&self, auth: &AuthInfo, text: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        notes.entry(Self::key(auth)).or_default().push(text);
    }
}

/// The arguments of `create_note`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NewNote {
    /// The text of the note.
    pub text: String,
}

/// The rmcp server: one instance per request (the transport is stateless), sharing the store.
#[derive(Debug, Clone)]
pub struct NotesServer {
    store: NoteStore,
    tool_router: ToolRouter<Self>,
}

impl NotesServer {
    /// A server over `store`.
    pub fn new(store: NoteStore) -> Self {
        Self {
            store,
            tool_router: Self::tool_router(),
        }
    }
}

/// `#[tool_scopes(Notes)]` collects the `#[requires_scope]` of the tools into
/// `NotesServer::tool_scopes()`, checked at compile time against the scopes `Notes` declares; the
/// layer enforces them before the tool runs.
#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    /// Lists the caller's notes.
    #[tool(description = "List your notes (needs the read:notes scope)")]
    #[requires_scope("read:notes")]
    async fn list_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        Ok(CallToolResult::structured(
            json!({ "notes": self.store.list(&auth) }),
        ))
    }

    /// Adds a note for the caller.
    #[tool(description = "Create a note (needs the write:notes scope)")]
    #[requires_scope("write:notes")]
    async fn create_note(
        &self,
        Parameters(note): Parameters<NewNote>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        self.store.add(&auth, note.text);
        Ok(CallToolResult::success(vec![ContentBlock::text("created")]))
    }

    /// Who the token says the caller is.
    #[tool(description = "The subject, client id and scopes of your access token")]
    async fn whoami(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        Ok(CallToolResult::structured(json!({
            "subject": auth.subject(),
            "client_id": auth.client_id(),
            "scopes": auth.scopes(),
        })))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for NotesServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("notes", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Personal notes. list_notes needs read:notes, create_note write:notes.",
            )
    }
}

/// The whole application: the MCP endpoint at the resource's path behind the bearer layer in
/// MCP mode, and the metadata document (RFC 9728) outside it, in one call.
///
/// rmcp's DNS-rebinding protection (`allowed_hosts`) accepts the host of the resource
/// identifier, plus the loopback names when that host is a loopback address.
pub fn app(notes: &ResourceAuth<Notes>) -> Router {
    let store = NoteStore::default();
    let mcp = StreamableHttpService::new(
        move || Ok(NotesServer::new(store.clone())),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(notes.allowed_hosts().to_vec()),
    );
    notes.mcp_router(mcp, NotesServer::tool_scopes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scoped_tool_exists_in_the_router() {
        let mut tools: Vec<String> = NotesServer::new(NoteStore::default())
            .tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        tools.sort();
        assert_eq!(tools, ["create_note", "list_notes", "whoami"]);
    }

    #[test]
    fn tools_need_their_scopes_and_whoami_only_a_token() {
        let scopes = NotesServer::tool_scopes();
        let call = |name: &str| scopes.required("tools/call", &json!({ "name": name }));
        assert_eq!(call("list_notes"), ["read:notes"]);
        assert_eq!(call("create_note"), ["write:notes"]);
        assert!(call("whoami").is_empty());
        assert!(scopes.required("tools/list", &json!({})).is_empty());
    }
}
