use mcp_auth::mcp_resource;

#[mcp_resource(issuer = "https://auth.example.com", scopes = ["read:notes"])]
pub struct Notes;

fn main() {}
