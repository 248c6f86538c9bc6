use mcp_auth::mcp_resource;

#[mcp_resource(id = "http://mcp.example.com/mcp", issuer = "https://auth.example.com")]
pub struct Notes;

#[mcp_resource(id = "ftp://mcp.example.com/mcp", issuer = "https://auth.example.com")]
pub struct Files;

fn main() {}
