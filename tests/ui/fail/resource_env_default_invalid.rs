use mcp_auth::mcp_resource;

#[mcp_resource(
    id = env("NOTES_RESOURCE_ID", default = "http://mcp.example.com/mcp/"),
    issuer = env("NOTES_ISSUER", default = "https://auth.example.com?x=1"),
)]
pub struct Notes;

fn main() {}
