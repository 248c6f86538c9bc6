//! Tests against a scripted introspection endpoint on 127.0.0.1.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::*;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::error::ErrorCode;
use crate::verify::JwtVerifier;

const RESOURCE: &str = "https://mcp.example.com/mcp";

/// The client authentication the endpoint demands.
#[derive(Clone)]
enum Expect {
    /// The exact `Authorization` header value.
    Basic(String),
    Post {
        id: String,
        secret: String,
    },
    Bearer(String),
}

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

struct Endpoint {
    expect: Expect,
    calls: AtomicUsize,
    replies: Mutex<HashMap<String, Reply>>,
    /// Why the last request was refused with 400/401, for assertions.
    last_refusal: Mutex<Option<String>>,
}

impl Endpoint {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn reply(&self, token: &str, status: u16, body: Value) {
        self.reply_raw(token, status, body.to_string(), Duration::ZERO);
    }

    fn reply_raw(&self, token: &str, status: u16, body: String, delay: Duration) {
        self.replies.lock().unwrap().insert(
            token.to_owned(),
            Reply {
                status,
                body,
                delay,
            },
        );
    }

    fn refusal(&self) -> Option<String> {
        self.last_refusal.lock().unwrap().clone()
    }
}

fn refuse(endpoint: &Endpoint, status: StatusCode, why: &str) -> Response {
    *endpoint.last_refusal.lock().unwrap() = Some(why.to_owned());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"invalid_client"}"#,
    )
        .into_response()
}

async fn introspect(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    endpoint.calls.fetch_add(1, Ordering::SeqCst);
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if header(header::CONTENT_TYPE) != Some("application/x-www-form-urlencoded") {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "content-type");
    }
    if header(header::ACCEPT) != Some("application/json") {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "accept");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("token_type_hint").map(String::as_str) != Some("access_token") {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "token_type_hint");
    }
    let Some(token) = form.get("token") else {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "token");
    };
    let authorization = header(header::AUTHORIZATION);
    let authenticated = match &endpoint.expect {
        Expect::Basic(expected) => {
            authorization == Some(expected.as_str()) && !form.contains_key("client_secret")
        }
        Expect::Post { id, secret } => {
            authorization.is_none()
                && form.get("client_id") == Some(id)
                && form.get("client_secret") == Some(secret)
        }
        Expect::Bearer(own) => authorization == Some(format!("Bearer {own}").as_str()),
    };
    if !authenticated {
        return refuse(&endpoint, StatusCode::UNAUTHORIZED, "client authentication");
    }
    let reply = endpoint.replies.lock().unwrap().get(token).cloned();
    let reply = reply.unwrap_or(Reply {
        status: 200,
        body: r#"{"active":false}"#.to_owned(),
        delay: Duration::ZERO,
    });
    tokio::time::sleep(reply.delay).await;
    (
        StatusCode::from_u16(reply.status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response()
}

/// Starts an endpoint; returns it and its base URL (also used as the issuer).
async fn start(expect: Expect) -> (Arc<Endpoint>, String) {
    let endpoint = Arc::new(Endpoint {
        expect,
        calls: AtomicUsize::new(0),
        replies: Mutex::new(HashMap::new()),
        last_refusal: Mutex::new(None),
    });
    let app = axum::Router::new()
        .route("/introspect", post(introspect))
        .with_state(Arc::clone(&endpoint));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, base)
}

const BASIC_ID: &str = "rs-one";
const BASIC_SECRET: &str = "s3cret";

fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn start_basic() -> (Arc<Endpoint>, String) {
    start(Expect::Basic(basic_header(BASIC_ID, BASIC_SECRET))).await
}

fn builder(base: &str, auth: ClientAuth) -> IntrospectionVerifierBuilder {
    IntrospectionVerifier::builder()
        .issuer(base)
        .endpoint(format!("{base}/introspect"))
        .resource(RESOURCE)
        .client_auth(auth)
}

fn basic_verifier(base: &str) -> IntrospectionVerifier {
    builder(base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .build()
        .unwrap()
}

fn now() -> u64 {
    SystemClock.unix_seconds()
}

fn active(extra: Value) -> Value {
    let mut body = json!({
        "active": true,
        "scope": "mcp:read mcp:write",
        "client_id": "client-42",
        "sub": "alice",
        "username": "alice@example.com",
        "aud": RESOURCE,
        "exp": now() + 3600,
        "iat": now(),
    });
    if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    body
}

fn assert_unavailable(err: &VerifyError, token: &str, mentions: &str) {
    let VerifyError::Unavailable { reason, .. } = err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!(err.code(), ErrorCode::Unavailable);
    assert!(reason.contains(mentions), "{reason}");
    assert!(
        !reason.contains(token),
        "the reason must not contain the token"
    );
    assert!(!err.to_string().contains(token));
}

#[tokio::test]
async fn rs42_active_token_yields_auth_info() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply(
        "tok-active",
        200,
        active(json!({"iss": base, "jti": "j-1"})),
    );
    let info = basic_verifier(&base).verify("tok-active").await.unwrap();
    assert_eq!(info.token_kind(), TokenKind::Opaque);
    assert_eq!(info.issuer(), base);
    assert_eq!(info.subject(), Some("alice"));
    assert_eq!(info.client_id(), Some("client-42"));
    assert_eq!(info.scopes(), ["mcp:read", "mcp:write"]);
    assert_eq!(info.audiences(), [RESOURCE]);
    assert_eq!(info.token_id(), Some("j-1"));
    assert!(info.expires_at_unix().is_some());
    assert_eq!(
        info.claims().get("username"),
        Some(&json!("alice@example.com"))
    );
    assert_eq!(endpoint.calls(), 1);
    assert_eq!(endpoint.refusal(), None);
}

#[tokio::test]
async fn rs42_inactive_token_is_rejected() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-revoked", 200, json!({"active": false}));
    let err = basic_verifier(&base)
        .verify("tok-revoked")
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::Inactive);
    assert_eq!(err.code(), ErrorCode::InvalidToken);
}

#[tokio::test]
async fn rs42_audience_must_name_the_resource() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply(
        "tok-other-aud",
        200,
        active(json!({"aud": ["https://other.example.com/api"]})),
    );
    let err = basic_verifier(&base)
        .verify("tok-other-aud")
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::InvalidAudience);
    assert_eq!(err.code(), ErrorCode::InvalidToken);
}

#[tokio::test]
async fn rs42_extra_audience_and_case_insensitive_host_are_accepted() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-extra", 200, active(json!({"aud": "api://mcp"})));
    endpoint.reply(
        "tok-upper",
        200,
        active(json!({"aud": ["x", "HTTPS://MCP.EXAMPLE.COM/mcp"]})),
    );
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .options(VerifyOptions::default().extra_audience("api://mcp"))
        .build()
        .unwrap();
    assert!(verifier.verify("tok-extra").await.is_ok());
    assert!(verifier.verify("tok-upper").await.is_ok());
}

#[tokio::test]
async fn rs42_missing_audience_is_refused_unless_allowed() {
    let (endpoint, base) = start_basic().await;
    let mut body = active(json!({}));
    body.as_object_mut().unwrap().remove("aud");
    endpoint.reply("tok-no-aud", 200, body);
    let err = basic_verifier(&base)
        .verify("tok-no-aud")
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::MissingClaim("aud"));
    let lenient = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .allow_missing_audience(true)
        .build()
        .unwrap();
    let info = lenient.verify("tok-no-aud").await.unwrap();
    assert!(info.audiences().is_empty());
}

#[tokio::test]
async fn rs42_expired_and_not_yet_valid_tokens_are_rejected() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-expired", 200, active(json!({"exp": now() - 120})));
    endpoint.reply("tok-future", 200, active(json!({"nbf": now() + 600})));
    endpoint.reply("tok-in-leeway", 200, active(json!({"exp": now() - 10})));
    let verifier = basic_verifier(&base);
    assert_eq!(
        verifier.verify("tok-expired").await.unwrap_err(),
        VerifyError::Expired
    );
    assert_eq!(
        verifier.verify("tok-future").await.unwrap_err(),
        VerifyError::NotYetValid
    );
    assert!(verifier.verify("tok-in-leeway").await.is_ok());
    assert_eq!(
        verifier.cached_entries(),
        0,
        "a result whose exp has passed is not cached"
    );
}

#[tokio::test]
async fn rs42_foreign_iss_is_rejected() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply(
        "tok-foreign",
        200,
        active(json!({"iss": "https://other-as.example.com"})),
    );
    let err = basic_verifier(&base)
        .verify("tok-foreign")
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::UntrustedIssuer);
}

#[tokio::test]
async fn sender_constrained_and_non_access_tokens_are_refused() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-dpop", 200, active(json!({"cnf": {"jkt": "abc"}})));
    endpoint.reply(
        "tok-refresh",
        200,
        active(json!({"token_type": "refresh_token"})),
    );
    endpoint.reply("tok-bearer", 200, active(json!({"token_type": "Bearer"})));
    let v = basic_verifier(&base);
    assert_eq!(
        v.verify("tok-dpop").await.unwrap_err(),
        VerifyError::NotABearerToken
    );
    assert_eq!(
        v.verify("tok-refresh").await.unwrap_err(),
        VerifyError::NotABearerToken
    );
    assert!(v.verify("tok-bearer").await.is_ok());
}

#[tokio::test]
async fn dpop_bound_tokens_pass_verify_dpop_with_their_thumbprint() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply(
        "tok-dpop",
        200,
        active(json!({"cnf": {"jkt": "abc"}, "token_type": "DPoP"})),
    );
    endpoint.reply("tok-typed", 200, active(json!({"token_type": "DPoP"})));
    endpoint.reply(
        "tok-refresh",
        200,
        active(json!({"token_type": "refresh_token"})),
    );
    let v = basic_verifier(&base);
    let info = v.verify_dpop("tok-dpop").await.unwrap();
    assert_eq!(info.dpop_jkt(), Some("abc"));
    // The same (cached) answer, presented as Bearer: refused.
    assert_eq!(
        v.verify("tok-dpop").await.unwrap_err(),
        VerifyError::NotABearerToken
    );
    assert_eq!(
        v.verify("tok-typed").await.unwrap_err(),
        VerifyError::NotABearerToken
    );
    assert_eq!(
        v.verify_dpop("tok-refresh").await.unwrap_err(),
        VerifyError::NotABearerToken
    );
}

#[tokio::test]
async fn mistyped_members_are_rejected() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-scope", 200, active(json!({"scope": ["a", "b"]})));
    endpoint.reply("tok-exp", 200, active(json!({"exp": "soon"})));
    let verifier = basic_verifier(&base);
    assert!(matches!(
        verifier.verify("tok-scope").await.unwrap_err(),
        VerifyError::InvalidClaim { claim: "scope", .. }
    ));
    assert!(matches!(
        verifier.verify("tok-exp").await.unwrap_err(),
        VerifyError::InvalidClaim { claim: "exp", .. }
    ));
}

#[tokio::test]
async fn scope_claim_fallbacks_apply_after_scope() {
    let (endpoint, base) = start_basic().await;
    let mut body = active(json!({"scp": ["files:read"]}));
    body.as_object_mut().unwrap().remove("scope");
    endpoint.reply("tok-scp", 200, body);
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .options(VerifyOptions::default().scope_claims([crate::verify::ScopeClaim::Scp]))
        .build()
        .unwrap();
    assert_eq!(
        verifier.verify("tok-scp").await.unwrap().scopes(),
        ["files:read"]
    );
}

#[tokio::test]
async fn rs42_server_error_is_unavailable_not_invalid_token() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-500", 500, json!({"error": "server_error"}));
    let verifier = basic_verifier(&base);
    let err = verifier.verify("tok-500").await.unwrap_err();
    assert_unavailable(&err, "tok-500", "HTTP 500");
    assert_eq!(verifier.cached_entries(), 0);
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let (endpoint, base) = start_basic().await;
    for i in 0..6 {
        endpoint.reply_raw(
            &format!("garbage-{i}"),
            200,
            json!({"active": false}).to_string(),
            Duration::from_millis(500),
        );
    }
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .max_in_flight(2)
        .build()
        .unwrap();
    let calls = (0..6).map(|i| {
        let v = verifier.clone();
        tokio::spawn(async move { v.verify(&format!("garbage-{i}")).await })
    });
    let mut inactive = 0;
    let mut refused = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Err(VerifyError::Inactive) => inactive += 1,
            Err(VerifyError::Unavailable { .. }) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((inactive, refused), (2, 4));
    assert_eq!(
        endpoint.calls(),
        2,
        "only two requests reached the authorization server"
    );
}

#[tokio::test]
async fn rs42_timeout_is_unavailable() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply_raw(
        "tok-slow",
        200,
        active(json!({})).to_string(),
        Duration::from_secs(5),
    );
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = verifier.verify("tok-slow").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_unavailable(&err, "tok-slow", "timed out");
}

#[tokio::test]
async fn rs42_refused_client_credentials_are_unavailable() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-ok", 200, active(json!({})));
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, "wrong-secret"))
        .build()
        .unwrap();
    let err = verifier.verify("tok-ok").await.unwrap_err();
    assert_unavailable(&err, "tok-ok", "refused the resource server's credentials");
    assert!(!err.to_string().contains("wrong-secret"));
    assert_eq!(endpoint.refusal().as_deref(), Some("client authentication"));
}

#[tokio::test]
async fn broken_responses_are_unavailable() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply_raw("tok-html", 200, "<html>hi</html>".into(), Duration::ZERO);
    endpoint.reply("tok-array", 200, json!([{"active": true}]));
    endpoint.reply("tok-no-active", 200, json!({"sub": "alice"}));
    endpoint.reply("tok-string-active", 200, active(json!({"active": "true"})));
    endpoint.reply_raw(
        "tok-huge",
        200,
        format!(r#"{{"active":true,"pad":"{}"}}"#, "x".repeat(70 * 1024)),
        Duration::ZERO,
    );
    let verifier = basic_verifier(&base);
    for (token, mentions) in [
        ("tok-html", "not a JSON object"),
        ("tok-array", "not a JSON object"),
        ("tok-no-active", "`active`"),
        ("tok-string-active", "`active`"),
        ("tok-huge", "larger than"),
    ] {
        let err = verifier.verify(token).await.unwrap_err();
        assert_unavailable(&err, token, mentions);
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-redirect", 307, json!({}));
    let err = basic_verifier(&base)
        .verify("tok-redirect")
        .await
        .unwrap_err();
    assert_unavailable(&err, "tok-redirect", "HTTP 307");
}

#[tokio::test]
async fn unreachable_endpoint_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = basic_verifier(&base).verify("tok-any").await.unwrap_err();
    assert_unavailable(&err, "tok-any", "connection failed");
}

#[tokio::test]
async fn basic_auth_form_urlencodes_id_and_secret() {
    // RFC 6749 §2.3.1 / Appendix B, encoded by hand: ':' → %3A, '/' → %2F, '+' → %2B,
    // ' ' → '+', '=' → %3D, 'é' → %C3%A9, '%' → %25.
    let id = "rs:one";
    let secret = "s3/+ =é%";
    let expected = basic_header("rs%3Aone", "s3%2F%2B+%3D%C3%A9%25");
    let (endpoint, base) = start(Expect::Basic(expected)).await;
    endpoint.reply("tok-basic", 200, active(json!({})));
    let verifier = builder(&base, ClientAuth::basic(id, secret))
        .build()
        .unwrap();
    let result = verifier.verify("tok-basic").await;
    assert_eq!(endpoint.refusal(), None);
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn post_auth_sends_credentials_in_the_form() {
    let (endpoint, base) = start(Expect::Post {
        id: "rs one".into(),
        secret: "p&ss=word".into(),
    })
    .await;
    endpoint.reply("tok-post", 200, active(json!({})));
    let verifier = builder(&base, ClientAuth::post("rs one", "p&ss=word"))
        .build()
        .unwrap();
    let result = verifier.verify("tok-post").await;
    assert_eq!(endpoint.refusal(), None);
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn bearer_auth_sends_the_resource_servers_own_token() {
    let (endpoint, base) = start(Expect::Bearer("rs-own-token".into())).await;
    endpoint.reply("tok-bearer", 200, active(json!({})));
    let verifier = builder(&base, ClientAuth::bearer("rs-own-token"))
        .build()
        .unwrap();
    let result = verifier.verify("tok-bearer").await;
    assert_eq!(endpoint.refusal(), None);
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn rs45_cache_hit_avoids_a_second_call() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-cached", 200, active(json!({})));
    let verifier = basic_verifier(&base);
    let first = verifier.verify("tok-cached").await.unwrap();
    let second = verifier.clone().verify("tok-cached").await.unwrap();
    assert_eq!(first, second);
    assert_eq!(endpoint.calls(), 1);
    assert_eq!(verifier.cached_entries(), 1);
}

#[tokio::test]
async fn inactive_results_are_not_cached() {
    let (endpoint, base) = start_basic().await;
    let verifier = basic_verifier(&base);
    for _ in 0..2 {
        assert_eq!(
            verifier.verify("tok-unknown").await.unwrap_err(),
            VerifyError::Inactive
        );
    }
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn rs45_cache_entry_expires_at_exp() {
    let (endpoint, base) = start_basic().await;
    let clock = ManualClock::at_unix(1_800_000_000);
    endpoint.reply(
        "tok-short",
        200,
        active(json!({"exp": 1_800_000_030, "iat": 1_800_000_000})),
    );
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .options(VerifyOptions::default().leeway(Duration::ZERO))
        .clock(Arc::new(clock.clone()))
        .cache(100, Duration::from_secs(300))
        .build()
        .unwrap();
    verifier.verify("tok-short").await.unwrap();
    clock.advance(Duration::from_secs(29));
    verifier.verify("tok-short").await.unwrap();
    assert_eq!(endpoint.calls(), 1, "served from the cache before exp");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        verifier.verify("tok-short").await.unwrap_err(),
        VerifyError::Expired,
        "at exp the cache no longer answers and the endpoint's answer is expired"
    );
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn rs45_cache_entry_expires_at_max_ttl() {
    let (endpoint, base) = start_basic().await;
    let clock = ManualClock::at_unix(1_800_000_000);
    endpoint.reply("tok-long", 200, active(json!({"exp": 1_800_003_600})));
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .clock(Arc::new(clock.clone()))
        .cache(100, Duration::from_secs(10))
        .build()
        .unwrap();
    verifier.verify("tok-long").await.unwrap();
    clock.advance(Duration::from_secs(9));
    verifier.verify("tok-long").await.unwrap();
    assert_eq!(endpoint.calls(), 1);
    clock.advance(Duration::from_secs(1));
    verifier.verify("tok-long").await.unwrap();
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn rs45_cache_bound_holds() {
    let (endpoint, base) = start_basic().await;
    for i in 0..5 {
        endpoint.reply(&format!("tok-{i}"), 200, active(json!({})));
    }
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .cache(2, Duration::from_secs(60))
        .build()
        .unwrap();
    for i in 0..5 {
        verifier.verify(&format!("tok-{i}")).await.unwrap();
        assert!(verifier.cached_entries() <= 2);
    }
    assert_eq!(endpoint.calls(), 5);
    verifier.verify("tok-4").await.unwrap();
    assert_eq!(endpoint.calls(), 5, "the newest entry is still cached");
    verifier.verify("tok-0").await.unwrap();
    assert_eq!(endpoint.calls(), 6, "the oldest entry was evicted");
}

#[tokio::test]
async fn cache_can_be_disabled() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("tok-nocache", 200, active(json!({})));
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .cache(0, Duration::from_secs(60))
        .build()
        .unwrap();
    verifier.verify("tok-nocache").await.unwrap();
    verifier.verify("tok-nocache").await.unwrap();
    assert_eq!(endpoint.calls(), 2);
    assert_eq!(verifier.cached_entries(), 0);
}

#[tokio::test]
async fn oversized_and_empty_tokens_are_refused_without_a_call() {
    let (endpoint, base) = start_basic().await;
    let verifier = builder(&base, ClientAuth::basic(BASIC_ID, BASIC_SECRET))
        .options(VerifyOptions::default().max_token_bytes(8))
        .build()
        .unwrap();
    assert_eq!(
        verifier.verify("123456789").await.unwrap_err(),
        VerifyError::TooLarge { max: 8 }
    );
    assert!(matches!(
        verifier.verify("").await.unwrap_err(),
        VerifyError::Malformed(_)
    ));
    assert_eq!(endpoint.calls(), 0);
}

#[test]
fn build_reports_every_problem_at_once() {
    let err = IntrospectionVerifier::builder()
        .issuer("http://auth.example.com")
        .endpoint("ftp://auth.example.com/introspect")
        .client_auth(ClientAuth::basic("", ""))
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    let ConfigError::Many(all) = &err else {
        panic!("expected several errors, got {err:?}");
    };
    let fields: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            ConfigError::Invalid { field, .. } => Some(*field),
            ConfigError::Many(_) => None,
        })
        .collect();
    for field in [
        "issuer",
        "introspection_endpoint",
        "resource",
        "client_auth",
        "timeout",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    assert!(!err.to_string().contains("s3cret"));
}

#[test]
fn client_auth_is_required_and_debug_hides_secrets() {
    let err = IntrospectionVerifier::builder()
        .issuer("https://auth.example.com")
        .endpoint("https://auth.example.com/introspect")
        .resource(RESOURCE)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("client_auth"));
    for auth in [
        ClientAuth::basic("id", "hunter2"),
        ClientAuth::post("id", "hunter2"),
        ClientAuth::bearer("hunter2"),
    ] {
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
    let verifier = builder(
        "https://auth.example.com",
        ClientAuth::basic("id", "hunter2"),
    )
    .build()
    .unwrap();
    assert!(!format!("{verifier:?}").contains("hunter2"));
}

/// A JWT-shaped token signed by nobody: `{"alg":"RS256","typ":"at+jwt","kid":"k"}` and the
/// given claims.
fn unsigned_jwt(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

#[tokio::test]
async fn jwt_or_introspection_routes_by_shape() {
    let (endpoint, base) = start_basic().await;
    endpoint.reply("opaque-2YotnFZFEjr1zCsicMWpAA", 200, active(json!({})));
    let jwt = JwtVerifier::builder()
        .resource(RESOURCE)
        .issuer(
            "https://trusted.example.com",
            "https://trusted.example.com/jwks",
        )
        .build()
        .unwrap();
    let router = JwtOrIntrospection::new(jwt, basic_verifier(&base));
    // The router is a TokenVerifier with a Send future: it can be type-erased like any other.
    let router = crate::verify::SharedVerifier::new(router);

    // A JWT from an issuer the JWT verifier does not trust: refused there, no request made,
    // and never handed to introspection.
    let token = unsigned_jwt(json!({"iss": "https://evil.example.com", "aud": RESOURCE}));
    assert_eq!(
        router.verify(&token).await.unwrap_err(),
        VerifyError::UntrustedIssuer
    );
    assert_eq!(endpoint.calls(), 0);

    let info = router
        .verify("opaque-2YotnFZFEjr1zCsicMWpAA")
        .await
        .unwrap();
    assert_eq!(info.token_kind(), TokenKind::Opaque);
    assert_eq!(endpoint.calls(), 1);
}
