use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuer = "http://auth.example.com")]
pub struct Notes;

fn main() {}
