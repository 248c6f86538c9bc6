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
    #[tool(description = "Create a note")]
    #[requires_scope("write notes", "read:notes", "read:notes", "offline_access")]
    async fn create_note(&self) -> String {
        "created".into()
    }

    #[tool(description = "List notes")]
    #[requires_scope]
    async fn list_notes(&self) -> String {
        String::new()
    }

    #[tool(description = "Update a note")]
    #[requires_scope("write:notes")]
    #[requires_scope("read:notes")]
    async fn update_note(&self) -> String {
        String::new()
    }
}

fn main() {
    let _ = NotesServer::tool_scopes();
}
