use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuer = "https://auth.example.com", dpop = "bearer_only", dpop_algs = ["ES256"])]
pub struct Explicit;

#[mcp_resource(id = "https://mcp.example.com/other", issuer = "https://auth.example.com", dpop_algs = ["ES256"])]
pub struct ByDefault;

fn main() {}
