use mcp_auth::mcp_resource;
use mcp_auth::discovery::DiscoveryKind;
use mcp_auth::__private::ValueSource;

#[mcp_resource(
    id = "https://mcp.example.com",
    issuers = ["https://tenant.auth0.com/", "https://login.example.com/realms/notes"],
    scopes = ["notes"],
    discovery = "oidc",
)]
pub struct Notes;

fn main() {
    // An id without a path: the metadata is at the bare well-known path.
    assert_eq!(Notes::WELL_KNOWN_PATH, "/.well-known/oauth-protected-resource");
    assert_eq!(
        Notes::METADATA_JSON,
        r#"{"resource":"https://mcp.example.com","authorization_servers":["https://tenant.auth0.com/","https://login.example.com/realms/notes"],"scopes_supported":["notes"],"bearer_methods_supported":["header"]}"#
    );
    let spec = <Notes as mcp_auth::Resource>::SPEC;
    let issuers: Vec<_> = spec.issuers.iter().map(|i| (i.issuer, i.kind)).collect();
    assert_eq!(
        issuers,
        [
            (ValueSource::Literal("https://tenant.auth0.com/"), DiscoveryKind::Oidc),
            (ValueSource::Literal("https://login.example.com/realms/notes"), DiscoveryKind::Oidc),
        ]
    );
}
