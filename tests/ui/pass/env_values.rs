use mcp_auth::mcp_resource;
use mcp_auth::__private::ValueSource;

// Private structs: the generated items get the struct's visibility, and unused ones do not warn.
#[mcp_resource(
    id = env("NOTES_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
)]
struct WithDefault;

#[mcp_resource(id = env("NOTES_RESOURCE_ID"), issuer = env("NOTES_ISSUER"))]
struct NoDefault;

#[mcp_resource(
    id = "http://localhost:8080/mcp",
    issuers = [env("PRIMARY_ISSUER", default = "https://auth.example.com"), "https://backup.example.com"],
)]
struct EnvIssuer;

fn main() {
    let spec = <WithDefault as mcp_auth::Resource>::SPEC;
    assert_eq!(
        spec.id,
        ValueSource::Env { var: "NOTES_RESOURCE_ID", default: Some("http://127.0.0.1:3000/mcp") }
    );
    // No literal id: no `ID`, `WELL_KNOWN_PATH` or `METADATA_JSON`.
    assert_eq!(spec.metadata_json, None);
    assert_eq!(WithDefault::SCOPES, ["read:notes"]);

    let spec = <NoDefault as mcp_auth::Resource>::SPEC;
    assert_eq!(spec.id, ValueSource::Env { var: "NOTES_RESOURCE_ID", default: None });
    assert_eq!(spec.issuers[0].issuer, ValueSource::Env { var: "NOTES_ISSUER", default: None });
    assert!(NoDefault::SCOPES.is_empty());

    // A literal id with an issuer from the environment: the id items exist, the document not.
    assert_eq!(EnvIssuer::ID, "http://localhost:8080/mcp");
    assert_eq!(EnvIssuer::WELL_KNOWN_PATH, "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(<EnvIssuer as mcp_auth::Resource>::SPEC.metadata_json, None);
}
