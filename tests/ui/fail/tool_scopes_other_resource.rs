use mcp_auth::{mcp_resource, tool_scopes};
use rmcp::{tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

pub struct NotesServer;

#[mcp_resource(
    id = "https://files.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["write:notes"],
)]
pub struct Files;

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "Create a note")]
    #[requires_scope(Files, "write:notes")]
    async fn create_note(&self) -> String {
        "created".into()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
