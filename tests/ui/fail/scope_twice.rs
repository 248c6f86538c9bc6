use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("read:notes")]
#[requires_scope("write:notes")]
async fn edit(_auth: Auth<Notes>) -> &'static str {
    "edit"
}

fn main() {
    let _ = edit;
}
