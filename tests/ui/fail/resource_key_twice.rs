use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", id = "https://mcp.example.com/other", issuer = "https://auth.example.com")]
pub struct Notes;

fn main() {}
