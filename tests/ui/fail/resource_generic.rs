use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuer = "https://auth.example.com")]
pub struct Notes<T>(T);

fn main() {}
