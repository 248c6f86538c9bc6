//! One test per step of RFC 9449 §4.3, each with a proof that breaks only that step.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::Algorithm;
use mcp_auth_dev::{DpopKey, SigningAlg};
use serde_json::json;

use super::*;
use crate::clock::{Clock as _, ManualClock};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const TOKEN: &str = "access.token.value";

fn verifier(options: DpopOptions) -> (DpopVerifier, ManualClock) {
    let clock = ManualClock::now();
    let verifier = DpopVerifier::with_clock(
        RESOURCE,
        options.policy(DpopPolicy::Accepted),
        Arc::new(clock.clone()),
    )
    .unwrap();
    (verifier, clock)
}

fn headers(proofs: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for proof in proofs {
        headers.append("dpop", HeaderValue::from_str(proof).unwrap());
    }
    headers
}

fn request<'a>(method: &'a Method, bound: Option<&'a str>) -> ProofRequest<'a> {
    ProofRequest {
        method,
        path: "/mcp",
        access_token: Some(TOKEN),
        bound_jkt: bound,
    }
}

async fn check(
    verifier: &DpopVerifier,
    proof: &str,
    key: &DpopKey,
) -> Result<VerifiedProof, DpopError> {
    verifier
        .verify(
            &headers(&[proof]),
            &request(&Method::POST, Some(key.thumbprint())),
        )
        .await
}

fn good(key: &DpopKey) -> mcp_auth_dev::ProofBuilder {
    key.proof_builder("POST", RESOURCE).access_token(TOKEN)
}

#[tokio::test]
async fn a_proof_that_follows_every_step_passes_with_its_thumbprint() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let proof = key.proof(
        "POST",
        "https://mcp.example.com/mcp?cursor=2",
        Some(TOKEN),
        None,
    );
    let verified = check(&verifier, &proof, &key).await.unwrap();
    assert_eq!(verified.thumbprint(), key.thumbprint());
}

#[tokio::test]
async fn every_default_algorithm_verifies() {
    let (verifier, _) = verifier(DpopOptions::default().algorithms(SUPPORTED_ALGORITHMS));
    for alg in [
        SigningAlg::Es256,
        SigningAlg::Es384,
        SigningAlg::Rs256,
        SigningAlg::Ps256,
        SigningAlg::EdDsa,
    ] {
        let key = DpopKey::generate(alg).unwrap();
        let proof = good(&key).build();
        let verified = check(&verifier, &proof, &key).await;
        assert!(verified.is_ok(), "{alg}: {verified:?}");
    }
}

#[tokio::test]
async fn step1_exactly_one_dpop_header() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let req = request(&Method::POST, Some(key.thumbprint()));
    assert_eq!(
        verifier.verify(&headers(&[]), &req).await,
        Err(DpopError::MissingProof)
    );
    let (a, b) = (good(&key).build(), good(&key).build());
    let err = verifier
        .verify(&headers(&[&a, &b]), &req)
        .await
        .unwrap_err();
    assert_eq!(err, DpopError::MultipleProofs);
    assert_eq!(err.step(), 1);
}

#[tokio::test]
async fn step2_a_single_well_formed_jwt() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    for bad in [
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.bm90anNvbg.sig",
        "W10.e30.sig",
    ] {
        let err = check(&verifier, bad, &key).await.unwrap_err();
        assert!(matches!(err, DpopError::Malformed(_)), "{bad}: {err:?}");
        assert_eq!(err.step(), 2);
    }
    let (small, _) = verifier_with(DpopOptions::default().max_proof_bytes(100));
    let err = check(&small, &good(&key).build(), &key).await.unwrap_err();
    assert_eq!(err, DpopError::TooLarge { max: 100 });
}

fn verifier_with(options: DpopOptions) -> (DpopVerifier, ManualClock) {
    verifier(options)
}

#[tokio::test]
async fn step3_required_claims() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    for claim in ["jti", "htm", "htu", "iat"] {
        let proof = good(&key).remove_claim(claim).build();
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::MissingClaim(claim)),
            "{claim}"
        );
    }
    let proof = good(&key).claim("iat", "yesterday").build();
    let err = check(&verifier, &proof, &key).await.unwrap_err();
    assert!(matches!(err, DpopError::InvalidClaim { claim: "iat", .. }));
    let proof = good(&key).claim("jti", "").build();
    let err = check(&verifier, &proof, &key).await.unwrap_err();
    assert!(matches!(err, DpopError::InvalidClaim { claim: "jti", .. }));
}

#[tokio::test]
async fn step4_typ_dpop_jwt() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    for typ in [json!("JWT"), json!("at+jwt"), json!(1)] {
        let proof = good(&key).header("typ", typ).build();
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::InvalidType)
        );
    }
    let proof = good(&key).remove_header("typ").build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::InvalidType)
    );
}

#[tokio::test]
async fn step5_asymmetric_allowed_alg() {
    let (verifier, _) = verifier(DpopOptions::default().algorithms([Algorithm::ES256]));
    let es384 = DpopKey::generate(SigningAlg::Es384).unwrap();
    let proof = good(&es384).build();
    assert_eq!(
        check(&verifier, &proof, &es384).await,
        Err(DpopError::UnsupportedAlgorithm),
        "not in the allow-list"
    );
    let key = DpopKey::generate_es256();
    for alg in ["HS256", "none", "XS256"] {
        let proof = good(&key).header("alg", alg).build();
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn step6_signature_verifies_with_the_jwk() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let other = DpopKey::generate_es256();
    let proof = good(&key).signed_by(&other).build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::InvalidSignature)
    );
    let proof = good(&key).corrupt_signature().build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::InvalidSignature)
    );
    let proof = good(&key).build();
    let unsigned = format!("{}.", proof.rsplit_once('.').unwrap().0);
    assert_eq!(
        check(&verifier, &unsigned, &key).await,
        Err(DpopError::InvalidSignature)
    );
}

#[tokio::test]
async fn step7_public_jwk_only() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let proof = good(&key).jwk_member(member, "AAAA").build();
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::PrivateKey),
            "{member}"
        );
    }
    let proof = good(&key).remove_header("jwk").build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::MissingJwk)
    );
    let ed = DpopKey::generate(SigningAlg::EdDsa).unwrap();
    let proof = good(&key).header("jwk", ed.public_jwk()).build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::KeyMismatch)
    );
    let proof = good(&key)
        .header("jwk", json!({"kty": "oct", "kk": "AAAA"}))
        .build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::KeyMismatch)
    );
    let proof = good(&key).jwk_member("x", "not base64!").build();
    assert!(matches!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::InvalidJwk(_))
    ));
}

#[tokio::test]
async fn step8_htm_is_the_method() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let proof = key.proof("GET", RESOURCE, Some(TOKEN), None);
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::MethodMismatch)
    );
    let proof = key.proof("post", RESOURCE, Some(TOKEN), None);
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::MethodMismatch)
    );
}

#[tokio::test]
async fn step9_htu_is_the_uri_from_the_configured_origin() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    for htu in [
        "https://evil.example.com/mcp",
        "http://mcp.example.com/mcp",
        "https://mcp.example.com:8443/mcp",
        "https://mcp.example.com/other",
        "/mcp",
        // Other spellings are other URIs (the audience's rule, `mcp_auth_rules::same_uri`).
        "https://mcp.example.com/x/../mcp",
        "https://mcp.example.com./mcp",
        "https://mcp.example.com:0443/mcp",
        "https://mcp.example.com\\mcp",
        "https://mcp.example.com/m\tcp",
        "https://mcp.example.com/%6dcp",
    ] {
        let proof = key.proof("POST", htu, Some(TOKEN), None);
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::UriMismatch),
            "{htu}"
        );
    }
    for htu in [
        "HTTPS://MCP.EXAMPLE.COM:443/mcp",
        "https://mcp.example.com/mcp?query#fragment",
    ] {
        let proof = key.proof("POST", htu, Some(TOKEN), None);
        assert!(check(&verifier, &proof, &key).await.is_ok(), "{htu}");
    }
}

#[tokio::test]
async fn step10_server_nonce_current_or_previous() {
    let (verifier, clock) = verifier(DpopOptions::default().nonce(true));
    let key = DpopKey::generate_es256();
    let proof = good(&key).build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::NonceRequired)
    );
    let err = check(
        &verifier,
        &good(&key).claim("nonce", "made-up").build(),
        &key,
    )
    .await
    .unwrap_err();
    assert_eq!(err, DpopError::InvalidNonce);
    assert_eq!(err.code(), ErrorCode::UseDpopNonce);
    let nonce = verifier.nonce().unwrap();
    let proof = good(&key).claim("nonce", nonce.as_str()).build();
    assert!(check(&verifier, &proof, &key).await.is_ok());
    // One lifetime later it is the previous nonce: still accepted; two later it is not.
    clock.advance(DEFAULT_NONCE_LIFETIME);
    let proof = good(&key)
        .claim("nonce", nonce.as_str())
        .issued_at(clock.unix_seconds())
        .build();
    assert!(check(&verifier, &proof, &key).await.is_ok());
    clock.advance(DEFAULT_NONCE_LIFETIME);
    let proof = good(&key)
        .claim("nonce", nonce.as_str())
        .issued_at(clock.unix_seconds())
        .build();
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::InvalidNonce)
    );
}

#[tokio::test]
async fn step11_iat_within_the_window_plus_leeway() {
    let (verifier, clock) = verifier(
        DpopOptions::default()
            .iat_window(Duration::from_secs(60))
            .leeway(Duration::from_secs(5)),
    );
    let key = DpopKey::generate_es256();
    let now = clock.unix_seconds();
    for iat in [now - 66, now + 66] {
        let proof = good(&key).issued_at(iat).build();
        assert_eq!(
            check(&verifier, &proof, &key).await,
            Err(DpopError::IatOutOfWindow),
            "{iat} vs {now}"
        );
    }
    for iat in [now - 65, now + 65] {
        let proof = good(&key).issued_at(iat).build();
        assert!(check(&verifier, &proof, &key).await.is_ok());
    }
}

#[tokio::test]
async fn step12_ath_and_key_binding() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let proof = key.proof("POST", RESOURCE, None, None);
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::MissingAth)
    );
    let proof = key.proof("POST", RESOURCE, Some("another.token"), None);
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::AthMismatch)
    );
    let other = DpopKey::generate_es256();
    let proof = good(&key).build();
    let err = verifier
        .verify(
            &headers(&[&proof]),
            &request(&Method::POST, Some(other.thumbprint())),
        )
        .await
        .unwrap_err();
    assert_eq!(err, DpopError::KeyBindingMismatch);
    assert_eq!(err.code(), ErrorCode::InvalidToken);
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let (verifier, _) = verifier(DpopOptions::default());
    let key = DpopKey::generate_es256();
    let proof = good(&key).build();
    assert!(check(&verifier, &proof, &key).await.is_ok());
    assert_eq!(
        check(&verifier, &proof, &key).await,
        Err(DpopError::Replayed)
    );
    // A refused proof does not use up its jti.
    let proof = good(&key).claim("jti", "once").claim("htm", "GET").build();
    assert!(check(&verifier, &proof, &key).await.is_err());
    let proof = good(&key).claim("jti", "once").build();
    assert!(check(&verifier, &proof, &key).await.is_ok());
}

#[tokio::test]
async fn replay_holds_across_verifiers_sharing_a_store() {
    let store: crate::binding::SharedStore = Arc::new(crate::binding::MemoryStore::new());
    let options = DpopOptions::default().replay_store(Arc::clone(&store));
    let (a, _) = verifier(options.clone());
    let (b, _) = verifier(options);
    let key = DpopKey::generate_es256();
    let proof = good(&key).build();
    assert!(check(&a, &proof, &key).await.is_ok());
    assert_eq!(check(&b, &proof, &key).await, Err(DpopError::Replayed));
}

#[test]
fn messages_name_the_step_and_never_the_proof() {
    let key = DpopKey::generate_es256();
    for error in [
        DpopError::MissingProof,
        DpopError::Malformed("x"),
        DpopError::InvalidSignature,
        DpopError::UriMismatch,
        DpopError::Replayed,
    ] {
        let text = error.to_string();
        assert!(text.contains("DPoP"), "{text}");
        assert!(!text.contains(key.thumbprint()));
    }
}

#[test]
fn configuration_errors_for_symmetric_duplicate_or_no_algorithms() {
    for (options, what) in [
        (
            DpopOptions::default().algorithms([Algorithm::HS256]),
            "asymmetric",
        ),
        (
            DpopOptions::default().algorithms([Algorithm::ES256, Algorithm::ES256]),
            "twice",
        ),
        (DpopOptions::default().algorithms([]), "at least one"),
    ] {
        let err = DpopVerifier::new(RESOURCE, options.policy(DpopPolicy::Required)).unwrap_err();
        assert!(format!("{err}").contains(what), "{err}");
    }
}

#[test]
fn thumbprint_ignores_non_required_members() {
    let key = DpopKey::generate_es256();
    let mut jwk = key.public_jwk().as_object().unwrap().clone();
    jwk.insert("kid".into(), "k1".into());
    jwk.insert("alg".into(), "ES256".into());
    let (_, parsed) = super::jwk::public_key(&jwk, jsonwebtoken::Algorithm::ES256).unwrap();
    assert_eq!(super::jwk::thumbprint(&parsed).unwrap(), key.thumbprint());
}

#[tokio::test]
async fn jwt_bound_tokens_pass_verify_dpop_and_are_refused_as_bearer() {
    use crate::verify::{JwtVerifier, TokenVerifier as _};
    let idp = mcp_auth_dev::AuthorizationServer::start().await.unwrap();
    let verifier = JwtVerifier::builder()
        .resource(RESOURCE)
        .issuer(idp.issuer(), idp.jwks_uri())
        .build()
        .unwrap();
    let key = DpopKey::generate_es256();
    let bound = idp
        .token()
        .audience(RESOURCE)
        .claim("cnf", json!({"jkt": key.thumbprint()}))
        .mint();
    let info = verifier.verify_dpop(&bound).await.unwrap();
    assert_eq!(info.dpop_jkt(), Some(key.thumbprint()));
    assert_eq!(
        verifier.verify(&bound).await.unwrap_err(),
        crate::VerifyError::NotABearerToken
    );
    let plain = idp.token().audience(RESOURCE).mint();
    assert_eq!(verifier.verify_dpop(&plain).await.unwrap().dpop_jkt(), None);
    assert_eq!(verifier.verify(&plain).await.unwrap().dpop_jkt(), None);
}

mod through_the_layer {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    use super::*;
    use crate::{ProtectedResource, ResourceServer};

    struct Fixture {
        idp: mcp_auth_dev::AuthorizationServer,
        app: Router,
        metadata: Vec<u8>,
    }

    async fn fixture(edit: impl FnOnce(DpopOptions) -> DpopOptions) -> Fixture {
        let idp = mcp_auth_dev::AuthorizationServer::start().await.unwrap();
        let server = ResourceServer::builder()
            .resource(
                ProtectedResource::new(RESOURCE)
                    .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                    .metadata(|m| m.scopes_supported(["mcp:read"]))
                    .dpop(edit),
            )
            .build()
            .unwrap();
        let resource = server.resource(RESOURCE).unwrap();
        let app = Router::new()
            .route("/mcp", post(|| async { "ok" }))
            .layer(resource.layer().required_scopes(["mcp:read"]));
        Fixture {
            metadata: resource.metadata_document().to_vec(),
            idp,
            app,
        }
    }

    impl Fixture {
        fn bound_token(&self, key: &DpopKey) -> String {
            self.idp
                .token()
                .audience(RESOURCE)
                .scopes(["mcp:read"])
                .claim("cnf", json!({"jkt": key.thumbprint()}))
                .mint()
        }

        async fn send(
            &self,
            authorization: Option<String>,
            proof: Option<String>,
        ) -> http::Response<Body> {
            let mut request = Request::post("/mcp").header(header::HOST, "evil.example.com");
            if let Some(authorization) = authorization {
                request = request.header(header::AUTHORIZATION, authorization);
            }
            if let Some(proof) = proof {
                request = request.header("dpop", proof);
            }
            self.app
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap()
        }
    }

    fn challenges(response: &http::Response<Body>) -> Vec<String> {
        response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn accepted_policy_dpop_and_bearer_side_by_side() {
        let fx = fixture(|d| d.policy(DpopPolicy::Accepted)).await;
        let key = DpopKey::generate_es256();
        let token = fx.bound_token(&key);
        let proof = key.proof("POST", RESOURCE, Some(&token), None);
        let ok = fx
            .send(Some(format!("DPoP {token}")), Some(proof.clone()))
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        // The same proof again: a replay, refused although the token is cached.
        let replay = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        let c = challenges(&replay);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[0].starts_with("Bearer resource_metadata="), "{c:?}");
        assert!(
            c[1].starts_with(r#"DPoP error="invalid_dpop_proof""#),
            "{c:?}"
        );
        assert!(c[1].ends_with(r#"algs="ES256 RS256 PS256 EdDSA""#), "{c:?}");
        // A fresh proof for the cached token: accepted.
        let proof = key.proof("POST", RESOURCE, Some(&token), None);
        let ok = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(ok.status(), StatusCode::OK);
        // The bound token as Bearer, with or without a proof: refused.
        let proof = key.proof("POST", RESOURCE, Some(&token), None);
        let bearer = fx.send(Some(format!("Bearer {token}")), Some(proof)).await;
        assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
        let c = challenges(&bearer);
        assert!(c[0].starts_with(r#"Bearer error="invalid_token""#), "{c:?}");
        assert!(c[1].starts_with("DPoP resource_metadata="), "{c:?}");
        // An unbound Bearer token with a proof: a Bearer request, the proof not evaluated.
        let plain = fx
            .idp
            .token()
            .audience(RESOURCE)
            .scopes(["mcp:read"])
            .mint();
        let ok = fx
            .send(
                Some(format!("Bearer {plain}")),
                Some("not even a proof".into()),
            )
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        // An unbound token with the DPoP scheme: not bound, invalid_token on the DPoP challenge.
        let proof = key.proof("POST", RESOURCE, Some(&plain), None);
        let unbound = fx.send(Some(format!("DPoP {plain}")), Some(proof)).await;
        assert_eq!(unbound.status(), StatusCode::UNAUTHORIZED);
        assert!(challenges(&unbound)[1].starts_with(r#"DPoP error="invalid_token""#));
        // No credentials: both challenges, with scope.
        let none = fx.send(None, None).await;
        let c = challenges(&none);
        assert_eq!(c.len(), 2);
        assert!(c[1].contains(r#"scope="mcp:read""#), "{c:?}");
        let doc: serde_json::Value = serde_json::from_slice(&fx.metadata).unwrap();
        assert_eq!(
            doc["dpop_signing_alg_values_supported"],
            json!(["ES256", "RS256", "PS256", "EdDSA"])
        );
        assert!(
            doc.get("dpop_bound_access_tokens_required")
                .is_none_or(|v| v == false)
        );
    }

    #[tokio::test]
    async fn required_policy_refuses_bearer_and_nonce_round_trip() {
        let fx = fixture(|d| {
            d.policy(DpopPolicy::Required)
                .algorithms([Algorithm::ES256])
                .nonce(true)
        })
        .await;
        let key = DpopKey::generate_es256();
        let token = fx.bound_token(&key);
        let plain = fx
            .idp
            .token()
            .audience(RESOURCE)
            .scopes(["mcp:read"])
            .mint();
        let bearer = fx.send(Some(format!("Bearer {plain}")), None).await;
        assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
        let c = challenges(&bearer);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].starts_with(r#"DPoP error="invalid_token""#), "{c:?}");
        // Without a nonce: use_dpop_nonce and a DPoP-Nonce.
        let proof = key.proof("POST", RESOURCE, Some(&token), None);
        let first = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
        assert!(challenges(&first)[0].starts_with(r#"DPoP error="use_dpop_nonce""#));
        let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        let proof = key.proof("POST", RESOURCE, Some(&token), Some(&nonce));
        let ok = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(ok.status(), StatusCode::OK);
        // A proof for a foreign host (the attacker's Host header is never used).
        let proof = key.proof(
            "POST",
            "https://evil.example.com/mcp",
            Some(&token),
            Some(&nonce),
        );
        let foreign = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(foreign.status(), StatusCode::UNAUTHORIZED);
        // Missing credentials: only the DPoP challenge.
        let none = fx.send(None, None).await;
        let c = challenges(&none);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].starts_with("DPoP resource_metadata="), "{c:?}");
        assert!(c[0].ends_with(r#"algs="ES256""#), "{c:?}");
        let doc: serde_json::Value = serde_json::from_slice(&fx.metadata).unwrap();
        assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
    }

    #[tokio::test]
    async fn insufficient_scope_goes_on_the_dpop_challenge() {
        let fx = fixture(|d| d.policy(DpopPolicy::Accepted)).await;
        let key = DpopKey::generate_es256();
        let token = fx
            .idp
            .token()
            .audience(RESOURCE)
            .scopes(["other"])
            .claim("cnf", json!({"jkt": key.thumbprint()}))
            .mint();
        let proof = key.proof("POST", RESOURCE, Some(&token), None);
        let refused = fx.send(Some(format!("DPoP {token}")), Some(proof)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let c = challenges(&refused);
        assert!(
            c[1].starts_with(r#"DPoP error="insufficient_scope""#),
            "{c:?}"
        );
    }

    #[tokio::test]
    async fn garbage_never_panics_nor_500s() {
        let fx = fixture(|d| d.policy(DpopPolicy::Accepted).nonce(true)).await;
        for (auth, proof) in [
            (Some("DPoP"), None),
            (Some("DPoP   "), Some("")),
            (Some("DPoP a.b.c"), Some("a.b.c")),
            (Some("DPoP é"), Some("....")),
            (
                Some("dpop eyJ.eyJ.x"),
                Some("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"),
            ),
            (Some("Bearer"), Some("x")),
        ] {
            let response = fx
                .send(auth.map(str::to_owned), proof.map(str::to_owned))
                .await;
            let status = response.status();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST,
                "{auth:?}: {status}"
            );
        }
    }
}
