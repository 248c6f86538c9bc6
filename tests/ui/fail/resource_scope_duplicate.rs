use mcp_auth::mcp_resource;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes", "read:notes"],
)]
pub struct Notes;

fn main() {}
