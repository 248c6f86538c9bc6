use mcp_auth::{Auth, mcp_resource, requires_role};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
)]
pub struct Notes;

/// A resource without `roles` declares none: no handler can require one.
#[requires_role("notes-admin")]
async fn purge(auth: Auth<Notes>) -> String {
    auth.subject().unwrap_or_default().to_owned()
}

fn main() {
    let _ = purge;
}
