/// The notes API.
pub struct Notes;
impl ::mcp_auth::__private::Resource for Notes {
    const SPEC: ::mcp_auth::__private::ResourceSpec = ::mcp_auth::__private::ResourceSpec {
        type_name: "Notes",
        id: ::mcp_auth::__private::ValueSource::Literal("https://mcp.example.com/mcp"),
        issuers: &[
            ::mcp_auth::__private::IssuerSpec {
                issuer: ::mcp_auth::__private::ValueSource::Literal(
                    "https://auth.example.com/oidc",
                ),
                kind: ::mcp_auth::__private::DiscoveryKind::Auto,
            },
        ],
        scopes: &["read:notes", "write:notes"],
        roles: &[],
        metadata: ::mcp_auth::__private::MetadataSpec {
            resource_name: ::mcp_auth::__private::core::option::Option::Some("Notes"),
            resource_documentation: ::mcp_auth::__private::core::option::Option::Some(
                "https://docs.example.com/notes",
            ),
            resource_policy_uri: ::mcp_auth::__private::core::option::Option::None,
            resource_tos_uri: ::mcp_auth::__private::core::option::Option::None,
            localized: &[],
        },
        token: ::mcp_auth::__private::TokenSpec {
            typ: ::mcp_auth::__private::TypPolicy::Strict,
            claims: ::mcp_auth::__private::ClaimsProfile::Strict,
            scope_claim_fallback: ::mcp_auth::__private::core::option::Option::None,
            role_claim: ::mcp_auth::__private::core::option::Option::None,
        },
        metadata_json: ::mcp_auth::__private::core::option::Option::Some(
            Self::METADATA_JSON,
        ),
    };
}
#[allow(dead_code)]
impl Notes {
    /// The scopes [`Notes`] declares (`scopes_supported`): `read:notes`, `write:notes`. `#[requires_scope]` accepts only these.
    pub const SCOPES: &'static [&'static str] = <Self as ::mcp_auth::__private::Resource>::SPEC
        .scopes;
    /// The roles [`Notes`] declares: none, so no operation can require a role.
    pub const ROLES: &'static [&'static str] = <Self as ::mcp_auth::__private::Resource>::SPEC
        .roles;
    /// The resource identifier: `https://mcp.example.com/mcp`.
    pub const ID: &'static str = "https://mcp.example.com/mcp";
    /// The path the metadata is served at (RFC 9728 §3.1): `/.well-known/oauth-protected-resource/mcp`.
    pub const WELL_KNOWN_PATH: &'static str = "/.well-known/oauth-protected-resource/mcp";
    /** The RFC 9728 metadata document, byte for byte as served at [`Self::WELL_KNOWN_PATH`]:

```json
{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com/oidc"],"scopes_supported":["read:notes","write:notes"],"bearer_methods_supported":["header"],"resource_name":"Notes","resource_documentation":"https://docs.example.com/notes"}
```*/
    pub const METADATA_JSON: &'static str = "{\"resource\":\"https://mcp.example.com/mcp\",\"authorization_servers\":[\"https://auth.example.com/oidc\"],\"scopes_supported\":[\"read:notes\",\"write:notes\"],\"bearer_methods_supported\":[\"header\"],\"resource_name\":\"Notes\",\"resource_documentation\":\"https://docs.example.com/notes\"}";
    /// Starts this resource at run time: discovers the issuers' metadata and keys, then
    /// `.build().await` returns the running resource (layer, extractor, metadata route).
    pub fn builder() -> ::mcp_auth::__private::ResourceBuilder<Self> {
        ::mcp_auth::__private::ResourceBuilder::new()
    }
}
