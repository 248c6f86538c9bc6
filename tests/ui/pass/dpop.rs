use mcp_auth::dpop::DpopPolicy;
use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://a.example.com/mcp", issuer = "https://auth.example.com", dpop = "required", dpop_algs = ["ES256", "EdDSA"])]
pub struct Required;

#[mcp_resource(id = "https://b.example.com/mcp", issuer = "https://auth.example.com", dpop = "accepted")]
pub struct Accepted;

#[mcp_resource(id = "https://c.example.com/mcp", issuer = "https://auth.example.com", dpop = "bearer_only")]
pub struct BearerOnly;

#[mcp_resource(id = "https://d.example.com/mcp", issuer = "https://auth.example.com")]
pub struct Default;

fn main() {
    use mcp_auth::Resource;
    assert_eq!(Required::DPOP.policy, DpopPolicy::Required);
    assert_eq!(Required::DPOP.algs, ["ES256", "EdDSA"]);
    assert!(Required::METADATA_JSON.contains(r#""dpop_bound_access_tokens_required":true"#));
    assert_eq!(Accepted::DPOP.policy, DpopPolicy::Accepted);
    assert!(Accepted::DPOP.algs.is_empty());
    assert_eq!(BearerOnly::DPOP.policy, DpopPolicy::BearerOnly);
    assert_eq!(Default::DPOP.policy, DpopPolicy::BearerOnly);
    assert!(!Default::METADATA_JSON.contains("dpop"));
}
