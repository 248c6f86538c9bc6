use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("read notes", "write:\"notes\"", 42, "offline_access")]
async fn list(_auth: Auth<Notes>) -> &'static str {
    "list"
}

fn main() {
    let _ = list;
}
