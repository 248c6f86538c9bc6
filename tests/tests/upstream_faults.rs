//! The authorization server misbehaving, one test per fault, each through the dev server's fault
//! switches over loopback HTTP. Covered elsewhere and not repeated here (`trust_core.rs`): JWKS
//! down after start-up keeps known keys (`jwks_down_after_start_keeps_known_keys_working`), down
//! from the start is `Unavailable` (`jwks_unreachable_from_the_start_is_unavailable_not_invalid`),
//! a hanging endpoint is asked once by concurrent waiters, stale keys keep verifying during a
//! slow refresh, a new key is picked up after one refresh
//! (`rs37_key_rotation_is_picked_up_after_one_refresh`); `http_surface.rs`: a JWKS outage is
//! `503` with `Retry-After` over HTTP (`authorization_server_down_is_503_with_retry_after`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use mcp_auth::clock::ManualClock;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::introspection::ClientAuth;
use mcp_auth::verify::TokenVerifier;
use mcp_auth::verify::{JwksOptions, JwtVerifier};
use mcp_auth::{Auth, ProtectedResource, ResourceServer, VerifyError, mcp_resource};
use mcp_auth_dev::{AuthorizationServer, Fault, SigningAlg};
use mcp_auth_tests::{Spy, bind, spawn};
use reqwest::StatusCode;
use serde_json::json;

const R: &str = "https://mcp.example.com/mcp";

fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_owned()
}

fn verifier(idp: &AuthorizationServer, clock: &ManualClock, jwks: JwksOptions) -> JwtVerifier {
    JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .clock(Arc::new(clock.clone()))
        .jwks_options(jwks)
        .build()
        .unwrap()
}

fn is_unavailable(result: &Result<mcp_auth::AuthInfo, VerifyError>) -> bool {
    matches!(result, Err(VerifyError::Unavailable { .. }))
}

/// Nothing listens on the discard port of loopback.
#[mcp_resource(
    id = "http://127.0.0.1:3000/mcp",
    issuer = "http://127.0.0.1:9",
    scopes = ["mcp:read"]
)]
struct NotesWithoutServer;

#[tokio::test]
async fn authorization_server_down_at_start_up_fails_fast_with_a_clear_error() {
    let err = NotesWithoutServer::builder().build().await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("http://127.0.0.1:9") && message.contains("could not connect"),
        "names the server and the cause: {message}"
    );
    // The same through discovery directly.
    let err = fetch_server_config("http://127.0.0.1:9", DiscoveryKind::Auto)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn rs_unknown_kid_while_jwks_fails_is_unavailable_not_invalid() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clock = ManualClock::now();
    let v = verifier(&idp, &clock, JwksOptions::default());
    let jwks_path = path_of(&idp.jwks_uri());
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());

    // A key the issuer published after our fetch, while its JWKS endpoint fails: the kid could
    // not be looked up, so 503, not "unknown key".
    let kid = idp.add_key(SigningAlg::Es256);
    let new_key = idp
        .token()
        .audience(R)
        .alg(SigningAlg::Es256)
        .kid(Some(&kid))
        .mint();
    idp.set_fault(&jwks_path, Fault::Status(503));
    clock.advance(Duration::from_secs(11));
    let first = v.verify(&new_key).await;
    assert!(is_unavailable(&first), "{first:?}");
    assert_eq!(idp.requests(&jwks_path), 2);
    // In the cooldown after the failed fetch: still unavailable, and no new fetch.
    let again = v.verify(&new_key).await;
    assert!(is_unavailable(&again), "{again:?}");
    assert_eq!(idp.requests(&jwks_path), 2);
    // Known keys keep working meanwhile.
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());

    // Once a fetch succeeds: the new key verifies, and a kid the fetched set lacks is invalid.
    idp.clear_faults();
    clock.advance(Duration::from_secs(11));
    assert!(v.verify(&new_key).await.is_ok());
    let bogus = idp.token().audience(R).kid(Some("nobody")).mint();
    assert_eq!(v.verify(&bogus).await.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test]
async fn unknown_kid_while_jwks_fails_is_503_with_retry_after_over_http() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clock = ManualClock::now();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let auth = ResourceServer::builder()
        .resource(ProtectedResource::new(&id).issuer_with_jwks(idp.issuer(), idp.jwks_uri()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let spy = Spy::default();
    let seen = spy.clone();
    let app = Router::new()
        .route(
            "/mcp",
            post(move |_: Auth| {
                seen.hit();
                async { "ok" }
            }),
        )
        .layer(auth.bearer(&id));
    spawn(listener, app);
    let http = reqwest::Client::new();
    let ok = http
        .post(&id)
        .bearer_auth(idp.token().audience(&id).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let kid = idp.add_key(SigningAlg::Rs256);
    idp.set_fault(&path_of(&idp.jwks_uri()), Fault::Status(500));
    clock.advance(Duration::from_secs(11));
    let token = idp.token().audience(&id).kid(Some(&kid)).mint();
    let response = http.post(&id).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(spy.count(), 1);
}

/// Each broken JWKS answer, from the first fetch on: `Unavailable`, never a token error.
async fn jwks_fault_is_unavailable(fault: Fault, jwks: JwksOptions) {
    let idp = AuthorizationServer::start().await.unwrap();
    let jwks_path = path_of(&idp.jwks_uri());
    idp.set_fault(&jwks_path, fault.clone());
    let v = verifier(&idp, &ManualClock::now(), jwks);
    let result = v.verify(&idp.token().audience(R).mint()).await;
    assert!(is_unavailable(&result), "{fault:?}: {result:?}");
    assert_eq!(idp.requests(&jwks_path), 1, "{fault:?}");
}

#[tokio::test]
async fn jwks_slower_than_the_timeout_is_unavailable() {
    jwks_fault_is_unavailable(
        Fault::Delay(Duration::from_secs(3)),
        JwksOptions::default().timeout(Duration::from_millis(200)),
    )
    .await;
}

#[tokio::test]
async fn jwks_answering_garbage_is_unavailable() {
    jwks_fault_is_unavailable(
        Fault::Body {
            status: 200,
            content_type: "text/html".into(),
            body: "<html>sign in</html>".into(),
        },
        JwksOptions::default(),
    )
    .await;
}

#[tokio::test]
async fn jwks_answering_an_empty_set_is_unavailable() {
    jwks_fault_is_unavailable(
        Fault::json(200, &json!({"keys": []})),
        JwksOptions::default(),
    )
    .await;
    jwks_fault_is_unavailable(
        Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: String::new(),
        },
        JwksOptions::default(),
    )
    .await;
}

#[tokio::test]
async fn jwks_answering_a_huge_document_is_unavailable() {
    let padding = "x".repeat(64 * 1024);
    jwks_fault_is_unavailable(
        Fault::json(200, &json!({"keys": [], "padding": padding})),
        JwksOptions::default().max_body_bytes(16 * 1024),
    )
    .await;
}

#[tokio::test]
async fn jwks_redirects_are_not_followed_cross_origin_or_same_origin() {
    let idp = AuthorizationServer::start().await.unwrap();
    let keys = idp.jwks();
    let (listener, origin) = bind().await;
    let elsewhere = idp.jwks_uri();
    let app = Router::new()
        .route(
            "/cross",
            get(move || {
                let to = elsewhere.clone();
                async move { Redirect::temporary(&to) }
            }),
        )
        .route("/same", get(|| async { Redirect::temporary("/keys") }))
        .route(
            "/keys",
            get(move || {
                let keys = keys.clone();
                async move { axum::Json(keys).into_response() }
            }),
        );
    spawn(listener, app);
    let token = idp.token().audience(R).mint();
    let with_jwks = |path: &str| {
        JwtVerifier::builder()
            .resource(R)
            .issuer(idp.issuer(), format!("{origin}{path}"))
            .build()
            .unwrap()
    };
    // The issuer's keys, served where the verifier is pointed: accepted (the control case).
    assert!(with_jwks("/keys").verify(&token).await.is_ok());
    let before = idp.requests(&path_of(&idp.jwks_uri()));
    for path in ["/cross", "/same"] {
        let result = with_jwks(path).verify(&token).await;
        match &result {
            Err(VerifyError::Unavailable { reason, .. }) => {
                assert!(reason.contains("redirects are not followed"), "{reason}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(
        idp.requests(&path_of(&idp.jwks_uri())),
        before,
        "the cross-origin target was never asked"
    );
}

#[tokio::test]
async fn discovery_redirects_are_not_followed() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let target = idp.well_known_urls()[0].clone();
    let app = Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(move || {
            let to = target.clone();
            async move { Redirect::temporary(&to) }
        }),
    );
    spawn(listener, app);
    let err = fetch_server_config(&origin, DiscoveryKind::OAuth)
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    assert_eq!(
        idp.total_requests(),
        0,
        "the redirect target was never asked"
    );
}

#[tokio::test]
async fn rs_clients_that_abort_during_a_refresh_cause_one_fetch_per_cooldown() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clock = ManualClock::now();
    let v = verifier(&idp, &clock, JwksOptions::default());
    let jwks_path = path_of(&idp.jwks_uri());
    assert!(v.verify(&idp.token().audience(R).mint()).await.is_ok());
    assert_eq!(idp.requests(&jwks_path), 1);

    // A slow JWKS endpoint; after the cooldown, clients send random kids and hang up after
    // 100 ms each, one after the other.
    idp.set_fault(&jwks_path, Fault::Delay(Duration::from_millis(1500)));
    clock.advance(Duration::from_secs(11));
    for i in 0..8 {
        let token = idp
            .token()
            .audience(R)
            .kid(Some(&format!("random-{i}")))
            .mint();
        let aborted = tokio::time::timeout(Duration::from_millis(100), v.verify(&token)).await;
        assert!(aborted.is_err(), "request {i} was still waiting");
    }
    // Let the detached fetch finish.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        idp.requests(&jwks_path),
        2,
        "one fetch, not one per aborted request"
    );
    // Its cooldown holds although every request that waited for it is gone.
    for i in 0..8 {
        let token = idp
            .token()
            .audience(R)
            .kid(Some(&format!("again-{i}")))
            .mint();
        let _ = tokio::time::timeout(Duration::from_millis(100), v.verify(&token)).await;
    }
    assert_eq!(idp.requests(&jwks_path), 2);
    // The next cooldown allows the next fetch.
    clock.advance(Duration::from_secs(11));
    let token = idp.token().audience(R).kid(Some("later")).mint();
    let _ = tokio::time::timeout(Duration::from_millis(100), v.verify(&token)).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(idp.requests(&jwks_path), 3);
}

#[tokio::test]
async fn key_rotation_accepts_the_new_key_and_refuses_the_removed_one_once_refreshed() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clock = ManualClock::now();
    let v = verifier(&idp, &clock, JwksOptions::default());
    let jwks_path = path_of(&idp.jwks_uri());
    let old = idp.token().audience(R).mint();
    assert!(v.verify(&old).await.is_ok());
    idp.rotate_keys();
    let new = idp.token().audience(R).mint();
    clock.advance(Duration::from_secs(11));
    assert!(v.verify(&new).await.is_ok(), "new key after one refresh");
    assert_eq!(idp.requests(&jwks_path), 2);
    assert_eq!(
        v.verify(&old).await.unwrap_err(),
        VerifyError::UnknownKey,
        "the removed key is refused once the set was refreshed"
    );
}

#[tokio::test]
async fn stale_keys_are_trusted_for_max_stale_then_unavailable() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clock = ManualClock::now();
    let v = verifier(
        &idp,
        &clock,
        JwksOptions::default().max_stale(Duration::from_secs(3600)),
    );
    let jwks_path = path_of(&idp.jwks_uri());
    let token = idp
        .token()
        .audience(R)
        .expires_in(Duration::from_secs(10 * 3600))
        .mint();
    assert!(v.verify(&token).await.is_ok());
    idp.set_fault(&jwks_path, Fault::Status(503));
    // Expired (default TTL 15 min) but within max_stale: the stale keys verify.
    clock.advance(Duration::from_secs(1800));
    assert!(v.verify(&token).await.is_ok());
    // Past expiry + max_stale with every refresh failing: 503.
    clock.advance(Duration::from_secs(3600));
    let result = v.verify(&token).await;
    assert!(is_unavailable(&result), "{result:?}");
    // A successful fetch ends the outage.
    idp.clear_faults();
    clock.advance(Duration::from_secs(11));
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_changed_discovery_document_has_no_effect_while_running() {
    let idp = AuthorizationServer::start().await.unwrap();
    let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let auth = ResourceServer::builder()
        .resource(ProtectedResource::new(&id).authorization_server(config))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/mcp", post(|_: Auth| async { "ok" }))
        .layer(auth.bearer(&id));
    spawn(listener, app);
    let http = reqwest::Client::new();
    let token = idp.token().audience(&id).mint();
    assert_eq!(
        http.post(&id)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The document now names another issuer and another jwks_uri.
    let evil = AuthorizationServer::start().await.unwrap();
    let changed = json!({
        "issuer": evil.issuer(),
        "jwks_uri": evil.jwks_uri(),
        "response_types_supported": ["code"],
    });
    let discovery_requests: usize = idp
        .well_known_urls()
        .iter()
        .map(|u| idp.requests(&path_of(u)))
        .sum();
    for url in idp.well_known_urls() {
        idp.set_fault(&path_of(&url), Fault::json(200, &changed));
    }
    for _ in 0..3 {
        let ok = http.post(&id).bearer_auth(&token).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let forged = evil.token().audience(&id).mint();
        let refused = http.post(&id).bearer_auth(forged).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let after: usize = idp
        .well_known_urls()
        .iter()
        .map(|u| idp.requests(&path_of(u)))
        .sum();
    assert_eq!(after, discovery_requests, "no re-discovery at run time");
    assert_eq!(
        evil.total_requests(),
        0,
        "the new jwks_uri is never fetched"
    );
}

#[tokio::test]
async fn introspection_down_is_503_not_401() {
    let idp = AuthorizationServer::start().await.unwrap();
    let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let (client_id, secret) = idp.introspection_client();
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(&id)
                .authorization_server(config)
                .introspection(ClientAuth::basic(client_id, secret)),
        )
        .build()
        .unwrap();
    let spy = Spy::default();
    let seen = spy.clone();
    let app = Router::new()
        .route(
            "/mcp",
            post(move |_: Auth| {
                seen.hit();
                async { "ok" }
            }),
        )
        .layer(auth.bearer(&id));
    spawn(listener, app);
    let http = reqwest::Client::new();
    let token = idp.opaque_token().audience(&id).mint();
    assert_eq!(
        http.post(&id)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let other = idp.opaque_token().audience(&id).mint();
    for fault in [
        Fault::Status(503),
        Fault::Body {
            status: 200,
            content_type: "text/html".into(),
            body: "<html>".into(),
        },
    ] {
        idp.set_fault(&path_of(&idp.introspection_endpoint()), fault);
        let response = http.post(&id).bearer_auth(&other).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
    }
    assert_eq!(spy.count(), 1);
}
