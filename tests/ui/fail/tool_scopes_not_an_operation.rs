use mcp_auth::{mcp_resource, tool_scopes};
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
    #[tool(description = "List notes")]
    async fn list_notes(&self) -> String {
        self.load().await
    }

    // A helper, not a tool: a scope here would never be enforced.
    #[requires_scope("read:notes")]
    async fn load(&self) -> String {
        String::new()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
