pub(crate) struct Notes;
impl ::mcp_auth::__private::Resource for Notes {
    const SPEC: ::mcp_auth::__private::ResourceSpec = ::mcp_auth::__private::ResourceSpec {
        type_name: "Notes",
        id: ::mcp_auth::__private::ValueSource::Env {
            var: "NOTES_RESOURCE_ID",
            default: ::mcp_auth::__private::core::option::Option::Some(
                "http://127.0.0.1:3000/mcp",
            ),
        },
        issuers: &[
            ::mcp_auth::__private::IssuerSpec {
                issuer: ::mcp_auth::__private::ValueSource::Literal(
                    "https://auth.example.com/oidc",
                ),
                kind: ::mcp_auth::__private::DiscoveryKind::Oidc,
            },
            ::mcp_auth::__private::IssuerSpec {
                issuer: ::mcp_auth::__private::ValueSource::Env {
                    var: "NOTES_SECOND_ISSUER",
                    default: ::mcp_auth::__private::core::option::Option::None,
                },
                kind: ::mcp_auth::__private::DiscoveryKind::Oidc,
            },
        ],
        scopes: &["read:notes"],
        roles: &["notes-admin"],
        metadata: ::mcp_auth::__private::MetadataSpec {
            resource_name: ::mcp_auth::__private::core::option::Option::None,
            resource_documentation: ::mcp_auth::__private::core::option::Option::None,
            resource_policy_uri: ::mcp_auth::__private::core::option::Option::None,
            resource_tos_uri: ::mcp_auth::__private::core::option::Option::None,
            localized: &[],
        },
        token: ::mcp_auth::__private::TokenSpec {
            typ: ::mcp_auth::__private::TypPolicy::AllowJwt,
            claims: ::mcp_auth::__private::ClaimsProfile::Lenient,
            scope_claim_fallback: ::mcp_auth::__private::core::option::Option::Some(
                "scp",
            ),
            role_claim: ::mcp_auth::__private::core::option::Option::Some(
                "realm_access.roles",
            ),
        },
        metadata_json: ::mcp_auth::__private::core::option::Option::None,
    };
}
#[allow(dead_code)]
impl Notes {
    /// The scopes [`Notes`] declares (`scopes_supported`): `read:notes`. `#[requires_scope]` accepts only these.
    pub(crate) const SCOPES: &'static [&'static str] = <Self as ::mcp_auth::__private::Resource>::SPEC
        .scopes;
    /// The roles [`Notes`] declares: `notes-admin`. `#[requires_role]` accepts only these.
    pub(crate) const ROLES: &'static [&'static str] = <Self as ::mcp_auth::__private::Resource>::SPEC
        .roles;
    /// Starts this resource at run time: discovers the issuers' metadata and keys, then
    /// `.build().await` returns the running resource (layer, extractor, metadata route).
    pub(crate) fn builder() -> ::mcp_auth::__private::ResourceBuilder<Self> {
        ::mcp_auth::__private::ResourceBuilder::new()
    }
}
