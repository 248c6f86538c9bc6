//! Verification cost: our verifier (all RFC 9068 checks, cached keys) next to a bare
//! `jsonwebtoken::decode` with a preloaded key, for RS256, ES256 and EdDSA.
//!
//! Run: `cargo bench -p mcp-auth --bench verify`

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::TokenVerifier;
use mcp_auth::verify::JwtVerifier;
use mcp_auth_dev::{AuthorizationServer, SigningAlg};

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let idp = rt
        .block_on(
            AuthorizationServer::builder()
                .algorithms([SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa])
                .start(),
        )
        .expect("dev server");
    let verifier = JwtVerifier::builder()
        .resource(RESOURCE)
        .issuer(idp.issuer(), idp.jwks_uri())
        .build()
        .expect("verifier");
    let jwks = idp.jwks();
    let mut group = c.benchmark_group("verify");
    for (alg, name) in [
        (SigningAlg::Rs256, "RS256"),
        (SigningAlg::Es256, "ES256"),
        (SigningAlg::EdDsa, "EdDSA"),
    ] {
        let token = idp
            .token()
            .audience(RESOURCE)
            .scopes(["mcp:read"])
            .alg(alg)
            .mint();
        // Warm the key cache: the benchmark measures the steady state.
        rt.block_on(verifier.verify(&token))
            .expect("token verifies");
        group.bench_function(format!("mcp-auth/{name}"), |b| {
            b.iter(|| rt.block_on(verifier.verify(&token)).expect("verifies"));
        });

        let kid = idp.kid_for(alg);
        let jwk: Jwk = serde_json::from_value(
            jwks["keys"]
                .as_array()
                .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
                .cloned()
                .expect("jwk of the kid"),
        )
        .expect("jwk parses");
        let key = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut validation = Validation::new(alg.algorithm());
        validation.set_audience(&[RESOURCE]);
        validation.set_issuer(&[idp.issuer()]);
        jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).expect("bare decode");
        group.bench_function(format!("jsonwebtoken/{name}"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
                    .expect("decodes")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
