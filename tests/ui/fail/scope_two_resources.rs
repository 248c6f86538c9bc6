use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[mcp_resource(
    id = "https://mcp.example.com/drafts",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Drafts;

#[requires_scope("read:notes")]
async fn list(_notes: Auth<Notes>, _drafts: Auth<Drafts>) -> &'static str {
    "list"
}

fn main() {
    let _ = list;
}
