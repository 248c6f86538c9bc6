use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", scopes = ["read:notes"])]
pub struct Notes;

fn main() {}
