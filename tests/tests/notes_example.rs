//! The notes example as a user runs it (`cargo run --example notes`), with DPoP switched on
//! from its environment: a DPoP client finds the development server from the example's own
//! challenge, signs in (registration, PKCE, the code at the token endpoint with a proof), gets a
//! token bound to its key and calls a tool; the same token as a Bearer token is refused.
//!
//! The example binds its fixed ports (3000 to 3003), so the scenarios here run one at a time,
//! and another `cargo run --example notes` must not be running.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_dev::DpopKey;
use mcp_auth_examples::notes_server::DEV_USER;
use mcp_auth_tests::challenge_parser::parse;
use mcp_auth_tests::rpc_result;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;
use std::process::{Child, Command};
use tokio::sync::Mutex;

const MCP_URL: &str = "http://127.0.0.1:3000/mcp";
const CALLBACK: &str = "http://127.0.0.1:6274/oauth/callback";

/// One example at a time: its ports are fixed.
static PORTS: Mutex<()> = Mutex::const_new(());

/// The example's binary, built by `cargo` as `cargo run --example notes` would build it.
fn notes_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--workspace", "--example", "notes"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --example notes failed");
    // target/debug/deps/notes_example-HASH -> target/debug/examples/notes
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(format!("notes{}", std::env::consts::EXE_SUFFIX));
    path
}

/// The running example; killed when dropped, even by a failed assertion, and waited for, so
/// that its ports are free for the next scenario.
struct Example {
    child: Child,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Example {
    async fn start(env: &[(&str, &str)]) -> Self {
        // A leftover example would answer in place of this one.
        for port in 3000..=3003 {
            if let Err(error) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                panic!(
                    "port {port} is taken ({error}): stop any running `cargo run --example notes`"
                );
            }
        }
        let mut command = Command::new(notes_binary());
        command
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut example = Self {
            child: command.spawn().expect("the notes example starts"),
        };
        let http = reqwest::Client::new();
        let metadata = "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp";
        for _ in 0..300 {
            if let Some(status) = example.child.try_wait().unwrap() {
                panic!("the notes example exited with {status} (are its ports 3000-3003 free?)");
            }
            if let Ok(response) = http.get(metadata).send().await
                && response.status() == StatusCode::OK
            {
                return example;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the notes example did not serve {metadata} within 30 s");
    }
}

/// A client that follows no redirects (the authorization endpoint answers with one).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What the MCP client learns from the resource's `401` and the two metadata documents.
struct Discovered {
    registration_endpoint: String,
    authorization_endpoint: String,
    token_endpoint: String,
    dpop_algs: Vec<String>,
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.json().await.unwrap()
}

async fn discover(http: &reqwest::Client) -> Discovered {
    let unauthenticated = http
        .post(MCP_URL)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let header = unauthenticated.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let challenges = parse(&header).unwrap();
    let metadata_url = challenges
        .iter()
        .find_map(|c| c.param("resource_metadata"))
        .expect("the 401 names the metadata document")
        .to_owned();
    let resource = get_json(http, &metadata_url).await;
    assert_eq!(resource["resource"], MCP_URL);
    let issuer = resource["authorization_servers"][0].as_str().unwrap();
    let server = get_json(
        http,
        &format!("{issuer}/.well-known/oauth-authorization-server"),
    )
    .await;
    let text = |name: &str| server[name].as_str().unwrap().to_owned();
    Discovered {
        registration_endpoint: text("registration_endpoint"),
        authorization_endpoint: text("authorization_endpoint"),
        token_endpoint: text("token_endpoint"),
        dpop_algs: serde_json::from_value(server["dpop_signing_alg_values_supported"].clone())
            .unwrap(),
    }
}

/// Registration, the authorization request (the development server approves at once) and the
/// code at the token endpoint, with a proof of `key` when given (answering one nonce challenge
/// if asked): the token response and the token endpoint's nonce round trips.
async fn sign_in(
    http: &reqwest::Client,
    found: &Discovered,
    key: Option<&DpopKey>,
) -> (Value, usize) {
    let registered: Value = http
        .post(&found.registration_endpoint)
        .json(&json!({
            "redirect_uris": [CALLBACK],
            "client_name": "mcp-auth DPoP test client",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = registered["client_id"].as_str().unwrap();

    // A verifier no other sign-in shares: the digest of a fresh key's thumbprint.
    let fresh = DpopKey::generate_es256();
    let verifier = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(fresh.thumbprint().as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = url::Url::parse_with_params(
        &found.authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "read:notes"),
            ("state", "notes-example-test"),
            ("resource", MCP_URL),
        ],
    )
    .unwrap();
    let redirect = http.get(authorize).send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("the redirect carries a code");

    let mut nonce: Option<String> = None;
    for round_trips in 0..2 {
        let mut request = http.post(&found.token_endpoint);
        if let Some(key) = key {
            request = request.header(
                "dpop",
                key.proof("POST", &found.token_endpoint, None, nonce.as_deref()),
            );
        }
        let response = request
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
                ("client_id", client_id),
                ("resource", MCP_URL),
            ])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::BAD_REQUEST && key.is_some() && nonce.is_none() {
            let fresh = response.headers().get("dpop-nonce").cloned();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "use_dpop_nonce", "{body}");
            nonce = Some(fresh.unwrap().to_str().unwrap().to_owned());
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK);
        return (response.json().await.unwrap(), round_trips);
    }
    panic!("the token endpoint asked for a nonce twice");
}

/// A `tools/call` of `whoami` with `authorization`, and a proof of `key` when given, answering
/// one `use_dpop_nonce` challenge of the resource; the response and the nonce round trips.
async fn whoami(
    http: &reqwest::Client,
    authorization: &str,
    proof_of: Option<(&DpopKey, &str)>,
) -> (reqwest::Response, usize) {
    let mut nonce: Option<String> = None;
    for round_trips in 0..2 {
        let mut request = http
            .post(MCP_URL)
            .header("authorization", authorization)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "whoami", "arguments": {}}}));
        if let Some((key, token)) = proof_of {
            request = request.header(
                "dpop",
                key.proof("POST", MCP_URL, Some(token), nonce.as_deref()),
            );
        }
        let response = request.send().await.unwrap();
        let fresh = response.headers().get("dpop-nonce").cloned();
        match fresh {
            Some(fresh)
                if response.status() == StatusCode::UNAUTHORIZED
                    && proof_of.is_some()
                    && nonce.is_none() =>
            {
                nonce = Some(fresh.to_str().unwrap().to_owned());
            }
            _ => return (response, round_trips),
        }
    }
    panic!("the resource asked for a nonce twice");
}

/// The `cnf.jkt` of a JWT access token (its payload, read without verifying: the resource
/// verifies it).
fn bound_key(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["cnf"]["jkt"].clone()
}

/// The `error` of the challenge of `scheme` in a refusal.
fn challenge_error(response: &reqwest::Response, scheme: &str) -> Option<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .flat_map(|value| parse(value.to_str().unwrap()).unwrap())
        .find(|c| c.scheme.eq_ignore_ascii_case(scheme))
        .and_then(|c| c.param("error").map(str::to_owned))
}

/// What the DPoP scenario saw.
struct DpopRun {
    /// Nonce round trips at the development server's token endpoint.
    token_endpoint_nonces: usize,
    /// Nonce round trips at the resource.
    resource_nonces: usize,
    /// The answer to the bound token sent as a Bearer token.
    as_bearer: reqwest::Response,
}

/// The DPoP scenario against the running example: a bound token, a tool called with it, and
/// the same token refused as a Bearer token.
async fn dpop_client_scenario(http: &reqwest::Client, found: &Discovered) -> DpopRun {
    assert!(found.dpop_algs.iter().any(|alg| alg == "ES256"));
    let key = DpopKey::generate_es256();
    let (tokens, token_endpoint_nonces) = sign_in(http, found, Some(&key)).await;
    assert_eq!(tokens["token_type"], "DPoP", "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        bound_key(token),
        key.thumbprint(),
        "bound to the client's key"
    );

    let (called, resource_nonces) =
        whoami(http, &format!("DPoP {token}"), Some((&key, token))).await;
    assert_eq!(called.status(), StatusCode::OK);
    let result = rpc_result(called).await;
    assert_eq!(
        result["result"]["structuredContent"]["subject"], DEV_USER,
        "{result}"
    );

    let (as_bearer, _) = whoami(http, &format!("Bearer {token}"), None).await;
    assert_eq!(as_bearer.status(), StatusCode::UNAUTHORIZED);
    DpopRun {
        token_endpoint_nonces,
        resource_nonces,
        as_bearer,
    }
}

/// A client without DPoP: its token is a Bearer token; the status of its `whoami`.
async fn bearer_client_status(http: &reqwest::Client, found: &Discovered) -> StatusCode {
    let (tokens, _) = sign_in(http, found, None).await;
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(bound_key(token), Value::Null);
    whoami(http, &format!("Bearer {token}"), None)
        .await
        .0
        .status()
}

#[tokio::test]
async fn with_notes_dpop_accepted_a_dpop_client_calls_a_tool_and_its_token_is_no_bearer_token() {
    let _ports = PORTS.lock().await;
    let _example = Example::start(&[("NOTES_DPOP", "accepted")]).await;
    let http = http();
    let found = discover(&http).await;
    let run = dpop_client_scenario(&http, &found).await;
    assert_eq!(
        (run.token_endpoint_nonces, run.resource_nonces),
        (0, 0),
        "no nonce without NOTES_DPOP_NONCE"
    );
    assert_eq!(
        challenge_error(&run.as_bearer, "Bearer").as_deref(),
        Some("invalid_token")
    );
    // `accepted`: clients without DPoP keep working.
    assert_eq!(bearer_client_status(&http, &found).await, StatusCode::OK);
}

#[tokio::test]
async fn with_notes_dpop_required_and_nonces_each_side_asks_for_its_nonce_once() {
    let _ports = PORTS.lock().await;
    let _example = Example::start(&[("NOTES_DPOP", "required"), ("NOTES_DPOP_NONCE", "1")]).await;
    let http = http();
    let found = discover(&http).await;
    let run = dpop_client_scenario(&http, &found).await;
    assert_eq!(
        (run.token_endpoint_nonces, run.resource_nonces),
        (1, 1),
        "one nonce round trip at the token endpoint and one at the resource"
    );
    assert_eq!(
        challenge_error(&run.as_bearer, "DPoP").as_deref(),
        Some("invalid_token"),
        "`required` answers only with the DPoP scheme"
    );
    assert_eq!(challenge_error(&run.as_bearer, "Bearer"), None);
    // `required`: a Bearer token is refused.
    assert_eq!(
        bearer_client_status(&http, &found).await,
        StatusCode::UNAUTHORIZED
    );
}
