use mcp_auth::{mcp_resource, tool_scopes};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[tool_scopes(Notes)]
pub struct Other;

fn main() {}
