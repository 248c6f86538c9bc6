use mcp_auth::mcp_resource;
use mcp_auth::__private::TokenSpec;
use mcp_auth::verify::{ClaimsProfile, TypPolicy};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    scopes = ["Notes.Read"],
    accept_jwt_typ = true,
    lenient_claims,
    scope_claim = "scp",
)]
pub struct Entra;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    accept_jwt_typ = false,
)]
pub struct Strict;

fn main() {
    let token = <Entra as mcp_auth::Resource>::SPEC.token;
    assert_eq!(token.typ, TypPolicy::AllowJwt);
    assert_eq!(token.claims, ClaimsProfile::Lenient);
    assert_eq!(token.scope_claim_fallback, Some("scp"));
    assert_eq!(<Strict as mcp_auth::Resource>::SPEC.token, TokenSpec::STRICT);
}
