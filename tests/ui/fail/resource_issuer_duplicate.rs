use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuers = ["https://auth.example.com", "https://auth.example.com"])]
pub struct Notes;

fn main() {}
