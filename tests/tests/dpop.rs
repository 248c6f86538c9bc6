//! DPoP (RFC 9449) on the resource server, against the development authorization server on
//! loopback with real keys: a proof that breaks each step of §4.3 is refused with the step's
//! error, a good one passes; replays, other methods and URIs are refused; a DPoP-bound token is
//! refused as Bearer; a Bearer token with a proof is a Bearer request (§7.2); and a client gets a
//! DPoP-bound token from the development server (one nonce round trip there, one at the
//! resource) and calls an rmcp tool with a fresh proof per request.

use axum::Router;
use axum::routing::post;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::dpop::{DpopOptions, DpopPolicy};
use mcp_auth::{Auth, mcp_resource, requires_scope, tool_scopes};
use mcp_auth_dev::{AuthorizationServer, DpopKey, SigningAlg};
use mcp_auth_tests::{bind, rpc_result, spawn};
use reqwest::StatusCode;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

#[mcp_resource(
    id = env("MCP_AUTH_DPOP_TEST_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
    dpop = "accepted",
    dpop_algs = ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
)]
pub struct Notes;

#[mcp_resource(
    id = env("MCP_AUTH_DPOP_TEST_REQUIRED_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
    dpop = "required",
    dpop_algs = ["ES256"],
)]
pub struct StrictNotes;

/// A resource behind the layer: `POST /mcp` answers with the key thumbprint it saw.
struct App {
    idp: AuthorizationServer,
    url: String,
    http: reqwest::Client,
}

async fn whoami(auth: Auth) -> String {
    auth.dpop_jkt().unwrap_or("bearer").to_owned()
}

impl App {
    async fn start(required: bool, nonce: bool) -> Self {
        Self::start_with(required, move |d| d.nonce(nonce)).await
    }

    /// A resource whose DPoP options `dpop` edits.
    async fn start_with(
        required: bool,
        dpop: impl FnOnce(DpopOptions) -> DpopOptions + Send + 'static,
    ) -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let url = format!("{origin}/mcp");
        let issuer = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap();
        let routes = Router::new().route("/mcp", post(whoami));
        let app = if required {
            let r = StrictNotes::builder()
                .id(&url)
                .replace_authorization_servers([issuer])
                .resource(move |r| r.dpop(dpop))
                .build()
                .await
                .unwrap();
            routes.layer(r.layer()).merge(r.metadata_router())
        } else {
            let r = Notes::builder()
                .id(&url)
                .replace_authorization_servers([issuer])
                .resource(move |r| r.dpop(dpop))
                .build()
                .await
                .unwrap();
            routes.layer(r.layer()).merge(r.metadata_router())
        };
        spawn(listener, app);
        Self {
            idp,
            url,
            http: reqwest::Client::new(),
        }
    }

    fn bound_token(&self, key: &DpopKey) -> String {
        self.idp
            .token()
            .audience(&self.url)
            .scopes(["read:notes"])
            .dpop_jkt(key.thumbprint())
            .mint()
    }

    fn bearer_token(&self) -> String {
        self.idp
            .token()
            .audience(&self.url)
            .scopes(["read:notes"])
            .mint()
    }

    async fn send(&self, authorization: &str, proofs: &[&str]) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.url)
            .header("authorization", authorization);
        for proof in proofs {
            request = request.header("dpop", *proof);
        }
        request.send().await.unwrap()
    }

    async fn dpop(&self, token: &str, proof: &str) -> reqwest::Response {
        self.send(&format!("DPoP {token}"), &[proof]).await
    }
}

/// The `WWW-Authenticate` values, in order.
fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The DPoP challenge of a refusal, checked for its fixed parts.
fn dpop_challenge(response: &reqwest::Response) -> String {
    let all = challenges(response);
    let dpop = all
        .iter()
        .find(|c| c.starts_with("DPoP"))
        .unwrap_or_else(|| panic!("no DPoP challenge in {all:?}"))
        .clone();
    assert!(
        dpop.contains("resource_metadata=\"http://127.0.0.1:"),
        "{dpop}"
    );
    assert!(dpop.contains("algs=\""), "{dpop}");
    dpop
}

/// Asserts a `401` whose DPoP challenge has `error` and a description containing `words`.
async fn refused(response: reqwest::Response, error: &str, words: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = dpop_challenge(&response);
    assert!(
        challenge.starts_with(&format!("DPoP error=\"{error}\"")),
        "{challenge}"
    );
    assert!(challenge.contains(words), "{words:?} not in {challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error);
}

#[tokio::test]
async fn a_proof_that_follows_every_step_passes_for_each_algorithm() {
    let app = App::start(false, false).await;
    for alg in [
        SigningAlg::Es256,
        SigningAlg::Es384,
        SigningAlg::Rs256,
        SigningAlg::Ps256,
        SigningAlg::EdDsa,
    ] {
        let key = DpopKey::generate(alg).unwrap();
        let token = app.bound_token(&key);
        let proof = key.proof("POST", &app.url, Some(&token), None);
        let response = app.dpop(&token, &proof).await;
        assert_eq!(response.status(), StatusCode::OK, "{alg}");
        assert_eq!(response.text().await.unwrap(), key.thumbprint(), "{alg}");
    }
}

#[tokio::test]
async fn step1_exactly_one_proof_header() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let none = app.send(&format!("DPoP {token}"), &[]).await;
    refused(none, "invalid_dpop_proof", "no DPoP proof").await;
    let a = key.proof("POST", &app.url, Some(&token), None);
    let b = key.proof("POST", &app.url, Some(&token), None);
    let two = app.send(&format!("DPoP {token}"), &[&a, &b]).await;
    refused(two, "invalid_dpop_proof", "more than one DPoP header").await;
}

#[tokio::test]
async fn step2_a_well_formed_jwt() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    for bad in ["not-a-jwt", "a.b", "e30.e30.e30.e30", "%%%.e30.sig"] {
        let response = app.dpop(&token, bad).await;
        refused(response, "invalid_dpop_proof", "not a well-formed JWT").await;
    }
}

#[tokio::test]
async fn step3_required_claims() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    for claim in ["jti", "htm", "htu", "iat"] {
        let proof = key
            .proof_builder("POST", &app.url)
            .access_token(&token)
            .remove_claim(claim)
            .build();
        let response = app.dpop(&token, &proof).await;
        refused(
            response,
            "invalid_dpop_proof",
            &format!("no `{claim}` claim"),
        )
        .await;
    }
}

#[tokio::test]
async fn step4_typ() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key
        .proof_builder("POST", &app.url)
        .access_token(&token)
        .header("typ", "JWT")
        .build();
    refused(app.dpop(&token, &proof).await, "invalid_dpop_proof", "typ").await;
}

#[tokio::test]
async fn step5_asymmetric_allowed_alg() {
    let app = App::start(true, false).await; // ES256 only
    let key = DpopKey::generate(SigningAlg::EdDsa).unwrap();
    let token = app.bound_token(&key);
    let proof = key.proof("POST", &app.url, Some(&token), None);
    let response = app.dpop(&token, &proof).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = dpop_challenge(&response);
    assert!(challenge.contains("alg is not accepted"), "{challenge}");
    assert!(challenge.ends_with("algs=\"ES256\""), "{challenge}");
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key
        .proof_builder("POST", &app.url)
        .access_token(&token)
        .header("alg", "HS256")
        .build();
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "alg is not accepted",
    )
    .await;
}

#[tokio::test]
async fn step6_signature_by_the_jwk() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let thief = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key
        .proof_builder("POST", &app.url)
        .access_token(&token)
        .signed_by(&thief)
        .build();
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "signature",
    )
    .await;
}

#[tokio::test]
async fn step7_no_private_key_in_the_jwk() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key
        .proof_builder("POST", &app.url)
        .access_token(&token)
        .jwk_member("d", "c2VjcmV0")
        .build();
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "private key",
    )
    .await;
}

#[tokio::test]
async fn step8_htm_another_method_is_refused() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key.proof("GET", &app.url, Some(&token), None);
    refused(app.dpop(&token, &proof).await, "invalid_dpop_proof", "htm").await;
}

#[tokio::test]
async fn step9_htu_another_uri_is_refused() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let other_path = app.url.replace("/mcp", "/other");
    let other_port = "http://127.0.0.1:1/mcp";
    for uri in [
        other_path.as_str(),
        other_port,
        "https://evil.example.com/mcp",
    ] {
        let proof = key.proof("POST", uri, Some(&token), None);
        refused(app.dpop(&token, &proof).await, "invalid_dpop_proof", "htu").await;
    }
    // Query and fragment are ignored; case and default ports are normalised.
    let with_query = format!("{}?page=2#top", app.url.replace("http://", "HTTP://"));
    let proof = key.proof("POST", &with_query, Some(&token), None);
    assert_eq!(app.dpop(&token, &proof).await.status(), StatusCode::OK);
}

/// RFC 9449 §4.3 step 9 by the audience's rule: what a browser-style URL parser would rewrite
/// into this resource's URI (IPv4 shorthands, a trailing dot, a port with a leading zero, a
/// backslash, a tab, dot segments, a percent-encoding) is another URI, refused; the case of
/// scheme and host is not.
#[tokio::test]
async fn step9_htu_spellings_a_url_parser_would_rewrite_are_other_uris() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let port = app.url.rsplit(':').next().unwrap().trim_end_matches("/mcp");
    for htu in [
        format!("http://127.1:{port}/mcp"),
        format!("http://2130706433:{port}/mcp"),
        format!("http://0x7f.0.0.1:{port}/mcp"),
        format!("http://127.0.0.1.:{port}/mcp"),
        format!("http://127.0.0.1:0{port}/mcp"),
        format!("http://127.0.0.1:{port}\\mcp"),
        format!("http://127.0.0.1:{port}/m\tcp"),
        format!("http://127.0.0.1:{port}/x/../mcp"),
        format!("http://127.0.0.1:{port}/%6Dcp"),
    ] {
        let proof = key
            .proof_builder("POST", &app.url)
            .access_token(&token)
            .claim("htu", htu.as_str())
            .build();
        refused(app.dpop(&token, &proof).await, "invalid_dpop_proof", "htu").await;
    }
    for htu in [
        format!("HTTP://127.0.0.1:{port}/mcp"),
        format!("http://127.0.0.1:{port}/mcp?page=1#top"),
    ] {
        let proof = key
            .proof_builder("POST", &app.url)
            .access_token(&token)
            .claim("htu", htu.as_str())
            .build();
        assert_eq!(
            app.dpop(&token, &proof).await.status(),
            StatusCode::OK,
            "{htu}"
        );
    }
}

#[tokio::test]
async fn step10_server_nonce_round_trip() {
    let app = App::start(false, true).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key.proof("POST", &app.url, Some(&token), None);
    let first = app.dpop(&token, &proof).await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    refused(first, "use_dpop_nonce", "requires a nonce").await;
    let proof = key.proof("POST", &app.url, Some(&token), Some("stale-nonce"));
    refused(
        app.dpop(&token, &proof).await,
        "use_dpop_nonce",
        "nonce is invalid",
    )
    .await;
    let proof = key.proof("POST", &app.url, Some(&token), Some(&nonce));
    assert_eq!(app.dpop(&token, &proof).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn step11_iat_window() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for iat in [now - 3600, now + 3600] {
        let proof = key
            .proof_builder("POST", &app.url)
            .access_token(&token)
            .issued_at(iat)
            .build();
        refused(app.dpop(&token, &proof).await, "invalid_dpop_proof", "iat").await;
    }
}

#[tokio::test]
async fn step12_ath_and_the_key_binding() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key.proof("POST", &app.url, None, None);
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "no ath",
    )
    .await;
    let proof = key.proof("POST", &app.url, Some("another-token"), None);
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "ath does not match",
    )
    .await;
    // A stolen token with the thief's own (valid) proof: the key binding fails.
    let thief = DpopKey::generate_es256();
    let proof = thief.proof("POST", &app.url, Some(&token), None);
    refused(
        app.dpop(&token, &proof).await,
        "invalid_token",
        "different key",
    )
    .await;
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key.proof("POST", &app.url, Some(&token), None);
    assert_eq!(app.dpop(&token, &proof).await.status(), StatusCode::OK);
    refused(
        app.dpop(&token, &proof).await,
        "invalid_dpop_proof",
        "used before",
    )
    .await;
}

/// The replay store never drops a live proof id to make room: with room for N ids, N + 100
/// fresh proofs from an attacker's own key (the first N - 1 served, the rest refused `503` with
/// `Retry-After`, naming the binding store) cannot push a victim's captured proof out, and its
/// replay is refused as a replay.
#[tokio::test]
async fn a_flood_of_fresh_proofs_cannot_push_a_captured_proof_out_of_the_replay_store() {
    const N: usize = 20;
    let (logs, _guard) = mcp_auth_tests::LogCapture::start();
    let app = App::start_with(false, |d| d.replay_capacity(N)).await;
    let victim = DpopKey::generate_es256();
    let victim_token = app.bound_token(&victim);
    let captured = victim.proof("POST", &app.url, Some(&victim_token), None);
    assert_eq!(
        app.dpop(&victim_token, &captured).await.status(),
        StatusCode::OK
    );

    let attacker = DpopKey::generate_es256();
    let attacker_token = app.bound_token(&attacker);
    let (mut served, mut full) = (0, 0);
    for _ in 0..N + 100 {
        let fresh = attacker.proof("POST", &app.url, Some(&attacker_token), None);
        let response = app.dpop(&attacker_token, &fresh).await;
        match response.status() {
            StatusCode::OK => served += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                full += 1;
                assert!(response.headers().contains_key("retry-after"));
                assert!(
                    !response.headers().contains_key("www-authenticate"),
                    "an outage, not a credential problem"
                );
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "temporarily_unavailable");
                let description = body["error_description"].as_str().unwrap();
                assert!(description.contains("binding store"), "{description}");
                assert!(
                    !description.contains("authorization server"),
                    "{description}"
                );
            }
            other => panic!("a fresh proof got {other}"),
        }
    }
    assert_eq!((served, full), (N - 1, 101));
    // The operator is told once (throttled), with the setting to raise.
    let warnings: Vec<String> = logs
        .text()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("binding store"))
        .map(str::to_owned)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("DpopOptions::replay_capacity"),
        "{warnings:?}"
    );

    refused(
        app.dpop(&victim_token, &captured).await,
        "invalid_dpop_proof",
        "used before",
    )
    .await;
}

#[tokio::test]
async fn a_dpop_bound_token_used_as_bearer_is_refused() {
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let proof = key.proof("POST", &app.url, Some(&token), None);
    for proofs in [vec![], vec![proof.as_str()]] {
        let response = app.send(&format!("Bearer {token}"), &proofs).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let all = challenges(&response);
        assert!(
            all[0].starts_with("Bearer error=\"invalid_token\""),
            "{all:?}"
        );
        assert!(all[0].contains("sender-constrained"), "{all:?}");
        assert!(all[1].starts_with("DPoP resource_metadata="), "{all:?}");
    }
}

#[tokio::test]
async fn a_bearer_token_with_a_proof_is_a_bearer_request() {
    // RFC 9449 §7.2: with the Bearer scheme the token is a bearer token; the proof is not
    // evaluated (nor consumed), so it neither helps nor hurts.
    let app = App::start(false, false).await;
    let key = DpopKey::generate_es256();
    let token = app.bearer_token();
    let proof = key.proof("POST", &app.url, Some(&token), None);
    let response = app.send(&format!("Bearer {token}"), &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "bearer");
    // With DPoP required, Bearer is refused whatever the proof.
    let strict = App::start(true, false).await;
    let token = strict.bearer_token();
    let proof = key.proof("POST", &strict.url, Some(&token), None);
    let response = strict.send(&format!("Bearer {token}"), &[&proof]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let all = challenges(&response);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].starts_with("DPoP error=\"invalid_token\""),
        "{all:?}"
    );
    // Bearer credentials that could not even be read are no Bearer request either: the answer
    // names the scheme to use, not the Bearer syntax. Two Authorization headers stay ambiguous.
    for malformed in ["Bearer", "Bearer a b", "Bearer a=b", "Bearer:abc"] {
        let response = strict.send(malformed, &[]).await;
        let all = challenges(&response);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{malformed}");
        assert_eq!(all.len(), 1, "{malformed}: {all:?}");
        assert!(
            all[0].starts_with("DPoP error=\"invalid_token\""),
            "{malformed}: {all:?}"
        );
    }
    let response = strict
        .http
        .post(&strict.url)
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        challenges(&response)[0].contains("invalid_request"),
        "{:?}",
        challenges(&response)
    );
    // An unbound token with the DPoP scheme: nothing to check the proof's key against.
    let app_token = app.bearer_token();
    let proof = key.proof("POST", &app.url, Some(&app_token), None);
    refused(
        app.dpop(&app_token, &proof).await,
        "invalid_token",
        "not DPoP-bound",
    )
    .await;
}

#[tokio::test]
async fn metadata_and_challenges_advertise_dpop() {
    let app = App::start(true, false).await;
    let response = app.http.post(&app.url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let all = challenges(&response);
    assert_eq!(all.len(), 1, "DPoP required: no Bearer challenge: {all:?}");
    assert!(all[0].contains("scope=\"read:notes\""), "{all:?}");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("DPoP-bound"),
        "{body}"
    );
    let metadata_url = app
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let doc: Value = app
        .http
        .get(metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
}

// ------------------------------------------------------------------ end to end, with rmcp

#[derive(Clone)]
struct NotesServer;

#[tool_scopes(StrictNotes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "The key the caller's token is bound to")]
    #[requires_scope("read:notes")]
    async fn whoami(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let auth = mcp_auth::rmcp::auth_info(&ctx)?;
        let jkt = auth.dpop_jkt().unwrap_or("none").to_owned();
        Ok(CallToolResult::success(vec![ContentBlock::text(jkt)]))
    }
}

#[tool_handler]
impl ServerHandler for NotesServer {}

const PROTOCOL_VERSION: &str = "2025-06-18";

/// A DPoP client: a key, a token bound to it, the resource's current nonce; a fresh proof for
/// every request, one retry on `use_dpop_nonce`.
struct Client {
    http: reqwest::Client,
    key: DpopKey,
    url: String,
    token: String,
    nonce: Option<String>,
    nonce_round_trips: usize,
}

impl Client {
    async fn post(&mut self, session: Option<&str>, body: Value) -> reqwest::Response {
        for _ in 0..2 {
            let proof = self
                .key
                .proof("POST", &self.url, Some(&self.token), self.nonce.as_deref());
            let mut request = self
                .http
                .post(&self.url)
                .header("authorization", format!("DPoP {}", self.token))
                .header("dpop", proof)
                .header("accept", "application/json, text/event-stream")
                .json(&body);
            if let Some(session) = session {
                request = request
                    .header("mcp-session-id", session)
                    .header("mcp-protocol-version", PROTOCOL_VERSION);
            }
            let response = request.send().await.unwrap();
            let wants_nonce = response.status() == StatusCode::UNAUTHORIZED
                && challenges(&response)
                    .iter()
                    .any(|c| c.starts_with("DPoP error=\"use_dpop_nonce\""));
            if !wants_nonce {
                return response;
            }
            self.nonce_round_trips += 1;
            self.nonce = Some(
                response.headers()["dpop-nonce"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        panic!("the resource asked for a nonce twice");
    }
}

#[tokio::test]
async fn end_to_end_a_dpop_client_gets_a_bound_token_and_calls_an_rmcp_tool() {
    let idp = AuthorizationServer::builder()
        .dpop_nonce(true)
        .start()
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    let url = format!("{origin}/mcp");
    let issuer = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let notes = StrictNotes::builder()
        .id(&url)
        .replace_authorization_servers([issuer])
        .resource(|r| r.dpop(|d| d.policy(DpopPolicy::Required).nonce(true)))
        .build()
        .await
        .unwrap();
    let service = StreamableHttpService::new(
        || Ok(NotesServer),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    );
    let app = Router::new()
        .nest_service("/mcp", service)
        .layer(notes.mcp_layer(NotesServer::tool_scopes()))
        .merge(notes.metadata_router());
    spawn(listener, app);

    // 1. The token request with a proof: the server wants its nonce first (RFC 9449 §8).
    let http = reqwest::Client::new();
    let key = DpopKey::generate_es256();
    let (id, secret) = idp.introspection_client();
    let mut nonce = None;
    let mut as_round_trips = 0;
    let tokens: Value = loop {
        let proof = key.proof("POST", &idp.token_endpoint(), None, nonce.as_deref());
        let response = http
            .post(idp.token_endpoint())
            .basic_auth(id, Some(secret))
            .header("dpop", proof)
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", url.as_str()),
                ("scope", "read:notes"),
            ])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::BAD_REQUEST && as_round_trips == 0 {
            as_round_trips += 1;
            nonce = Some(
                response.headers()["dpop-nonce"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "use_dpop_nonce");
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK);
        break response.json().await.unwrap();
    };
    assert_eq!(as_round_trips, 1);
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap().to_owned();

    // 2. MCP over the DPoP scheme, a fresh proof per request, the resource's own nonce.
    let mut client = Client {
        http,
        key: key.clone(),
        url: url.clone(),
        token,
        nonce: None,
        nonce_round_trips: 0,
    };
    let init = client
        .post(
            None,
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcp-auth-dpop-test", "version": "0"}
            }}),
        )
        .await;
    assert_eq!(init.status(), StatusCode::OK);
    assert_eq!(
        client.nonce_round_trips, 1,
        "one nonce round trip at the resource"
    );
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let ack = client
        .post(
            Some(&session),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;
    assert_eq!(ack.status(), StatusCode::ACCEPTED);
    let call = client
        .post(
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "whoami", "arguments": {}}}),
        )
        .await;
    assert_eq!(call.status(), StatusCode::OK);
    let result = rpc_result(call).await;
    assert_eq!(
        result["result"]["content"][0]["text"],
        key.thumbprint(),
        "{result}"
    );
    assert_eq!(client.nonce_round_trips, 1);

    // The same token without the key (a thief with its own key) gets nowhere.
    let mut thief = Client {
        key: DpopKey::generate_es256(),
        nonce_round_trips: 0,
        ..client
    };
    let stolen = thief
        .post(
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
    assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_token_proof_or_key_in_any_log_line() {
    let capture = mcp_auth_tests::LogCapture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let app = App::start(false, true).await;
    let key = DpopKey::generate_es256();
    let token = app.bound_token(&key);
    let first = app
        .dpop(&token, &key.proof("POST", &app.url, Some(&token), None))
        .await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let mut secrets = vec![token.clone(), nonce.clone(), key.thumbprint().to_owned()];
    let good = key.proof("POST", &app.url, Some(&token), Some(&nonce));
    let bad_sig = key
        .proof_builder("POST", &app.url)
        .access_token(&token)
        .claim("nonce", nonce.as_str())
        .corrupt_signature()
        .build();
    let other_uri = key.proof(
        "POST",
        "https://evil.example.com/mcp",
        Some(&token),
        Some(&nonce),
    );
    let mut statuses = Vec::new();
    for proof in [&good, &good, &bad_sig, &other_uri] {
        statuses.push(app.dpop(&token, proof).await.status().as_u16());
        secrets.push(proof.clone());
    }
    statuses.push(
        app.send(&format!("Bearer {token}"), &[&good])
            .await
            .status()
            .as_u16(),
    );
    assert_eq!(statuses, [200, 401, 401, 401, 401]);
    let logs = capture.text();
    assert!(
        logs.contains("dpop proof rejected"),
        "the decisions are logged"
    );
    assert!(logs.contains("token verified"), "successes are logged too");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
        for segment in secret.split('.').filter(|s| s.len() >= 16) {
            assert!(!logs.contains(segment), "a segment appears in the logs");
        }
    }
}

#[tokio::test]
async fn introspected_tokens_are_bound_by_the_introspection_cnf() {
    use mcp_auth::introspection::ClientAuth;
    use mcp_auth::{ProtectedResource, ResourceServer};
    let idp = AuthorizationServer::start().await.unwrap();
    let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    let url = format!("{origin}/mcp");
    let (client_id, secret) = idp.introspection_client();
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(&url)
                .authorization_server(config)
                .introspection(ClientAuth::basic(client_id, secret))
                .dpop(|d| d.policy(DpopPolicy::Accepted)),
        )
        .build()
        .unwrap();
    spawn(
        listener,
        Router::new()
            .route("/mcp", post(whoami))
            .layer(auth.bearer(&url)),
    );
    let app = App {
        idp,
        url,
        http: reqwest::Client::new(),
    };
    let key = DpopKey::generate_es256();
    let opaque = app
        .idp
        .opaque_token()
        .audience(&app.url)
        .dpop_jkt(key.thumbprint())
        .mint();
    let proof = key.proof("POST", &app.url, Some(&opaque), None);
    let ok = app.dpop(&opaque, &proof).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), key.thumbprint());
    // Another key's proof: the introspection response's cnf.jkt does not match.
    let thief = DpopKey::generate_es256();
    let proof = thief.proof("POST", &app.url, Some(&opaque), None);
    refused(
        app.dpop(&opaque, &proof).await,
        "invalid_token",
        "different key",
    )
    .await;
    // As Bearer: refused (cnf, token_type DPoP).
    let bearer = app.send(&format!("Bearer {opaque}"), &[]).await;
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
}

/// A Bearer-only resource (the default) refuses a DPoP-bound token presented as Bearer, the
/// first time (full verification) and every later time (when the verified-token cache knows
/// the token): the Bearer rule is applied to cache hits too.
#[tokio::test]
async fn a_bearer_only_resource_refuses_a_bound_token_even_from_its_cache() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let url = format!("{origin}/mcp");
    let issuer = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
        .await
        .unwrap();
    let server = mcp_auth::ResourceServer::builder()
        .resource(mcp_auth::ProtectedResource::new(&url).authorization_server(issuer))
        .build()
        .unwrap();
    let resource = server.resource(&url).expect("the resource just built");
    spawn(
        listener,
        Router::new()
            .route("/mcp", post(whoami))
            .layer(resource.layer()),
    );
    let key = DpopKey::generate_es256();
    let bound = idp
        .token()
        .audience(&url)
        .scopes(["read:notes"])
        .dpop_jkt(key.thumbprint())
        .mint();
    let http = reqwest::Client::new();
    for attempt in 0..3 {
        let response = http.post(&url).bearer_auth(&bound).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let plain = idp.token().audience(&url).scopes(["read:notes"]).mint();
    let response = http.post(&url).bearer_auth(&plain).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "an unbound token still passes"
    );
}
