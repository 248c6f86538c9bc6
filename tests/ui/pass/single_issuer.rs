use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use mcp_auth::{Auth, ResourceBuilder, mcp_resource, requires_scope};

/// The notes API.
#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com/oidc",
    scopes = ["read:notes", "write:notes"],
    name = "Notes",
)]
pub struct Notes;

#[requires_scope("read:notes")]
async fn list_notes(auth: Auth<Notes>) -> String {
    auth.subject().unwrap_or("anonymous").to_owned()
}

#[requires_scope("write:notes", "read:notes")]
async fn create_note(_headers: HeaderMap, _auth: mcp_auth::Auth<Notes>, body: String) -> StatusCode {
    if body.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::CREATED }
}

fn main() {
    let _app: Router = Router::new().route("/notes", get(list_notes).post(create_note));
    let _builder: fn() -> ResourceBuilder<Notes> = Notes::builder;

    assert_eq!(Notes::ID, "https://mcp.example.com/mcp");
    assert_eq!(Notes::WELL_KNOWN_PATH, "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(Notes::SCOPES, ["read:notes", "write:notes"]);
    assert_eq!(
        Notes::METADATA_JSON,
        r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com/oidc"],"scopes_supported":["read:notes","write:notes"],"bearer_methods_supported":["header"],"resource_name":"Notes"}"#
    );
    let spec = <Notes as mcp_auth::Resource>::SPEC;
    assert_eq!(spec.type_name, "Notes");
    assert_eq!(spec.metadata_json, Some(Notes::METADATA_JSON));
    assert_eq!(spec.issuers.len(), 1);
    assert_eq!(spec.issuers[0].kind, mcp_auth::discovery::DiscoveryKind::Auto);
    assert_eq!(spec.metadata.resource_name, Some("Notes"));
}
