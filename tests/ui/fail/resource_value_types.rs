use mcp_auth::mcp_resource;

#[mcp_resource(
    id = 42,
    issuer = "https://auth.example.com",
    scopes = "read:notes",
    accept_jwt_typ = "yes",
)]
pub struct Notes;

fn main() {}
