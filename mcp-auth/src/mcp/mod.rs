//! MCP-aware authorization: per-operation scopes and roles decided from the JSON-RPC body, lists
//! that show each caller what it may use, standard headers that must agree with the body, and
//! sessions and tasks bound to the user who created them.
//!
//! An MCP server puts every tool behind one `POST /mcp`, but clients only step up their scopes on
//! an HTTP `403` with an `insufficient_scope` challenge, never on a JSON-RPC error inside a `200`
//! (RFC 6750 §3.1, MCP's scope challenge handling). So a [`BearerLayer`](crate::BearerLayer) in MCP
//! mode ([`BearerLayer::mcp`](crate::BearerLayer::mcp)) reads the JSON-RPC message (or batch) of
//! each `POST` up to a size limit, looks up what the `method` — and for `tools/call` /
//! `prompts/get` the `params.name`, for `resources/read`, `resources/subscribe` and
//! `resources/unsubscribe` the `params.uri` (exact, or covered by a resource template), for
//! `completion/complete` the prompt or resource of its `params.ref` — requires
//! ([`McpAccess`]), answers `403` before dispatch when the token lacks it, and passes the
//! unchanged body on. An operation whose target cannot be read the one way the layer and the
//! server both read it (`params` not an object, `name` or `uri` missing or not a string) is
//! answered `400` with JSON-RPC `-32602` (invalid params), in every revision.
//!
//! Scopes and roles are refused differently. A missing scope is the step-up of MCP's scope
//! challenge handling: `403` with `WWW-Authenticate: Bearer error="insufficient_scope"` naming
//! every scope the operation needs, which a client obtains by re-authorizing. A missing role is
//! `403` with no challenge error: RFC 6750 §3.1's `insufficient_scope` asks the client to obtain
//! a token with more scope, and no scope grants a role, so that answer would send the client into
//! a re-authorization that cannot succeed. Roles are decided first: a token lacking both gets
//! the answer that re-authorizing cannot fix.
//!
//! The answers to `tools/list`, `prompts/list`, `resources/list` and
//! `resources/templates/list` (JSON or server-sent events, in every revision) show each caller
//! only what it may use: an entry whose operation the caller would be refused is left out, and
//! the page's `nextCursor` is passed on as the server wrote it. [`McpAccess::show_all_in_lists`]
//! turns this off. Operations declared [public](McpAccess::public) pass without a token.
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
//! use mcp_auth::mcp::{McpAccess, Operation};
//!
//! let access = McpAccess::new()
//!     .scopes(Operation::tool("create_note"), ["write:notes"])
//!     .scopes(Operation::prompt("summarise"), ["read:notes"])
//!     .scopes(Operation::method("resources/subscribe"), ["read:notes"]);
//! let needs = access.needs("tools/call", &serde_json::json!({"name": "create_note"}));
//! assert_eq!(needs.scopes(), ["write:notes"]);
//! assert!(access.needs("tools/list", &serde_json::json!({})).scopes().is_empty());
//! ```

mod access;
mod bind;
mod headers;
mod lists;
mod strict;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use serde_json::Value;

#[doc(hidden)]
pub use self::access::declared_template;
pub use self::access::{McpAccess, Needs, Operation};
pub(crate) use self::bind::{Binder, media_type, watch_events};
pub(crate) use self::lists::Lists;
use self::strict::{StrictError, peek_request};

/// The MCP policy of a layer: what each operation requires and the body limit. (The bindings
/// of sessions, tasks and handles live with the resource: see [`crate::binding`].)
#[derive(Debug)]
pub(crate) struct McpPolicy {
    pub(crate) access: std::sync::Arc<McpAccess>,
    pub(crate) max_body_bytes: usize,
}

/// A `POST` the layer read: the request with its unchanged body, and what its messages ask for.
#[derive(Debug)]
pub(crate) struct Inspected {
    pub(crate) request: Request<Body>,
    /// The scopes its operations need beyond the base scopes.
    pub(crate) scopes: Vec<String>,
    /// The roles its operations need.
    pub(crate) roles: Vec<String>,
    /// Whether every operation it asks for is public (it may pass without a token).
    pub(crate) public: bool,
    /// The list requests among its messages, whose answers are filtered per caller.
    pub(crate) lists: Lists,
    /// The task ids its `tasks/*` requests name (each must be bound to the caller).
    pub(crate) tasks: Vec<String>,
    /// Whether it calls a tool (the answer may create a task, to bind to the caller).
    pub(crate) calls_tool: bool,
    /// The JSON-RPC id of a single request (`null` otherwise), for error answers.
    pub(crate) id: Value,
    /// What its messages ask for, as metric labels and audit fields.
    pub(crate) operations: Vec<crate::telemetry::OperationLabel>,
}

/// The largest JSON-RPC body inspected by default (4 MiB).
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl McpPolicy {
    pub(crate) fn new(access: McpAccess, max_body_bytes: usize) -> Self {
        Self {
            access: std::sync::Arc::new(access),
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
                scopes: Vec::new(),
                roles: Vec::new(),
                public: false,
                lists: Lists::default(),
                tasks: Vec::new(),
                calls_tool: false,
                id: Value::Null,
                operations: Vec::new(),
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
        let messages = messages(&message);
        let mut needs = Needs::default();
        let mut tasks: Vec<String> = Vec::new();
        let mut calls_tool = false;
        let mut lists = Lists::default();
        // Labels only when something records them (metrics, or an audit subscriber).
        let recorded = crate::telemetry::records_operations();
        let mut operations = Vec::new();
        // A request is public only when it has messages, every one of them a request with a
        // string `method`, and each of those is public: an answer, a malformed message or an
        // unreadable `method` makes it not public (it is then the 401 of any request without
        // credentials).
        let mut public = !messages.is_empty()
            && messages
                .iter()
                .all(|m| m.get("method").is_some_and(Value::is_string));
        // Answers are matched to list requests by id: ids that repeat (`1` and `1.0` are one
        // id to a server) make the batch ambiguous. One message has no other to repeat its id.
        let batch = if messages.len() > 1 { messages } else { &[] };
        let mut seen_ids: Vec<&Value> = Vec::new();
        for m in batch {
            if let Some(request_id) = m.get("id").filter(|_| m.get("method").is_some()) {
                if seen_ids.iter().any(|seen| lists::same_id(seen, request_id)) {
                    return Err(jsonrpc_error_with_id(
                        StatusCode::BAD_REQUEST,
                        -32600,
                        "Invalid Request: two requests of the batch have the same id",
                        Value::Null,
                    ));
                }
                seen_ids.push(request_id);
            }
        }
        for m in messages {
            let Some(method) = m.get("method").and_then(Value::as_str) else {
                continue;
            };
            let params = m.get("params").unwrap_or(&Value::Null);
            needs.merge(self.access.needs(method, params));
            if recorded {
                operations.push(self.access.label(method, params));
            }
            public &= self.access.is_public(method, params);
            if let Some(kind) = access::ListKind::of(method)
                && self.access.filters_lists()
            {
                lists.push(m.get("id").cloned().unwrap_or(Value::Null), kind);
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
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Ok(Inspected {
            request: Request::from_parts(parts, Body::from(bytes)),
            scopes: owned(needs.scopes()),
            roles: owned(needs.roles()),
            public,
            lists,
            tasks,
            calls_tool,
            id,
            operations,
        })
    }
}

/// JSON-RPC 2.0's code for invalid method parameters.
const INVALID_PARAMS: i64 = -32602;

/// The messages of a JSON-RPC body: those of a batch, or the one message.
pub(crate) fn messages(body: &Value) -> &[Value] {
    match body {
        Value::Array(batch) => batch,
        one => std::slice::from_ref(one),
    }
}

/// Why a message (or a message of a batch) that names a target does not name it as the MCP
/// schema says (`params` an object with a string `name` or `uri`; for `completion/complete` a
/// `ref` object of type `ref/prompt` with a string `name` or `ref/resource` with a string
/// `uri`), or `None` when every one does.
fn invalid_params(message: &Value) -> Option<String> {
    messages(message).iter().find_map(|m| {
        let method = m.get("method").and_then(Value::as_str)?;
        let member = access::target_member(method)?;
        let Some(Value::Object(params)) = m.get("params") else {
            return Some(match m.get("params") {
                Some(_) => format!("{method} needs params to be an object"),
                None => format!("{method} needs params with {member}"),
            });
        };
        if member != "ref" {
            return match params.get(member) {
                Some(Value::String(_)) => None,
                Some(_) => Some(format!("{method} needs params.{member} to be a string")),
                None => Some(format!("{method} needs params.{member}")),
            };
        }
        let reference = params.get("ref").and_then(Value::as_object);
        let named = match reference
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
        {
            Some("ref/prompt") => "name",
            Some("ref/resource") => "uri",
            _ => {
                return Some(format!(
                    "{method} needs params.ref to be an object with type ref/prompt or ref/resource"
                ));
            }
        };
        match reference.and_then(|r| r.get(named)) {
            Some(Value::String(_)) => None,
            _ => Some(format!("{method} needs params.ref.{named} to be a string")),
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
