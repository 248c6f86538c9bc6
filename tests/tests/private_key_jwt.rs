//! Introspection as ZITADEL does it: opaque access tokens, and an introspection endpoint that
//! authenticates the resource server by `private_key_jwt` (RFC 7523 §2.2). Through the notes
//! example with the key loaded from a JWK file, as `NOTES_INTROSPECTION_PRIVATE_KEY_FILE` gives
//! it, against the development authorization server requiring that key, over loopback HTTP:
//! the opaque token is verified and the tool runs; with another key the authorization server
//! refuses the resource server, which answers `503` (never a pass, never blaming the token).
//! With RFC 9701 signed answers asked for, a signed answer is verified against the server's keys
//! and an unsigned one is refused (`503`).

use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::introspection::{ClientAuth, ClientKey};
use mcp_auth_dev::{AuthorizationServer, ClientKeyPair};
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::{bind, rpc_result, spawn};
use reqwest::StatusCode;
use serde_json::json;

async fn notes_with_key(idp: &AuthorizationServer, key_file: &std::path::Path) -> String {
    notes_with(idp, key_file, false).await
}

async fn notes_with(idp: &AuthorizationServer, key_file: &std::path::Path, signed: bool) -> String {
    let (listener, origin) = bind().await;
    let url = format!("{origin}/mcp");
    let key = ClientKey::from_jwk_file(key_file).unwrap();
    let notes = Notes::builder()
        .id(&url)
        .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap()])
        .resource(move |r| {
            let r = r.introspection(ClientAuth::private_key_jwt("notes-rs", key));
            if signed { r.signed_introspection() } else { r }
        })
        .build()
        .await
        .unwrap();
    spawn(listener, app(&notes));
    url
}

async fn whoami(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .bearer_auth(token)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "whoami", "arguments": {}}}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn opaque_tokens_are_introspected_with_a_private_key_jwt_client_assertion() {
    let pair = ClientKeyPair::generate("notes-rs-2026").unwrap();
    let idp = AuthorizationServer::builder()
        .introspection_client_key("notes-rs", pair.public_jwk())
        .start()
        .await
        .unwrap();
    let dir = std::env::temp_dir();
    let key_file = dir.join(format!("mcp-auth-pkjwt-{}.json", std::process::id()));
    std::fs::write(&key_file, pair.private_jwk()).unwrap();
    let url = notes_with_key(&idp, &key_file).await;

    let token = idp
        .opaque_token()
        .audience(url.as_str())
        .scopes(["read:notes"])
        .subject("alice")
        .client_id("inspector")
        .mint();
    let answer = whoami(&url, &token).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let me = rpc_result(answer).await;
    assert_eq!(me["result"]["structuredContent"]["subject"], "alice");
    assert_eq!(
        idp.requests(&idp.introspection_endpoint()),
        1,
        "one introspection, authenticated by the assertion"
    );

    // Another key (the right client id): the authorization server refuses the resource server;
    // the client gets 503 with Retry-After, not 200 and not invalid_token.
    let stranger = ClientKeyPair::generate("notes-rs-2026").unwrap();
    let other_file = dir.join(format!("mcp-auth-pkjwt-other-{}.json", std::process::id()));
    std::fs::write(&other_file, stranger.private_jwk()).unwrap();
    let wrong = notes_with_key(&idp, &other_file).await;
    let refused = whoami(&wrong, &token).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let _ = std::fs::remove_file(key_file);
    let _ = std::fs::remove_file(other_file);
}

#[tokio::test]
async fn signed_introspection_answers_are_verified_and_unsigned_ones_refused() {
    let pair = ClientKeyPair::generate("notes-rs-signed").unwrap();
    let key_file =
        std::env::temp_dir().join(format!("mcp-auth-pkjwt-signed-{}.json", std::process::id()));
    std::fs::write(&key_file, pair.private_jwk()).unwrap();
    for (signs, expected) in [
        (true, StatusCode::OK),
        (false, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let idp = AuthorizationServer::builder()
            .introspection_client_key("notes-rs", pair.public_jwk())
            .sign_introspection_responses(signs)
            .start()
            .await
            .unwrap();
        let url = notes_with(&idp, &key_file, true).await;
        let token = idp
            .opaque_token()
            .audience(url.as_str())
            .scopes(["read:notes"])
            .subject("alice")
            .mint();
        let answer = whoami(&url, &token).await;
        assert_eq!(answer.status(), expected, "server signs answers: {signs}");
        if signs {
            let me = rpc_result(answer).await;
            assert_eq!(me["result"]["structuredContent"]["subject"], "alice");
        } else {
            assert!(answer.headers().contains_key("retry-after"));
        }
    }
    let _ = std::fs::remove_file(key_file);
}

/// When the authorization server offers both its keys and introspection, a JWT can be made to
/// pass both: a token revoked at the server is refused although its signature is valid.
#[tokio::test]
async fn a_revoked_jwt_is_refused_when_jwts_are_introspected_too() {
    use mcp_auth::introspection::JwtRoute;
    let idp = AuthorizationServer::builder()
        .client_credentials("notes-rs", "s3cret")
        .start()
        .await
        .unwrap();
    for (route, revoked_status) in [
        (JwtRoute::Local, StatusCode::OK),
        (JwtRoute::Both, StatusCode::UNAUTHORIZED),
        (JwtRoute::Introspected, StatusCode::UNAUTHORIZED),
    ] {
        let (listener, origin) = bind().await;
        let url = format!("{origin}/mcp");
        let notes = Notes::builder()
            .id(&url)
            .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
                .await
                .unwrap()])
            .resource(move |r| {
                r.introspection(ClientAuth::basic("notes-rs", "s3cret"))
                    .introspect_jwts(route)
            })
            .build()
            .await
            .unwrap();
        spawn(listener, app(&notes));
        let token = |subject: &str| {
            idp.token()
                .audience(url.as_str())
                .scopes(["read:notes"])
                .subject(subject)
                .mint()
        };
        let live = whoami(&url, &token("alice")).await;
        assert_eq!(live.status(), StatusCode::OK, "{route:?}");
        let revoked = token("mallory");
        idp.revoke(&revoked);
        assert_eq!(
            whoami(&url, &revoked).await.status(),
            revoked_status,
            "{route:?}: a revoked JWT"
        );
    }
}
