//! Network tests against a small axum server on 127.0.0.1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::discovery::NetworkErrorKind;

const OAUTH: &str = "/.well-known/oauth-authorization-server/tenant1";
const OIDC_INSERT: &str = "/.well-known/openid-configuration/tenant1";
const OIDC_APPEND: &str = "/tenant1/.well-known/openid-configuration";

/// What the test server answers on a path.
#[derive(Clone)]
enum Reply {
    Json(Value),
    Text(&'static str),
    Status(u16),
    Slow(Duration, Value),
}

/// One request seen by the test server: path, `Accept`, `x-custom-client`.
struct Hit {
    path: String,
    accept: Option<String>,
    custom: Option<String>,
}

type Hits = Arc<Mutex<Vec<Hit>>>;

#[derive(Clone)]
struct AppState {
    routes: Arc<HashMap<String, Reply>>,
    hits: Hits,
}

struct TestServer {
    origin: String,
    hits: Hits,
}

impl TestServer {
    /// Starts a server; `routes` gets the origin (`http://127.0.0.1:port`).
    async fn start(routes: impl FnOnce(&str) -> Vec<(&'static str, Reply)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let routes = routes(&origin)
            .into_iter()
            .map(|(p, r)| (p.to_owned(), r))
            .collect();
        let state = AppState {
            routes: Arc::new(routes),
            hits: Arc::default(),
        };
        let hits = state.hits.clone();
        let app = Router::new().fallback(handle).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { origin, hits }
    }

    fn issuer(&self) -> String {
        format!("{}/tenant1", self.origin)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The paths requested, in order.
    fn paths(&self) -> Vec<String> {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .map(|h| h.path.clone())
            .collect()
    }

    fn header_values(&self) -> Vec<(Option<String>, Option<String>)> {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .map(|h| (h.accept.clone(), h.custom.clone()))
            .collect()
    }
}

async fn handle(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.hits.lock().expect("hits").push(Hit {
        path: uri.path().to_owned(),
        accept: header("accept"),
        custom: header("x-custom-client"),
    });
    match state.routes.get(uri.path()).cloned() {
        Some(Reply::Json(v)) => axum_json(v),
        Some(Reply::Text(t)) => ([(header::CONTENT_TYPE, "application/json")], t).into_response(),
        Some(Reply::Status(s)) => StatusCode::from_u16(s)
            .unwrap_or(StatusCode::IM_A_TEAPOT)
            .into_response(),
        Some(Reply::Slow(delay, v)) => {
            tokio::time::sleep(delay).await;
            axum_json(v)
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn axum_json(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(value.to_string()),
    )
        .into_response()
}

fn doc(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "x_vendor": {"kept": true}
    })
}

fn quick() -> ServerConfigFetcher {
    ServerConfigFetcher::new().timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn rs43_only_url3_served_is_found() {
    let server =
        TestServer::start(|o| vec![(OIDC_APPEND, Reply::Json(doc(&format!("{o}/tenant1"))))]).await;
    let config = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect("found at URL 3");
    assert_eq!(config.issuer(), server.issuer());
    assert_eq!(config.source_url(), Some(server.url(OIDC_APPEND).as_str()));
    assert_eq!(
        config.jwks_uri(),
        Some(format!("{}/jwks", server.issuer()).as_str())
    );
    assert_eq!(config.metadata().extra["x_vendor"], json!({"kept": true}));
    assert_eq!(server.paths(), [OAUTH, OIDC_INSERT, OIDC_APPEND]);
    // Every request asks for JSON.
    assert!(
        server
            .header_values()
            .iter()
            .all(|(accept, _)| accept.as_deref() == Some("application/json"))
    );
}

#[tokio::test]
async fn rs43_4xx_moves_on_to_next_url() {
    let server = TestServer::start(|o| {
        vec![
            (OAUTH, Reply::Status(401)),
            (OIDC_INSERT, Reply::Json(doc(&format!("{o}/tenant1")))),
        ]
    })
    .await;
    let config = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect("found at URL 2");
    assert_eq!(config.source_url(), Some(server.url(OIDC_INSERT).as_str()));
    assert_eq!(server.paths(), [OAUTH, OIDC_INSERT]);
}

#[tokio::test]
async fn rs43_oauth_kind_and_root_issuer() {
    // An issuer without a path: OAuth and OIDC insertion only; the first hit wins.
    let server = TestServer::start(|o| {
        vec![
            (
                "/.well-known/oauth-authorization-server",
                Reply::Json(doc(o)),
            ),
            ("/.well-known/openid-configuration", Reply::Status(500)),
        ]
    })
    .await;
    let config = quick()
        .fetch(&server.origin, DiscoveryKind::OAuth)
        .await
        .expect("found");
    assert_eq!(config.issuer(), server.origin);
    assert_eq!(server.paths(), ["/.well-known/oauth-authorization-server"]);

    let err = quick()
        .fetch(&server.origin, DiscoveryKind::Oidc)
        .await
        .expect_err("500");
    assert!(
        matches!(err, DiscoveryError::Status { status: 500, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn rs43_5xx_fails_at_once_naming_url_and_status() {
    let server = TestServer::start(|o| {
        vec![
            (OAUTH, Reply::Status(503)),
            (OIDC_INSERT, Reply::Json(doc(&format!("{o}/tenant1")))),
        ]
    })
    .await;
    let err = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("a 5xx stops discovery");
    let url = server.url(OAUTH);
    assert!(
        matches!(&err, DiscoveryError::Status { url: u, status: 503 } if *u == url),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&url) && message.contains("503"),
        "{message}"
    );
    assert_eq!(server.paths(), [OAUTH], "no further URL tried");
}

#[tokio::test]
async fn rs43_all_4xx_is_not_found_listing_urls() {
    let server = TestServer::start(|_| vec![(OIDC_INSERT, Reply::Status(403))]).await;
    let err = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("nothing served");
    let expected: Vec<String> = [OAUTH, OIDC_INSERT, OIDC_APPEND]
        .iter()
        .map(|p| server.url(p))
        .collect();
    match &err {
        DiscoveryError::NotFound { issuer, tried } => {
            assert_eq!(issuer, &server.issuer());
            assert_eq!(tried, &expected);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    for url in &expected {
        assert!(err.to_string().contains(url.as_str()), "{err}");
    }
}

#[tokio::test]
async fn rs43_issuer_mismatch_is_refused() {
    // The checklist example: fetched for `.../tenant1`, the document names the bare origin.
    let server = TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(o)))]).await;
    let err = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("mismatch");
    match &err {
        DiscoveryError::IssuerMismatch {
            expected,
            found,
            url,
        } => {
            assert_eq!(expected, &server.issuer());
            assert_eq!(found, &server.origin);
            assert_eq!(url, &server.url(OAUTH));
        }
        other => panic!("expected IssuerMismatch, got {other:?}"),
    }
    assert_eq!(server.paths(), [OAUTH], "a mismatch stops discovery");
}

#[tokio::test]
async fn rs43_trailing_slash_mismatch_either_way() {
    // Document has a slash, configuration does not.
    let server =
        TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(&format!("{o}/tenant1/"))))]).await;
    let err = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("slash in document only");
    assert!(
        matches!(&err, DiscoveryError::IssuerMismatch { found, .. } if found.ends_with("/tenant1/")),
        "{err:?}"
    );

    // Configuration has a slash (same URLs are built), document does not.
    let server =
        TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(&format!("{o}/tenant1"))))]).await;
    let configured = format!("{}/", server.issuer());
    let err = quick()
        .fetch(&configured, DiscoveryKind::Auto)
        .await
        .expect_err("slash in configuration only");
    assert!(
        matches!(&err, DiscoveryError::IssuerMismatch { expected, .. } if *expected == configured),
        "{err:?}"
    );
    assert_eq!(server.paths(), [OAUTH]);

    // Both with a slash: accepted, kept byte-exact.
    let server =
        TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(&format!("{o}/tenant1/"))))]).await;
    let configured = format!("{}/", server.issuer());
    let config = quick()
        .fetch(&configured, DiscoveryKind::Auto)
        .await
        .expect("identical issuers");
    assert_eq!(config.issuer(), configured);
}

#[tokio::test]
async fn invalid_issuer_makes_no_request() {
    let server = TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(o)))]).await;
    for issuer in [
        format!("{}/tenant1?x=1", server.origin),
        format!("{}/tenant1#f", server.origin),
        "tenant1".to_owned(),
        "http://auth.example.com".to_owned(),
    ] {
        let err = quick()
            .fetch(&issuer, DiscoveryKind::Auto)
            .await
            .expect_err("invalid issuer");
        assert!(
            matches!(err, DiscoveryError::InvalidIssuer { .. }),
            "{issuer}: {err:?}"
        );
    }
    assert!(server.paths().is_empty());
}

#[tokio::test]
async fn fetch_from_url_uses_the_explicit_url() {
    let server = TestServer::start(|o| {
        vec![
            (
                "/custom/metadata.json",
                Reply::Json(doc(&format!("{o}/tenant1"))),
            ),
            ("/gone", Reply::Status(404)),
        ]
    })
    .await;
    let url = server.url("/custom/metadata.json");
    let config = quick()
        .fetch_from_url(&server.issuer(), &url)
        .await
        .expect("explicit URL");
    assert_eq!(config.source_url(), Some(url.as_str()));
    assert_eq!(server.paths(), ["/custom/metadata.json"]);

    let gone = server.url("/gone");
    let err = quick()
        .fetch_from_url(&server.issuer(), &gone)
        .await
        .expect_err("404");
    assert!(
        matches!(&err, DiscoveryError::Status { url, status: 404 } if *url == gone),
        "{err:?}"
    );

    let err = quick()
        .fetch_from_url(&server.issuer(), "ftp://127.0.0.1/metadata")
        .await
        .expect_err("not http");
    assert!(matches!(err, DiscoveryError::InvalidUrl { .. }), "{err:?}");
    let err = quick()
        .fetch_from_url(&server.issuer(), "http://auth.example.com/metadata")
        .await
        .expect_err("plain http off loopback");
    assert!(matches!(err, DiscoveryError::InvalidUrl { .. }), "{err:?}");
    assert_eq!(server.paths().len(), 2, "invalid URLs are not requested");
}

#[tokio::test]
async fn sync_transform_runs_before_parsing_and_issuer_check() {
    let server = TestServer::start(|o| {
        let mut d = doc(&format!("{o}/{{tenantid}}"));
        d["jwks_uri"] = json!(format!("{o}/tenant1/jwks"));
        vec![(OAUTH, Reply::Json(d))]
    })
    .await;
    let issuer = server.issuer();
    // Without the transform the templated issuer does not match.
    let err = quick()
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await
        .expect_err("template issuer");
    assert!(
        matches!(err, DiscoveryError::IssuerMismatch { .. }),
        "{err:?}"
    );

    let config = quick()
        .transform(|issuer, mut raw| async move {
            raw["issuer"] = Value::String(issuer);
            raw["x_transformed"] = json!("sync");
            Ok(raw)
        })
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await
        .expect("transform repairs the issuer");
    assert_eq!(config.issuer(), issuer);
    assert_eq!(config.metadata().extra["x_transformed"], "sync");

    let err = quick()
        .transform(|_, _| async { Err("refused by policy".to_owned()) })
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await
        .expect_err("transform error");
    assert!(
        matches!(&err, DiscoveryError::Transform { message, url } if message == "refused by policy" && *url == server.url(OAUTH)),
        "{err:?}"
    );
}

#[tokio::test]
async fn async_transform_is_awaited_and_its_change_visible() {
    let server =
        TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(&format!("{o}/elsewhere"))))]).await;
    let issuer = server.issuer();
    let config = quick()
        .transform(|issuer, mut raw| async move {
            // Really suspend, so a hook that is not awaited would lose the change.
            tokio::time::sleep(Duration::from_millis(20)).await;
            tokio::task::yield_now().await;
            raw["issuer"] = Value::String(issuer);
            raw["jwks_uri"] = json!("http://127.0.0.1:1/async-jwks");
            Ok(raw)
        })
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await
        .expect("async transform applied");
    assert_eq!(config.issuer(), issuer);
    assert_eq!(config.jwks_uri(), Some("http://127.0.0.1:1/async-jwks"));

    let err = quick()
        .transform(|_, _| async {
            tokio::task::yield_now().await;
            Err("lookup failed".to_owned())
        })
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await
        .expect_err("async transform error");
    assert!(matches!(err, DiscoveryError::Transform { .. }), "{err:?}");

    // The later hook replaces the earlier one.
    let config = quick()
        .transform(|_, _| async { Err("replaced".to_owned()) })
        .transform(|issuer, mut raw| async move {
            raw["issuer"] = Value::String(issuer);
            Ok(raw)
        })
        .fetch(&issuer, DiscoveryKind::OAuth)
        .await;
    assert!(config.is_ok(), "{config:?}");
}

#[tokio::test]
async fn timeout_is_a_network_error() {
    let server = TestServer::start(|o| {
        vec![(
            OAUTH,
            Reply::Slow(Duration::from_secs(5), doc(&format!("{o}/tenant1"))),
        )]
    })
    .await;
    let started = std::time::Instant::now();
    let err = ServerConfigFetcher::new()
        .timeout(Duration::from_millis(200))
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("slow server");
    assert!(started.elapsed() < Duration::from_secs(3), "timed out late");
    assert!(
        matches!(&err, DiscoveryError::Network { kind: NetworkErrorKind::Timeout, url, .. } if *url == server.url(OAUTH)),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(server.paths(), [OAUTH], "a timeout stops discovery");
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = quick()
        .fetch(&origin, DiscoveryKind::Auto)
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(
            &err,
            DiscoveryError::Network {
                kind: NetworkErrorKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = TestServer::start(|o| {
        let mut d = doc(&format!("{o}/tenant1"));
        d["padding"] = json!("x".repeat(300 * 1024));
        vec![(OAUTH, Reply::Json(d))]
    })
    .await;
    let err = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect_err("over the default 256 KiB");
    assert!(
        matches!(&err, DiscoveryError::TooLarge { limit, url } if *limit == 256 * 1024 && *url == server.url(OAUTH)),
        "{err:?}"
    );
    // The limit is configurable.
    let config = quick()
        .max_body_bytes(1024 * 1024)
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await;
    assert!(config.is_ok(), "{config:?}");
}

/// A body without `Content-Length` (chunked) is cut off while streaming.
#[tokio::test]
async fn oversized_chunked_body_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 1024, " ".repeat(1024));
                for _ in 0..64 {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    let err = quick()
        .max_body_bytes(16 * 1024)
        .fetch(&origin, DiscoveryKind::OAuth)
        .await
        .expect_err("streamed body over the limit");
    assert!(
        matches!(err, DiscoveryError::TooLarge { limit: 16384, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_documents_name_the_url() {
    let server = TestServer::start(|o| {
        vec![
            (
                "/.well-known/oauth-authorization-server/bad-json",
                Reply::Text("{not json"),
            ),
            (
                "/.well-known/oauth-authorization-server/array",
                Reply::Text("[1, 2]"),
            ),
            (
                "/.well-known/oauth-authorization-server/no-issuer",
                Reply::Json(json!({"jwks_uri": format!("{o}/jwks")})),
            ),
            (
                "/.well-known/oauth-authorization-server/wrong-type",
                Reply::Json(json!({
                    "issuer": format!("{o}/wrong-type"),
                    "require_pushed_authorization_requests": "yes"
                })),
            ),
            (
                "/.well-known/oauth-authorization-server/http-jwks",
                Reply::Json(json!({
                    "issuer": format!("{o}/http-jwks"),
                    "jwks_uri": "http://keys.example.com/jwks"
                })),
            ),
        ]
    })
    .await;
    let fetch = |tenant: &str| {
        let issuer = format!("{}/{tenant}", server.origin);
        async move { quick().fetch(&issuer, DiscoveryKind::OAuth).await }
    };
    let url =
        |tenant: &str| server.url(&format!("/.well-known/oauth-authorization-server/{tenant}"));

    let err = fetch("bad-json").await.expect_err("bad JSON");
    assert!(
        matches!(&err, DiscoveryError::InvalidJson { url: u, .. } if *u == url("bad-json")),
        "{err:?}"
    );
    assert!(err.to_string().contains(&url("bad-json")));

    let err = fetch("array").await.expect_err("array");
    assert!(
        matches!(&err, DiscoveryError::InvalidJson { message, .. } if message.contains("array")),
        "{err:?}"
    );

    let err = fetch("no-issuer").await.expect_err("no issuer");
    assert!(
        matches!(&err, DiscoveryError::InvalidMetadata { message, url: u } if message.contains("issuer") && *u == url("no-issuer")),
        "{err:?}"
    );

    let err = fetch("wrong-type").await.expect_err("wrong type");
    assert!(
        matches!(&err, DiscoveryError::InvalidMetadata { message, .. } if message.contains("require_pushed_authorization_requests")),
        "{err:?}"
    );

    let err = fetch("http-jwks").await.expect_err("plain http jwks_uri");
    assert!(
        matches!(
            &err,
            DiscoveryError::InvalidEndpoint {
                field: "jwks_uri",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn custom_http_client_is_used() {
    let server =
        TestServer::start(|o| vec![(OAUTH, Reply::Json(doc(&format!("{o}/tenant1"))))]).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-custom-client",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    quick()
        .http_client(client)
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .expect("found");
    assert_eq!(
        server.header_values(),
        [(Some("application/json".to_owned()), Some("yes".to_owned()))]
    );
}

#[tokio::test]
async fn fetch_server_config_uses_the_defaults() {
    let server =
        TestServer::start(|o| vec![(OIDC_INSERT, Reply::Json(doc(&format!("{o}/tenant1"))))]).await;
    let config = fetch_server_config(&server.issuer(), DiscoveryKind::Oidc)
        .await
        .expect("found");
    assert_eq!(config.source_url(), Some(server.url(OIDC_INSERT).as_str()));
    assert_eq!(server.paths(), [OIDC_INSERT]);
    assert!(format!("{:?}", ServerConfigFetcher::new()).contains("timeout: 10s"));
}

#[tokio::test]
async fn rs43_auto_falls_through_a_document_without_jwks_uri() {
    // Okta's org server: the RFC 8414 document has no `jwks_uri`, the OpenID one has.
    let server = TestServer::start(|origin| {
        let issuer = format!("{origin}/tenant1");
        let mut no_keys = doc(&issuer);
        no_keys.as_object_mut().unwrap().remove("jwks_uri");
        vec![
            (OAUTH, Reply::Json(no_keys)),
            (OIDC_INSERT, Reply::Json(doc(&issuer))),
        ]
    })
    .await;
    let config = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    assert_eq!(
        config.jwks_uri(),
        Some(format!("{}/jwks", server.issuer()).as_str())
    );
    assert_eq!(config.source_url(), Some(server.url(OIDC_INSERT).as_str()));

    // An explicit kind takes the document as it is.
    let config = quick()
        .fetch(&server.issuer(), DiscoveryKind::OAuth)
        .await
        .unwrap();
    assert_eq!(config.jwks_uri(), None);
}

#[tokio::test]
async fn rs43_auto_keeps_a_document_without_jwks_uri_when_no_other_has_keys() {
    let server = TestServer::start(|origin| {
        let issuer = format!("{origin}/tenant1");
        let mut no_keys = doc(&issuer);
        no_keys.as_object_mut().unwrap().remove("jwks_uri");
        vec![
            (OAUTH, Reply::Json(no_keys)),
            (OIDC_INSERT, Reply::Status(500)),
        ]
    })
    .await;
    let config = quick()
        .fetch(&server.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    assert_eq!(config.source_url(), Some(server.url(OAUTH).as_str()));
    assert_eq!(
        server.paths(),
        [OAUTH, OIDC_INSERT],
        "stopped at the 5xx, keeping what it had"
    );
}
