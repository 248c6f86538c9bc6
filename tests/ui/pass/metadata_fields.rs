use mcp_auth::mcp_resource;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    name = "Notes \"beta\"",
    documentation = "https://docs.example.com/notes",
    policy_uri = "https://example.com/policy",
    tos_uri = "https://example.com/tos",
)]
pub struct Notes;

fn main() {
    let metadata = <Notes as mcp_auth::Resource>::SPEC.metadata;
    assert_eq!(metadata.resource_name, Some("Notes \"beta\""));
    assert_eq!(metadata.resource_documentation, Some("https://docs.example.com/notes"));
    assert_eq!(metadata.resource_policy_uri, Some("https://example.com/policy"));
    assert_eq!(metadata.resource_tos_uri, Some("https://example.com/tos"));
    // No scopes: `scopes_supported` is omitted (RS-07: no empty members).
    assert_eq!(
        Notes::METADATA_JSON,
        r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"bearer_methods_supported":["header"],"resource_name":"Notes \"beta\"","resource_documentation":"https://docs.example.com/notes","resource_policy_uri":"https://example.com/policy","resource_tos_uri":"https://example.com/tos"}"#
    );
}
