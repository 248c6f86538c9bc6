use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("write:notes", "delete:notes")]
async fn delete_note(_auth: Auth<Notes>) -> &'static str {
    "deleted"
}

fn main() {
    let _ = delete_note;
}
