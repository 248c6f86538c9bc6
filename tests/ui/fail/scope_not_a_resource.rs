use mcp_auth::requires_scope;

// `Notes` was not declared with `#[mcp_resource]`.
pub struct Notes;

#[requires_scope(Notes, "read:notes")]
async fn list() -> &'static str {
    "list"
}

fn main() {
    let _ = list;
}
