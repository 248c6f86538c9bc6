use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuer = "https://auth.example.com", dpop = "accepted", dpop_algs = ["ES256", "EdDSA", "ES256"])]
pub struct Notes;

fn main() {}
