use mcp_auth::mcp_resource;
use mcp_auth::discovery::DiscoveryKind;

#[mcp_resource(id = "https://a.example.com", issuer = "https://auth.example.com", discovery = "oauth")]
pub struct OAuthOnly;

#[mcp_resource(id = "https://b.example.com", issuer = "https://auth.example.com", discovery = "oidc")]
pub struct OidcOnly;

#[mcp_resource(id = "https://c.example.com", issuer = "https://auth.example.com", discovery = "auto")]
pub struct Both;

#[mcp_resource(id = "https://d.example.com", issuer = "https://auth.example.com")]
pub struct Unspecified;

fn kind<R: mcp_auth::Resource>() -> DiscoveryKind {
    R::SPEC.issuers[0].kind
}

fn main() {
    assert_eq!(kind::<OAuthOnly>(), DiscoveryKind::OAuth);
    assert_eq!(kind::<OidcOnly>(), DiscoveryKind::Oidc);
    assert_eq!(kind::<Both>(), DiscoveryKind::Auto);
    assert_eq!(kind::<Unspecified>(), DiscoveryKind::Auto);
}
