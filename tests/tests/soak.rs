//! A bounded soak of the notes example server: 32 concurrent clients send valid, expired,
//! foreign-audience, forged and scope-short requests while the dev authorization server rotates
//! its keys every few seconds and its JWKS endpoint fails some of the time.
//!
//! Runs `MCP_AUTH_SOAK_SECS` seconds (default 60). Every answer is checked against the token it
//! was sent with; 5xx other than 503 fail; 503 is accepted only while the JWKS fault is (or was
//! just) on. Resident memory is sampled (start, peak, end), logs are scanned as they are written
//! for any token segment, and the request count and p50/p99 latency are printed.
//!
//! A request whose key must be fetched while the JWKS is down gets `503` + `Retry-After`, never
//! `401`: clients are not sent into re-authorization by an outage.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::{AuthorizationServer, Fault};
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::{LogCapture, bind, spawn};
use serde_json::json;

const CLIENTS: usize = 32;
const ROTATE_EVERY: Duration = Duration::from_secs(3);
/// The JWKS fault is on for `FAULT_ON` out of every `FAULT_PERIOD`.
const FAULT_PERIOD: Duration = Duration::from_secs(7);
const FAULT_ON: Duration = Duration::from_millis(1500);
const COOLDOWN: Duration = Duration::from_secs(1);
/// How long after a fault window an answer may still show it (cooldown, in-flight requests).
const FAULT_SLACK: Duration = Duration::from_millis(2500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Valid,
    Expired,
    ForeignAudience,
    Forged,
    ScopeShort,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Valid,
        Kind::Expired,
        Kind::ForeignAudience,
        Kind::Forged,
        Kind::ScopeShort,
    ];

    fn expected(self) -> u16 {
        match self {
            Kind::Valid => 200,
            Kind::ScopeShort => 403,
            _ => 401,
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// When the JWKS fault was last on: milliseconds since the start, `u64::MAX` while on.
struct FaultClock {
    start: Instant,
    on: AtomicBool,
    last_off_ms: AtomicU64,
    ever: AtomicBool,
    /// When the keys were last rotated, in milliseconds since the start.
    last_rotation_ms: AtomicU64,
}

impl FaultClock {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Whether the keys were rotated less than a cooldown (plus slack) before `sent_ms`. The dev
    /// server signs with a new key the moment it rotates, unlike real providers, which publish
    /// keys before they use them: a token signed with the new key within a cooldown of our last
    /// successful fetch names a kid absent from a set we did fetch, which is `401` by the rule.
    ///
    /// `rotated` is the rotation time read when the request was sent: a later rotation (one
    /// that happened while a slow answer was in flight) says nothing about this request.
    fn rotated_just_before(rotated: u64, sent_ms: u64) -> bool {
        rotated <= sent_ms && sent_ms <= rotated + (COOLDOWN + FAULT_SLACK).as_millis() as u64
    }

    /// Whether the fault was on at some point in `[sent - slack, now]`.
    fn recently_on(&self, sent_ms: u64) -> bool {
        if self.on.load(Ordering::SeqCst) {
            return true;
        }
        self.ever.load(Ordering::SeqCst)
            && self.last_off_ms.load(Ordering::SeqCst) + FAULT_SLACK.as_millis() as u64 >= sent_ms
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    wrong: Vec<String>,
    outage_503: u64,
    /// Valid tokens signed with a key younger than one cooldown (see `rotated_just_before`).
    rotation_race_401: u64,
    latencies_us: Vec<u32>,
}

/// Hashes of every token segment sent (payloads and signatures), to look for in the logs.
#[derive(Default)]
struct Secrets(Mutex<HashSet<u64>>, std::collections::hash_map::RandomState);

impl Secrets {
    fn hash(&self, s: &str) -> u64 {
        let mut h = self.1.build_hasher();
        h.write(s.as_bytes());
        h.finish()
    }

    fn add(&self, token: &str) {
        let mut set = self.0.lock().unwrap();
        for segment in token.split('.').skip(1) {
            if segment.len() >= 32 {
                set.insert(self.hash(segment));
            }
        }
    }

    /// Lines of `text` holding a base64url run equal to a sent payload or signature.
    fn leaks(&self, text: &str) -> Vec<String> {
        let set = self.0.lock().unwrap();
        let mut out = Vec::new();
        for line in text.lines() {
            let hit = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|run| run.len() >= 32)
                .any(|run| set.contains(&self.hash(run)));
            if hit {
                out.push(line.chars().take(300).collect());
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    let secs: u64 = std::env::var("MCP_AUTH_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    // Every event of mcp-auth, rmcp and the dev server (the HTTP stack's own trace is left
    // out: it is large and never sees a parsed token), into a buffer scanned as it fills.
    let capture = LogCapture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,hyper=info,hyper_util=info,h2=info,reqwest=info,rustls=info,tower=info",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global (this binary holds one test): every worker thread's events are captured.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let idp = Arc::new(AuthorizationServer::start().await.unwrap());
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let notes = Notes::builder()
        .id(&id)
        .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap()])
        .resource(|r| r.jwks(|o| o.cooldown(COOLDOWN)))
        .build()
        .await
        .unwrap();
    spawn(listener, app(&notes));
    let jwks_path = url::Url::parse(&idp.jwks_uri()).unwrap().path().to_owned();

    let http = reqwest::Client::new();
    let secrets = Arc::new(Secrets::default());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let faults = Arc::new(FaultClock {
        start: Instant::now(),
        on: AtomicBool::new(false),
        last_off_ms: AtomicU64::new(0),
        ever: AtomicBool::new(false),
        last_rotation_ms: AtomicU64::new(0),
    });
    let deadline = Instant::now() + Duration::from_secs(secs);

    // Warm up (first JWKS fetch, connection pool), then take the starting RSS.
    let warm = idp.token().audience(&id).scopes(["read:notes"]).mint();
    let _ = http
        .post(&id)
        .bearer_auth(&warm)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    let rss_start = rss_kib();
    let rss_peak = Arc::new(AtomicU64::new(rss_start));

    let mut clients = tokio::task::JoinSet::new();
    for n in 0..CLIENTS {
        let (idp, http, id) = (Arc::clone(&idp), http.clone(), id.clone());
        let (secrets, tally, faults) = (
            Arc::clone(&secrets),
            Arc::clone(&tally),
            Arc::clone(&faults),
        );
        clients.spawn(async move {
            let mut i = n;
            while Instant::now() < deadline {
                let kind = Kind::ALL[i % Kind::ALL.len()];
                i += 1;
                let base = idp.token().audience(&id);
                let (token, tool) = match kind {
                    Kind::Valid => (base.scopes(["read:notes", "write:notes"]).mint(), "list_notes"),
                    Kind::Expired => (base.scopes(["read:notes"]).expired().mint(), "list_notes"),
                    Kind::ForeignAudience => (
                        base.audience("https://other.example/mcp")
                            .scopes(["read:notes"])
                            .mint(),
                        "list_notes",
                    ),
                    Kind::Forged => (
                        base.scopes(["read:notes"]).sign_with_foreign_key().mint(),
                        "list_notes",
                    ),
                    Kind::ScopeShort => (base.scopes(["read:notes"]).mint(), "create_note"),
                };
                secrets.add(&token);
                let sent_ms = faults.now_ms();
                let rotated_ms = faults.last_rotation_ms.load(Ordering::SeqCst);
                let started = Instant::now();
                let response = http
                    .post(&id)
                    .bearer_auth(&token)
                    .header("accept", "application/json, text/event-stream")
                    .json(&json!({
                        "jsonrpc": "2.0", "id": i, "method": "tools/call",
                        "params": {"name": tool, "arguments": {"text": "soak"}},
                    }))
                    .send()
                    .await;
                let elapsed = started.elapsed();
                let (status, retry_after) = match &response {
                    Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
                    Err(_) => (0, false),
                };
                if let Ok(r) = response {
                    let _ = r.bytes().await;
                }
                let recent = faults.recently_on(sent_ms);
                let mut t = tally.lock().unwrap();
                t.requests += 1;
                t.latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                let want = kind.expected();
                if status == want {
                    continue;
                }
                if status == 503 && recent && retry_after {
                    t.outage_503 += 1;
                } else if status == 401
                    && matches!(kind, Kind::Valid | Kind::ScopeShort)
                    && FaultClock::rotated_just_before(rotated_ms, sent_ms)
                {
                    t.rotation_race_401 += 1;
                } else if t.wrong.len() < 50 {
                    t.wrong.push(format!(
                        "{kind:?}: got {status} (want {want}), fault recently on: {recent}, at {sent_ms} ms"
                    ));
                } else {
                    t.wrong.push(String::new());
                }
            }
        });
    }

    // The conductor: key rotation, the JWKS fault, RSS samples and the log scan.
    let mut leaks: Vec<String> = Vec::new();
    let mut lines_scanned = 0usize;
    let mut last_rotation = Instant::now();
    let mut rotations = 0u32;
    let mut fault_windows = 0u32;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if last_rotation.elapsed() >= ROTATE_EVERY {
            idp.rotate_keys();
            faults
                .last_rotation_ms
                .store(faults.now_ms(), Ordering::SeqCst);
            rotations += 1;
            last_rotation = Instant::now();
        }
        let phase = faults.start.elapsed().as_millis() % FAULT_PERIOD.as_millis();
        let should_be_on = phase >= 3000 && phase < 3000 + FAULT_ON.as_millis();
        let is_on = faults.on.load(Ordering::SeqCst);
        if should_be_on && !is_on {
            idp.set_fault(&jwks_path, Fault::Status(503));
            faults.ever.store(true, Ordering::SeqCst);
            faults.on.store(true, Ordering::SeqCst);
            fault_windows += 1;
        } else if !should_be_on && is_on {
            idp.clear_faults();
            faults.on.store(false, Ordering::SeqCst);
            faults.last_off_ms.store(faults.now_ms(), Ordering::SeqCst);
        }
        rss_peak.fetch_max(rss_kib(), Ordering::Relaxed);
        let text = capture.take();
        lines_scanned += text.lines().count();
        if leaks.len() < 10 {
            leaks.extend(secrets.leaks(&text));
        }
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    idp.clear_faults();
    let text = capture.take();
    lines_scanned += text.lines().count();
    leaks.extend(secrets.leaks(&text));
    let rss_end = rss_kib();
    rss_peak.fetch_max(rss_end, Ordering::Relaxed);

    let mut t = tally.lock().unwrap();
    t.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let n = t.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        f64::from(t.latencies_us[((n as f64 * p) as usize).min(n - 1)]) / 1000.0
    };
    eprintln!(
        "soak: {secs} s, {} requests ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms; {rotations} key rotations, \
         {fault_windows} JWKS fault windows; 503 during outages: {}; 401 for a key younger than a \
         cooldown: {}; RSS start {} KiB, peak {} KiB, \
         end {} KiB; {lines_scanned} log lines scanned, {} with a token segment",
        t.requests,
        t.requests as f64 / secs as f64,
        pct(0.50),
        pct(0.99),
        t.outage_503,
        t.rotation_race_401,
        rss_start,
        rss_peak.load(Ordering::Relaxed),
        rss_end,
        leaks.len(),
    );
    assert!(t.requests > 0, "no request completed");
    assert!(
        t.rotation_race_401 * 20 <= t.requests,
        "{} of {} answers were 401 for a just-rotated key: more than the rotation race explains",
        t.rotation_race_401,
        t.requests
    );
    assert!(
        t.wrong.is_empty(),
        "{} wrong answers, e.g.:\n{}",
        t.wrong.len(),
        t.wrong
            .iter()
            .filter(|w| !w.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        leaks.is_empty(),
        "token segments in the logs:\n{}",
        leaks.join("\n")
    );
    assert!(
        rss_end < rss_start + 128 * 1024,
        "resident memory grew from {rss_start} KiB to {rss_end} KiB"
    );
}
