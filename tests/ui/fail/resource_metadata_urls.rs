use mcp_auth::mcp_resource;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    documentation = "docs.example.com/notes",
    policy_uri = "http://example.com/policy",
    tos_uri = "https://example.com/tos#section-2",
    name = "",
)]
pub struct Notes;

fn main() {}
