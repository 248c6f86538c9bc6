//! The trust core against a real authorization server on loopback: discovery, JWKS and JWT
//! verification (checklist RS-12, RS-34..RS-45). Every test talks to
//! `mcp_auth_dev::AuthorizationServer` over HTTP; nothing of ours is mocked.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth::VerifyError;
use mcp_auth::clock::{Clock, ManualClock};
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::verify::TokenVerifier;
use mcp_auth::verify::{
    ClaimsProfile, JwksOptions, JwtVerifier, ScopeClaim, TypPolicy, VerifyOptions,
};
use mcp_auth_dev::{AuthorizationServer, Discovery, Fault, SigningAlg};
use serde_json::json;

const R: &str = "https://mcp.example.com/mcp";

fn now() -> u64 {
    mcp_auth::clock::SystemClock.unix_seconds()
}

fn verifier_for(idps: &[&AuthorizationServer], options: VerifyOptions) -> JwtVerifier {
    let mut b = JwtVerifier::builder().resource(R).options(options);
    for idp in idps {
        b = b.issuer(idp.issuer(), idp.jwks_uri());
    }
    b.build().expect("valid verifier configuration")
}

async fn start_idp() -> AuthorizationServer {
    AuthorizationServer::start()
        .await
        .expect("dev server starts")
}

#[tokio::test]
async fn a_good_token_yields_auth_info() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let token = idp
        .token()
        .audience(R)
        .scopes(["mcp:read", "files:write"])
        .subject("u1")
        .client_id("c1")
        .mint();
    let info = v.verify(&token).await.expect("valid token");
    assert_eq!(info.subject(), Some("u1"));
    assert_eq!(info.client_id(), Some("c1"));
    assert_eq!(info.issuer(), idp.issuer());
    assert_eq!(info.audiences(), [R]);
    assert_eq!(info.scopes(), ["mcp:read", "files:write"]);
    assert!(info.expires_at().is_some());
    assert_eq!(info.token_kind(), mcp_auth::verify::TokenKind::Jwt);
    assert!(info.claims().get("jti").is_some());
    let debug = format!("{info:?}");
    assert!(
        !debug.contains(&token),
        "AuthInfo's Debug must not show the token"
    );
    assert!(!debug.contains(token.rsplit('.').next().unwrap()));
}

#[tokio::test]
async fn every_algorithm_family_verifies() {
    let idp = AuthorizationServer::builder()
        .algorithms([
            SigningAlg::Rs256,
            SigningAlg::Rs384,
            SigningAlg::Rs512,
            SigningAlg::Ps256,
            SigningAlg::Ps384,
            SigningAlg::Ps512,
            SigningAlg::Es256,
            SigningAlg::Es384,
            SigningAlg::EdDsa,
        ])
        .start()
        .await
        .unwrap();
    let v = verifier_for(&[&idp], VerifyOptions::default());
    for alg in [
        SigningAlg::Rs256,
        SigningAlg::Rs384,
        SigningAlg::Rs512,
        SigningAlg::Ps256,
        SigningAlg::Ps384,
        SigningAlg::Ps512,
        SigningAlg::Es256,
        SigningAlg::Es384,
        SigningAlg::EdDsa,
    ] {
        let token = idp.token().audience(R).alg(alg).mint();
        assert!(v.verify(&token).await.is_ok(), "{alg:?} must verify");
    }
}

#[tokio::test]
async fn rs12_each_issuer_is_checked_against_its_own_keys() {
    let as1 = start_idp().await;
    let as2 = start_idp().await;
    let v = verifier_for(&[&as1, &as2], VerifyOptions::default());
    let good = as2.token().audience(R).mint();
    assert!(v.verify(&good).await.is_ok());
    // iss = AS2, signed with AS1's key (and AS1's kid): AS2's keys do not know it.
    let forged = as1.token().audience(R).issuer(as2.issuer()).mint();
    assert_eq!(
        v.verify(&forged).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    // iss = AS2, AS1's key, but AS2's kid: the signature fails.
    let forged = as1
        .token()
        .audience(R)
        .issuer(as2.issuer())
        .kid(Some(&as2.kid_for(SigningAlg::Rs256)))
        .mint();
    assert_eq!(
        v.verify(&forged).await.unwrap_err(),
        VerifyError::InvalidSignature
    );
}

#[tokio::test]
async fn rs12_rs44_an_unconfigured_issuer_causes_no_request() {
    let trusted = start_idp().await;
    let evil = start_idp().await;
    let v = verifier_for(&[&trusted], VerifyOptions::default());
    let before = (trusted.total_requests(), evil.total_requests());
    for iss in [
        evil.issuer(),
        "https://evil.example",
        "http://169.254.169.254/",
    ] {
        let token = evil
            .token()
            .audience(R)
            .issuer(iss)
            .header("jku", json!(evil.jwks_uri()))
            .header("x5u", json!(format!("{}/x5u", evil.origin())))
            .mint();
        assert_eq!(
            v.verify(&token).await.unwrap_err(),
            VerifyError::UntrustedIssuer
        );
    }
    assert_eq!((trusted.total_requests(), evil.total_requests()), before);
}

#[tokio::test]
async fn rs34_audience_binding() {
    let idp = start_idp().await;
    let v = verifier_for(
        &[&idp],
        VerifyOptions::default().extra_audience("api://mcp-server"),
    );
    let ok = |aud: serde_json::Value| idp.token().claim("aud", aud).mint();
    assert!(v.verify(&ok(json!(R))).await.is_ok());
    assert!(
        v.verify(&ok(json!(["https://other.example", R])))
            .await
            .is_ok()
    );
    assert!(
        v.verify(&ok(json!("HTTPS://MCP.EXAMPLE.COM/mcp")))
            .await
            .is_ok()
    );
    assert!(
        v.verify(&ok(json!("https://mcp.example.com:443/mcp")))
            .await
            .is_ok()
    );
    assert!(v.verify(&ok(json!("api://mcp-server"))).await.is_ok());
    for bad in [
        json!("https://other.example/mcp"),
        json!("https://mcp.example.com/mcp/"),
        json!("https://mcp.example.com/MCP"),
        json!("https://api.github.com"),
    ] {
        assert_eq!(
            v.verify(&ok(bad.clone())).await.unwrap_err(),
            VerifyError::InvalidAudience,
            "{bad}"
        );
    }
    let missing = idp.token().remove_claim("aud").mint();
    assert_eq!(
        v.verify(&missing).await.unwrap_err(),
        VerifyError::MissingClaim("aud")
    );
}

#[tokio::test]
async fn rs35_issuer_is_compared_byte_for_byte() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let with_slash = format!("{}/", idp.issuer());
    let token = idp.token().audience(R).issuer(with_slash.as_str()).mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::UntrustedIssuer
    );

    let slashed = AuthorizationServer::builder()
        .issuer_path("/t/")
        .start()
        .await
        .unwrap();
    assert!(slashed.issuer().ends_with('/'));
    let v = verifier_for(&[&slashed], VerifyOptions::default());
    let trimmed = slashed.issuer().trim_end_matches('/').to_owned();
    let token = slashed.token().audience(R).issuer(trimmed.as_str()).mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::UntrustedIssuer
    );
    assert!(v.verify(&slashed.token().audience(R).mint()).await.is_ok());
}

#[tokio::test]
async fn rs36_typ_must_be_at_jwt_unless_lenient() {
    let idp = start_idp().await;
    let strict = verifier_for(&[&idp], VerifyOptions::default());
    let lenient = verifier_for(&[&idp], VerifyOptions::default().typ(TypPolicy::AllowJwt));
    let with = |typ: Option<&str>| idp.token().audience(R).typ(typ).mint();
    assert!(
        strict
            .verify(&with(Some("application/AT+JWT")))
            .await
            .is_ok()
    );
    assert!(strict.verify(&with(Some("AT+jwt"))).await.is_ok());
    for typ in [Some("JWT"), None, Some("id+jwt")] {
        assert_eq!(
            strict.verify(&with(typ)).await.unwrap_err(),
            VerifyError::InvalidType,
            "{typ:?}"
        );
    }
    assert!(lenient.verify(&with(Some("JWT"))).await.is_ok());
    assert!(lenient.verify(&with(None)).await.is_ok());
    // An ID token (aud = client id, nonce) is still refused in lenient mode.
    let id_token = idp
        .token()
        .typ(Some("JWT"))
        .audience("client-1")
        .claim("nonce", "n")
        .mint();
    assert_eq!(
        lenient.verify(&id_token).await.unwrap_err(),
        VerifyError::InvalidAudience
    );
}

#[tokio::test]
async fn rs37_alg_none_and_hmac_confusion_are_refused() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let none = idp.token().audience(R).unsigned().mint();
    assert_eq!(
        v.verify(&none).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm
    );
    let hs = idp
        .token()
        .audience(R)
        .sign_with_hs256(&idp.rsa_public_key_der())
        .mint();
    assert_eq!(
        v.verify(&hs).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn rs37_embedded_key_references_are_ignored() {
    let idp = start_idp().await;
    let attacker = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    // Signed by the attacker's key, with our issuer, pointing at the attacker's JWKS.
    let token = attacker
        .token()
        .audience(R)
        .issuer(idp.issuer())
        .kid(Some(&idp.kid_for(SigningAlg::Rs256)))
        .header("jku", json!(attacker.jwks_uri()))
        .header("x5u", json!(attacker.jwks_uri()))
        .header("jwk", attacker.jwks()["keys"][0].clone())
        .mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::InvalidSignature
    );
    assert_eq!(
        attacker.total_requests(),
        0,
        "no request may follow jku/x5u"
    );
}

/// A verifier on a manual clock, so tests can step past the JWKS refresh cooldown.
fn verifier_with_clock(idp: &AuthorizationServer, clock: &ManualClock) -> JwtVerifier {
    JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn rs37_key_rotation_is_picked_up_after_one_refresh() {
    let idp = start_idp().await;
    let clock = ManualClock::now();
    let v = verifier_with_clock(&idp, &clock);
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&jwks_path), 1);
    idp.rotate_keys();
    // Within the cooldown of the last fetch an unknown kid is refused without a fetch.
    let rotated = idp.token().audience(R).mint();
    assert_eq!(
        v.verify(&rotated).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(idp.requests(&jwks_path), 1);
    clock.advance(Duration::from_secs(11));
    let after = v.verify(&rotated).await;
    assert!(after.is_ok(), "new kid after rotation: {after:?}");
    assert_eq!(idp.requests(&jwks_path), 2);
    // Unknown kid right after: rate-limited, no new request, refused.
    let unknown = idp.token().audience(R).kid(Some("nope")).mint();
    assert_eq!(
        v.verify(&unknown).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(idp.requests(&jwks_path), 2);
}

#[tokio::test]
async fn rs38_time_claims_with_leeway() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let t = now();
    let with = |name: &str, value: u64| idp.token().audience(R).claim(name, value).mint();
    assert_eq!(
        v.verify(&with("exp", t - 61)).await.unwrap_err(),
        VerifyError::Expired
    );
    assert!(
        v.verify(&with("exp", t - 30)).await.is_ok(),
        "within the 60 s leeway"
    );
    assert_eq!(
        v.verify(&with("nbf", t + 600)).await.unwrap_err(),
        VerifyError::NotYetValid
    );
    assert!(v.verify(&with("nbf", t + 20)).await.is_ok());
    assert!(
        v.verify(&with("iat", t + 20)).await.is_ok(),
        "clock skew tolerated"
    );
    assert_eq!(
        v.verify(&with("iat", t + 600)).await.unwrap_err(),
        VerifyError::IssuedInFuture
    );
    let tight = verifier_for(&[&idp], VerifyOptions::default().leeway(Duration::ZERO));
    assert_eq!(
        tight.verify(&with("exp", t - 1)).await.unwrap_err(),
        VerifyError::Expired
    );
    let expired = idp.token().audience(R).expired().mint();
    assert_eq!(v.verify(&expired).await.unwrap_err(), VerifyError::Expired);
}

#[tokio::test]
async fn rs38_verification_follows_the_injected_clock() {
    let clock = ManualClock::now();
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let v = JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let token = idp
        .token()
        .audience(R)
        .expires_in(Duration::from_secs(300))
        .mint();
    assert!(v.verify(&token).await.is_ok());
    clock.advance(Duration::from_secs(300 + 61));
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::Expired);
}

#[tokio::test]
async fn rs39_required_claims_strict_and_lenient() {
    let idp = start_idp().await;
    let strict = verifier_for(&[&idp], VerifyOptions::default());
    let lenient = verifier_for(
        &[&idp],
        VerifyOptions::default().claims(ClaimsProfile::Lenient),
    );
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let token = idp.token().audience(R).remove_claim(claim).mint();
        let err = strict.verify(&token).await.unwrap_err();
        let expected = if claim == "iss" {
            VerifyError::MissingClaim("iss")
        } else {
            VerifyError::MissingClaim(match claim {
                "exp" => "exp",
                "aud" => "aud",
                "sub" => "sub",
                "client_id" => "client_id",
                "iat" => "iat",
                _ => "jti",
            })
        };
        assert_eq!(err, expected, "strict, without {claim}");
        let lenient_result = lenient.verify(&token).await;
        if ["iss", "exp", "aud"].contains(&claim) {
            assert!(lenient_result.is_err(), "lenient still needs {claim}");
        } else {
            assert!(
                lenient_result.is_ok(),
                "lenient accepts a token without {claim}"
            );
        }
    }
    // client_id falls back to azp in lenient mode.
    let token = idp
        .token()
        .audience(R)
        .remove_claim("client_id")
        .claim("azp", "spa")
        .mint();
    assert_eq!(
        lenient.verify(&token).await.unwrap().client_id(),
        Some("spa")
    );
}

#[tokio::test]
async fn rs40_scope_claim_parsing() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let token = idp
        .token()
        .audience(R)
        .claim("scope", "  mcp:read   files:write mcp:read ")
        .mint();
    assert_eq!(
        v.verify(&token).await.unwrap().scopes(),
        ["mcp:read", "files:write"]
    );
    let upper = idp.token().audience(R).claim("scope", "MCP:READ").mint();
    assert!(!v.verify(&upper).await.unwrap().has_scope("mcp:read"));
    let array = idp
        .token()
        .audience(R)
        .claim("scope", json!(["mcp:read"]))
        .mint();
    assert!(matches!(
        v.verify(&array).await.unwrap_err(),
        VerifyError::InvalidClaim { claim: "scope", .. }
    ));

    let okta = verifier_for(
        &[&idp],
        VerifyOptions::default().scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]),
    );
    let scp_array = idp
        .token()
        .audience(R)
        .claim("scp", json!(["a", "b"]))
        .mint();
    assert_eq!(okta.verify(&scp_array).await.unwrap().scopes(), ["a", "b"]);
    let scp_string = idp.token().audience(R).claim("scp", "a b").mint();
    assert_eq!(okta.verify(&scp_string).await.unwrap().scopes(), ["a", "b"]);
    let both = idp
        .token()
        .audience(R)
        .scopes(["s"])
        .claim("scp", "a")
        .mint();
    assert_eq!(
        okta.verify(&both).await.unwrap().scopes(),
        ["s"],
        "`scope` wins when present"
    );
}

#[tokio::test]
async fn jwk_with_stated_alg_must_match_token_alg() {
    let idp = AuthorizationServer::builder()
        .publish_key_alg(true)
        .start()
        .await
        .unwrap();
    let v = verifier_for(&[&idp], VerifyOptions::default());
    // The RS256 key, used for PS256: same family, but the JWK says RS256.
    let token = idp.token().audience(R).header("alg", "PS256").mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::KeyMismatch
    );
    // An EC key named for an RSA algorithm.
    let token = idp
        .token()
        .audience(R)
        .kid(Some(&idp.kid_for(SigningAlg::Es256)))
        .mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::KeyMismatch
    );
}

#[tokio::test]
async fn a_token_without_kid_needs_exactly_one_fitting_key() {
    let one = AuthorizationServer::builder()
        .algorithms([SigningAlg::Es256])
        .start()
        .await
        .unwrap();
    let v = verifier_for(&[&one], VerifyOptions::default());
    let token = one
        .token()
        .audience(R)
        .alg(SigningAlg::Es256)
        .kid(None)
        .mint();
    assert!(v.verify(&token).await.is_ok());

    let two = AuthorizationServer::builder()
        .algorithms([SigningAlg::Es256])
        .start()
        .await
        .unwrap();
    two.add_key(SigningAlg::Es256);
    let v = verifier_for(&[&two], VerifyOptions::default());
    let token = two
        .token()
        .audience(R)
        .alg(SigningAlg::Es256)
        .kid(None)
        .mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::AmbiguousKey
    );
}

/// The bad-token table: each input yields its typed error, and nothing panics.
#[tokio::test]
async fn bad_tokens_table() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let t = now();
    let good = idp.token().audience(R).mint();
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let cases: Vec<(&str, String, VerifyError)> = vec![
        (
            "alg none",
            idp.token().audience(R).unsigned().mint(),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "HS256 with the RSA key",
            idp.token()
                .audience(R)
                .sign_with_hs256(&idp.rsa_public_key_der())
                .mint(),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "alg HS512 header",
            idp.token().audience(R).header("alg", "HS512").mint(),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "alg RSA-OAEP",
            idp.token().audience(R).header("alg", "RSA-OAEP").mint(),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "typ JWT",
            idp.token().audience(R).typ(Some("JWT")).mint(),
            VerifyError::InvalidType,
        ),
        (
            "typ missing",
            idp.token().audience(R).typ(None).mint(),
            VerifyError::InvalidType,
        ),
        (
            "typ a number",
            idp.token().audience(R).header("typ", 7).mint(),
            VerifyError::InvalidType,
        ),
        (
            "crit",
            idp.token()
                .audience(R)
                .header("crit", json!(["exp"]))
                .mint(),
            VerifyError::CriticalHeader,
        ),
        (
            "unknown kid",
            idp.token().audience(R).kid(Some("who")).mint(),
            VerifyError::UnknownKey,
        ),
        (
            "kid not a string",
            idp.token().audience(R).header("kid", 1).mint(),
            VerifyError::Malformed("the kid header is not a string"),
        ),
        (
            "jku elsewhere, foreign key",
            idp.token()
                .audience(R)
                .header("jku", "https://evil.example/jwks")
                .sign_with_foreign_key()
                .mint(),
            VerifyError::InvalidSignature,
        ),
        (
            "string exp",
            idp.token()
                .audience(R)
                .claim("exp", (t + 300).to_string())
                .mint(),
            VerifyError::InvalidClaim {
                claim: "exp",
                expected: "a number of seconds between 0 and the end of year 9999",
            },
        ),
        (
            "negative exp",
            idp.token().audience(R).claim("exp", -5).mint(),
            VerifyError::InvalidClaim {
                claim: "exp",
                expected: "a number of seconds between 0 and the end of year 9999",
            },
        ),
        (
            "string nbf",
            idp.token().audience(R).claim("nbf", "soon").mint(),
            VerifyError::InvalidClaim {
                claim: "nbf",
                expected: "a number of seconds between 0 and the end of year 9999",
            },
        ),
        (
            "numeric sub",
            idp.token().audience(R).claim("sub", 42).mint(),
            VerifyError::InvalidClaim {
                claim: "sub",
                expected: "a string",
            },
        ),
        (
            "numeric iss",
            idp.token().audience(R).claim("iss", 1).mint(),
            VerifyError::InvalidClaim {
                claim: "iss",
                expected: "a string",
            },
        ),
        (
            "aud an object",
            idp.token().claim("aud", json!({"a": 1})).mint(),
            VerifyError::InvalidClaim {
                claim: "aud",
                expected: "a string or an array of strings",
            },
        ),
        (
            "aud with a number",
            idp.token().claim("aud", json!([R, 1])).mint(),
            VerifyError::InvalidClaim {
                claim: "aud",
                expected: "a string or an array of strings",
            },
        ),
        (
            "missing sub",
            idp.token().audience(R).remove_claim("sub").mint(),
            VerifyError::MissingClaim("sub"),
        ),
        (
            "missing jti",
            idp.token().audience(R).remove_claim("jti").mint(),
            VerifyError::MissingClaim("jti"),
        ),
        (
            "missing exp",
            idp.token().audience(R).remove_claim("exp").mint(),
            VerifyError::MissingClaim("exp"),
        ),
        (
            "missing iss",
            idp.token().audience(R).remove_claim("iss").mint(),
            VerifyError::MissingClaim("iss"),
        ),
        (
            "wrong aud",
            idp.token().audience("https://other.example/mcp").mint(),
            VerifyError::InvalidAudience,
        ),
        (
            "uppercase path aud",
            idp.token().audience("https://mcp.example.com/MCP").mint(),
            VerifyError::InvalidAudience,
        ),
        (
            "trailing slash aud",
            idp.token().audience("https://mcp.example.com/mcp/").mint(),
            VerifyError::InvalidAudience,
        ),
        (
            "issuer with trailing slash",
            idp.token()
                .audience(R)
                .issuer(format!("{}/", idp.issuer()))
                .mint(),
            VerifyError::UntrustedIssuer,
        ),
        (
            "issuer from elsewhere",
            idp.token()
                .audience(R)
                .issuer("https://evil.example")
                .mint(),
            VerifyError::UntrustedIssuer,
        ),
        (
            "expired",
            idp.token().audience(R).expired().mint(),
            VerifyError::Expired,
        ),
        (
            "DPoP-bound (cnf) presented as Bearer",
            idp.token()
                .audience(R)
                .claim(
                    "cnf",
                    json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
                )
                .mint(),
            VerifyError::NotABearerToken,
        ),
        (
            "nbf in the future",
            idp.token().audience(R).not_before(t + 3600).mint(),
            VerifyError::NotYetValid,
        ),
        (
            "tampered payload",
            format!("{head}.{}.{signature}", b64(r#"{"iss":"x"}"#)),
            VerifyError::UntrustedIssuer,
        ),
        (
            "signature of another token",
            format!(
                "{head}.{payload}.{}",
                idp.token().audience(R).mint().rsplit('.').next().unwrap()
            ),
            VerifyError::InvalidSignature,
        ),
        (
            "empty signature",
            format!("{head}.{payload}."),
            VerifyError::InvalidSignature,
        ),
        (
            "garbage signature",
            format!("{head}.{payload}.!!!"),
            VerifyError::InvalidSignature,
        ),
        (
            "garbage header",
            format!("%%%.{payload}.{signature}"),
            VerifyError::Malformed("the header is not base64url"),
        ),
        (
            "header not JSON",
            format!("{}.{payload}.{signature}", b64("not json")),
            VerifyError::Malformed("the header is not a JSON object"),
        ),
        (
            "header a JSON array",
            format!("{}.{payload}.{signature}", b64("[1]")),
            VerifyError::Malformed("the header is not a JSON object"),
        ),
        (
            "payload not JSON",
            format!("{head}.{}.{signature}", b64("{")),
            VerifyError::Malformed("the payload is not a JSON object"),
        ),
        (
            "padded segments",
            format!("{head}=.{payload}.{signature}"),
            VerifyError::Malformed("the header is not base64url"),
        ),
        (
            "two segments",
            format!("{head}.{payload}"),
            VerifyError::Malformed("a JWT has three dot-separated parts"),
        ),
        (
            "four segments",
            format!("{good}.x"),
            VerifyError::Malformed("a JWT has three dot-separated parts"),
        ),
        (
            "JWE (five segments)",
            "a.b.c.d.e".to_owned(),
            VerifyError::Encrypted,
        ),
        (
            "empty",
            String::new(),
            VerifyError::Malformed("a JWT has three dot-separated parts"),
        ),
        (
            "dots only",
            "..".to_owned(),
            VerifyError::Malformed("a JWT part is empty"),
        ),
        (
            "non-ASCII",
            format!("{head}.{payload}.sïg"),
            VerifyError::InvalidSignature,
        ),
        (
            "non-ASCII header",
            format!("é{head}.{payload}.{signature}"),
            VerifyError::Malformed("the header is not base64url"),
        ),
        (
            "oversized",
            "a".repeat(20_000),
            VerifyError::TooLarge { max: 16 * 1024 },
        ),
    ];
    assert!(cases.len() >= 30);
    for (name, token, expected) in cases {
        let got = v.verify(&token).await;
        assert_eq!(got.as_ref().err(), Some(&expected), "case `{name}`");
        let message = expected.to_string();
        assert!(
            !message.contains(&token) || token.is_empty(),
            "case `{name}`: the message echoes the token"
        );
    }
}

#[tokio::test]
async fn concurrent_unknown_kid_misses_share_one_fetch_and_respect_the_cooldown() {
    let idp = start_idp().await;
    let clock = ManualClock::now();
    let v = verifier_with_clock(&idp, &clock);
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&jwks_path), 1);

    // A new key, after the cooldown: 200 concurrent tokens with its fresh kid cause exactly
    // one fetch.
    clock.advance(Duration::from_secs(11));
    let kid = idp.add_key(SigningAlg::Es256);
    let token = idp
        .token()
        .audience(R)
        .alg(SigningAlg::Es256)
        .kid(Some(&kid))
        .mint();
    let results = futures_join_all((0..200).map(|_| {
        let v = v.clone();
        let token = token.clone();
        tokio::spawn(async move { v.verify(&token).await })
    }))
    .await;
    assert!(
        results.iter().all(|r| r.is_ok()),
        "all 200 verify after the single refresh"
    );
    assert_eq!(idp.requests(&jwks_path), 2);

    // A second burst with an attacker-chosen kid, inside the cooldown: no fetch at all.
    let bogus = idp.token().audience(R).kid(Some("attacker-kid")).mint();
    let results = futures_join_all((0..200).map(|_| {
        let v = v.clone();
        let token = bogus.clone();
        tokio::spawn(async move { v.verify(&token).await })
    }))
    .await;
    assert!(results.iter().all(|r| r == &Err(VerifyError::UnknownKey)));
    assert_eq!(idp.requests(&jwks_path), 2);
}

async fn futures_join_all<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task does not panic"));
    }
    out
}

#[tokio::test]
async fn jwks_down_after_start_keeps_known_keys_working() {
    let clock = ManualClock::now();
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let v = JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    idp.set_fault(&jwks_path, Fault::Status(503));
    // Past the cache lifetime: the refresh fails, the keys we had stay.
    clock.advance(Duration::from_secs(3600));
    for _ in 0..3 {
        assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    }
    // A lying JWKS (no usable keys) does not replace good keys either.
    idp.set_fault(
        &jwks_path,
        Fault::json(200, &json!({"keys": [{"kty": "oct", "k": "AAAA"}]})),
    );
    clock.advance(Duration::from_secs(3600));
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
}

#[tokio::test]
async fn jwks_unreachable_from_the_start_is_unavailable_not_invalid() {
    let idp = start_idp().await;
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    idp.set_fault(&jwks_path, Fault::Status(500));
    let v = verifier_for(
        &[&idp],
        VerifyOptions::default().leeway(Duration::from_secs(1)),
    );
    let err = v.verify(&idp.token().audience(R).mint()).await.unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.code(), mcp_auth::ErrorCode::Unavailable);
}

#[tokio::test]
async fn jwks_cache_honours_max_age() {
    let clock = ManualClock::now();
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .jwks_cache_control("max-age=120")
        .start()
        .await
        .unwrap();
    let v = JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .clock(Arc::new(clock.clone()))
        .jwks_options(JwksOptions::default().min_ttl(Duration::from_secs(60)))
        .build()
        .unwrap();
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    clock.advance(Duration::from_secs(100));
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&jwks_path), 1, "still fresh at 100 s");
    clock.advance(Duration::from_secs(30));
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&jwks_path), 2, "refetched after max-age");
}

#[tokio::test]
async fn rs43_discovery_against_the_dev_server() {
    for (path, discovery, kind) in [
        ("", Discovery::Both, DiscoveryKind::Auto),
        ("/tenant1", Discovery::OidcAppendOnly, DiscoveryKind::Auto),
        ("/tenant1", Discovery::OAuthOnly, DiscoveryKind::OAuth),
        ("/tenant1", Discovery::OidcOnly, DiscoveryKind::Oidc),
    ] {
        let idp = AuthorizationServer::builder()
            .issuer_path(path)
            .discovery(discovery)
            .start()
            .await
            .unwrap();
        let config = fetch_server_config(idp.issuer(), kind)
            .await
            .unwrap_or_else(|e| panic!("{path} {discovery:?}: {e}"));
        assert_eq!(config.issuer(), idp.issuer());
        assert_eq!(config.jwks_uri(), Some(idp.jwks_uri().as_str()));
        // The discovered configuration verifies tokens.
        let v = JwtVerifier::builder()
            .resource(R)
            .issuer(config.issuer(), config.jwks_uri().unwrap())
            .build()
            .unwrap();
        assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    }
}

#[tokio::test]
async fn discovery_of_real_provider_documents_served_by_the_dev_server() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/providers");
    let mut served = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if doc["issuer"].as_str().is_some_and(|i| i.contains('{')) {
            // Entra's `common` document has a template issuer: no client can verify it as is.
            continue;
        }
        let idp = AuthorizationServer::builder()
            .metadata_document(doc.clone())
            .start()
            .await
            .unwrap();
        let kind = if name.contains("-oauth") {
            DiscoveryKind::OAuth
        } else {
            DiscoveryKind::Oidc
        };
        let config = fetch_server_config(idp.issuer(), kind)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.issuer(), idp.issuer(), "{name}");
        let report = mcp_auth::discovery::validate_server_config(config.metadata());
        let reference =
            mcp_auth::discovery::validate_server_config(&serde_json::from_value(doc).unwrap());
        assert_eq!(
            report.errors.len(),
            reference.errors.len(),
            "{name}: same findings as the original"
        );
        if let Some(jwks_uri) = config.jwks_uri() {
            let v = JwtVerifier::builder()
                .resource(R)
                .issuer(config.issuer(), jwks_uri)
                .build()
                .unwrap();
            let token = idp.token().audience(R).mint();
            assert!(
                v.verify(&token).await.is_ok(),
                "{name}: tokens verify through the discovered jwks_uri"
            );
        }
        served += 1;
    }
    assert!(served >= 15, "served {served} provider documents");
}

#[tokio::test]
async fn rs43_issuer_mismatch_is_a_discovery_error() {
    let idp = AuthorizationServer::builder()
        .issuer_path("/tenant1")
        .start()
        .await
        .unwrap();
    let wrong = format!("{}/", idp.issuer());
    let err = fetch_server_config(&wrong, DiscoveryKind::Auto)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            mcp_auth::discovery::DiscoveryError::IssuerMismatch { .. }
        ),
        "{err}"
    );
}

#[test]
fn both_crypto_backends_enabled_never_panic() {
    // This test package enables `aws-lc-rs` and `rust-crypto` at once; jsonwebtoken alone would
    // fall back to a provider that panics. The verifier installs one first.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let idp = start_idp().await;
        let v = verifier_for(&[&idp], VerifyOptions::default());
        assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    });
}

#[tokio::test]
async fn a_hanging_jwks_endpoint_is_asked_once_not_once_per_waiting_request() {
    let idp = start_idp().await;
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    idp.set_fault(&jwks_path, Fault::Delay(Duration::from_secs(3)));
    let v = JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        // Timeout = cooldown: the cooldown must run from the end of the attempt.
        .jwks_options(
            JwksOptions::default()
                .timeout(Duration::from_millis(300))
                .cooldown(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let token = idp.token().audience(R).mint();
    let results = futures_join_all((0..6).map(|_| {
        let v = v.clone();
        let token = token.clone();
        tokio::spawn(async move { v.verify(&token).await })
    }))
    .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(VerifyError::Unavailable { .. })))
    );
    assert_eq!(
        idp.requests(&jwks_path),
        1,
        "the waiters did not start fetches of their own"
    );
}

#[tokio::test]
async fn stale_keys_keep_verifying_while_one_request_refreshes() {
    let clock = ManualClock::now();
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let v = verifier_with_clock(&idp, &clock);
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    // Past the cache lifetime, the endpoint hangs: one request waits for it (and falls back to
    // the stale keys); the others verify with the stale keys at once.
    idp.set_fault(&jwks_path, Fault::Delay(Duration::from_secs(2)));
    clock.advance(Duration::from_secs(3600));
    let token = idp.token().audience(R).mint();
    let results = futures_join_all((0..6).map(|_| {
        let v = v.clone();
        let token = token.clone();
        tokio::spawn(async move { v.verify(&token).await })
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(idp.requests(&jwks_path) <= 2);
}

#[tokio::test]
async fn rs34_other_spellings_of_the_identifier_are_other_audiences() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let with_aud = |aud: &str| idp.token().claim("aud", aud).mint();
    for bad in [
        "https://mcp.example.com/x/../mcp",
        "https://mcp.example.com/./mcp",
        "https://mcp.example.com:0443/mcp",
        "https://mcp.example.com/%6dcp",
    ] {
        assert_eq!(
            v.verify(&with_aud(bad)).await.unwrap_err(),
            VerifyError::InvalidAudience,
            "{bad}"
        );
    }
    // IPv4 shorthands of a loopback identifier.
    let ip_resource = "http://127.0.0.1:8080/mcp";
    let ip = JwtVerifier::builder()
        .resource(ip_resource)
        .issuer(idp.issuer(), idp.jwks_uri())
        .build()
        .unwrap();
    for bad in [
        "http://2130706433:8080/mcp",
        "http://127.1:8080/mcp",
        "http://0x7f.0.0.1:8080/mcp",
        "http://127.0.0.1:08080/mcp",
    ] {
        assert_eq!(
            ip.verify(&with_aud(bad)).await.unwrap_err(),
            VerifyError::InvalidAudience,
            "{bad}"
        );
    }
    // What stays accepted: the exact string, upper-case scheme and host, the default port.
    for good in [
        ip_resource,
        "HTTP://127.0.0.1:8080/mcp",
        "http://127.0.0.1:8080/mcp",
    ] {
        assert!(ip.verify(&with_aud(good)).await.is_ok(), "{good}");
    }
    assert!(
        v.verify(&with_aud("HTTPS://Mcp.Example.Com:443/mcp"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rs38_implausible_numeric_dates_are_refused_alike_as_integers_and_floats() {
    let idp = start_idp().await;
    let v = verifier_for(&[&idp], VerifyOptions::default());
    let t = now();
    for name in ["exp", "nbf", "iat"] {
        for value in [
            json!(u64::MAX),
            json!(1e20),
            json!(253_402_300_800u64),
            json!(253_402_300_800.5),
            json!(-1),
            json!(-0.5),
        ] {
            let token = idp.token().audience(R).claim(name, value.clone()).mint();
            assert!(
                matches!(
                    v.verify(&token).await,
                    Err(VerifyError::InvalidClaim { claim, .. }) if claim == name
                ),
                "{name} = {value}"
            );
        }
    }
    // The last second of year 9999 is still a date; fractions are floored.
    let far = idp
        .token()
        .audience(R)
        .claim("exp", 253_402_300_799u64)
        .mint();
    assert!(v.verify(&far).await.is_ok());
    let fraction = idp
        .token()
        .audience(R)
        .claim("exp", (t + 600) as f64 + 0.5)
        .mint();
    assert!(v.verify(&fraction).await.is_ok());
}

#[tokio::test]
async fn rs38_max_lifetime_is_off_by_default_and_bounds_exp_when_set() {
    let idp = start_idp().await;
    let t = now();
    let long = idp
        .token()
        .audience(R)
        .claim("iat", t)
        .claim("exp", t + 30 * 24 * 3600)
        .mint();
    assert!(
        verifier_for(&[&idp], VerifyOptions::default())
            .verify(&long)
            .await
            .is_ok()
    );
    let bounded = verifier_for(
        &[&idp],
        VerifyOptions::default().max_lifetime(Duration::from_secs(24 * 3600)),
    );
    assert!(matches!(
        bounded.verify(&long).await,
        Err(VerifyError::InvalidClaim { claim: "exp", .. })
    ));
    assert!(
        bounded
            .verify(
                &idp.token()
                    .audience(R)
                    .expires_in(Duration::from_secs(3600))
                    .mint()
            )
            .await
            .is_ok()
    );
}
