//! What an operator sees of the decisions (feature `metrics`, and the audit trail at the target
//! `mcp_auth::audit`), through the notes example served over loopback HTTP with tokens of the
//! development authorization server, and the metrics rendered by the Prometheus exporter as a
//! scrape would read them:
//!
//! - a fixed sequence of requests gives exact counter values;
//! - no token, token segment, subject, client id or request URI is in a label, in the
//!   Prometheus output or in an audit event.
//!
//! The recorder is global to this test binary: each test serves its own resource (its own
//! `resource` label), and the tests run one at a time, so that the process-wide fetch counters
//! (discovery, JWKS) are exact too.

use std::sync::OnceLock;

use mcp_auth::ResourceAuth;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::{LogCapture, bind, spawn};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The process' recorder, installed before any resource serves.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder of this process")
    })
}

/// One test at a time: the fetch counters have no `resource` label.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The value of the sample `name{labels}` in the Prometheus text `scrape` (labels in any
/// order), 0 when there is none.
fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let rest = rest.strip_suffix('}')?;
            let all = labels
                .iter()
                .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")));
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

struct App {
    idp: AuthorizationServer,
    url: String,
    http: reqwest::Client,
}

impl App {
    async fn start(edit: fn(mcp_auth::ProtectedResource) -> mcp_auth::ProtectedResource) -> Self {
        recorder();
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let url = format!("{origin}/mcp");
        let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap();
        let notes: ResourceAuth<Notes> = Notes::builder()
            .id(&url)
            .replace_authorization_servers([config])
            .resource(edit)
            .build()
            .await
            .unwrap();
        spawn(listener, app(&notes));
        Self {
            idp,
            url,
            http: reqwest::Client::new(),
        }
    }

    fn token(&self, subject: &str, client: &str, scopes: &[&str]) -> String {
        self.idp
            .token()
            .subject(subject)
            .client_id(client)
            .audience(self.url.as_str())
            .scopes(scopes.iter().copied())
            .mint()
    }

    async fn post(&self, token: Option<&str>, body: String) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn rpc(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        self.post(token, body.to_string()).await
    }
}

fn cache_on() -> bool {
    !matches!(
        std::env::var("MCP_AUTH_TOKEN_CACHE").as_deref(),
        Ok("off" | "0" | "false")
    )
}

#[tokio::test]
async fn a_fixed_sequence_of_requests_gives_exact_counters_and_audit_events() {
    let _serial = SERIAL.lock().await;
    let scrape = recorder().render();
    let discovery_before = sample(
        &scrape,
        "mcp_auth_discovery_fetches_total",
        &[("result", "ok")],
    );
    let jwks_before = sample(&scrape, "mcp_auth_jwks_fetches_total", &[("result", "ok")]);
    let (logs, _guard) = LogCapture::start();
    let app = App::start(|r| r).await;
    let reader = app.token("alice", "notes-client", &["read:notes"]);
    let forged = {
        let other = AuthorizationServer::start().await.unwrap();
        other
            .token()
            .subject("alice")
            .audience(app.url.as_str())
            .scopes(["read:notes"])
            .mint()
    };
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let create = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "create_note", "arguments": {"text": "hi"}}});

    // 1. No token: 401 without an error code.
    assert_eq!(
        app.rpc(None, list.clone()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // 2. A forged token (another server's key): 401 invalid_token.
    assert_eq!(
        app.rpc(Some(&forged), list.clone()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // 3. An allowed tools/list.
    assert_eq!(
        app.rpc(Some(&reader), list.clone()).await.status(),
        StatusCode::OK
    );
    // 4. create_note needs write:notes: 403 insufficient_scope.
    assert_eq!(
        app.rpc(Some(&reader), create).await.status(),
        StatusCode::FORBIDDEN
    );
    // 5. An ambiguous body (`method` twice): 400.
    let ambiguous =
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","method":"tools/call"}"#.to_owned();
    assert_eq!(
        app.post(Some(&reader), ambiguous).await.status(),
        StatusCode::BAD_REQUEST
    );

    let scrape = recorder().render();
    let resource = app.url.as_str();
    let requests = |outcome| {
        sample(
            &scrape,
            "mcp_auth_requests_total",
            &[("resource", resource), ("outcome", outcome)],
        )
    };
    assert_eq!(requests("unauthenticated"), 1.0, "{scrape}");
    assert_eq!(requests("invalid_token"), 1.0, "{scrape}");
    assert_eq!(requests("allowed"), 1.0, "{scrape}");
    assert_eq!(requests("insufficient_scope"), 1.0, "{scrape}");
    assert_eq!(requests("bad_request"), 1.0, "{scrape}");
    assert_eq!(requests("forbidden"), 0.0, "{scrape}");
    assert_eq!(requests("unavailable"), 0.0, "{scrape}");
    let operations = |kind, name, outcome| {
        sample(
            &scrape,
            "mcp_auth_operations_total",
            &[
                ("resource", resource),
                ("kind", kind),
                ("name", name),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(
        operations("method", "tools/list", "allowed"),
        1.0,
        "{scrape}"
    );
    assert_eq!(
        operations("tool", "create_note", "insufficient_scope"),
        1.0,
        "{scrape}"
    );
    // Without a token, the body is read (the notes server has a public tool): the refused
    // operation is named. The forged token was refused before the body was read, the ambiguous
    // body before any operation could be read from it.
    assert_eq!(
        operations("method", "tools/list", "unauthenticated"),
        1.0,
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "mcp_auth_operations_total",
            &[("resource", resource)]
        ),
        3.0,
        "{scrape}"
    );
    // Tokens: the forged one and `reader` met first (misses), `reader` twice more (hits).
    let cache = |result| {
        sample(
            &scrape,
            "mcp_auth_token_cache_total",
            &[("resource", resource), ("result", result)],
        )
    };
    if cache_on() {
        assert_eq!(cache("miss"), 2.0, "{scrape}");
        assert_eq!(cache("hit"), 2.0, "{scrape}");
    } else {
        assert_eq!(cache("miss"), 4.0, "{scrape}");
        assert_eq!(cache("hit"), 0.0, "{scrape}");
    }
    let verifications = |cache| {
        sample(
            &scrape,
            "mcp_auth_verify_duration_seconds_count",
            &[("resource", resource), ("cache", cache)],
        )
    };
    // Every full verification is timed; probes of the caches one in 16 (HIT_SAMPLING).
    assert_eq!(
        verifications("miss"),
        if cache_on() { 2.0 } else { 4.0 },
        "{scrape}"
    );
    assert!(verifications("hit") <= cache("hit"), "{scrape}");
    // The resource discovered its server once (fetch_server_config) and fetched its keys once;
    // the forged token's unknown key made one more (refused) refresh attempt at most.
    assert_eq!(
        sample(
            &scrape,
            "mcp_auth_discovery_fetches_total",
            &[("result", "ok")]
        ) - discovery_before,
        1.0,
        "{scrape}"
    );
    let jwks = sample(&scrape, "mcp_auth_jwks_fetches_total", &[("result", "ok")]) - jwks_before;
    assert!((1.0..=2.0).contains(&jwks), "{jwks}: {scrape}");

    // The audit trail: one event per decision, with the caller, never the token.
    let audit: Vec<String> = logs
        .text()
        .lines()
        .filter(|line| line.contains("mcp_auth::audit"))
        .map(str::to_owned)
        .collect();
    assert_eq!(audit.len(), 5, "{audit:#?}");
    let expected = [
        ("outcome=\"unauthenticated\"", "reason=\"no_credentials\""),
        ("outcome=\"invalid_token\"", "reason=\""),
        ("outcome=\"allowed\"", "name=\"tools/list\""),
        ("outcome=\"insufficient_scope\"", "name=\"create_note\""),
        ("outcome=\"bad_request\"", "reason=\"invalid_body\""),
    ];
    for (line, (outcome, detail)) in audit.iter().zip(expected) {
        assert!(
            line.contains(outcome) && line.contains(detail),
            "{outcome} {detail}: {line}"
        );
    }
    assert!(
        audit[3].contains("reason=\"insufficient_scope\""),
        "{}",
        audit[3]
    );
    for line in &audit[2..] {
        assert!(line.contains("client_id=\"notes-client\""), "{line}");
        assert!(line.contains("subject=\"alice\""), "{line}");
    }
    for token in [&reader, &forged] {
        for segment in token.split('.') {
            assert!(!logs.text().contains(segment), "a token segment was logged");
        }
    }
}

#[tokio::test]
async fn no_token_subject_client_or_request_uri_is_in_a_label_or_an_audit_event() {
    let _serial = SERIAL.lock().await;
    let (logs, _guard) = LogCapture::start();
    let app = App::start(|r| r.audit_subject_digest()).await;
    let subject = "subject-3f9a1c";
    let client = "client-7be2d0";
    let reader = app.token(subject, client, &["read:notes"]);
    let writer = app.token(subject, client, &["write:notes"]);
    // Names and URIs a request chooses: none is declared, so none may become a label.
    let undeclared_tool = "tool-5a8e7c";
    let request_uri = "notes://note/481516";
    let undeclared_uri = "notes://private/2342";
    let undeclared_method = "method-c0ffee/list";
    let bodies = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": undeclared_tool, "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": request_uri}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": undeclared_uri}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": undeclared_method}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
    ];
    for token in [Some(reader.as_str()), Some(writer.as_str()), None] {
        for body in &bodies {
            let status = app.rpc(token, body.clone()).await.status();
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    // A token sent as garbage, and in a malformed header.
    app.rpc(Some("eyJnot.a.token-9d8c7b"), bodies[4].clone())
        .await;

    let scrape = recorder().render();
    let resource = app.url.as_str();
    // Templates are declared: the read of notes://note/481516 counts under its template.
    assert_eq!(
        sample(
            &scrape,
            "mcp_auth_operations_total",
            &[
                ("resource", resource),
                ("kind", "resource"),
                ("name", "notes://note/{id}"),
                ("outcome", "allowed")
            ],
        ),
        1.0,
        "{scrape}"
    );
    assert!(
        sample(
            &scrape,
            "mcp_auth_operations_total",
            &[("resource", resource), ("name", "other")],
        ) >= 4.0,
        "{scrape}"
    );
    let mut secrets: Vec<&str> = vec![
        subject,
        client,
        undeclared_tool,
        request_uri,
        undeclared_uri,
        undeclared_method,
        "9d8c7b",
    ];
    for token in [&reader, &writer] {
        secrets.extend(token.split('.'));
    }
    let logged = logs.text();
    for secret in &secrets {
        assert!(
            !scrape.contains(secret),
            "`{secret}` is in the Prometheus output"
        );
    }
    // The audit events: the subject only as its digest; no token; no client-chosen name.
    let audit: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("mcp_auth::audit"))
        .collect();
    assert!(audit.len() >= 15, "{audit:#?}");
    for line in &audit {
        for secret in secrets.iter().filter(|s| **s != client) {
            assert!(
                !line.contains(secret),
                "`{secret}` in an audit event: {line}"
            );
        }
    }
    let digest = mcp_auth::binding::Owner::new(app.idp.issuer(), subject).to_string();
    assert!(
        audit
            .iter()
            .any(|line| line.contains(&format!("subject_digest=\"{digest}\""))),
        "{audit:#?}"
    );
}
