use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://user:secret@mcp.example.com/mcp", issuer = "https://auth.example.com")]
pub struct Notes;

fn main() {}
