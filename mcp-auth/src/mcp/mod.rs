//! MCP-aware authorization: per-operation scopes decided from the JSON-RPC body, standard
//! headers that must agree with it, and sessions and tasks bound to the user who created them.
//!
//! An MCP server puts every tool behind one `POST /mcp`, but clients only step up their scopes on
//! an HTTP `403` with an `insufficient_scope` challenge, never on a JSON-RPC error inside a `200`
//! (RFC 6750 §3.1, MCP's scope challenge handling). So a [`BearerLayer`](crate::BearerLayer) in MCP
//! mode ([`BearerLayer::mcp`](crate::BearerLayer::mcp)) reads the JSON-RPC message (or batch) of
//! each `POST` up to a size limit, looks up what the `method` — and for `tools/call` /
//! `prompts/get` the `params.name`, for `resources/read` the `params.uri` — requires, answers `403`
//! before dispatch when the token lacks it, and passes the unchanged body on. An operation whose
//! target cannot be read the one way the layer and the server both read it (`params` not an
//! object, `name` or `uri` missing or not a string) is answered `400` with JSON-RPC `-32602`
//! (invalid params), in every revision.
//!
//! Before deciding anything from the body, it checks the standard request headers of MCP
//! 2026-07-28 (`Mcp-Method`, `Mcp-Name`, SEP-2243) against it: a gateway that routes on the
//! headers must see the request the server runs, so a disagreement (or, from that revision on, a
//! missing header) is answered `400` before the scope decision.
//!
//! It also binds what gives access to state to the issuer and subject of the token that created
//! it, in the resource's [binding store](crate::binding):
//! - each `Mcp-Session-Id` the server issues (revisions before 2026-07-28): the same session id
//!   presented with another user's token, or one the layer never bound, is answered `404`
//!   (session not found) and never served (MCP's security best practices: session hijacking);
//! - each task a `tools/call` answer creates (the Tasks extension, `resultType: "task"`):
//!   `tasks/get`, `tasks/update`, `tasks/cancel` naming another user's task, or one the layer
//!   never bound, are answered `404` with a JSON-RPC error before the server sees them.
//!
//! Tools bind their own state handles with [`StateHandles`](crate::binding::StateHandles). When
//! the store cannot be reached, a request whose binding must be checked or made is answered
//! `503` with `Retry-After`, never served unchecked.
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

mod bind;
mod headers;
mod strict;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use serde_json::Value;

pub(crate) use self::bind::{Binder, media_type, watch_events};
use self::strict::{StrictError, peek_request};

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
}

/// The MCP policy of a layer: per-operation scopes and the body limit. (The bindings of
/// sessions, tasks and handles live with the resource: see [`crate::binding`].)
#[derive(Debug)]
pub(crate) struct McpPolicy {
    pub(crate) scopes: McpScopes,
    pub(crate) max_body_bytes: usize,
}

/// A `POST` the layer read: the request with its unchanged body, and what its messages ask for.
#[derive(Debug)]
pub(crate) struct Inspected {
    pub(crate) request: Request<Body>,
    /// The scopes its operations need beyond the base scopes.
    pub(crate) needed: Vec<String>,
    /// The task ids its `tasks/*` requests name (each must be bound to the caller).
    pub(crate) tasks: Vec<String>,
    /// Whether it calls a tool (the answer may create a task, to bind to the caller).
    pub(crate) calls_tool: bool,
    /// The JSON-RPC id of a single request (`null` otherwise), for error answers.
    pub(crate) id: Value,
}

/// The largest JSON-RPC body inspected by default (4 MiB).
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl McpPolicy {
    pub(crate) fn new(scopes: McpScopes, max_body_bytes: usize) -> Self {
        Self {
            scopes,
            max_body_bytes,
        }
    }

    /// Reads the body of a `POST` (other methods carry none) and returns what its messages ask
    /// for, with the request and its unchanged body. `Err` is a ready response: `413` for a body
    /// over the limit, `415` for a compressed one (or more than one `Content-Encoding` line),
    /// `400` for one that could not be read (truncated, malformed chunked framing), is not JSON,
    /// is ambiguous (a member name twice in one object), or whose standard MCP headers
    /// (`Mcp-Method`, `Mcp-Name`, ...) disagree with it — fail closed.
    pub(crate) async fn inspect(&self, request: Request<Body>) -> Result<Inspected, Response> {
        if request.method() != http::Method::POST {
            return Ok(Inspected {
                request,
                needed: Vec::new(),
                tasks: Vec::new(),
                calls_tool: false,
                id: Value::Null,
            });
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
        let message = match peek_request(&bytes) {
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
        let id = match &message {
            Value::Object(one) => one.get("id").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        };
        // An operation that names its target must name it the one way the layer and the server
        // both read: params an object, its name (or uri) a string. Anything else is refused as
        // invalid params, before the headers are compared with a target that is not there.
        if let Some(why) = invalid_params(&message) {
            tracing::debug!("invalid params");
            return Err(jsonrpc_error_with_id(
                StatusCode::BAD_REQUEST,
                INVALID_PARAMS,
                &format!("Invalid params: {why}"),
                id,
            ));
        }
        // Before anything is decided from the body, the headers must say what it says.
        if let Err(headers::Mismatch(why)) = headers::check(&parts.headers, &message) {
            tracing::debug!("standard MCP headers disagree with the body");
            return Err(jsonrpc_error_with_id(
                StatusCode::BAD_REQUEST,
                headers::HEADER_MISMATCH,
                &format!("Header mismatch: {why}"),
                id,
            ));
        }
        let messages: Vec<&Value> = match &message {
            Value::Array(batch) => batch.iter().collect(),
            single => vec![single],
        };
        let mut needed: Vec<String> = Vec::new();
        let mut tasks: Vec<String> = Vec::new();
        let mut calls_tool = false;
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
            calls_tool |= method == "tools/call";
            if method.starts_with("tasks/") {
                // Every `tasks/*` request names its task; one that does not (or not as a
                // string) names none we could check, so it is refused as an unknown task.
                match params.get("taskId").and_then(Value::as_str) {
                    Some(task) => tasks.push(task.to_owned()),
                    None => tasks.push(String::new()),
                }
            }
        }
        Ok(Inspected {
            request: Request::from_parts(parts, Body::from(bytes)),
            needed,
            tasks,
            calls_tool,
            id,
        })
    }
}

/// JSON-RPC 2.0's code for invalid method parameters.
const INVALID_PARAMS: i64 = -32602;

/// The member that names the target of `method`, for the operations whose scopes depend on it.
fn target_member(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// Why a message (or a message of a batch) that names a target does not name it as the MCP
/// schema says (`params` an object with a string `name` or `uri`), or `None` when every one does.
fn invalid_params(message: &Value) -> Option<String> {
    let messages: &[Value] = match message {
        Value::Array(batch) => batch,
        one => std::slice::from_ref(one),
    };
    messages.iter().find_map(|m| {
        let method = m.get("method").and_then(Value::as_str)?;
        let member = target_member(method)?;
        match m.get("params") {
            Some(Value::Object(params)) => match params.get(member) {
                Some(Value::String(_)) => None,
                Some(_) => Some(format!("{method} needs params.{member} to be a string")),
                None => Some(format!("{method} needs params.{member}")),
            },
            Some(_) => Some(format!("{method} needs params to be an object")),
            None => Some(format!("{method} needs params with {member}")),
        }
    })
}

pub(crate) const SESSION_HEADER: http::HeaderName = http::HeaderName::from_static("mcp-session-id");

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

/// A JSON-RPC error response with an HTTP status.
fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    jsonrpc_error_with_id(status, code, message, Value::Null)
}

/// A JSON-RPC error response to the request `id`, with an HTTP status.
fn jsonrpc_error_with_id(status: StatusCode, code: i64, message: &str, id: Value) -> Response {
    (
        status,
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": message},
        })),
    )
        .into_response()
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
}
