//! MCP-aware authorization: per-operation scopes decided from the JSON-RPC body, and sessions
//! bound to the user who created them.
//!
//! An MCP server puts every tool behind one `POST /mcp`, but clients only step up their scopes on
//! an HTTP `403` with an `insufficient_scope` challenge, never on a JSON-RPC error inside a `200`
//! (RFC 6750 §3.1, MCP's scope challenge handling). So a [`BearerLayer`](crate::BearerLayer) in MCP
//! mode ([`BearerLayer::mcp`](crate::BearerLayer::mcp)) reads the JSON-RPC message (or batch) of
//! each `POST` up to a size limit, looks up what the `method` — and for `tools/call` /
//! `prompts/get` the `params.name`, for `resources/read` the `params.uri` — requires, answers `403`
//! before dispatch when the token lacks it, and passes the unchanged body on.
//!
//! It also binds each `Mcp-Session-Id` the server issues to the issuer and subject of the token
//! that created it: the same session id presented with another user's token is answered `404`
//! (session not found) and never served (MCP's security best practices: session hijacking).
//!
//! ```
//! use mcp_auth::mcp::McpScopes;
//!
//! let scopes = McpScopes::new()
//!     .tool("create_note", ["write:notes"])
//!     .prompt("summarise", ["read:notes"])
//!     .method("resources/subscribe", ["read:notes"]);
//! assert_eq!(scopes.required("tools/call", &serde_json::json!({"name": "create_note"})), ["write:notes"]);
//! assert!(scopes.required("tools/list", &serde_json::json!({})).is_empty());
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode};
use serde_json::Value;

use crate::auth_info::AuthInfo;

/// What one MCP operation is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Operation {
    /// `tools/call` with this `params.name`.
    Tool(String),
    /// `prompts/get` with this `params.name`.
    Prompt(String),
    /// `resources/read` with this `params.uri`.
    Resource(String),
    /// Any request with this `method`.
    Method(String),
}

/// The scopes each MCP operation needs, beyond the layer's base scopes.
///
/// Operations without an entry need only the base scopes. Usually generated from
/// `#[requires_scope]` on tool methods; can be written by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpScopes {
    entries: Vec<(Operation, Vec<String>)>,
}

impl McpScopes {
    /// No per-operation requirement.
    pub fn new() -> Self {
        Self::default()
    }

    fn add<I, S>(mut self, op: Operation, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        match self.entries.iter_mut().find(|(o, _)| *o == op) {
            Some((_, existing)) => {
                for s in scopes {
                    if !existing.contains(&s) {
                        existing.push(s);
                    }
                }
            }
            None => self.entries.push((op, scopes)),
        }
        self
    }

    /// `tools/call` of the tool `name` needs `scopes` (all of them).
    pub fn tool<I, S>(self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add(Operation::Tool(name.into()), scopes)
    }

    /// `prompts/get` of the prompt `name` needs `scopes`.
    pub fn prompt<I, S>(self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add(Operation::Prompt(name.into()), scopes)
    }

    /// `resources/read` of the resource `uri` needs `scopes`.
    pub fn resource<I, S>(self, uri: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add(Operation::Resource(uri.into()), scopes)
    }

    /// Every request with this JSON-RPC `method` needs `scopes`.
    pub fn method<I, S>(self, method: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add(Operation::Method(method.into()), scopes)
    }

    /// Merges another set (e.g. the scopes of two tool routers).
    pub fn merge(mut self, other: McpScopes) -> Self {
        for (op, scopes) in other.entries {
            self = self.add(op, scopes);
        }
        self
    }

    /// The scopes a request with `method` and `params` needs (beyond the base scopes).
    pub fn required(&self, method: &str, params: &Value) -> Vec<&str> {
        let name = params.get("name").and_then(Value::as_str);
        let uri = params.get("uri").and_then(Value::as_str);
        let mut out: Vec<&str> = Vec::new();
        for (op, scopes) in &self.entries {
            let applies = match op {
                Operation::Method(m) => m == method,
                Operation::Tool(t) => method == "tools/call" && name == Some(t.as_str()),
                Operation::Prompt(p) => method == "prompts/get" && name == Some(p.as_str()),
                Operation::Resource(r) => method == "resources/read" && uri == Some(r.as_str()),
            };
            if applies {
                for s in scopes {
                    if !out.contains(&s.as_str()) {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    /// Whether no operation has a requirement.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The MCP policy of a layer: per-operation scopes, the body limit and the session bindings.
#[derive(Debug)]
pub(crate) struct McpPolicy {
    pub(crate) scopes: McpScopes,
    pub(crate) max_body_bytes: usize,
    sessions: SessionBindings,
}

/// The largest JSON-RPC body inspected by default (4 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl McpPolicy {
    pub(crate) fn new(scopes: McpScopes, max_body_bytes: usize) -> Self {
        Self {
            scopes,
            max_body_bytes,
            sessions: SessionBindings::new(100_000),
        }
    }

    /// Reads the body of a `POST` (other methods carry none), returns the scopes its requests
    /// need and the request with the unchanged body. `Err` is a ready response: `413` for a body
    /// over the limit, `415` for a compressed one (or more than one `Content-Encoding` line),
    /// `400` for one that could not be read (truncated, malformed chunked framing), is not JSON,
    /// or is ambiguous (a member name twice in one object) — fail closed.
    pub(crate) async fn inspect(
        &self,
        request: Request<Body>,
    ) -> Result<(Request<Body>, Vec<String>), Response> {
        if request.method() != http::Method::POST {
            return Ok((request, Vec::new()));
        }
        // Every `Content-Encoding` line counts: two lines (`identity`, then `gzip`) are as
        // compressed as one `gzip`, and more than one line is refused as ambiguous.
        let mut encodings = request
            .headers()
            .get_all(http::header::CONTENT_ENCODING)
            .iter();
        let encoded = match (encodings.next(), encodings.next()) {
            (None, _) => false,
            (Some(only), None) => !only.as_bytes().eq_ignore_ascii_case(b"identity"),
            (Some(_), Some(_)) => true,
        };
        if encoded {
            return Err(jsonrpc_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                -32600,
                "Content-Encoding is not supported: send the JSON-RPC body uncompressed, with at most one Content-Encoding: identity",
            ));
        }
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, self.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(error) if is_length_limit(&error) => {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    axum::Json(serde_json::json!({
                        "error": "invalid_request",
                        "error_description": format!("The request body is larger than {} bytes", self.max_body_bytes),
                    })),
                )
                    .into_response());
            }
            Err(_) => {
                // Truncated, a malformed chunk, a connection error: the client's request is bad,
                // not too large.
                return Err(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    -32700,
                    "Parse error: the request body could not be read (truncated or malformed framing)",
                ));
            }
        };
        // Fail closed: a body the layer cannot read as JSON-RPC is never passed on with only the
        // base scopes checked (a lenient parser or a decompression layer behind us could still
        // read a tool call out of it). The parse is strict: a member name that appears twice in
        // any object (`"name"` twice, `method` twice, inside a batch entry or deeper) makes the
        // message ambiguous — parsers differ on which occurrence wins — so it is refused.
        let message = match strict_json(&bytes) {
            Ok(message) => message,
            Err(StrictError::Duplicate) => {
                return Err(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    -32600,
                    "Invalid Request: a member name appears more than once in an object",
                ));
            }
            Err(StrictError::Syntax) => {
                return Err(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    -32700,
                    "Parse error: the body is not JSON",
                ));
            }
        };
        let messages: Vec<&Value> = match &message {
            Value::Array(batch) => batch.iter().collect(),
            single => vec![single],
        };
        let mut needed: Vec<String> = Vec::new();
        for m in messages {
            let Some(method) = m.get("method").and_then(Value::as_str) else {
                continue;
            };
            let params = m.get("params").unwrap_or(&Value::Null);
            for s in self.scopes.required(method, params) {
                if !needed.iter().any(|n| n == s) {
                    needed.push(s.to_owned());
                }
            }
        }
        Ok((Request::from_parts(parts, Body::from(bytes)), needed))
    }

    /// Refuses a session id bound to another user: `None` when allowed, else the `404`
    /// response.
    pub(crate) fn session_refusal(
        &self,
        headers: &http::HeaderMap,
        info: &AuthInfo,
    ) -> Option<Response> {
        let id = headers.get(SESSION_HEADER)?;
        if self.sessions.allows(id.as_bytes(), &Owner::of(info)) {
            None
        } else {
            tracing::warn!("session id presented by another user; refused");
            Some(jsonrpc_error(
                StatusCode::NOT_FOUND,
                -32001,
                "Session not found",
            ))
        }
    }

    /// Records the session a response created (binding it to the token's user), and forgets a
    /// session its owner deleted.
    pub(crate) fn after_response(
        &self,
        method: &http::Method,
        request_session: Option<&HeaderValue>,
        response: &Response,
        info: &AuthInfo,
    ) {
        if let Some(id) = response.headers().get(SESSION_HEADER) {
            self.sessions.bind(id.as_bytes(), Owner::of(info));
        }
        if method == http::Method::DELETE
            && response.status().is_success()
            && let Some(id) = request_session
        {
            self.sessions.forget(id.as_bytes());
        }
    }
}

pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

/// Whether a body read failed because of the length limit (and not a truncated body, a malformed
/// chunk or a broken connection).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Why [`strict_json`] refused a body.
#[derive(Debug, PartialEq, Eq)]
enum StrictError {
    /// Not JSON.
    Syntax,
    /// Some object has a member name twice.
    Duplicate,
}

/// Parses JSON like `serde_json::from_slice::<Value>`, but refuses an object with a member name
/// twice, at any depth (names are compared after unescaping).
fn strict_json(bytes: &[u8]) -> Result<Value, StrictError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(value)) => Ok(value),
        Err(e) if e.is_data() => Err(StrictError::Duplicate),
        Err(_) => Err(StrictError::Syntax),
    }
}

/// A [`Value`] whose objects have unique member names.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// A JSON-RPC error response with an HTTP status.
fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": code, "message": message},
        })),
    )
        .into_response()
}

/// Who a session belongs to: issuer and subject (and client when there is no subject).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    issuer: String,
    subject: Option<String>,
    client: Option<String>,
}

impl Owner {
    fn of(info: &AuthInfo) -> Self {
        Self {
            issuer: info.issuer().to_owned(),
            subject: info.subject().map(str::to_owned),
            client: if info.subject().is_none() {
                info.client_id().map(str::to_owned)
            } else {
                None
            },
        }
    }
}

/// The bindings and their insertion order (for eviction).
type Bindings = (HashMap<Vec<u8>, Owner>, VecDeque<Vec<u8>>);

/// Session id → owner, bounded (oldest bindings are dropped first).
#[derive(Debug)]
struct SessionBindings {
    capacity: usize,
    inner: Mutex<Bindings>,
    /// Set once a binding was dropped for capacity: from then on an unknown session id may be
    /// an evicted one, so it is refused rather than served to whoever presents it.
    evicted: std::sync::atomic::AtomicBool,
}

impl SessionBindings {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            evicted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bindings> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Known sessions only for their owner. Unknown ones are left to the MCP server (which
    /// answers 404 for sessions it does not have, e.g. after a restart) until a binding was ever
    /// evicted; after that they are refused, since one of them could be an evicted session.
    fn allows(&self, id: &[u8], who: &Owner) -> bool {
        match self.lock().0.get(id) {
            Some(owner) => owner == who,
            None => !self.evicted.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn bind(&self, id: &[u8], who: Owner) {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.insert(id.to_vec(), who).is_none() {
            order.push_back(id.to_vec());
            while map.len() > self.capacity {
                match order.pop_front() {
                    Some(old) => {
                        map.remove(&old);
                        self.evicted
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    None => break,
                }
            }
        }
    }

    fn forget(&self, id: &[u8]) {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        map.remove(id);
        order.retain(|k| k.as_slice() != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rs46_operations_are_matched_by_method_name_and_uri() {
        let s = McpScopes::new()
            .tool("write_file", ["files:write"])
            .tool("write_file", ["files:admin", "files:write"])
            .prompt("p", ["prompts"])
            .resource("file:///x", ["files:read"])
            .method("logging/setLevel", ["admin"]);
        assert_eq!(
            s.required("tools/call", &json!({"name": "write_file"})),
            ["files:write", "files:admin"]
        );
        assert!(
            s.required("tools/call", &json!({"name": "read_file"}))
                .is_empty()
        );
        assert!(
            s.required("prompts/get", &json!({"name": "write_file"}))
                .is_empty()
        );
        assert_eq!(
            s.required("prompts/get", &json!({"name": "p"})),
            ["prompts"]
        );
        assert_eq!(
            s.required("resources/read", &json!({"uri": "file:///x"})),
            ["files:read"]
        );
        assert_eq!(s.required("logging/setLevel", &Value::Null), ["admin"]);
        assert!(s.required("tools/call", &json!("not an object")).is_empty());
    }

    #[test]
    fn strict_json_refuses_duplicate_names_at_any_depth() {
        assert!(strict_json(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        for dup in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"params":{"name":"x","name":"y"}}"#,
            br#"[{"id":1},{"id":1,"id":2}]"#,
            br#"{"a":{"b":[{"c":1,"c":1}]}}"#,
            br#"{"name":"x","name":"y"}"#,
        ] {
            assert_eq!(strict_json(dup), Err(StrictError::Duplicate));
        }
        assert_eq!(strict_json(b"{"), Err(StrictError::Syntax));
        assert_eq!(strict_json(b"nope"), Err(StrictError::Syntax));
        assert_eq!(strict_json(b"[1,]"), Err(StrictError::Syntax));
    }

    #[test]
    fn session_bindings_are_bounded_and_per_owner() {
        let b = SessionBindings::new(2);
        let alice = Owner {
            issuer: "i".into(),
            subject: Some("alice".into()),
            client: None,
        };
        let bob = Owner {
            issuer: "i".into(),
            subject: Some("bob".into()),
            client: None,
        };
        b.bind(b"s1", alice.clone());
        assert!(b.allows(b"s1", &alice));
        assert!(!b.allows(b"s1", &bob));
        assert!(b.allows(b"unknown", &bob));
        b.bind(b"s2", bob.clone());
        b.bind(b"s3", bob.clone());
        assert!(
            !b.allows(b"s1", &bob),
            "an evicted session is not up for grabs"
        );
        assert!(
            !b.allows(b"never-seen", &bob),
            "after an eviction, unknown ids are refused"
        );
        assert!(b.allows(b"s3", &bob));
        b.forget(b"s2");
        assert!(!b.allows(b"s2", &alice));
    }
}
