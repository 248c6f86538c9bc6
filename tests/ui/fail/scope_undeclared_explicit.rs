use mcp_auth::{mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

// Resource named explicitly; the handler has no `Auth` argument.
#[requires_scope(Notes, "admin")]
async fn admin() -> &'static str {
    "admin"
}

fn main() {
    let _ = admin;
}
