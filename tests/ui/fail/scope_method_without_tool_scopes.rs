use mcp_auth::mcp_resource;
use rmcp::{tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_router]
impl NotesServer {
    // No #[tool_scopes] on the impl: nothing would enforce the scope.
    #[tool(description = "Create a note")]
    #[mcp_auth::requires_scope(Notes, "write:notes")]
    async fn create_note(&self) -> String {
        "created".into()
    }
}

fn main() {
    let _ = NotesServer::tool_router();
}
