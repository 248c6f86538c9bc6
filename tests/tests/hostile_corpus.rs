//! The hostile-input corpus (`tests/corpus/hostile.json`): raw HTTP requests sent over a real TCP
//! connection to the notes example server, each answer checked for its exact status, its
//! challenge `error` code (through the strict parser) and whether the MCP handler ran.
//!
//! Every mismatch is reported at once. A case with a `pending` field waits for a library fix
//! (named there): it is still sent, never fails the run, and is listed with what it got, so that
//! flipping it on after the fix lands is a matter of deleting the field.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse as _;
use base64::Engine as _;
use http::Request;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{NoteStore, Notes, NotesServer};
use mcp_auth_tests::{bind, challenge_parser, spawn};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::Service as _;

const CASE_HEADER: &str = "x-corpus-case";

#[derive(Debug, Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
struct Case {
    name: String,
    request: String,
    status: u16,
    error: Option<String>,
    handler_may_run: bool,
    #[serde(default)]
    token: Option<TokenSpec>,
    #[serde(default)]
    half_close: bool,
    #[serde(default)]
    pending: Option<String>,
    /// A change of the dev server before the case (`jwks_down`, `rotate_then_jwks_down`,
    /// `jwks_up`): such cases run last, one at a time, in file order.
    #[serde(default)]
    setup: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct TokenSpec {
    #[serde(default)]
    header: Map<String, Value>,
    #[serde(default)]
    remove_header: Vec<String>,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    sign: Option<String>,
}

struct World {
    idp: AuthorizationServer,
    addr: String,
    id: String,
    ran: Arc<Mutex<HashSet<String>>>,
}

impl World {
    async fn start() -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let id = format!("{origin}/mcp");
        let notes = Notes::builder()
            .id(&id)
            .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
                .await
                .unwrap()])
            // A short JWKS cooldown, so that the outage cases (run right after the others)
            // make the verifier fetch instead of waiting out the default 10 s.
            .resource(|r| r.jwks(|o| o.cooldown(Duration::from_millis(100))))
            .build()
            .await
            .unwrap();
        // As `notes_server::app`, with a spy between the layer and the MCP service.
        let store = NoteStore::default();
        let tasks = rmcp::task_manager::TaskManager::new();
        let mcp = StreamableHttpService::new(
            move || Ok(NotesServer::new(store.clone(), tasks.clone())),
            Arc::new(NeverSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true)
                .with_allowed_hosts(notes.allowed_hosts().to_vec()),
        );
        let ran: Arc<Mutex<HashSet<String>>> = Arc::default();
        let seen = Arc::clone(&ran);
        let spy = tower::service_fn(move |request: Request<Body>| {
            if let Some(case) = request.headers().get(CASE_HEADER) {
                seen.lock()
                    .unwrap()
                    .insert(String::from_utf8_lossy(case.as_bytes()).into_owned());
            }
            let mut mcp = mcp.clone();
            async move { Ok::<_, std::convert::Infallible>(mcp.call(request).await?.into_response()) }
        });
        spawn(listener, notes.mcp_router(spy, NotesServer::tool_scopes()));
        Self {
            idp,
            addr: origin.trim_start_matches("http://").to_owned(),
            id,
            ran,
        }
    }

    fn named_token(&self, name: &str) -> String {
        let base = self
            .idp
            .token()
            .audience(&self.id)
            .scopes(["read:notes", "write:notes"]);
        match name {
            "valid" => base.mint(),
            "expired" => base.expired().mint(),
            "foreign_aud" => base.audience("https://other.example/mcp").mint(),
            "forged" => base.sign_with_foreign_key().mint(),
            "no_scope" => base.remove_claim("scope").mint(),
            other => panic!("unknown token placeholder {other}"),
        }
    }

    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// `"{now+300}"` → a number; `{aud}`, `{iss}`, `{host}`, `{port}` inside strings.
    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with("{now") && s.ends_with('}') => {
                let expr = &s[4..s.len() - 1];
                let now = self.now() as f64;
                let n = if expr.is_empty() {
                    now
                } else {
                    now + expr.parse::<f64>().expect("{now±N}")
                };
                if n.fract() == 0.0 {
                    Value::from(n as i64)
                } else {
                    Value::from(n)
                }
            }
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            other => other.clone(),
        }
    }

    fn text(&self, s: &str) -> String {
        let port = self.addr.rsplit(':').next().unwrap();
        let upper_iss = self
            .idp
            .issuer()
            .replace("http://127.0.0.1", "HTTP://127.0.0.1");
        s.replace("{aud}", &self.id)
            .replace("{iss_upper}", &upper_iss)
            .replace("{iss}", self.idp.issuer())
            .replace("{host}", &self.addr)
            .replace("{port}", port)
    }

    fn spec_token(&self, spec: &TokenSpec) -> String {
        let mut b = self
            .idp
            .token()
            .audience(&self.id)
            .scopes(["read:notes", "write:notes"]);
        for (n, v) in &spec.claims {
            b = b.claim(n.clone(), self.value(v));
        }
        for n in &spec.remove {
            b = b.remove_claim(n);
        }
        for n in &spec.remove_header {
            match n.as_str() {
                "typ" => b = b.typ(None),
                "kid" => b = b.kid(None),
                _ => {}
            }
        }
        for (n, v) in &spec.header {
            b = b.header(n.clone(), self.value(v));
        }
        b = match spec.sign.as_deref() {
            None | Some("key") | Some("strip") | Some("bitflip") => b,
            Some("none") => b.unsigned(),
            Some("foreign") => b.sign_with_foreign_key(),
            Some("hs256_pubkey") => b.sign_with_hs256(&self.idp.rsa_public_key_der()),
            Some("hs256_secret") => b.sign_with_hs256(b"secret"),
            Some(other) => panic!("unknown sign {other}"),
        };
        let mut token = b.mint();
        let other_header: Vec<&String> = spec
            .remove_header
            .iter()
            .filter(|n| *n != "typ" && *n != "kid")
            .collect();
        if !other_header.is_empty() {
            // Members the builder always writes (alg): edit the header segment; the signature
            // no longer matches, which the verifier must notice anyway.
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let (head, rest) = token.split_once('.').unwrap();
            let mut h: Map<String, Value> =
                serde_json::from_slice(&b64.decode(head).unwrap()).unwrap();
            for n in other_header {
                h.remove(n);
            }
            token = format!("{}.{rest}", b64.encode(serde_json::to_vec(&h).unwrap()));
        }
        match spec.sign.as_deref() {
            Some("strip") => {
                let cut = token.rfind('.').unwrap();
                token.truncate(cut + 1);
            }
            Some("bitflip") => {
                let last = token.pop().unwrap();
                token.push(if last == 'A' { 'B' } else { 'A' });
            }
            _ => {}
        }
        token
    }

    /// The raw bytes of a case: placeholders substituted, `{len}` last, the spy header added.
    fn raw(&self, index: usize, case: &Case) -> Vec<u8> {
        let mut s = case.request.clone();
        for name in ["valid", "expired", "foreign_aud", "forged", "no_scope"] {
            let p = format!("{{token:{name}}}");
            if s.contains(&p) {
                s = s.replace(&p, &self.named_token(name));
            }
        }
        if s.contains("{token}") {
            let spec = case.token.clone().unwrap_or_default();
            s = s.replace("{token}", &self.spec_token(&spec));
        }
        s = s.replace("{origin}", &format!("http://{}", self.addr));
        s = self.text(&s);
        while let Some(start) = s.find("{pad:").or_else(|| s.find("{deep:")) {
            let end = start + s[start..].find('}').unwrap();
            let (kind, n) = s[start + 1..end].split_once(':').unwrap();
            let n: usize = n.parse().unwrap();
            let with = if kind == "pad" {
                "a".repeat(n)
            } else {
                format!("{}{}", "[".repeat(n), "]".repeat(n))
            };
            s.replace_range(start..=end, &with);
        }
        let eol = if s.contains("\r\n") { "\r\n" } else { "\n" };
        let blank = format!("{eol}{eol}");
        if s.contains("{len}") {
            let body_len = s.find(&blank).map_or(0, |i| s.len() - i - blank.len());
            s = s.replace("{len}", &body_len.to_string());
        }
        if let Some(first_eol) = s.find(eol) {
            s.insert_str(
                first_eol + eol.len(),
                &format!("{CASE_HEADER}: {index}{eol}"),
            );
        }
        s.into_bytes()
    }
}

#[derive(Debug, Default)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    /// The start of the body, shown with a mismatch.
    body: String,
}

impl Answer {
    fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

async fn send(addr: &str, raw: &[u8], half_close: bool) -> Result<Answer, String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    // A write error (the server answered early and closed) still leaves the answer to read.
    let _ = stream.write_all(raw).await;
    if half_close {
        let _ = stream.shutdown().await;
    }
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let read = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > 16 << 20 {
                        break;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {:?}", &text[..text.len().min(200)]))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.chars().take(160).collect())
        .unwrap_or_default();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// What is wrong with `answer` for `case` (empty when nothing).
fn check(case: &Case, answer: &Result<Answer, String>, ran: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return vec![format!("no answer: {e}")],
    };
    if answer.status != case.status {
        problems.push(format!(
            "status {} (want {}; body {:?})",
            answer.status, case.status, answer.body
        ));
    }
    if answer.status >= 500 && answer.status != 503 {
        problems.push(format!("server error {}", answer.status));
    }
    if ran && !case.handler_may_run {
        problems.push("the MCP handler ran".to_owned());
    }
    let challenges = answer.header_all("www-authenticate");
    let code = match challenges.as_slice() {
        [] => None,
        [one] => match challenge_parser::check_bearer(one) {
            Ok(c) => c.param("error").map(str::to_owned),
            Err(e) => {
                problems.push(format!("challenge {one:?}: {e}"));
                None
            }
        },
        many => {
            problems.push(format!("{} WWW-Authenticate lines", many.len()));
            None
        }
    };
    if code != case.error {
        problems.push(format!("challenge error {code:?} (want {:?})", case.error));
    }
    if answer.status == 503 && answer.header_all("retry-after").is_empty() {
        problems.push("503 without Retry-After".to_owned());
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/hostile.json"))
        .unwrap();
    let corpus: Corpus = serde_json::from_str(&text).unwrap();
    let names: HashSet<&str> = corpus.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), corpus.cases.len(), "case names are unique");
    assert!(corpus.cases.len() >= 150, "at least 150 cases");

    let world = Arc::new(World::start().await);
    let mut tasks = tokio::task::JoinSet::new();
    let started = std::time::Instant::now();
    let mut results: Vec<Option<(Case, Result<Answer, String>)>> = Vec::new();
    results.resize_with(corpus.cases.len(), || None);
    for (i, case) in corpus.cases.iter().cloned().enumerate() {
        if case.setup.is_some() {
            continue;
        }
        let world = Arc::clone(&world);
        tasks.spawn(async move {
            let raw = world.raw(i, &case);
            let answer = send(&world.addr, &raw, case.half_close).await;
            (i, case, answer)
        });
        if tasks.len() >= 16
            && let Some(done) = tasks.join_next().await
        {
            let (i, case, answer) = done.unwrap();
            results[i] = Some((case, answer));
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (i, case, answer) = done.unwrap();
        results[i] = Some((case, answer));
    }
    let jwks_path = url::Url::parse(&world.idp.jwks_uri())
        .unwrap()
        .path()
        .to_owned();
    for (i, case) in corpus.cases.iter().cloned().enumerate() {
        let Some(setup) = case.setup.as_deref() else {
            continue;
        };
        match setup {
            "jwks_down" => world
                .idp
                .set_fault(&jwks_path, mcp_auth_dev::Fault::Status(503)),
            "rotate_then_jwks_down" => {
                world.idp.rotate_keys();
                world
                    .idp
                    .set_fault(&jwks_path, mcp_auth_dev::Fault::Status(503));
            }
            "jwks_up" => world.idp.clear_faults(),
            other => panic!("unknown setup {other}"),
        }
        // Past the cooldown of the previous fetch attempt.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let raw = world.raw(i, &case);
        let answer = send(&world.addr, &raw, case.half_close).await;
        results[i] = Some((case, answer));
    }
    world.idp.clear_faults();
    let ran = world.ran.lock().unwrap().clone();
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for (i, slot) in results.into_iter().enumerate() {
        let (case, answer) = slot.unwrap();
        let problems = check(&case, &answer, ran.contains(&i.to_string()));
        let got = match &answer {
            Ok(a) => a.status.to_string(),
            Err(e) => e.clone(),
        };
        match (&case.pending, problems.is_empty()) {
            (Some(fix), true) => pending.push(format!(
                "  {} [{fix}]: PASSES NOW (got {got}): remove `pending`",
                case.name
            )),
            (Some(fix), false) => pending.push(format!(
                "  {} [{fix}]: still {}",
                case.name,
                problems.join("; ")
            )),
            (None, false) => failures.push(format!("  {}: {}", case.name, problems.join("; "))),
            (None, true) => {}
        }
    }
    eprintln!(
        "hostile corpus: {} cases in {:.1?}, {} pending, {} failing",
        corpus.cases.len(),
        started.elapsed(),
        pending.len(),
        failures.len()
    );
    if !pending.is_empty() {
        eprintln!("pending (skipped):\n{}", pending.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        corpus.cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Two JWKS behaviours a raw request cannot show: where the keys come from after a redirect,
// and what an aborted request does to a running refresh.

/// Checks that wait for a library fix, by test name. A listed check that fails is printed, not
/// failed; one that passes says so (then remove it from the list).
const PENDING_CHECKS: &[(&str, &str)] = &[];

fn verdict(name: &str, ok: bool, detail: &str) {
    match PENDING_CHECKS.iter().find(|(n, _)| *n == name) {
        Some((_, fix)) if !ok => eprintln!("PENDING {name} [{fix}]: still failing: {detail}"),
        Some((_, fix)) => {
            eprintln!(
                "PENDING {name} [{fix}]: PASSES NOW ({detail}): remove it from PENDING_CHECKS"
            )
        }
        None => assert!(ok, "{name}: {detail}"),
    }
}

const R: &str = "https://mcp.example.com/mcp";

#[tokio::test]
async fn cross_origin_jwks_redirect_is_refused() {
    let idp = AuthorizationServer::start().await.unwrap();
    // Another origin (another port) that redirects to the real JWKS.
    let (listener, origin) = bind().await;
    let target = idp.jwks_uri();
    spawn(
        listener,
        axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let target = target.clone();
                async move { axum::response::Redirect::temporary(&target) }
            }),
        ),
    );
    let verifier = mcp_auth::verify::JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), format!("{origin}/jwks.json"))
        .build()
        .unwrap();
    let token = idp.token().audience(R).mint();
    let result = mcp_auth::verify::TokenVerifier::verify(&verifier, &token).await;
    verdict(
        "cross_origin_jwks_redirect_is_refused",
        result.is_err(),
        &format!(
            "a token verified with keys fetched through a redirect to {}",
            idp.origin()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_requests_keep_one_jwks_refresh() {
    let idp = AuthorizationServer::start().await.unwrap();
    let verifier = mcp_auth::verify::JwtVerifier::builder()
        .resource(R)
        .issuer(idp.issuer(), idp.jwks_uri())
        .jwks_options(mcp_auth::verify::JwksOptions::default().cooldown(Duration::from_millis(50)))
        .build()
        .unwrap();
    verifier.preload_keys().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // New keys, and a JWKS that takes 1.5 s: each request below needs the new kid and gives
    // up after 100 ms.
    idp.rotate_keys();
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();
    idp.set_fault(
        &jwks_path,
        mcp_auth_dev::Fault::Delay(Duration::from_millis(1500)),
    );
    let before = idp.requests(&jwks_path);
    for _ in 0..5 {
        let token = idp.token().audience(R).mint();
        let _ = tokio::time::timeout(
            Duration::from_millis(100),
            mcp_auth::verify::TokenVerifier::verify(&verifier, &token),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let fetches = idp.requests(&jwks_path) - before;
    idp.clear_faults();
    verdict(
        "aborted_requests_keep_one_jwks_refresh",
        fetches <= 1,
        &format!("{fetches} JWKS fetches started for 5 aborted requests (want at most 1)"),
    );
}
