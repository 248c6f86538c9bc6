use mcp_auth::mcp_resource;

#[mcp_resource(id = env(NOTES_ID), issuer = environment("NOTES_ISSUER"))]
pub struct Notes;

#[mcp_resource(id = env("NOTES_ID", fallback = "https://mcp.example.com"), issuer = env())]
pub struct Other;

fn main() {}
