use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("read:notes")]
async fn list(body: String) -> String {
    body
}

fn main() {
    let _ = list;
    use_any();
}

// `Auth` alone accepts any resource's token, so it does not say whose scopes these are.
#[requires_scope("read:notes")]
async fn any(_auth: Auth) -> &'static str {
    "any"
}

fn use_any() {
    let _ = any;
}
