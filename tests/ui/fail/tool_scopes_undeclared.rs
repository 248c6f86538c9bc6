use mcp_auth::{mcp_resource, requires_scope, tool_scopes};
use rmcp::{tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "Delete everything")]
    #[requires_scope("read:notes", "admin:notes")]
    async fn purge(&self) -> String {
        "gone".into()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
