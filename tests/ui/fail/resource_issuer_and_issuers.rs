use mcp_auth::mcp_resource;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    issuers = ["https://other.example.com"],
)]
pub struct Notes;

fn main() {}
