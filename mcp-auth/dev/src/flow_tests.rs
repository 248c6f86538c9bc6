//! End-to-end tests of the browser-facing flows: dynamic client registration, the authorization
//! endpoint (auto and consent page), the authorization_code and refresh_token grants, CORS and
//! the metadata that advertises them. Real HTTP through reqwest, redirects not followed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth::clock::ManualClock;
use mcp_auth::discovery::{AuthServerMetadata, ValidationCode};
use mcp_auth::verify::{JwtVerifier, TokenVerifier};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::keys::random_b64;
use super::*;

const AUD: &str = "https://api.example.com/mcp";
const OTHER_AUD: &str = "https://api.example.com/other";
const CALLBACK: &str = "http://127.0.0.1:6274/oauth/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A random verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn register(idp: &AuthorizationServer, body: Value) -> (u16, Value) {
    json_of(
        http()
            .post(idp.registration_endpoint())
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Registers a public client with CALLBACK and both user grants; returns its client_id.
async fn public_client(idp: &AuthorizationServer) -> String {
    let (status, body) = register(
        idp,
        json!({
            "redirect_uris": [CALLBACK],
            "client_name": "Test client",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["client_id"].as_str().unwrap().to_owned()
}

async fn authorize(idp: &AuthorizationServer, params: &[(&str, &str)]) -> reqwest::Response {
    let url = url::Url::parse_with_params(&idp.authorization_endpoint(), params).unwrap();
    http().get(url).send().await.unwrap()
}

/// The query parameters of the `Location` of a redirect.
fn location(response: &reqwest::Response) -> (String, HashMap<String, String>) {
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let params = url.query_pairs().into_owned().collect();
    (location, params)
}

/// The standard request of `client_id`: CALLBACK, S256, scope, state and AUD.
fn standard<'a>(client_id: &'a str, challenge: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", scope),
        ("state", "st-42"),
        ("resource", AUD),
    ]
}

/// Runs the authorization request and returns the code.
async fn code_for(idp: &AuthorizationServer, params: &[(&str, &str)]) -> String {
    let response = authorize(idp, params).await;
    assert_eq!(response.status(), 302);
    let (_, query) = location(&response);
    query
        .get("code")
        .unwrap_or_else(|| panic!("no code in {query:?}"))
        .clone()
}

async fn token(idp: &AuthorizationServer, form: &[(&str, &str)]) -> (u16, Value) {
    json_of(
        http()
            .post(idp.token_endpoint())
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn exchange(
    idp: &AuthorizationServer,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    token(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ],
    )
    .await
}

fn verifier_for(idp: &AuthorizationServer, resource: &str) -> JwtVerifier {
    JwtVerifier::builder()
        .resource(resource)
        .issuer(idp.issuer(), idp.jwks_uri())
        .build()
        .unwrap()
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

async fn introspect(idp: &AuthorizationServer, token: &str) -> Value {
    let (id, secret) = idp.introspection_client();
    http()
        .post(idp.introspection_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

// ---------------------------------------------------------------- happy path

#[tokio::test]
async fn register_authorize_token_and_the_token_verifies() {
    let idp = AuthorizationServer::builder()
        .user("alice")
        .start()
        .await
        .unwrap();
    let client_id = public_client(&idp).await;
    let (verifier, challenge) = pkce();

    let response = authorize(
        &idp,
        &standard(&client_id, &challenge, "mcp:read mcp:write"),
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (url, query) = location(&response);
    assert!(url.starts_with(&format!("{CALLBACK}?code=")), "{url}");
    assert_eq!(query["state"], "st-42");
    assert_eq!(query["iss"], idp.issuer());

    let (status, body) = exchange(&idp, &client_id, &query["code"], &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "mcp:read mcp:write");
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(refresh.len() >= 43 && !refresh.contains('.'));

    let access = body["access_token"].as_str().unwrap();
    let info = verifier_for(&idp, AUD).verify(access).await.unwrap();
    assert_eq!(info.issuer(), idp.issuer());
    assert_eq!(info.subject(), Some("alice"));
    assert_eq!(info.client_id(), Some(client_id.as_str()));
    assert_eq!(info.audiences(), [AUD]);
    assert_eq!(info.scopes(), ["mcp:read", "mcp:write"]);
    assert!(info.token_id().is_some());
    // The same token is not for another resource.
    assert!(verifier_for(&idp, OTHER_AUD).verify(access).await.is_err());
}

#[tokio::test]
async fn the_users_roles_are_in_the_tokens_of_the_sign_in_flow_and_its_refreshes() {
    let idp = AuthorizationServer::builder()
        .user("alice")
        .user_roles(["notes-admin", "auditor"])
        .start()
        .await
        .unwrap();
    let client_id = public_client(&idp).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "mcp:read")).await;
    let (status, body) = exchange(&idp, &client_id, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let info = verifier_for(&idp, AUD)
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        info.claims()["roles"],
        serde_json::json!(["notes-admin", "auditor"])
    );

    let (status, refreshed) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let info = verifier_for(&idp, AUD)
        .verify(refreshed["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        info.claims()["roles"],
        serde_json::json!(["notes-admin", "auditor"])
    );

    // Without roles configured, no `roles` claim at all.
    let plain = AuthorizationServer::builder().start().await.unwrap();
    let client_id = public_client(&plain).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&plain, &standard(&client_id, &challenge, "mcp:read")).await;
    let (_, body) = exchange(&plain, &client_id, &code, &verifier).await;
    let info = verifier_for(&plain, AUD)
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(!info.claims().contains_key("roles"));
}

#[tokio::test]
async fn preregistered_clients_skip_registration() {
    let idp = AuthorizationServer::builder()
        .client(ClientRegistration::public("app", [CALLBACK]))
        .client(ClientRegistration::confidential("backend", "s3cret", [CALLBACK]).name("Backend"))
        .start()
        .await
        .unwrap();
    assert_eq!(idp.user(), "user-1");

    // Public: client_id only.
    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard("app", &challenge, "a")).await;
    let (status, body) = exchange(&idp, "app", &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let info = verifier_for(&idp, AUD)
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(info.subject(), Some("user-1"));

    // Confidential: client_secret_basic; a wrong secret is invalid_client.
    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard("backend", &challenge, "a")).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
    ];
    let wrong = http()
        .post(idp.token_endpoint())
        .basic_auth("backend", Some("nope"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(wrong).await.0, 401);
    // The failed authentication did not spend the code.
    let ok = http()
        .post(idp.token_endpoint())
        .basic_auth("backend", Some("s3cret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(ok).await;
    assert_eq!(status, 200, "{body}");
    // Without its secret, a confidential client cannot redeem anything.
    let (status, body) = exchange(&idp, "backend", &code, &verifier).await;
    assert_eq!((status, error_of(&body)), (401, "invalid_client"));

    // client_credentials keeps working, for confidential clients only.
    let cc = http()
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "backend"),
            ("client_secret", "s3cret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cc.status(), 200);
    let (status, body) = token(
        &idp,
        &[("grant_type", "client_credentials"), ("client_id", "app")],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "unauthorized_client"));
}

#[tokio::test]
async fn builder_refuses_bad_client_registrations() {
    let err = AuthorizationServer::builder()
        .client(ClientRegistration::public(
            "app",
            ["http://evil.example.com/cb"],
        ))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("client `app`") && err.contains("loopback"),
        "{err}"
    );
    let err = AuthorizationServer::builder()
        .client(ClientRegistration::public("dev-client", [CALLBACK]))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("registered twice"), "{err}");
    let err = AuthorizationServer::builder()
        .scopes(["ok", "not ok"])
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`not ok`"), "{err}");
}

// ---------------------------------------------------------------- the code and PKCE

#[tokio::test]
async fn pkce_mismatch_is_invalid_grant() {
    let idp = AuthorizationServer::start().await.unwrap();
    let client_id = public_client(&idp).await;
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "a")).await;
    let (status, body) = exchange(&idp, &client_id, &code, &other_verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    assert!(body["error_description"].as_str().unwrap().contains("PKCE"));
    // A missing verifier is a malformed request.
    let (_, challenge) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "a")).await;
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_request"));
}

#[tokio::test]
async fn a_code_is_single_use_and_a_replay_revokes_its_tokens() {
    let idp = AuthorizationServer::start().await.unwrap();
    let client_id = public_client(&idp).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "a")).await;
    let (status, first) = exchange(&idp, &client_id, &code, &verifier).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&idp, access).await["active"], true);

    let (status, body) = exchange(&idp, &client_id, &code, &verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    // OAuth 2.1 §4.1.3: what the code issued is revoked.
    assert_eq!(introspect(&idp, access).await, json!({"active": false}));
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    // Unknown codes too.
    let (status, body) = exchange(&idp, &client_id, "made-up", &verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
}

#[tokio::test]
async fn codes_expire_after_60_seconds_of_the_server_clock() {
    let clock = ManualClock::now();
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let client_id = public_client(&idp).await;

    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "a")).await;
    clock.advance(Duration::from_secs(59));
    assert_eq!(exchange(&idp, &client_id, &code, &verifier).await.0, 200);

    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard(&client_id, &challenge, "a")).await;
    clock.advance(Duration::from_secs(61));
    let (status, body) = exchange(&idp, &client_id, &code, &verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_code_of_another_client_is_invalid_grant() {
    let idp = AuthorizationServer::start().await.unwrap();
    let alice_app = public_client(&idp).await;
    let mallory_app = public_client(&idp).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&idp, &standard(&alice_app, &challenge, "a")).await;
    let (status, body) = exchange(&idp, &mallory_app, &code, &verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
}

// ---------------------------------------------------------------- redirect URIs

#[tokio::test]
async fn bad_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let idp = AuthorizationServer::start().await.unwrap();
    let client_id = public_client(&idp).await;
    let (_, challenge) = pkce();
    let evil = "http://127.0.0.1:6274/oauth/callback/../evil";
    // The request, and whether the page adds the hint for clients that outlived a restart.
    let cases: Vec<(Vec<(&str, &str)>, bool)> = vec![
        // Not exactly the registered URI (a prefix, a trailing slash, another port).
        (
            vec![("client_id", &client_id), ("redirect_uri", evil)],
            true,
        ),
        (
            vec![
                ("client_id", &client_id),
                ("redirect_uri", "http://127.0.0.1:6274/oauth/callback/"),
            ],
            true,
        ),
        (
            vec![
                ("client_id", &client_id),
                ("redirect_uri", "http://127.0.0.1:6275/oauth/callback"),
            ],
            true,
        ),
        // Unknown, missing or repeated client_id.
        (
            vec![("client_id", "nobody"), ("redirect_uri", CALLBACK)],
            true,
        ),
        (vec![("redirect_uri", CALLBACK)], false),
        (
            vec![
                ("client_id", &client_id),
                ("client_id", &client_id),
                ("redirect_uri", CALLBACK),
            ],
            false,
        ),
    ];
    for (case, restart_hint) in cases {
        let mut params = case.clone();
        params.extend([
            ("response_type", "code"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        let response = authorize(&idp, &params).await;
        assert_eq!(response.status(), 400, "{case:?}");
        assert!(response.headers().get("location").is_none(), "{case:?}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("Authorization error"), "{page}");
        // Code is markup, not Markdown.
        assert!(page.contains("<code>") && !page.contains('`'), "{page}");
        assert_eq!(
            page.contains("id=\"hint\""),
            restart_hint,
            "{case:?}: {page}"
        );
        if restart_hint {
            assert!(page.contains("Clear OAuth State"), "{page}");
        }
    }
    let unknown = authorize(
        &idp,
        &[
            ("client_id", "<nobody>"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
        ],
    )
    .await;
    let page = unknown.text().await.unwrap();
    assert!(
        page.contains("client_id <code>&lt;nobody&gt;</code>"),
        "{page}"
    );
}

#[tokio::test]
async fn redirect_uri_must_be_repeated_exactly_at_the_token_endpoint() {
    let idp = AuthorizationServer::start().await.unwrap();
    let second = "http://localhost:9999/cb?tenant=a";
    let (_, body) = register(
        &idp,
        json!({"redirect_uris": [CALLBACK, second], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"]}),
    )
    .await;
    let client_id = body["client_id"].as_str().unwrap();
    // A client with several URIs must name one.
    let (_, challenge) = pkce();
    let mut params = standard(client_id, &challenge, "a");
    params.retain(|(k, _)| *k != "redirect_uri");
    assert_eq!(authorize(&idp, &params).await.status(), 400);

    // The registered query is kept and the response parameters are appended.
    let (verifier, challenge) = pkce();
    let mut params = standard(client_id, &challenge, "a");
    params.retain(|(k, _)| *k != "redirect_uri");
    params.push(("redirect_uri", second));
    let response = authorize(&idp, &params).await;
    let (url, query) = location(&response);
    assert!(
        url.starts_with("http://localhost:9999/cb?tenant=a&code="),
        "{url}"
    );
    let code = &query["code"];
    // Another registered URI is still a mismatch; the code is spent by the attempt.
    let (status, body) = exchange(&idp, client_id, code, &verifier).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri")
    );
    // Omitting it when the request had it is a mismatch too.
    let code = code_for(&idp, &standard(client_id, &challenge, "a")).await;
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    // No refresh token: this client did not register the refresh_token grant.
    let code = code_for(&idp, &standard(client_id, &challenge, "a")).await;
    let (status, body) = exchange(&idp, client_id, &code, &verifier).await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn the_only_registered_redirect_uri_may_be_omitted() {
    let idp = AuthorizationServer::start().await.unwrap();
    let client_id = public_client(&idp).await;
    let (verifier, challenge) = pkce();
    let mut params = standard(&client_id, &challenge, "a");
    params.retain(|(k, _)| *k != "redirect_uri");
    let response = authorize(&idp, &params).await;
    let (url, query) = location(&response);
    assert!(url.starts_with(CALLBACK), "{url}");
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------- request errors, redirected

#[tokio::test]
async fn request_errors_are_redirected_with_state_and_iss() {
    let idp = AuthorizationServer::builder()
        .scopes(["mcp:read", "mcp:write"])
        .start()
        .await
        .unwrap();
    let client_id = public_client(&idp).await;
    let (_, challenge) = pkce();
    let base = standard(&client_id, &challenge, "mcp:read");
    let without = |name: &str| -> Vec<(&str, &str)> {
        base.iter().filter(|(k, _)| *k != name).cloned().collect()
    };
    let with = |name: &'static str, value: &'static str| -> Vec<(&str, &str)> {
        let mut params = without(name);
        params.push((name, value));
        params
    };
    let cases = [
        (without("code_challenge"), "invalid_request"),
        (without("code_challenge_method"), "invalid_request"),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("code_challenge", "too-short"), "invalid_request"),
        (without("response_type"), "invalid_request"),
        (with("response_type", "token"), "unsupported_response_type"),
        (with("resource", "/relative"), "invalid_target"),
        (
            with("resource", "https://api.example.com/mcp#x"),
            "invalid_target",
        ),
        (with("scope", "admin"), "invalid_scope"),
        (with("scope", "a  b"), "invalid_scope"),
    ];
    for (params, expected) in cases {
        let response = authorize(&idp, &params).await;
        assert_eq!(response.status(), 302, "{params:?}");
        let (url, query) = location(&response);
        assert!(url.starts_with(CALLBACK));
        assert_eq!(
            query.get("error").map(String::as_str),
            Some(expected),
            "{params:?}"
        );
        assert!(query.contains_key("error_description"));
        assert!(!query.contains_key("code"));
        assert_eq!(query["state"], "st-42");
        assert_eq!(query["iss"], idp.issuer());
    }
    // The plain method says why.
    let response = authorize(&idp, &with("code_challenge_method", "plain")).await;
    assert!(location(&response).1["error_description"].contains("S256"));
}

// ---------------------------------------------------------------- consent page

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

async fn consent_idp() -> (AuthorizationServer, String) {
    let idp = AuthorizationServer::builder()
        .consent(Consent::Page)
        .user("bob")
        .start()
        .await
        .unwrap();
    let (status, body) = register(
        &idp,
        json!({
            "redirect_uris": [CALLBACK],
            "client_name": "Inspector <b>&</b>",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }),
    )
    .await;
    assert_eq!(status, 201);
    (idp, body["client_id"].as_str().unwrap().to_owned())
}

async fn consent_page(idp: &AuthorizationServer, client_id: &str, challenge: &str) -> String {
    let response = authorize(idp, &standard(client_id, challenge, "mcp:read")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.text().await.unwrap()
}

async fn post_consent(idp: &AuthorizationServer, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(idp.authorization_endpoint())
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn consent_page_shows_the_request_and_approve_redirects_with_a_code() {
    let (idp, client_id) = consent_idp().await;
    let (verifier, challenge) = pkce();
    let page = consent_page(&idp, &client_id, &challenge).await;
    // The name is shown, escaped; so are the scope, resource, redirect URI and user.
    assert!(
        page.contains("Inspector &lt;b&gt;&amp;&lt;/b&gt;"),
        "{page}"
    );
    assert!(!page.contains("<b>&</b>"));
    for shown in ["mcp:read", AUD, CALLBACK, "bob"] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(page.contains(&format!("action=\"{}\"", idp.authorization_endpoint())));
    let request_id = hidden(&page, "request_id");
    let csrf = hidden(&page, "csrf_token");
    assert_eq!(csrf.len(), 43);

    let response = post_consent(
        &idp,
        &[
            ("request_id", &request_id),
            ("csrf_token", &csrf),
            ("decision", "approve"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (url, query) = location(&response);
    assert!(url.starts_with(CALLBACK));
    assert_eq!(query["state"], "st-42");
    assert_eq!(query["iss"], idp.issuer());
    let (status, body) = exchange(&idp, &client_id, &query["code"], &verifier).await;
    assert_eq!(status, 200, "{body}");
    let info = verifier_for(&idp, AUD)
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(info.subject(), Some("bob"));

    // The form is single-use.
    let again = post_consent(
        &idp,
        &[
            ("request_id", &request_id),
            ("csrf_token", &csrf),
            ("decision", "approve"),
        ],
    )
    .await;
    assert_eq!(again.status(), 400);
    assert!(again.headers().get("location").is_none());
    // As after a restart of the server: the page says what to do.
    let page = again.text().await.unwrap();
    assert!(page.contains("start the authorization again"), "{page}");
    assert!(page.contains("id=\"hint\""), "{page}");
}

#[tokio::test]
async fn consent_deny_redirects_with_access_denied() {
    let (idp, client_id) = consent_idp().await;
    let (_, challenge) = pkce();
    let page = consent_page(&idp, &client_id, &challenge).await;
    let response = post_consent(
        &idp,
        &[
            ("request_id", &hidden(&page, "request_id")),
            ("csrf_token", &hidden(&page, "csrf_token")),
            ("decision", "deny"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, query) = location(&response);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "st-42");
    assert_eq!(query["iss"], idp.issuer());
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn consent_with_a_bad_csrf_token_is_refused() {
    let (idp, client_id) = consent_idp().await;
    let (_, challenge) = pkce();
    let page = consent_page(&idp, &client_id, &challenge).await;
    let request_id = hidden(&page, "request_id");
    // The token of another pending request does not fit this one.
    let other_page = consent_page(&idp, &client_id, &challenge).await;
    for csrf in [hidden(&other_page, "csrf_token"), String::new(), "x".into()] {
        let response = post_consent(
            &idp,
            &[
                ("request_id", &request_id),
                ("csrf_token", &csrf),
                ("decision", "approve"),
            ],
        )
        .await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("CSRF"), "{page}");
        assert!(!page.contains("id=\"hint\""), "{page}");
    }
    let missing = post_consent(
        &idp,
        &[("request_id", &request_id), ("decision", "approve")],
    )
    .await;
    assert_eq!(missing.status(), 400);
    // The request is still answerable with its own token.
    let response = post_consent(
        &idp,
        &[
            ("request_id", &request_id),
            ("csrf_token", &hidden(&page, "csrf_token")),
            ("decision", "approve"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
}

// ---------------------------------------------------------------- refresh tokens

#[tokio::test]
async fn refresh_tokens_rotate_narrow_scope_and_keep_the_resource_binding() {
    let idp = AuthorizationServer::start().await.unwrap();
    let client_id = public_client(&idp).await;
    let (verifier, challenge) = pkce();
    let mut params = standard(&client_id, &challenge, "mcp:read mcp:write");
    params.push(("resource", OTHER_AUD));
    let code = code_for(&idp, &params).await;
    // Only AUD for the first token (RFC 8707 §2.2 narrowing at the token endpoint).
    let (status, first) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("resource", AUD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let info = verifier_for(&idp, AUD)
        .verify(first["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(info.audiences(), [AUD]);
    let refresh1 = first["refresh_token"].as_str().unwrap().to_owned();

    let refresh = |token: String, extra: Vec<(&'static str, &'static str)>| {
        let client_id = client_id.clone();
        let idp = idp.clone();
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", client_id.as_str()),
            ];
            form.extend(extra);
            token_owned(&idp, form).await
        }
    };

    // Widening the scope or an unauthorized resource: refused, the token stays valid.
    let (status, body) = refresh(refresh1.clone(), vec![("scope", "mcp:read admin")]).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_scope"));
    let (status, body) = refresh(
        refresh1.clone(),
        vec![("resource", "https://elsewhere.example/")],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_target"));

    // Narrowing: scope mcp:read only, audience OTHER_AUD only.
    let (status, second) = refresh(
        refresh1.clone(),
        vec![("scope", "mcp:read"), ("resource", OTHER_AUD)],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["scope"], "mcp:read");
    let info = verifier_for(&idp, OTHER_AUD)
        .verify(second["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(info.audiences(), [OTHER_AUD]);
    assert_eq!(info.scopes(), ["mcp:read"]);
    let refresh2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh1, refresh2);

    // Rotation: the old refresh token is dead.
    let (status, body) = refresh(refresh1, vec![]).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));

    // The new one keeps the original grant: both scopes and both resources are back.
    let (status, third) = refresh(refresh2, vec![]).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["scope"], "mcp:read mcp:write");
    let claims = third["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["aud"], json!([AUD, OTHER_AUD]));
    assert_eq!(claims["sub"], "user-1");

    // Another client cannot use it.
    let other = public_client(&idp).await;
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", third["refresh_token"].as_str().unwrap()),
            ("client_id", &other),
        ],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
}

async fn token_owned(idp: &AuthorizationServer, form: Vec<(&str, &str)>) -> (u16, Value) {
    token(idp, &form).await
}

// ---------------------------------------------------------------- registration

#[tokio::test]
async fn registration_answers_201_with_the_metadata_and_a_secret_when_confidential() {
    let idp = AuthorizationServer::start().await.unwrap();
    let response = http()
        .post(idp.registration_endpoint())
        .json(&json!({
            "redirect_uris": ["https://app.example.com/cb", "com.example.app:/oauth"],
            "client_name": "Confidential app",
            "scope": "mcp:read mcp:write",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "logo_uri": "https://app.example.com/logo.png",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["redirect_uris"],
        json!(["https://app.example.com/cb", "com.example.app:/oauth"])
    );
    assert_eq!(body["client_name"], "Confidential app");
    assert_eq!(body["scope"], "mcp:read mcp:write");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].as_u64().unwrap() > 1_600_000_000);
    assert!(body.get("logo_uri").is_none());
    let id = body["client_id"].as_str().unwrap();
    let secret = body["client_secret"].as_str().unwrap();

    // It authenticates the way it registered, and only that way.
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    assert_eq!(token(&idp, &cc).await.0, 200);
    let basic = http()
        .post(idp.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(basic).await;
    assert_eq!((status, error_of(&body)), (401, "invalid_client"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret_post")
    );

    // Its registered scope is a default, not a cap: a later step-up to another scope works.
    let (_, challenge) = pkce();
    let response = authorize(
        &idp,
        &[
            ("response_type", "code"),
            ("client_id", id),
            ("redirect_uri", "https://app.example.com/cb"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "admin"),
        ],
    )
    .await;
    let (_, query) = location(&response);
    assert!(!query.contains_key("error"), "{query:?}");
    assert!(query.contains_key("code"));

    // A public registration has no secret; the default method is client_secret_basic.
    let (_, public) = register(
        &idp,
        json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["grant_types"], json!(["authorization_code"]));
    let (_, default) = register(&idp, json!({"redirect_uris": [CALLBACK]})).await;
    assert_eq!(default["token_endpoint_auth_method"], "client_secret_basic");
    assert!(default["client_secret"].is_string());
    assert_ne!(default["client_id"], public["client_id"]);
}

#[tokio::test]
async fn registration_errors_follow_rfc7591() {
    let idp = AuthorizationServer::start().await.unwrap();
    for (body, expected) in [
        (json!({}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["/relative"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "scope": 5}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let (status, answer) = register(&idp, body.clone()).await;
        assert_eq!((status, error_of(&answer)), (400, expected), "{body}");
        assert!(answer["error_description"].is_string());
    }
    // Not JSON at all.
    let response = http()
        .post(idp.registration_endpoint())
        .form(&[("redirect_uris", CALLBACK)])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_client_metadata"));
    // Only POST.
    let response = http()
        .get(idp.registration_endpoint())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

// ---------------------------------------------------------------- CORS

#[tokio::test]
async fn browser_clients_get_cors_on_metadata_registration_and_token() {
    let idp = AuthorizationServer::start().await.unwrap();
    let metadata = idp.well_known_urls()[0].clone();
    for (url, methods) in [
        (idp.registration_endpoint(), "POST"),
        (idp.token_endpoint(), "POST"),
        (metadata.clone(), "GET, HEAD"),
        (idp.jwks_uri(), "GET, HEAD"),
    ] {
        let response = http()
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", "http://localhost:6274")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, authorization",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{url}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["access-control-allow-methods"], methods);
        let allowed = headers["access-control-allow-headers"].to_str().unwrap();
        assert!(allowed.contains("Authorization") && allowed.contains("Content-Type"));
    }
    let response = http().get(&metadata).send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let response = http()
        .post(idp.token_endpoint())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    // The authorization endpoint is a page for people, not for scripts.
    let response = authorize(&idp, &[]).await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

// ---------------------------------------------------------------- metadata

#[tokio::test]
async fn generated_metadata_advertises_the_flows_and_passes_validate_server_config() {
    let idp = AuthorizationServer::builder()
        .scopes(["mcp:read", "mcp:write"])
        .issuer_path("/tenant1")
        .start()
        .await
        .unwrap();
    for url in idp.well_known_urls() {
        let doc: Value = http().get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["authorization_endpoint"], idp.authorization_endpoint());
        assert_eq!(doc["registration_endpoint"], idp.registration_endpoint());
        assert_eq!(
            idp.authorization_endpoint(),
            format!("{}/authorize", idp.issuer())
        );
        assert_eq!(
            idp.registration_endpoint(),
            format!("{}/register", idp.issuer())
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["scopes_supported"], json!(["mcp:read", "mcp:write"]));

        let metadata: AuthServerMetadata = serde_json::from_value(doc).unwrap();
        let report = mcp_auth::discovery::validate_server_config(&metadata);
        assert!(report.errors.is_empty(), "{report}");
        for code in [
            ValidationCode::CodeResponseTypeSupported,
            ValidationCode::AuthorizationCodeGrantSupported,
            ValidationCode::S256Supported,
            ValidationCode::DynamicRegistrationSupported,
        ] {
            assert!(report.contains(code), "{code}: {report}");
        }
    }
    // Without `.scopes`, scopes_supported is left out.
    let plain = AuthorizationServer::start().await.unwrap();
    let doc: Value = http()
        .get(&plain.well_known_urls()[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("scopes_supported").is_none());
}

// ---------------------------------------------------------------- private_key_jwt

#[tokio::test]
async fn introspection_by_private_key_jwt_checks_the_assertion_and_uses_it_once() {
    let pair = crate::ClientKeyPair::generate("rs-1").unwrap();
    let idp = AuthorizationServer::builder()
        .introspection_client_key("rs", pair.public_jwk())
        .start()
        .await
        .unwrap();
    let token = idp.opaque_token().audience(AUD).mint();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |aud: &str, exp: u64, jti: &str| serde_json::json!({"iss": "rs", "sub": "rs", "aud": aud, "exp": exp, "jti": jti});
    let post = |assertion: String| {
        let token = token.clone();
        let endpoint = idp.introspection_endpoint();
        async move {
            let response = http()
                .post(endpoint)
                .form(&[
                    ("token", token.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let good = pair
        .assertion(&claims(idp.issuer(), now + 60, "j1"))
        .unwrap();
    let (status, body) = post(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    let (status, body) = post(good).await;
    assert_eq!(
        (status, error_of(&body)),
        (401, "invalid_client"),
        "replayed: {body}"
    );
    for (claims, why) in [
        (
            claims("https://elsewhere.example.com", now + 60, "j2"),
            "another audience",
        ),
        (claims(idp.issuer(), now - 1, "j3"), "expired"),
    ] {
        let (status, body) = post(pair.assertion(&claims).unwrap()).await;
        assert_eq!(
            (status, error_of(&body)),
            (401, "invalid_client"),
            "{why}: {body}"
        );
    }
    let stranger = crate::ClientKeyPair::generate("rs-1").unwrap();
    let forged = stranger
        .assertion(&claims(idp.issuer(), now + 60, "j4"))
        .unwrap();
    let (status, _) = post(forged).await;
    assert_eq!(status, 401, "signed by another key");
}
