use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://mcp.example.com/mcp", issuers = ["https://auth.example.com", "https://Tenant.Auth0.com:443/"])]
pub struct Notes;

fn main() {}
