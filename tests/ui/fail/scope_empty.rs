use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope(Notes)]
async fn list(_auth: Auth<Notes>) -> &'static str {
    "list"
}

#[requires_scope()]
async fn other(_auth: Auth<Notes>) -> &'static str {
    "other"
}

fn main() {
    let _ = (list, other);
}
