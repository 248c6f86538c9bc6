//! The official MCP TypeScript SDK client (`tests/ts-client`, `@modelcontextprotocol/sdk`
//! pinned in its `package.json`) runs its real OAuth flow against the unchanged notes example
//! server and the development authorization server, both in process on loopback.
//!
//! The client connects (401 → protected resource metadata → authorization server metadata →
//! registration → authorization with PKCE → token), lists the tools, calls `whoami`, then
//! `create_note` with a `read:notes` token: the server answers 403 `insufficient_scope`, the
//! SDK re-authorizes with the challenged scope and the call succeeds. The test checks the
//! client's results and, on both servers, the requests the checklist (§5.1) says this SDK
//! makes.
//!
//! Two more scenarios of the client start from a `write:notes` token and step up the same way
//! on a prompt (`prompts/get summarize_notes`) and on a templated resource (`resources/read
//! notes://note/1`), each of which the filtered lists (`prompts/list`, `resources/list`,
//! `resources/templates/list`) left out before the step-up and show after it. Both run at each
//! protocol revision the SDK speaks with this server ([`REVISIONS`]): its own 2025-11-25, and
//! 2025-06-18, which the client asks for in `initialize` with `--protocol-version` (the SDK
//! cannot speak 2026-07-28).
//!
//! Needs Node.js (≥ 20) and npm on `PATH`. `tests/ts-client/node_modules` is installed with
//! `npm ci` from the committed lock file when it is missing or holds another SDK version.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::header::AUTHORIZATION;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{DEV_USER, Notes, app};
use mcp_auth_tests::{bind, spawn};
use serde::Deserialize;
use serde_json::Value;

/// How long the Node client may run before it is killed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The SDK version the client is pinned to (`tests/ts-client/package.json`).
const SDK_VERSION: &str = "1.32.2";

/// Where the protected resource metadata of `/mcp` is served (RFC 9728 §3.1, path inserted).
const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// Where the development server's RFC 8414 metadata is served (its issuer has no path).
const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The protocol revisions the step-up scenarios run at, each with the client arguments that
/// make the SDK negotiate it: 2025-06-18 through `--protocol-version` (the SDK accepts it from
/// the server but asks for its latest), 2025-11-25 (its `LATEST_PROTOCOL_VERSION`) by default.
const REVISIONS: [(&str, &[&str]); 2] = [
    ("2025-06-18", &["--protocol-version", "2025-06-18"]),
    ("2025-11-25", &[]),
];

/// One request the notes server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    status: u16,
    bearer: bool,
    /// The `MCP-Protocol-Version` the client sent.
    protocol: Option<String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Records every request to the notes server: method, path, status and whether it carried a
/// token (never the token).
async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let bearer = request.headers().contains_key(AUTHORIZATION);
    let protocol = request
        .headers()
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let seen = Seen {
        method,
        path,
        status: response.status().as_u16(),
        bearer,
        protocol,
    };
    log.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
    response
}

/// The development authorization server and the notes server, on loopback.
struct Servers {
    idp: AuthorizationServer,
    mcp_url: String,
    log: Log,
    /// Requests for the RFC 8414 metadata made by the notes server's own start-up discovery.
    startup_metadata_requests: usize,
}

impl Servers {
    async fn start() -> Self {
        let idp = AuthorizationServer::builder()
            .user(DEV_USER)
            .start()
            .await
            .expect("the development authorization server starts");
        let (listener, origin) = bind().await;
        let mcp_url = format!("{origin}/mcp");
        let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .expect("the development authorization server is discovered");
        let notes = Notes::builder()
            .id(&mcp_url)
            .replace_authorization_servers([config])
            .build()
            .await
            .expect("the notes resource builds");
        let log = Log::default();
        spawn(
            listener,
            app(&notes).layer(middleware::from_fn_with_state(log.clone(), record)),
        );
        let startup_metadata_requests = idp.requests(AS_METADATA_PATH);
        Self {
            idp,
            mcp_url,
            log,
            startup_metadata_requests,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The directory of the Node project.
fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ts-client")
}

/// The version of the SDK installed in `node_modules`, if any.
fn installed_sdk_version(dir: &Path) -> Option<String> {
    let manifest = dir.join("node_modules/@modelcontextprotocol/sdk/package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_owned)
}

/// Installs the client's dependencies from the lock file unless the pinned SDK is already
/// there. Serialised: the tests of this file share the directory.
fn ensure_node_modules() {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = client_dir();
    if installed_sdk_version(&dir).as_deref() == Some(SDK_VERSION) {
        return;
    }
    for tool in ["node", "npm"] {
        let found = std::process::Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            found,
            "`{tool}` is not on PATH: the TypeScript SDK interop test needs Node.js ≥ 20 and npm \
             (install them, or skip this test with `cargo test --workspace -- --skip ts_sdk`)"
        );
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("run npm ci");
    assert!(
        status.success(),
        "`npm ci --no-audit --no-fund` failed in {} ({status}); it needs the npm registry",
        dir.display()
    );
    assert_eq!(
        installed_sdk_version(&dir).as_deref(),
        Some(SDK_VERSION),
        "npm ci did not install @modelcontextprotocol/sdk {SDK_VERSION} in {}",
        dir.display()
    );
}

/// What `node client.mjs` printed and how it ended.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the client with `args`, killing it after [`CLIENT_TIMEOUT`].
async fn run_client(args: &[&str]) -> Run {
    let child = tokio::process::Command::new("node")
        .arg("client.mjs")
        .args(args)
        .current_dir(client_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start `node client.mjs` (is Node.js on PATH?)");
    let output = tokio::time::timeout(CLIENT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`node client.mjs` ran longer than {CLIENT_TIMEOUT:?}: killed"))
        .expect("wait for `node client.mjs`");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The JSON line the client prints. The fields of one scenario are absent from the others'
/// lines: defaults here.
#[derive(Debug, Deserialize)]
struct Outcome {
    /// The `--protocol-version` given, if any.
    requested_protocol_version: Option<String>,
    /// The revision the SDK negotiated (its transport's after `initialize`).
    protocol_version: Option<String>,
    authorizations: Vec<Authorization>,
    granted_scopes: Vec<Option<String>>,
    step_ups: usize,
    requests: Vec<ClientRequest>,
    // --scenario tools (the default).
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    whoami: WhoAmI,
    #[serde(default)]
    scopes_after_step_up: Vec<String>,
    #[serde(default)]
    notes: Vec<String>,
    // --scenario tools and template.
    #[serde(default)]
    created_note: String,
    // --scenario prompt.
    #[serde(default)]
    prompts_before: Option<Vec<String>>,
    #[serde(default)]
    prompt_messages: Option<usize>,
    #[serde(default)]
    prompts_after: Option<Vec<String>>,
    // --scenario template.
    #[serde(default)]
    templates_before: Option<Vec<String>>,
    #[serde(default)]
    resources_before: Option<Vec<String>>,
    #[serde(default)]
    note_read: Option<String>,
    #[serde(default)]
    templates_after: Option<Vec<String>>,
    #[serde(default)]
    resources_after: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct WhoAmI {
    subject: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Authorization {
    reason: String,
    requested: Option<String>,
    approved: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClientRequest {
    method: String,
    url: String,
    bearer: bool,
    /// The `MCP-Protocol-Version` header sent, if any.
    protocol_version: Option<String>,
    status: Option<u16>,
    rpc: Option<String>,
    tool: Option<String>,
    prompt: Option<String>,
    uri: Option<String>,
}

/// A scope string as a set (the order of scope tokens carries no meaning, RFC 6749 §3.3).
fn scope_set(scope: &str) -> BTreeSet<&str> {
    scope.split(' ').filter(|s| !s.is_empty()).collect()
}

impl Run {
    /// The client's JSON line, after checking that it succeeded.
    fn outcome(&self) -> Outcome {
        assert!(
            self.success,
            "the TypeScript SDK client failed:\n{}",
            self.stderr
        );
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "the client's stdout is not its JSON line ({e}):\n{}",
                self.stdout
            )
        })
    }
}

impl Outcome {
    /// The client's requests as `METHOD URL STATUS [rpc] [tool|prompt] [uri]`, without the `GET` of the SSE
    /// stream: the SDK opens it without waiting, so its place among the other requests varies.
    fn steps(&self, mcp_url: &str) -> Vec<String> {
        self.requests
            .iter()
            .filter(|r| !(r.method == "GET" && r.url == mcp_url))
            .map(|r| {
                let status = r.status.map_or("-".to_owned(), |s| s.to_string());
                let mut step = format!("{} {} {status}", r.method, r.url);
                for part in [&r.rpc, &r.tool, &r.prompt, &r.uri].into_iter().flatten() {
                    step.push(' ');
                    step.push_str(part);
                }
                step
            })
            .collect()
    }
}

/// The requests of one authorization as the SDK makes them (checklist §5.1): discovery, the
/// authorization request, discovery again, the token request. `register` adds the dynamic
/// client registration of the first one.
fn authorization_steps(servers: &Servers, register: bool) -> Vec<String> {
    let idp = &servers.idp;
    let origin = servers.mcp_url.trim_end_matches("/mcp");
    let prm = format!("GET {origin}{PRM_PATH} 200");
    let as_metadata = format!(
        "GET {}/.well-known/oauth-authorization-server 200",
        idp.origin()
    );
    let mut steps = vec![prm.clone(), as_metadata.clone()];
    if register {
        steps.push(format!("POST {} 201", idp.registration_endpoint()));
    }
    steps.extend([
        format!("GET {} 302", idp.authorization_endpoint()),
        prm,
        as_metadata,
        format!("POST {} 200", idp.token_endpoint()),
    ]);
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_client_completes_oauth_and_steps_up_against_the_notes_server() {
    ensure_node_modules();
    let servers = Servers::start().await;
    let run = run_client(&[&servers.mcp_url]).await;
    let outcome = run.outcome();
    let mcp = servers.mcp_url.as_str();

    // What the client got.
    assert_eq!(
        outcome.tools,
        [
            "about",
            "backup_notes",
            "export_notes",
            "list_notes",
            "whoami"
        ],
        "the read:notes token is shown only the tools it may call"
    );
    assert_eq!(outcome.whoami.subject.as_deref(), Some(DEV_USER));
    assert!(outcome.whoami.client_id.is_some(), "{outcome:?}");
    assert_eq!(outcome.whoami.scopes, ["read:notes"]);
    assert_eq!(outcome.step_ups, 1, "{outcome:?}");
    assert_eq!(outcome.notes, [outcome.created_note.as_str()]);

    // The 401 named both scopes; the user approved read:notes only. The 403 named the scope of
    // create_note plus the still-needed read:notes, so the SDK (which replaces its scope with
    // the challenged one, RS-48) kept read:notes after the step-up.
    let [first, step_up] = outcome.authorizations.as_slice() else {
        panic!("two authorizations expected: {outcome:?}");
    };
    assert_eq!(first.reason, "unauthorized");
    assert_eq!(
        scope_set(first.requested.as_deref().unwrap_or_default()),
        scope_set("read:notes write:notes")
    );
    assert_eq!(first.approved.as_deref(), Some("read:notes"));
    assert_eq!(step_up.reason, "insufficient_scope");
    assert_eq!(
        scope_set(step_up.requested.as_deref().unwrap_or_default()),
        scope_set("read:notes write:notes")
    );
    assert_eq!(step_up.approved, step_up.requested);
    let granted: Vec<BTreeSet<&str>> = outcome
        .granted_scopes
        .iter()
        .map(|s| scope_set(s.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        granted,
        [scope_set("read:notes"), scope_set("read:notes write:notes")]
    );
    assert_eq!(
        scope_set(&outcome.scopes_after_step_up.join(" ")),
        scope_set("read:notes write:notes")
    );

    // The requests, in order, exactly as checklist §5.1 describes the SDK.
    let mut expected = vec![format!("POST {mcp} 401 initialize")];
    expected.extend(authorization_steps(&servers, true));
    expected.extend([
        format!("POST {mcp} 200 initialize"),
        format!("POST {mcp} 202 notifications/initialized"),
        format!("POST {mcp} 200 tools/list"),
        format!("POST {mcp} 200 tools/call whoami"),
        format!("POST {mcp} 403 tools/call create_note"),
    ]);
    expected.extend(authorization_steps(&servers, false));
    expected.extend([
        format!("POST {mcp} 200 tools/call create_note"),
        format!("POST {mcp} 200 tools/call whoami"),
        format!("POST {mcp} 200 tools/call list_notes"),
    ]);
    assert_eq!(outcome.steps(mcp), expected, "{:#?}", outcome.requests);
    // After the first authorization every MCP request carries the token, the GET of the SSE
    // stream included (§5.1 item 7); rmcp answers that GET with 405 (no stream offered).
    let sse: Vec<&ClientRequest> = outcome
        .requests
        .iter()
        .filter(|r| r.method == "GET" && r.url == mcp)
        .collect();
    assert_eq!(sse.len(), 1, "{sse:?}");
    assert!(
        sse.iter().all(|r| r.bearer && r.status == Some(405)),
        "{sse:?}"
    );
    let to_mcp = outcome.requests.iter().filter(|r| r.url == mcp);
    assert!(to_mcp.skip(1).all(|r| r.bearer), "{:#?}", outcome.requests);

    // The notes server: one 401, one 403, the path-inserted metadata URL from the challenge
    // fetched before each authorization and token request, the root one never (no fallback
    // needed), no 404 anywhere, well-known requests without a token.
    let seen = servers.seen();
    let count = |f: &dyn Fn(&Seen) -> bool| seen.iter().filter(|s| f(s)).count();
    assert_eq!(count(&|s| s.status == 401), 1, "{seen:#?}");
    assert_eq!(count(&|s| s.status == 403), 1, "{seen:#?}");
    assert_eq!(count(&|s| s.status == 404), 0, "{seen:#?}");
    assert_eq!(
        count(&|s| s.method == "GET" && s.path == PRM_PATH && s.status == 200),
        4
    );
    assert_eq!(
        count(&|s| s.path == "/.well-known/oauth-protected-resource"),
        0
    );
    assert!(
        seen.iter()
            .filter(|s| s.path.starts_with("/.well-known/"))
            .all(|s| !s.bearer)
    );
    let first = seen.first().expect("the notes server saw requests");
    assert_eq!(
        (
            first.method.as_str(),
            first.path.as_str(),
            first.status,
            first.bearer
        ),
        ("POST", "/mcp", 401, false)
    );

    // The authorization server: one registration, two authorizations and two code exchanges
    // (no refresh), RFC 8414 metadata found at the first URL tried.
    let idp = &servers.idp;
    assert_eq!(idp.requests(&idp.registration_endpoint()), 1);
    assert_eq!(idp.requests(&idp.authorization_endpoint()), 2);
    assert_eq!(idp.requests(&idp.token_endpoint()), 2);
    assert_eq!(
        idp.requests(AS_METADATA_PATH) - servers.startup_metadata_requests,
        4
    );
    assert_eq!(idp.requests("/.well-known/openid-configuration"), 0);

    // The SDK negotiated revision 2025-11-25 and sent it on every request after `initialize`.
    let versions: BTreeSet<&str> = seen
        .iter()
        .filter(|s| s.path == "/mcp" && s.status == 200)
        .filter_map(|s| s.protocol.as_deref())
        .collect();
    assert_eq!(versions, BTreeSet::from(["2025-11-25"]), "{seen:?}");
}

/// Without a narrower consent the first token already has both scopes: the notes server's 401
/// names every scope its tools need, and the SDK asks for the challenged scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_client_gets_every_tool_scope_from_the_401_challenge() {
    ensure_node_modules();
    let servers = Servers::start().await;
    let run = run_client(&[&servers.mcp_url, "--no-first-consent"]).await;
    let outcome = run.outcome();

    assert_eq!(outcome.step_ups, 0, "{outcome:?}");
    assert_eq!(outcome.authorizations.len(), 1, "{outcome:?}");
    assert_eq!(
        scope_set(&outcome.whoami.scopes.join(" ")),
        scope_set("read:notes write:notes")
    );
    assert_eq!(outcome.notes, [outcome.created_note.as_str()]);
    assert_eq!(servers.seen().iter().filter(|s| s.status == 403).count(), 0);
    assert_eq!(
        servers.idp.requests(&servers.idp.authorization_endpoint()),
        1
    );
}

/// Documents why the client hides its refresh token during a step-up: SDK 1.32.2 answers a
/// 403 `insufficient_scope` by refreshing, which cannot widen the scope (RFC 6749 §6), gets
/// the same 403 and gives up (modelcontextprotocol/typescript-sdk#2255). The notes server
/// behaves as in the other tests; when an SDK upgrade fixes this, this test fails and the
/// workaround in `client.mjs` can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_1_32_2_step_up_dead_ends_while_it_holds_a_refresh_token() {
    ensure_node_modules();
    let servers = Servers::start().await;
    let run = run_client(&[&servers.mcp_url, "--no-refresh-workaround"]).await;

    assert!(!run.success, "expected the SDK bug, got: {}", run.stdout);
    assert!(
        run.stderr
            .contains("Server returned 403 after trying upscoping"),
        "{}",
        run.stderr
    );
    let idp = &servers.idp;
    // One authorization, then the code exchange and a refresh instead of a new authorization.
    assert_eq!(idp.requests(&idp.authorization_endpoint()), 1);
    assert_eq!(idp.requests(&idp.token_endpoint()), 2);
    let forbidden = servers.seen().iter().filter(|s| s.status == 403).count();
    assert_eq!(forbidden, 2, "the same 403 before and after the refresh");
}

/// `Some` of the strings, for the optional lists of [`Outcome`].
fn names(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|&n| n.to_owned()).collect())
}

/// What the prompt and template scenarios share: the user approved `write:notes` only at the
/// first authorization, the operation `operation` (`rpc target`) was refused 403
/// `insufficient_scope`, and the SDK re-authorized once with the challenged scopes, `read:notes`
/// added and `write:notes` kept. `before` and `after` are the MCP requests before and after the
/// operation that was refused (its retry included in neither).
fn assert_step_up_from_write_notes(
    servers: &Servers,
    outcome: &Outcome,
    operation: &str,
    before: &[&str],
    after: &[&str],
) {
    let mcp = servers.mcp_url.as_str();
    assert_eq!(outcome.step_ups, 1, "{outcome:?}");
    let [first, step_up] = outcome.authorizations.as_slice() else {
        panic!("two authorizations expected: {outcome:?}");
    };
    assert_eq!(first.reason, "unauthorized");
    assert_eq!(
        scope_set(first.requested.as_deref().unwrap_or_default()),
        scope_set("read:notes write:notes")
    );
    assert_eq!(first.approved.as_deref(), Some("write:notes"));
    assert_eq!(step_up.reason, "insufficient_scope");
    let requested = scope_set(step_up.requested.as_deref().unwrap_or_default());
    assert!(
        requested.is_superset(&scope_set("read:notes write:notes")),
        "the step-up asks for the scope of {operation} and keeps write:notes: {requested:?}"
    );
    assert_eq!(step_up.approved, step_up.requested);
    let granted: Vec<BTreeSet<&str>> = outcome
        .granted_scopes
        .iter()
        .map(|s| scope_set(s.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(granted, [scope_set("write:notes"), requested.clone()]);

    // The one 403 the client saw is the operation's, before the step-up; the retry succeeded.
    let rpc = operation.split(' ').next().unwrap_or_default();
    let forbidden: Vec<&ClientRequest> = outcome
        .requests
        .iter()
        .filter(|r| r.status == Some(403))
        .collect();
    let [forbidden] = forbidden.as_slice() else {
        panic!("one 403 expected: {:#?}", outcome.requests);
    };
    assert_eq!(forbidden.rpc.as_deref(), Some(rpc), "{forbidden:?}");

    let mut expected = vec![format!("POST {mcp} 401 initialize")];
    expected.extend(authorization_steps(servers, true));
    expected.extend([
        format!("POST {mcp} 200 initialize"),
        format!("POST {mcp} 202 notifications/initialized"),
    ]);
    expected.extend(before.iter().map(|step| format!("POST {mcp} 200 {step}")));
    expected.push(format!("POST {mcp} 403 {operation}"));
    expected.extend(authorization_steps(servers, false));
    expected.push(format!("POST {mcp} 200 {operation}"));
    expected.extend(after.iter().map(|step| format!("POST {mcp} 200 {step}")));
    assert_eq!(outcome.steps(mcp), expected, "{:#?}", outcome.requests);

    // The notes server answered one 401 and one 403; the authorization server saw two
    // authorizations and two code exchanges (no refresh).
    let seen = servers.seen();
    assert_eq!(
        seen.iter().filter(|s| s.status == 401).count(),
        1,
        "{seen:#?}"
    );
    assert_eq!(
        seen.iter().filter(|s| s.status == 403).count(),
        1,
        "{seen:#?}"
    );
    let idp = &servers.idp;
    assert_eq!(idp.requests(&idp.authorization_endpoint()), 2);
    assert_eq!(idp.requests(&idp.token_endpoint()), 2);
}

/// Checks that the SDK negotiated `revision` and, as both its log and the notes server's show,
/// sent it as `MCP-Protocol-Version` on every MCP request after `initialize` (the
/// `notifications/initialized`, the GET of the SSE stream, the refused request and its retry
/// included), and on neither `initialize` (the one refused 401 and the one that succeeded).
fn assert_protocol_version(servers: &Servers, outcome: &Outcome, revision: &str, given: bool) {
    let mcp = servers.mcp_url.as_str();
    assert_eq!(
        outcome.requested_protocol_version.as_deref(),
        given.then_some(revision),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.protocol_version.as_deref(),
        Some(revision),
        "the SDK negotiated another revision: {outcome:?}"
    );
    let to_mcp: Vec<&ClientRequest> = outcome.requests.iter().filter(|r| r.url == mcp).collect();
    let initialized = to_mcp
        .iter()
        .position(|r| r.rpc.as_deref() == Some("initialize") && r.status == Some(200))
        .unwrap_or_else(|| panic!("no successful initialize: {:#?}", outcome.requests));
    let (initialize, after) = to_mcp.split_at(initialized + 1);
    assert!(
        initialize.iter().all(|r| r.protocol_version.is_none()),
        "a header before the revision was negotiated: {initialize:#?}"
    );
    assert!(after.len() > 3, "{:#?}", outcome.requests);
    let wrong: Vec<&&ClientRequest> = after
        .iter()
        .filter(|r| r.protocol_version.as_deref() != Some(revision))
        .collect();
    assert!(
        wrong.is_empty(),
        "MCP requests after initialize without MCP-Protocol-Version {revision}: {wrong:#?}"
    );

    // The notes server saw the same: the two `initialize` without the header, the rest with it.
    let seen = servers.seen();
    let on_mcp: Vec<&Seen> = seen.iter().filter(|s| s.path == "/mcp").collect();
    assert_eq!(on_mcp.len(), to_mcp.len(), "{seen:#?}");
    assert_eq!(
        on_mcp.iter().filter(|s| s.protocol.is_none()).count(),
        2,
        "{seen:#?}"
    );
    assert!(
        on_mcp
            .iter()
            .all(|s| s.protocol.is_none() || s.protocol.as_deref() == Some(revision)),
        "{seen:#?}"
    );
}

/// With a `write:notes` token `prompts/list` leaves out `summarize_notes` (it needs
/// `read:notes`); `prompts/get summarize_notes` gets 403 `insufficient_scope`, the SDK steps up
/// as it does for a tool, the prompt is returned, and the list now shows it. At each revision
/// of [`REVISIONS`], every MCP request after `initialize` carrying it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_client_steps_up_on_a_prompt_it_was_not_shown() {
    ensure_node_modules();
    for (revision, revision_args) in REVISIONS {
        eprintln!("protocol revision {revision}");
        prompt_step_up(revision, revision_args).await;
    }
}

async fn prompt_step_up(revision: &str, revision_args: &[&str]) {
    let servers = Servers::start().await;
    let mut args = vec![
        servers.mcp_url.as_str(),
        "--scenario",
        "prompt",
        "--first-consent",
        "write:notes",
    ];
    args.extend_from_slice(revision_args);
    let run = run_client(&args).await;
    let outcome = run.outcome();

    assert_eq!(outcome.prompts_before, names(&[]), "{outcome:?}");
    assert_eq!(outcome.prompt_messages, Some(1), "{outcome:?}");
    assert_eq!(
        outcome.prompts_after,
        names(&["summarize_notes"]),
        "{outcome:?}"
    );
    assert_step_up_from_write_notes(
        &servers,
        &outcome,
        "prompts/get summarize_notes",
        &["prompts/list"],
        &["prompts/list"],
    );
    assert_protocol_version(&servers, &outcome, revision, !revision_args.is_empty());
}

/// With a `write:notes` token `resources/templates/list` and `resources/list` leave out
/// `notes://note/{id}` and `notes://stats` (they need `read:notes`); `resources/read
/// notes://note/1` gets 403 `insufficient_scope`, the SDK steps up, the read returns the note
/// `create_note` made, and the lists now show the template and the resource. At each revision
/// of [`REVISIONS`], every MCP request after `initialize` carrying it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_client_steps_up_on_a_templated_resource_it_was_not_shown() {
    ensure_node_modules();
    for (revision, revision_args) in REVISIONS {
        eprintln!("protocol revision {revision}");
        template_step_up(revision, revision_args).await;
    }
}

async fn template_step_up(revision: &str, revision_args: &[&str]) {
    let servers = Servers::start().await;
    let mut args = vec![
        servers.mcp_url.as_str(),
        "--scenario",
        "template",
        "--first-consent",
        "write:notes",
    ];
    args.extend_from_slice(revision_args);
    let run = run_client(&args).await;
    let outcome = run.outcome();

    assert!(!outcome.created_note.is_empty(), "{outcome:?}");
    assert_eq!(outcome.templates_before, names(&[]), "{outcome:?}");
    assert_eq!(outcome.resources_before, names(&[]), "{outcome:?}");
    assert_eq!(
        outcome.note_read.as_deref(),
        Some(outcome.created_note.as_str()),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.templates_after,
        names(&["notes://note/{id}"]),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.resources_after,
        names(&["notes://stats"]),
        "{outcome:?}"
    );
    assert_step_up_from_write_notes(
        &servers,
        &outcome,
        "resources/read notes://note/1",
        &[
            "tools/call create_note",
            "resources/templates/list",
            "resources/list",
        ],
        &["resources/templates/list", "resources/list"],
    );
    assert_protocol_version(&servers, &outcome, revision, !revision_args.is_empty());
}
