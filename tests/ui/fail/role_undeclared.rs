use mcp_auth::{mcp_resource, requires_role, requires_scope, tool_scopes};
use rmcp::{tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
    roles = ["notes-admin"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "Delete everything")]
    #[requires_scope("write:notes")]
    #[requires_role("notes-owner")]
    async fn purge_notes(&self) -> String {
        "gone".into()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
