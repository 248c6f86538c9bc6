//! RS-55: capture every log line the library, the HTTP stack and the development authorization
//! server write while valid and invalid requests are served, and check that no token, and no
//! signature segment of one, and no user data (subject, client id) appears outside the audit
//! trail (which names the caller by design, and holds no token either).

use axum::Router;
use axum::routing::post;
use mcp_auth::{Auth, ProtectedResource, ResourceServer};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::{LogCapture, bind, spawn};

/// A subject and a client id that must not appear in any log line.
const USER: &str = "subject-alice-5f1c";
const CLIENT: &str = "client-acme-93be";

#[tokio::test]
async fn rs55_no_token_or_signature_in_any_log_line() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(&id)
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                .metadata(|m| m.scopes_supported(["mcp:read"])),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/mcp",
            post(|auth: Auth| async move { auth.subject().unwrap_or("").to_owned() }),
        )
        .layer(auth.bearer(&id).required_scopes(["mcp:read"]))
        .merge(auth.metadata_router());
    spawn(listener, app);

    let tokens = vec![
        idp.token()
            .audience(&id)
            .subject(USER)
            .client_id(CLIENT)
            .scopes(["mcp:read"])
            .mint(),
        idp.token()
            .audience(&id)
            .subject(USER)
            .client_id(CLIENT)
            .scopes(["other"])
            .mint(),
        idp.token().audience(&id).scopes(["other"]).mint(),
        idp.token().audience(&id).expired().mint(),
        idp.token().audience("https://elsewhere.example").mint(),
        idp.token().audience(&id).sign_with_foreign_key().mint(),
        idp.token().audience(&id).kid(Some("unknown")).mint(),
        idp.token()
            .audience(&id)
            .issuer("https://evil.example")
            .mint(),
        idp.opaque_token().audience(&id).scopes(["mcp:read"]).mint(),
    ];
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for token in &tokens {
        let response = http.post(&id).bearer_auth(token).send().await.unwrap();
        statuses.push(response.status().as_u16());
        let query = http
            .post(format!("{id}?access_token={token}"))
            .send()
            .await
            .unwrap();
        statuses.push(query.status().as_u16());
        let malformed = http
            .post(&id)
            .header("authorization", format!("Bearer {token} extra"))
            .send()
            .await
            .unwrap();
        statuses.push(malformed.status().as_u16());
    }
    assert!(
        statuses.contains(&200)
            && statuses.contains(&401)
            && statuses.contains(&403)
            && statuses.contains(&400)
    );

    let logs = capture.text();
    assert!(logs.contains("token rejected"), "the decisions are logged");
    assert!(logs.contains("token verified"), "successes are logged too");
    // Per-request lines carry no user data either: not the subject, not the client. The audit
    // trail (target `mcp_auth::audit`) is the one record that names the caller, by design: an
    // operator routes it to a sink of its own; it holds no token either (checked below).
    let operational: String = logs
        .lines()
        .filter(|line| !line.contains("mcp_auth::audit"))
        .collect();
    assert!(
        logs.contains("mcp_auth::audit"),
        "the audit trail is written"
    );
    for user_data in [USER, CLIENT] {
        assert!(
            !operational.contains(user_data),
            "{user_data} appears in the logs"
        );
    }
    for token in &tokens {
        assert!(
            !logs.contains(token.as_str()),
            "a token appears in the logs"
        );
        for segment in token.split('.').filter(|s| s.len() >= 16) {
            assert!(
                !logs.contains(segment),
                "a token segment appears in the logs"
            );
        }
    }
}
