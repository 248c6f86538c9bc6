// One bad literal in #[mcp_resource] is one error: the code that uses the resource (handlers
// with #[requires_scope], Notes::builder(), its constants) adds none of its own.
use mcp_auth::{Auth, mcp_resource, requires_scope};

#[mcp_resource(
    id = "http://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
)]
pub struct Notes;

#[requires_scope("read:notes")]
async fn list_notes(auth: Auth<Notes>) -> String {
    auth.subject().unwrap_or_default().to_owned()
}

async fn start() {
    let notes = Notes::builder().build().await.unwrap();
    let _app: axum::Router = axum::Router::new()
        .route("/notes", axum::routing::get(list_notes))
        .layer(notes.layer())
        .merge(notes.metadata_router());
    let _ = (Notes::SCOPES, Notes::METADATA_JSON, Notes::WELL_KNOWN_PATH);
}

fn main() {
    let _ = start();
}
