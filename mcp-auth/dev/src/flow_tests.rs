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
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ])
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

// ---------------------------------------------------------------- token exchange, JWT bearer

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const BACKUP: &str = "https://backup.example.com/api";
const BACKUP_NAME: &str = "backup-api";
const MCP_SERVER: (&str, &str) = ("notes-server", "notes-s3cret");
const OTHER_SERVER: (&str, &str) = ("other-server", "other-s3cret");

/// The claims of a JWT, unverified.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// MCP_SERVER may get tokens for BACKUP and BACKUP_NAME; OTHER_SERVER (confidential) and
/// `app` (public) are not in the policy.
async fn exchange_idp() -> AuthorizationServer {
    AuthorizationServer::builder()
        .client_credentials(MCP_SERVER.0, MCP_SERVER.1)
        .client(ClientRegistration::confidential(
            OTHER_SERVER.0,
            OTHER_SERVER.1,
            [CALLBACK],
        ))
        .client(ClientRegistration::public("app", [CALLBACK]))
        .exchange_policy(MCP_SERVER.0, [BACKUP])
        .exchange_policy(MCP_SERVER.0, [BACKUP_NAME])
        .start()
        .await
        .unwrap()
}

/// Alice's token for the MCP server, as its client got it.
fn inbound(idp: &AuthorizationServer) -> String {
    idp.token()
        .subject("alice")
        .client_id("app")
        .audience(AUD)
        .scopes(["read:notes"])
        .mint()
}

/// A token request of `client` by `client_secret_basic`.
async fn token_as(
    idp: &AuthorizationServer,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    json_of(
        http()
            .post(idp.token_endpoint())
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// An RFC 8693 request for `subject` and the target `resource`.
fn exchange_form<'a>(subject: &'a str, resource: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", resource),
    ]
}

fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    form.extend_from_slice(more);
    form
}

#[tokio::test]
async fn token_exchange_gives_a_token_for_the_target_that_names_the_client_in_act() {
    let idp = exchange_idp().await;
    // The inbound token ends in 30 s; the exchanged one still gets the usual 300 s (the
    // client side caps its use at the inbound token's expiry).
    let subject = idp
        .token()
        .subject("alice")
        .client_id("app")
        .audience(AUD)
        .scopes(["read:notes"])
        .expires_in(Duration::from_secs(30))
        .mint();
    let form = with(
        exchange_form(&subject, BACKUP),
        &[
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("scope", "backup:write"),
        ],
    );
    let response = http()
        .post(idp.token_endpoint())
        .basic_auth(MCP_SERVER.0, Some(MCP_SERVER.1))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "backup:write");
    assert!(body.get("refresh_token").is_none());

    let token = body["access_token"].as_str().unwrap();
    let claims = payload(token);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], BACKUP);
    assert_eq!(claims["client_id"], MCP_SERVER.0);
    assert_eq!(claims["act"], json!({"sub": MCP_SERVER.0}));
    assert_eq!(claims["scope"], "backup:write");
    assert_eq!(claims["iss"], idp.issuer());
    let (exp, iat) = (
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    assert!(exp > payload(&subject)["exp"].as_u64().unwrap());
    // The downstream API verifies it as any token of this server.
    let info = verifier_for(&idp, BACKUP).verify(token).await.unwrap();
    assert_eq!(info.subject(), Some("alice"));
    // The MCP client's own token is not for the downstream API.
    assert!(verifier_for(&idp, BACKUP).verify(&subject).await.is_err());

    // Without scope, the subject token's; an `audience` as the target.
    let (status, body) = token_as(
        &idp,
        MCP_SERVER,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", BACKUP_NAME),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read:notes");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(
        (&claims["aud"], &claims["scope"]),
        (&json!(BACKUP_NAME), &json!("read:notes"))
    );

    // An exchanged token exchanged again: the earlier actor nests under the current one.
    let (status, body) = token_as(&idp, MCP_SERVER, &exchange_form(token, BACKUP)).await;
    assert_eq!(status, 200, "{body}");
    let again = payload(body["access_token"].as_str().unwrap());
    assert_eq!(again["sub"], "alice");
    assert_eq!(
        again["act"],
        json!({"sub": MCP_SERVER.0, "act": {"sub": MCP_SERVER.0}})
    );
    let delegated = idp
        .token()
        .subject("alice")
        .audience(AUD)
        .claim("act", json!({"sub": "gateway"}))
        .mint();
    let (status, body) = token_as(&idp, MCP_SERVER, &exchange_form(&delegated, BACKUP)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["act"],
        json!({"sub": MCP_SERVER.0, "act": {"sub": "gateway"}})
    );
}

#[tokio::test]
async fn jwt_bearer_and_entra_on_behalf_of_give_a_token_for_the_target() {
    let idp = exchange_idp().await;
    let subject = inbound(&idp);
    for obo in [false, true] {
        let mut form = vec![
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", subject.as_str()),
            ("resource", BACKUP),
            ("scope", "backup:write"),
        ];
        if obo {
            // Entra's shape: the client's credentials in the body, client_secret_post.
            form.extend([
                ("requested_token_use", "on_behalf_of"),
                ("client_id", MCP_SERVER.0),
                ("client_secret", MCP_SERVER.1),
            ]);
        }
        let (status, body) = if obo {
            token(&idp, &form).await
        } else {
            token_as(&idp, MCP_SERVER, &form).await
        };
        assert_eq!(status, 200, "on behalf of: {obo}: {body}");
        assert!(body.get("issued_token_type").is_none(), "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "backup:write");
        let claims = payload(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["aud"], BACKUP);
        assert_eq!(claims["client_id"], MCP_SERVER.0);
        assert_eq!(claims["act"], json!({"sub": MCP_SERVER.0}));
    }
    for (form, why) in [
        (
            vec![
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", subject.as_str()),
                ("resource", BACKUP),
                ("requested_token_use", "impersonation"),
            ],
            "another requested_token_use",
        ),
        (
            vec![("grant_type", JWT_BEARER_GRANT), ("resource", BACKUP)],
            "no assertion",
        ),
        (
            vec![
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", subject.as_str()),
                ("assertion", subject.as_str()),
                ("resource", BACKUP),
            ],
            "a repeated assertion",
        ),
    ] {
        let (status, body) = token_as(&idp, MCP_SERVER, &form).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_request"),
            "{why}: {body}"
        );
    }
    let expired = idp.token().subject("alice").audience(AUD).expired().mint();
    let (status, body) = token_as(
        &idp,
        MCP_SERVER,
        &[
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", &expired),
            ("resource", BACKUP),
        ],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"), "{body}");
}

#[tokio::test]
async fn only_confidential_clients_of_the_exchange_policy_may_exchange() {
    let idp = exchange_idp().await;
    let subject = inbound(&idp);
    for grant in [TOKEN_EXCHANGE, JWT_BEARER_GRANT] {
        let form = [
            ("grant_type", grant),
            ("subject_token", subject.as_str()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("assertion", subject.as_str()),
            ("resource", BACKUP),
        ];
        let (status, body) = token_as(&idp, OTHER_SERVER, &form).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "unauthorized_client"),
            "{grant}, a confidential client not in the policy: {body}"
        );
        let mut public = form.to_vec();
        public.push(("client_id", "app"));
        let (status, body) = token(&idp, &public).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "unauthorized_client"),
            "{grant}, a public client: {body}"
        );
    }
    // The policy names confidential clients only.
    for (builder, client) in [
        (
            AuthorizationServer::builder().client(ClientRegistration::public("app", [CALLBACK])),
            "app",
        ),
        (AuthorizationServer::builder(), "nobody"),
    ] {
        let error = builder
            .exchange_policy(client, [BACKUP])
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, DevServerError::InvalidClient { client_id, .. } if client_id == client),
            "{error}"
        );
        assert!(error.to_string().contains("exchange_policy"), "{error}");
    }
}

#[tokio::test]
async fn the_target_is_one_resource_or_audience_that_the_policy_allows() {
    let idp = exchange_idp().await;
    let subject = inbound(&idp);
    let base = || {
        vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.as_str()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ]
    };
    for (form, expected, why) in [
        (
            with(base(), &[("resource", OTHER_AUD)]),
            "invalid_target",
            "a resource not allowed",
        ),
        (
            with(base(), &[("audience", "payroll")]),
            "invalid_target",
            "an audience not allowed",
        ),
        (
            with(base(), &[("resource", BACKUP), ("resource", OTHER_AUD)]),
            "invalid_target",
            "two resources",
        ),
        (
            with(base(), &[("resource", BACKUP), ("audience", BACKUP_NAME)]),
            "invalid_target",
            "two targets, each allowed",
        ),
        (
            with(base(), &[("resource", "backup/api")]),
            "invalid_target",
            "a relative resource",
        ),
        (base(), "invalid_request", "no target"),
    ] {
        let (status, body) = token_as(&idp, MCP_SERVER, &form).await;
        assert_eq!((status, error_of(&body)), (400, expected), "{why}: {body}");
    }
}

#[tokio::test]
async fn the_subject_token_must_be_a_valid_access_token_of_this_server() {
    let idp = exchange_idp().await;
    let mint = || idp.token().subject("alice").audience(AUD);
    let revoked = mint().mint();
    idp.revoke(&revoked);
    let old_key = mint().mint();
    let stranger = AuthorizationServer::start().await.unwrap();
    let cases = [
        (mint().expired().mint(), "expired"),
        (revoked, "revoked"),
        (
            mint().sign_with_foreign_key().mint(),
            "signed by a foreign key",
        ),
        (
            stranger.token().subject("alice").audience(AUD).mint(),
            "another server's",
        ),
        (mint().unsigned().mint(), "unsigned"),
        (mint().typ(Some("JWT")).mint(), "not typ at+jwt"),
        (
            mint().issuer("https://elsewhere.example.com").mint(),
            "another issuer",
        ),
        (mint().remove_claim("exp").mint(), "without exp"),
        (mint().remove_claim("sub").mint(), "without sub"),
        (
            idp.opaque_token().subject("alice").audience(AUD).mint(),
            "opaque",
        ),
        ("not-a-token".to_owned(), "garbage"),
    ];
    for (subject, why) in &cases {
        let (status, body) = token_as(&idp, MCP_SERVER, &exchange_form(subject, BACKUP)).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_grant"),
            "{why}: {body}"
        );
        assert!(
            !body.to_string().contains(subject.as_str()),
            "{why}: the token is echoed"
        );
    }
    // Signed by a key that has left the JWKS.
    idp.rotate_keys();
    let (status, body) = token_as(&idp, MCP_SERVER, &exchange_form(&old_key, BACKUP)).await;
    assert_eq!(
        (status, error_of(&body)),
        (400, "invalid_grant"),
        "rotated: {body}"
    );
}

#[tokio::test]
async fn subject_token_and_its_type_are_required_and_only_access_tokens_are_exchanged() {
    let idp = exchange_idp().await;
    let subject = inbound(&idp);
    let id_token = "urn:ietf:params:oauth:token-type:id_token";
    for (form, why) in [
        (
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", subject.as_str()),
                ("resource", BACKUP),
            ],
            "no subject_token_type",
        ),
        (
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", subject.as_str()),
                ("subject_token_type", id_token),
                ("resource", BACKUP),
            ],
            "an id_token type",
        ),
        (
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("resource", BACKUP),
            ],
            "no subject_token",
        ),
        (
            with(
                exchange_form(&subject, BACKUP),
                &[(
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                )],
            ),
            "a refresh token requested",
        ),
        (
            with(
                exchange_form(&subject, BACKUP),
                &[("subject_token_type", ACCESS_TOKEN_TYPE)],
            ),
            "a repeated subject_token_type",
        ),
    ] {
        let (status, body) = token_as(&idp, MCP_SERVER, &form).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_request"),
            "{why}: {body}"
        );
    }
}

#[tokio::test]
async fn each_client_authentication_method_works_for_the_exchange() {
    let pair = crate::ClientKeyPair::generate("key-server-1").unwrap();
    let idp = AuthorizationServer::builder()
        .client_credentials(MCP_SERVER.0, MCP_SERVER.1)
        .introspection_client_key("key-server", pair.public_jwk())
        .exchange_policy(MCP_SERVER.0, [BACKUP])
        .exchange_policy("key-server", [BACKUP])
        .start()
        .await
        .unwrap();
    let subject = inbound(&idp);
    let form = exchange_form(&subject, BACKUP);
    let act = |body: &Value| payload(body["access_token"].as_str().unwrap())["act"]["sub"].clone();

    // client_secret_basic
    let (status, body) = token_as(&idp, MCP_SERVER, &form).await;
    assert_eq!(status, 200, "client_secret_basic: {body}");
    assert_eq!(act(&body), MCP_SERVER.0);
    let (status, body) = token_as(&idp, (MCP_SERVER.0, "wrong"), &form).await;
    assert_eq!((status, error_of(&body)), (401, "invalid_client"), "{body}");

    // client_secret_post
    let post = with(
        form.clone(),
        &[("client_id", MCP_SERVER.0), ("client_secret", MCP_SERVER.1)],
    );
    let (status, body) = token(&idp, &post).await;
    assert_eq!(status, 200, "client_secret_post: {body}");
    assert_eq!(act(&body), MCP_SERVER.0);

    // private_key_jwt, `aud` the issuer or the token endpoint.
    let now = unix_now();
    let claims = |aud: &str, exp: u64, jti: &str| json!({"iss": "key-server", "sub": "key-server", "aud": aud, "exp": exp, "jti": jti});
    let by_key = |assertion: String| {
        let form = form.clone();
        let idp = &idp;
        async move {
            let form = with(
                form,
                &[
                    ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                    ("client_assertion", assertion.as_str()),
                ],
            );
            token(idp, &form).await
        }
    };
    let token_endpoint = idp.token_endpoint();
    for (aud, jti) in [(idp.issuer(), "j1"), (token_endpoint.as_str(), "j2")] {
        let (status, body) = by_key(pair.assertion(&claims(aud, now + 60, jti)).unwrap()).await;
        assert_eq!(status, 200, "private_key_jwt, aud {aud}: {body}");
        let issued = payload(body["access_token"].as_str().unwrap());
        assert_eq!(issued["client_id"], "key-server");
        assert_eq!(issued["act"], json!({"sub": "key-server"}));
    }
    let introspection_endpoint = idp.introspection_endpoint();
    for (assertion, why) in [
        (
            pair.assertion(&claims(idp.issuer(), now + 60, "j1"))
                .unwrap(),
            "replayed",
        ),
        (
            pair.assertion(&claims(&introspection_endpoint, now + 60, "j3"))
                .unwrap(),
            "for the introspection endpoint",
        ),
        (
            pair.assertion(&claims(idp.issuer(), now - 1, "j4"))
                .unwrap(),
            "expired",
        ),
        (
            crate::ClientKeyPair::generate("key-server-1")
                .unwrap()
                .assertion(&claims(idp.issuer(), now + 60, "j5"))
                .unwrap(),
            "signed by another key",
        ),
    ] {
        let (status, body) = by_key(assertion).await;
        assert_eq!(
            (status, error_of(&body)),
            (401, "invalid_client"),
            "{why}: {body}"
        );
    }
    // A key client has no secret to send.
    let (status, body) = token_as(&idp, ("key-server", "guess"), &form).await;
    assert_eq!((status, error_of(&body)), (401, "invalid_client"), "{body}");
    // It may use client_credentials too.
    let (status, body) = by_key(
        pair.assertion(&claims(idp.issuer(), now + 60, "j6"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("resource", BACKUP),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            (
                "client_assertion",
                &pair
                    .assertion(&claims(idp.issuer(), now + 60, "j7"))
                    .unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "client_credentials by private_key_jwt: {body}");

    // The metadata says so.
    let doc: Value = http()
        .get(&idp.well_known_urls()[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!([
            "none",
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert!(
        doc["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!(TOKEN_EXCHANGE)) && grants.contains(&json!(JWT_BEARER_GRANT)));
}

#[tokio::test]
async fn a_dpop_proof_binds_the_exchanged_token() {
    let idp = exchange_idp().await;
    let subject = inbound(&idp);
    let key = DpopKey::generate_es256();
    let (status, body) = json_of(
        http()
            .post(idp.token_endpoint())
            .basic_auth(MCP_SERVER.0, Some(MCP_SERVER.1))
            .header("DPoP", key.proof("POST", &idp.token_endpoint(), None, None))
            .form(&exchange_form(&subject, BACKUP))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint());
    assert_eq!(claims["act"]["sub"], MCP_SERVER.0);
}

#[tokio::test]
async fn a_tenants_access_token_is_exchanged_for_a_token_of_that_tenant() {
    let idp = AuthorizationServer::builder()
        .tenants(["contoso"])
        .client_credentials(MCP_SERVER.0, MCP_SERVER.1)
        .exchange_policy(MCP_SERVER.0, [BACKUP])
        .start()
        .await
        .unwrap();
    let subject = idp
        .token()
        .tenant("contoso")
        .subject("alice")
        .audience(AUD)
        .mint();
    let (status, body) = token_as(&idp, MCP_SERVER, &exchange_form(&subject, BACKUP)).await;
    assert_eq!(status, 200, "{body}");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], idp.tenant_issuer("contoso").unwrap());
    assert_eq!(claims["sub"], "alice");
}
