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
    #[tool(name = "create", description = "Create a note")]
    #[requires_scope("write:notes")]
    async fn create_note(&self) -> String {
        "created".into()
    }

    #[tool(description = "Also create")]
    async fn create(&self) -> String {
        "created".into()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
