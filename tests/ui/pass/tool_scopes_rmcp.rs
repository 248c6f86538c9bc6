//! `#[tool_scopes]` with real rmcp routers: tools and prompts, renamed and by fn name, a second
//! impl block with `fn_name`, both attribute orders, and a generic server.

use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::{mcp_resource, requires_scope, tool_scopes};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, PromptMessage, Role};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler, prompt, prompt_handler, prompt_router, tool,
    tool_handler, tool_router,
};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes", "admin"],
)]
pub struct Notes;

#[derive(Debug, serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct NewNote {
    pub text: String,
}

#[derive(Clone, Default)]
pub struct NotesServer;

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "List notes")]
    #[requires_scope("read:notes")]
    async fn list_notes(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let auth = mcp_auth::rmcp::auth_info(&ctx)?;
        Ok(CallToolResult::success(vec![rmcp::model::ContentBlock::text(
            auth.subject().unwrap_or("?").to_owned(),
        )]))
    }

    /// The resource may be repeated, and the attribute may come first.
    #[mcp_auth::requires_scope(Notes, "write:notes", "read:notes")]
    #[tool(name = "create", description = "Create a note")]
    async fn create_note(&self, Parameters(note): Parameters<NewNote>) -> String {
        note.text
    }

    #[tool(description = "Who am I")]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

#[tool_router(router = admin_router)]
#[tool_scopes(Notes, fn_name = admin_scopes)]
impl NotesServer {
    #[tool(description = "Delete everything")]
    #[requires_scope("admin")]
    async fn purge(&self) -> String {
        "gone".into()
    }
}

#[tool_scopes(resource = Notes, fn_name = prompt_scopes)]
#[prompt_router]
impl NotesServer {
    #[prompt(name = "summarise", description = "Summarise the notes")]
    #[requires_scope("read:notes")]
    async fn summary(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(Role::User, "summarise")]
    }
}

#[tool_handler]
#[prompt_handler]
impl ServerHandler for NotesServer {}

/// A generic server: the generated function keeps the impl block's generics.
#[derive(Clone, Default)]
pub struct Generic<T: Clone + Send + Sync + 'static>(T);

#[tool_scopes(Notes)]
#[tool_router]
impl<T: Clone + Send + Sync + 'static> Generic<T> {
    #[tool(description = "Read")]
    #[requires_scope("read:notes")]
    async fn read(&self) -> String {
        "read".into()
    }
}

fn main() {
    let scopes: McpAccess = NotesServer::tool_scopes()
        .merge(NotesServer::admin_scopes())
        .merge(NotesServer::prompt_scopes());
    let expected = McpAccess::new()
        .scopes(Operation::tool("list_notes"), ["read:notes"])
        .scopes(Operation::tool("create"), ["write:notes", "read:notes"])
        .scopes(Operation::tool("purge"), ["admin"])
        .scopes(Operation::prompt("summarise"), ["read:notes"]);
    assert_eq!(scopes, expected);
    assert!(scopes.needs("tools/call", &serde_json::json!({"name": "whoami"})).scopes().is_empty());
    assert_eq!(Generic::<u8>::tool_scopes(), McpAccess::new().scopes(Operation::tool("read"), ["read:notes"]));
    let _ = (NotesServer::admin_router(), Generic::<u8>::tool_router());
}
