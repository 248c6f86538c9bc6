use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuers = [])]
pub struct Notes;

fn main() {}
