use mcp_auth::__private::{
    ClaimsProfile, DiscoveryKind, IssuerSpec, MetadataSpec, Resource, ResourceSpec, TokenSpec,
    TypPolicy, ValueSource,
};
use mcp_auth::requires_scope;

// A hand-written `Resource` (no `#[mcp_resource]`): the check only needs the trait.
pub struct Notes;

impl Resource for Notes {
    const SPEC: ResourceSpec = ResourceSpec {
        type_name: "Notes",
        id: ValueSource::Literal("https://mcp.example.com/mcp"),
        issuers: &[IssuerSpec {
            issuer: ValueSource::Literal("https://auth.example.com"),
            kind: DiscoveryKind::Auto,
        }],
        scopes: &["read:notes"],
        metadata: MetadataSpec {
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            localized: &[],
        },
        token: TokenSpec {
            typ: TypPolicy::Strict,
            claims: ClaimsProfile::Strict,
            scope_claim_fallback: None,
        },
        metadata_json: None,
    };
}

pub struct NotesServer;

impl NotesServer {
    // A tool method (a `self` receiver): checked the same way, even though nothing reads the
    // generated constant yet.
    #[requires_scope(Notes, "write:notes")]
    pub async fn add_note(&self) -> &'static str {
        "added"
    }
}

fn main() {
    let _ = NotesServer.add_note();
}
