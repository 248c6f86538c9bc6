use mcp_auth::mcp_resource;

// A query is only a warning for the runtime (RFC 9728: SHOULD NOT); the macro cannot warn.
#[mcp_resource(id = "https://mcp.example.com/mcp?tenant=acme", issuer = "https://auth.example.com")]
pub struct Notes;

fn main() {}
