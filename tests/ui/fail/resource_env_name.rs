use mcp_auth::mcp_resource;

#[mcp_resource(id = env(""), issuer = env("AUTH=ISSUER"))]
pub struct Notes;

fn main() {}
