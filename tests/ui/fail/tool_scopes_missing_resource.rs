use mcp_auth::{mcp_resource, tool_scopes};
use rmcp::{tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_scopes]
#[tool_router]
impl NotesServer {
    #[tool(description = "Create a note")]
    #[requires_scope("write:notes")]
    async fn create_note(&self) -> String {
        "created".into()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
