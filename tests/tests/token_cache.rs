//! The verified-token cache and the refused-token cache of `JwtVerifier`, against the dev
//! authorization server on loopback, with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth::VerifyError;
use mcp_auth::clock::ManualClock;
use mcp_auth::verify::TokenVerifier;
use mcp_auth::verify::{JwtVerifier, TokenCacheOptions, VerifyOptions};
use mcp_auth_dev::{AuthorizationServer, Fault, SigningAlg};

const R: &str = "https://mcp.example.com/mcp";
const OTHER: &str = "https://other.example.com/mcp";

fn cache_on() -> VerifyOptions {
    // Explicit, so that MCP_AUTH_TOKEN_CACHE=off does not apply to these tests.
    VerifyOptions::default().token_cache(TokenCacheOptions::default())
}

fn verifier(
    idp: &AuthorizationServer,
    resource: &str,
    clock: &ManualClock,
    options: VerifyOptions,
) -> JwtVerifier {
    JwtVerifier::builder()
        .resource(resource)
        .issuer(idp.issuer(), idp.jwks_uri())
        .options(options)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("valid verifier")
}

async fn idp_on(clock: &ManualClock) -> AuthorizationServer {
    AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .expect("dev server starts")
}

fn jwks_path(idp: &AuthorizationServer) -> String {
    url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned()
}

#[tokio::test]
async fn a_cached_token_whose_key_left_the_jwks_is_refused_after_the_refresh() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let v = verifier(&idp, R, &clock, cache_on());
    let token = idp
        .token()
        .audience(R)
        .expires_in(Duration::from_secs(7200))
        .mint();
    assert!(v.verify(&token).await.is_ok());
    assert!(v.verify(&token).await.is_ok(), "served from the cache");
    idp.rotate_keys();
    // Still cached and the key set not refreshed yet: served.
    assert!(v.verify(&token).await.is_ok());
    v.jwks(idp.issuer())
        .unwrap()
        .refresh_now()
        .await
        .expect("refresh");
    let kid = idp.kid_for(SigningAlg::Rs256);
    assert!(v.jwks(idp.issuer()).unwrap().key_ids().contains(&kid));
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test]
async fn a_cached_token_is_rechecked_when_the_key_set_expires() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let v = verifier(&idp, R, &clock, cache_on());
    let token = idp
        .token()
        .audience(R)
        .expires_in(Duration::from_secs(7200))
        .mint();
    assert!(v.verify(&token).await.is_ok());
    idp.rotate_keys();
    // Past the key set's lifetime (15 min by default): the hit takes the full path, which
    // refreshes the set and finds the kid gone; the stale set is not trusted for the cache.
    clock.advance(Duration::from_secs(16 * 60));
    let first = v.verify(&token).await;
    let second = v.verify(&token).await;
    assert!(
        first == Err(VerifyError::UnknownKey) || second == Err(VerifyError::UnknownKey),
        "{first:?} {second:?}"
    );
    assert_eq!(second.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test]
async fn a_cached_token_is_refused_at_exp_exactly() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let idp = idp_on(&clock).await;
    let v = verifier(&idp, R, &clock, cache_on().leeway(Duration::ZERO));
    let token = idp
        .token()
        .audience(R)
        .expires_in(Duration::from_secs(300))
        .mint();
    let info = v.verify(&token).await.expect("valid");
    let exp = info
        .expires_at()
        .expect("exp")
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    clock.set_unix(exp - 1);
    assert!(v.verify(&token).await.is_ok(), "one second before exp");
    clock.set_unix(exp);
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::Expired);
    // And with the default leeway, a cached token ends at exp + leeway like any other.
    let lenient = verifier(&idp, R, &clock, cache_on());
    clock.set_unix(exp - 10);
    assert!(lenient.verify(&token).await.is_ok());
    clock.set_unix(exp + 59);
    assert!(lenient.verify(&token).await.is_ok());
    clock.set_unix(exp + 60);
    assert_eq!(
        lenient.verify(&token).await.unwrap_err(),
        VerifyError::Expired
    );
}

#[tokio::test]
async fn the_cache_is_per_resource() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let ours = verifier(&idp, R, &clock, cache_on());
    let other = verifier(&idp, OTHER, &clock, cache_on());
    let token = idp.token().audience(R).mint();
    assert!(ours.verify(&token).await.is_ok());
    assert!(ours.verify(&token).await.is_ok());
    assert_eq!(
        other.verify(&token).await.unwrap_err(),
        VerifyError::InvalidAudience
    );
    // The other resource's refusal is not ours either.
    assert!(ours.verify(&token).await.is_ok());
}

#[tokio::test]
async fn unavailable_is_not_remembered() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let path = jwks_path(&idp);
    idp.set_fault(&path, Fault::Status(503));
    let v = verifier(&idp, R, &clock, cache_on());
    let token = idp.token().audience(R).mint();
    let err = v.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable { .. }), "{err:?}");
    idp.clear_faults();
    clock.advance(Duration::from_secs(11));
    assert!(
        v.verify(&token).await.is_ok(),
        "the same token, once keys load"
    );
}

#[tokio::test]
async fn a_refused_token_is_remembered_briefly_and_costs_no_fetch() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let path = jwks_path(&idp);
    let v = verifier(&idp, R, &clock, cache_on());
    let forged = idp.token().audience(R).sign_with_foreign_key().mint();
    for _ in 0..100 {
        assert_eq!(
            v.verify(&forged).await.unwrap_err(),
            VerifyError::InvalidSignature
        );
    }
    assert_eq!(idp.requests(&path), 1);
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        v.verify(&forged).await.unwrap_err(),
        VerifyError::InvalidSignature
    );
    // Garbage is refused before any work, with the same error as the full path.
    for garbage in [
        "x",
        "a.b",
        "a.b.c.d.e",
        "ey$.e30.sig",
        "e30.e30.",
        "e30.e30.e30",
    ] {
        let off = verifier(
            &idp,
            R,
            &clock,
            VerifyOptions::default().token_cache(TokenCacheOptions::off()),
        );
        assert_eq!(
            v.verify(garbage).await.unwrap_err().kind(),
            off.verify(garbage).await.unwrap_err().kind(),
            "{garbage}"
        );
    }
}

/// `header.payload` of `other` with the signature of `token`: what an attacker who saw a valid
/// token's signature could send, hoping to be served the cache entry of the signature.
fn with_signature_of(token: &str, other: &str) -> String {
    let (signed, _) = other.rsplit_once('.').unwrap();
    let (_, signature) = token.rsplit_once('.').unwrap();
    format!("{signed}.{signature}")
}

#[tokio::test]
async fn a_cached_signature_serves_only_the_token_it_signed() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let v = verifier(&idp, R, &clock, cache_on());
    let token = idp.token().audience(R).subject("alice").mint();
    let mallory = idp.token().audience(R).subject("mallory").mint();
    assert_eq!(v.verify(&token).await.unwrap().subject(), Some("alice"));
    assert!(v.verify(&mallory).await.is_ok());
    // Both are answered from the cache now.
    assert!(matches!(v.verify_cached(&token), Some(Ok(_))));
    // Alice's payload under Mallory's signature, and the other way round: the entries are keyed
    // by the signature's digest, but a hit needs the bytes before it to match too.
    for forged in [
        with_signature_of(&token, &mallory),
        with_signature_of(&mallory, &token),
    ] {
        assert!(v.verify_cached(&forged).is_none(), "not a hit: {forged}");
        assert_eq!(
            v.verify(&forged).await.unwrap_err(),
            VerifyError::InvalidSignature
        );
    }
    // Another spelling around the same signature is refused by its shape, never served.
    for other in [
        format!("{token}."),
        format!("{token}.x"),
        format!(".{token}"),
    ] {
        assert!(
            matches!(v.verify_cached(&other), Some(Err(_)) | None),
            "{other}"
        );
        assert!(v.verify(&other).await.is_err(), "{other}");
    }
    // The forgeries left both entries in place: still answered from the cache.
    let alice = v.verify_cached(&token).expect("still cached").unwrap();
    assert_eq!(alice.subject(), Some("alice"));
    let bob = v.verify_cached(&mallory).expect("still cached").unwrap();
    assert_eq!(bob.subject(), Some("mallory"));

    // The refused-token cache alone: a remembered forgery does not refuse the token whose
    // signature it carries.
    let refused_only = verifier(
        &idp,
        R,
        &clock,
        VerifyOptions::default().token_cache(TokenCacheOptions::default().max_entries(0)),
    );
    let forged = with_signature_of(&token, &mallory);
    assert_eq!(
        refused_only.verify(&forged).await.unwrap_err(),
        VerifyError::InvalidSignature
    );
    assert_eq!(
        refused_only.verify_cached(&forged),
        Some(Err(VerifyError::InvalidSignature)),
        "the forgery's refusal is remembered, under the digest of Alice's signature"
    );
    assert!(refused_only.verify_cached(&token).is_none());
    assert_eq!(
        refused_only.verify(&token).await.unwrap().subject(),
        Some("alice")
    );
}

#[tokio::test]
async fn not_yet_valid_is_not_remembered() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let idp = idp_on(&clock).await;
    let v = verifier(&idp, R, &clock, cache_on().leeway(Duration::ZERO));
    let token = idp
        .token()
        .audience(R)
        .not_before(1_800_000_100)
        .expires_in(Duration::from_secs(3600))
        .mint();
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::NotYetValid
    );
    clock.set_unix(1_800_000_100);
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn cache_off_verifies_in_full() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let v = verifier(
        &idp,
        R,
        &clock,
        VerifyOptions::default().token_cache(TokenCacheOptions::off()),
    );
    let token = idp.token().audience(R).mint();
    assert!(v.verify(&token).await.is_ok());
    assert!(v.verify(&token).await.is_ok());
    idp.rotate_keys();
    v.jwks(idp.issuer()).unwrap().refresh_now().await.unwrap();
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_with_a_new_kid_cause_one_fetch() {
    let clock = ManualClock::now();
    let idp = idp_on(&clock).await;
    let path = jwks_path(&idp);
    let v = verifier(&idp, R, &clock, cache_on());
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&path), 1);
    clock.advance(Duration::from_secs(11));
    let kid = idp.add_key(SigningAlg::Es256);
    let token = idp
        .token()
        .audience(R)
        .alg(SigningAlg::Es256)
        .kid(Some(&kid))
        .mint();
    let handles: Vec<_> = (0..1000)
        .map(|_| {
            let v = v.clone();
            let token = token.clone();
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for handle in handles {
        assert!(handle.await.unwrap().is_ok());
    }
    assert_eq!(
        idp.requests(&path),
        2,
        "exactly one JWKS fetch for the new kid"
    );
}
