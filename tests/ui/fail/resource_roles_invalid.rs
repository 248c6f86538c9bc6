use mcp_auth::mcp_resource;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    roles = ["notes admin", "viewer", "viewer"],
    role_claim = "realm_access..roles",
)]
pub struct Notes;

fn main() {}
