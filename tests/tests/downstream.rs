//! Downstream tokens (`mcp_auth::downstream`): the request's token exchanged at the development
//! authorization server for a token whose audience is another API, over loopback HTTP:
//!
//! - the notes example's `backup_notes`, through rmcp's client, sends the notes to the backup
//!   API with an exchanged token: its receipt shows the caller's `sub`, the API's `aud` and the
//!   MCP server in `act`; the API refuses the client's own token;
//! - 1,000 concurrent calls for one caller and audience make one exchange;
//! - an exchanged token is not used past its expiry, nor past the inbound token's;
//! - an authorization server that does not answer is a typed error within the timeout, and a
//!   `503` with `Retry-After` from a tool;
//! - each client authentication method works against the development server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::routing::post;
use mcp_auth::clock::{ManualClock, SharedClock};
use mcp_auth::discovery::{AuthServerConfig, DiscoveryKind, fetch_server_config};
use mcp_auth::downstream::{DownstreamError, DownstreamOptions, Grant};
use mcp_auth::introspection::{ClientAuth, ClientKey};
use mcp_auth::{Auth, ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, ClientKeyPair, Fault};
use mcp_auth_examples::backup::backup_app;
use mcp_auth_examples::notes_server::{NoteStore, Notes, app_with_store};
use mcp_auth_tests::{LogCapture, bind, spawn};
use reqwest::StatusCode;
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

/// The MCP server's client at the authorization server.
const CLIENT: &str = "notes-mcp";
const SECRET: &str = "notes-mcp-secret";

/// The path of the development server's token endpoint.
fn token_path(idp: &AuthorizationServer) -> String {
    url::Url::parse(&idp.token_endpoint())
        .unwrap()
        .path()
        .to_owned()
}

async fn config(idp: &AuthorizationServer) -> AuthServerConfig {
    fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap()
}

/// The notes example with its backup API, and the development server that lets the MCP
/// server's client obtain tokens for the backup API.
struct NotesWithBackup {
    idp: AuthorizationServer,
    mcp_url: String,
    backup_url: String,
}

impl NotesWithBackup {
    async fn start() -> Self {
        let (backup_listener, backup_origin) = bind().await;
        let backup_url = format!("{backup_origin}/backup");
        let idp = AuthorizationServer::builder()
            .client_credentials(CLIENT, SECRET)
            .exchange_policy(CLIENT, [backup_url.as_str()])
            .start()
            .await
            .unwrap();
        let backup = backup_app(&backup_url, config(&idp).await).unwrap();
        spawn(backup_listener, backup);
        let (listener, origin) = bind().await;
        let mcp_url = format!("{origin}/mcp");
        let notes = Notes::builder()
            .id(&mcp_url)
            .replace_authorization_servers([config(&idp).await])
            .resource(|r| r.downstream(|d| d.client(ClientAuth::basic(CLIENT, SECRET))))
            .build()
            .await
            .unwrap();
        let store = NoteStore::default().with_backup(&backup_url);
        spawn(listener, app_with_store(&notes, store));
        Self {
            idp,
            mcp_url,
            backup_url,
        }
    }
}

#[tokio::test]
async fn backup_notes_through_rmcps_client_gets_a_receipt_for_an_exchanged_token() {
    let NotesWithBackup {
        idp,
        mcp_url,
        backup_url,
    } = NotesWithBackup::start().await;
    let token = idp
        .token()
        .subject("alice")
        .client_id("inspector")
        .audience(mcp_url.as_str())
        .scopes(["read:notes", "write:notes"])
        .mint();

    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcp-auth downstream test", "1.0.0"),
    )
    .serve(StreamableHttpClientTransport::with_client(
        reqwest::Client::new(),
        StreamableHttpClientTransportConfig::with_uri(mcp_url.clone()).auth_header(token.clone()),
    ))
    .await
    .expect("connected");
    let call = |name: &str, arguments: Value| {
        let Value::Object(arguments) = arguments else {
            unreachable!()
        };
        client.call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
    };
    call("create_note", json!({"text": "buy milk"}))
        .await
        .unwrap();
    let result = call("backup_notes", json!({})).await.unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let receipt = result.structured_content.expect("a structured receipt");
    assert_eq!(receipt["received"], 1, "{receipt}");
    assert_eq!(receipt["sub"], "alice", "the caller's subject: {receipt}");
    assert_eq!(
        receipt["aud"],
        json!([backup_url]),
        "the API's audience: {receipt}"
    );
    assert_eq!(
        receipt["act"]["sub"], CLIENT,
        "the MCP server acts: {receipt}"
    );
    client.cancel().await.unwrap();

    // The client's own token (audience: the MCP server) is refused by the backup API.
    let refused = reqwest::Client::new()
        .post(&backup_url)
        .bearer_auth(&token)
        .json(&json!({"notes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

/// An API behind a resource that exchanges tokens for `audience`: each request answers the
/// exchanged token's expiry (or the error's kind), and records it in `seen` (the layer may
/// answer in its place).
struct Exchanging {
    idp: AuthorizationServer,
    url: String,
    http: reqwest::Client,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Exchanging {
    async fn start(
        clock: Option<SharedClock>,
        options: impl FnOnce(DownstreamOptions) -> DownstreamOptions + Send + 'static,
        idp: impl FnOnce(
            mcp_auth_dev::AuthorizationServerBuilder,
        ) -> mcp_auth_dev::AuthorizationServerBuilder,
    ) -> Self {
        let audience = "https://backup.example.com/api".to_owned();
        let mut builder =
            AuthorizationServer::builder().exchange_policy(CLIENT, [audience.as_str()]);
        if let Some(clock) = &clock {
            builder = builder.clock(Arc::clone(clock));
        }
        let idp = idp(builder).start().await.unwrap();
        let (listener, origin) = bind().await;
        let url = format!("{origin}/api");
        let mut server = ResourceServer::builder().resource(
            ProtectedResource::new(&url)
                .authorization_server(config(&idp).await)
                .downstream(options),
        );
        if let Some(clock) = clock {
            server = server.clock(clock);
        }
        let server = server.build().unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let app = Router::new()
            .route(
                "/api",
                post(move |auth: Auth, query: Query<HashMap<String, String>>| {
                    let record = Arc::clone(&record);
                    async move {
                        // `?scope=a b`: the scopes asked for.
                        let scope = query.get("scope").cloned().unwrap_or_default();
                        let scopes: Vec<&str> = scope.split_whitespace().collect();
                        let answer = match auth.downstream_token(&audience, &scopes).await {
                            Ok(token) => {
                                format!("{:?}|{}", token.expires_at(), token.secret().len())
                            }
                            Err(DownstreamError::Unavailable { .. }) => "unavailable".into(),
                            Err(other) => format!("error: {other}"),
                        };
                        record.lock().unwrap().push(answer.clone());
                        answer
                    }
                }),
            )
            .layer(server.bearer(&url));
        spawn(listener, app);
        Self {
            idp,
            url,
            http: reqwest::Client::new(),
            seen,
        }
    }

    fn last_seen(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }

    fn token(&self, lifetime: Duration) -> String {
        self.idp
            .token()
            .subject("alice")
            .audience(self.url.as_str())
            .expires_in(lifetime)
            .mint()
    }

    async fn call(&self, token: &str) -> (StatusCode, String) {
        self.call_for(token, "").await
    }

    /// A call whose handler asks for `scope` (space-separated).
    async fn call_for(&self, token: &str, scope: &str) -> (StatusCode, String) {
        let scope: String = url::form_urlencoded::byte_serialize(scope.as_bytes()).collect();
        let response = self
            .http
            .post(format!("{}?scope={scope}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    fn exchanges(&self) -> usize {
        self.idp.requests(&token_path(&self.idp))
    }
}

fn basic(options: DownstreamOptions) -> DownstreamOptions {
    options.client(ClientAuth::basic(CLIENT, SECRET))
}

fn with_secret(
    builder: mcp_auth_dev::AuthorizationServerBuilder,
) -> mcp_auth_dev::AuthorizationServerBuilder {
    builder.client_credentials(CLIENT, SECRET)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_for_one_caller_and_audience_make_one_exchange() {
    let api = Arc::new(Exchanging::start(None, basic, with_secret).await);
    let token = api.token(Duration::from_secs(3600));
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let api = Arc::clone(&api);
            let token = token.clone();
            tokio::spawn(async move { api.call(&token).await })
        })
        .collect();
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.starts_with("Some("), "a token: {body}");
    }
    assert_eq!(api.exchanges(), 1, "one exchange for 1,000 calls");
    // Another caller is another exchange.
    let other = api
        .idp
        .token()
        .subject("bob")
        .audience(api.url.as_str())
        .mint();
    api.call(&other).await;
    assert_eq!(api.exchanges(), 2);
}

#[tokio::test]
async fn other_scopes_are_another_token_and_the_order_of_scopes_is_not() {
    let api = Exchanging::start(None, basic, with_secret).await;
    let token = api.token(Duration::from_secs(3600));
    api.call_for(&token, "").await;
    assert_eq!(api.exchanges(), 1);
    let (status, body) = api.call_for(&token, "backup:read backup:write").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.exchanges(), 2, "other scopes: another exchange");
    api.call_for(&token, "backup:write backup:read").await;
    api.call_for(&token, "").await;
    assert_eq!(
        api.exchanges(),
        2,
        "the same scopes in another order, and none: cached"
    );
}

#[tokio::test]
async fn an_exchanged_token_is_not_used_past_its_expiry_nor_past_the_inbound_tokens() {
    let clock = Arc::new(ManualClock::now());
    let shared: SharedClock = clock.clone();
    let api = Exchanging::start(Some(shared), basic, with_secret).await;
    // The development server's tokens live 300 s; the cache ends 30 s before.
    let long = api.token(Duration::from_secs(3600));
    api.call(&long).await;
    assert_eq!(api.exchanges(), 1);
    clock.advance(Duration::from_secs(250));
    api.call(&long).await;
    assert_eq!(api.exchanges(), 1, "served from the cache");
    clock.advance(Duration::from_secs(30));
    let (status, _) = api.call(&long).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        api.exchanges(),
        2,
        "the exchanged token's end came: exchanged again"
    );

    // An inbound token that ends before the exchanged one: the cache follows the inbound one.
    let short = api.token(Duration::from_secs(120));
    api.call(&short).await;
    assert_eq!(api.exchanges(), 3);
    clock.advance(Duration::from_secs(60));
    api.call(&short).await;
    assert_eq!(api.exchanges(), 3, "served from the cache");
    clock.advance(Duration::from_secs(40));
    let (status, _) = api.call(&short).await;
    assert_eq!(status, StatusCode::OK, "the inbound token is still valid");
    assert_eq!(
        api.exchanges(),
        4,
        "not served within 30 s of the inbound token's expiry"
    );
}

#[tokio::test]
async fn an_authorization_server_that_does_not_answer_is_a_typed_error_within_the_timeout() {
    let timeout = |options: DownstreamOptions| basic(options).timeout(Duration::from_millis(500));
    let api = Exchanging::start(None, timeout, with_secret).await;
    api.idp
        .set_fault(&token_path(&api.idp), Fault::Delay(Duration::from_secs(30)));
    let token = api.token(Duration::from_secs(3600));
    let started = Instant::now();
    let (status, body) = api.call(&token).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        api.last_seen(),
        "unavailable",
        "DownstreamError::Unavailable"
    );
    // Whatever the handler answered, the client gets the outage: 503, never a 200.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("temporarily_unavailable"), "{body}");
    // A failing server is the same typed error, and is not cached: it recovers.
    api.idp.set_fault(&token_path(&api.idp), Fault::Status(500));
    assert_eq!(api.call(&token).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.last_seen(), "unavailable");
    api.idp.clear_faults();
    let (status, body) = api.call(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("Some("), "{body}");
}

#[tokio::test]
async fn a_tool_whose_exchange_fails_is_answered_503_with_retry_after() {
    let NotesWithBackup { idp, mcp_url, .. } = NotesWithBackup::start().await;
    idp.set_fault(&token_path(&idp), Fault::Status(503));
    let token = idp
        .token()
        .subject("alice")
        .audience(mcp_url.as_str())
        .scopes(["read:notes"])
        .mint();
    let response = reqwest::Client::new()
        .post(&mcp_url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "backup_notes", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body = response.text().await.unwrap();
    assert!(!body.contains(&token), "no token in the answer");
}

#[tokio::test]
async fn each_client_authentication_method_exchanges_against_the_development_server() {
    // client_secret_basic and client_secret_post, with the secret.
    for auth in [
        ClientAuth::basic(CLIENT, SECRET),
        ClientAuth::post(CLIENT, SECRET),
    ] {
        let method = auth.method();
        let api = Exchanging::start(None, move |o| o.client(auth), with_secret).await;
        let (status, body) = api.call(&api.token(Duration::from_secs(600))).await;
        assert_eq!(status, StatusCode::OK, "{method}");
        assert!(body.starts_with("Some("), "{method}: {body}");
    }
    // private_key_jwt, with a key the server knows.
    let pair = ClientKeyPair::generate("notes-mcp-key").unwrap();
    let key = ClientKey::from_jwk(&pair.private_jwk()).unwrap();
    let public = pair.public_jwk();
    let api = Exchanging::start(
        None,
        move |o| o.client(ClientAuth::private_key_jwt(CLIENT, key)),
        move |b| b.introspection_client_key(CLIENT, public),
    )
    .await;
    let (status, body) = api.call(&api.token(Duration::from_secs(600))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("Some("), "private_key_jwt: {body}");
    // A wrong secret is a refusal, named as such.
    let wrong = |o: DownstreamOptions| o.client(ClientAuth::basic(CLIENT, "wrong"));
    let api = Exchanging::start(None, wrong, with_secret).await;
    let (logs, _guard) = LogCapture::start();
    // Every caller meets it; the operator is told once per interval.
    for _ in 0..3 {
        api.call(&api.token(Duration::from_secs(600))).await;
    }
    assert_eq!(
        logs.count("refused the resource server's client for a downstream exchange"),
        1,
        "{}",
        logs.text()
    );
    let (status, body) = api.call(&api.token(Duration::from_secs(600))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the handler answers the error: {body}"
    );
    assert!(
        body.contains("refused the exchange: invalid_client"),
        "{body}"
    );
    // The JWT-bearer grant and Entra's on-behalf-of, with the secret.
    for grant in [Grant::JwtBearer, Grant::OnBehalfOf] {
        let api = Exchanging::start(None, move |o| basic(o).grant(grant), with_secret).await;
        let (_, body) = api.call(&api.token(Duration::from_secs(600))).await;
        assert!(body.starts_with("Some("), "{grant:?}: {body}");
    }
}
