use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", isuer = "https://auth.example.com", scope = ["read:notes"])]
pub struct Notes;

fn main() {}
