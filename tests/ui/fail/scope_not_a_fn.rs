use mcp_auth::{mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("read:notes")]
struct NotAHandler;

fn main() {
    let _ = NotAHandler;
}
