//! The standard MCP request headers (SEP-2243): `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`, checked
//! against the JSON-RPC body before any decision is made from it.
//!
//! Gateways, WAFs and rate limiters route and filter on these headers without reading the body,
//! while this layer decides scopes from the body. If the two could disagree, a request could be
//! filtered as one tool and run as another. So a header that is present must say what the body
//! says, and from revision 2026-07-28 on (where clients must send them) a missing one is refused
//! too. Either way the answer is `400` with a JSON-RPC error (`-32020`, header mismatch), before
//! the scope decision and before dispatch.
//!
//! The revision is read from the `MCP-Protocol-Version` header, or from the request's
//! `_meta["io.modelcontextprotocol/protocolVersion"]` when the header is absent; if both are
//! present they must agree.

use base64::Engine as _;
use http::{HeaderMap, HeaderName};
use serde_json::Value;

/// The JSON-RPC error code for a request whose headers disagree with its body.
pub(crate) const HEADER_MISMATCH: i64 = -32020;

/// The first revision whose clients must send the standard headers.
const STANDARD_HEADERS_REVISION: &str = "2026-07-28";

// Names made once: a lookup by a `&str` parses and lowercases it on every request.
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const METHOD: HeaderName = HeaderName::from_static("mcp-method");
const NAME: HeaderName = HeaderName::from_static("mcp-name");
const PARAM_PREFIX: &str = "mcp-param-";
pub(crate) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// Where `Mcp-Name` comes from for `method`: `params.name`, `params.uri` or `params.taskId`.
fn name_source(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// Why the headers of a request were refused (the message of the JSON-RPC error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch(pub(crate) String);

/// The single value of header `name`, as text: `Err` for a repeated header (an intermediary may
/// have read another line than we do) or a value that is not visible ASCII.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Mismatch> {
    let Some(value) = crate::framing::sole(headers, name).map_err(|_| {
        Mismatch(format!(
            "the {name} header appears more than once; send it once"
        ))
    })?
    else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| v.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t'))
        .map(Some)
        .ok_or_else(|| {
            Mismatch(format!(
                "the {name} header is not visible ASCII; wrap other values as =?base64?...?="
            ))
        })
}

/// Decodes the `=?base64?...?=` form (standard alphabet, UTF-8); other values are literal.
fn decode<'a>(name: &str, value: &'a str) -> Result<std::borrow::Cow<'a, str>, Mismatch> {
    match value
        .strip_prefix(BASE64_PREFIX)
        .and_then(|inner| inner.strip_suffix(BASE64_SUFFIX))
    {
        Some(inner) => base64::engine::general_purpose::STANDARD
            .decode(inner)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(std::borrow::Cow::Owned)
            .ok_or_else(|| {
                Mismatch(format!(
                    "the {name} header's =?base64?...?= value is not base64 of UTF-8 text"
                ))
            }),
        None => Ok(std::borrow::Cow::Borrowed(value)),
    }
}

/// The revision a message declares in `params._meta`, if any.
fn meta_version(message: &Value) -> Option<&str> {
    message
        .get("params")?
        .get("_meta")?
        .get(META_VERSION)?
        .as_str()
}

/// Checks the standard headers of a `POST` against its parsed body (one message or a batch).
pub(crate) fn check(headers: &HeaderMap, body: &Value) -> Result<(), Mismatch> {
    let header_version = single(headers, &PROTOCOL_VERSION)?;
    let body_version = super::messages(body).iter().find_map(meta_version);
    if let (Some(header), Some(body)) = (header_version, body_version)
        && header != body
    {
        return Err(Mismatch(format!(
            "the MCP-Protocol-Version header ({header}) differs from the request's _meta protocolVersion ({body})"
        )));
    }
    let version = header_version.or(body_version);
    // Revisions are dated `YYYY-MM-DD`, so they order as strings.
    let required = version.is_some_and(|v| v >= STANDARD_HEADERS_REVISION);
    let method_header = single(headers, &METHOD)?;
    let name_header = single(headers, &NAME)?;
    let has_param_headers = headers.keys().any(|k| k.as_str().starts_with(PARAM_PREFIX));

    if let Value::Array(_) = body {
        // One set of headers cannot describe several messages, and the revisions that have
        // these headers have no batches.
        if required || method_header.is_some() || name_header.is_some() || has_param_headers {
            return Err(Mismatch(
                "a JSON-RPC batch cannot carry Mcp-Method, Mcp-Name or Mcp-Param-* headers (revision 2026-07-28 has no batches): send one message per request".into(),
            ));
        }
        return Ok(());
    }

    let method = body.get("method").and_then(Value::as_str);
    let Some(method) = method else {
        // A response or an error from the client: it has no method to describe.
        if method_header.is_some() || name_header.is_some() || has_param_headers {
            return Err(Mismatch(
                "Mcp-Method, Mcp-Name and Mcp-Param-* describe a request; this body is a JSON-RPC response".into(),
            ));
        }
        return Ok(());
    };
    // The handshake may come before the revision is known: required only when present.
    let required = required && method != "initialize";

    match method_header {
        Some(value) if value != method => {
            return Err(Mismatch(format!(
                "the Mcp-Method header ({value}) does not match the body's method ({method})"
            )));
        }
        None if required => {
            return Err(Mismatch(format!(
                "revision {} requires the Mcp-Method header (here: {method})",
                version.unwrap_or(STANDARD_HEADERS_REVISION)
            )));
        }
        _ => {}
    }

    let params = body.get("params");
    match name_source(method) {
        Some(member) => {
            let expected = params.and_then(|p| p.get(member)).and_then(Value::as_str);
            match (name_header, expected) {
                (Some(raw), Some(expected)) => {
                    let decoded = decode("Mcp-Name", raw)?;
                    if decoded != expected {
                        return Err(Mismatch(format!(
                            "the Mcp-Name header does not match the body's params.{member} for {method}"
                        )));
                    }
                }
                (Some(_), None) => {
                    return Err(Mismatch(format!(
                        "the Mcp-Name header is present but the body has no params.{member}"
                    )));
                }
                (None, Some(_)) if required => {
                    return Err(Mismatch(format!(
                        "revision {} requires the Mcp-Name header for {method} (from params.{member})",
                        version.unwrap_or(STANDARD_HEADERS_REVISION)
                    )));
                }
                _ => {}
            }
        }
        None if name_header.is_some() => {
            return Err(Mismatch(format!(
                "the Mcp-Name header is present but {method} has no name"
            )));
        }
        None => {}
    }

    if has_param_headers {
        if method != "tools/call" {
            return Err(Mismatch(format!(
                "Mcp-Param-* headers describe tools/call arguments; this request is {method}"
            )));
        }
        // Which argument a `Mcp-Param-*` header mirrors is declared in the tool's input schema
        // (`x-mcp-header`), which the MCP server checks before dispatch; here each one must at
        // least be a single, well-formed value. Scopes never depend on them.
        for name in headers
            .keys()
            .filter(|k| k.as_str().starts_with(PARAM_PREFIX))
        {
            if let Some(value) = single(headers, name)? {
                decode(name.as_str(), value)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn call(name: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}})
    }

    const V26: (&str, &str) = ("MCP-Protocol-Version", "2026-07-28");

    #[test]
    fn sep2243_matching_headers_pass_and_a_named_tool_must_match() {
        let ok = headers(&[
            V26,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "list_notes"),
        ]);
        assert_eq!(check(&ok, &call("list_notes")), Ok(()));
        let err = check(&ok, &call("create_note")).unwrap_err();
        assert!(err.0.contains("Mcp-Name"), "{err:?}");
        let wrong_method = headers(&[V26, ("Mcp-Method", "tools/list"), ("Mcp-Name", "x")]);
        assert!(
            check(&wrong_method, &call("x"))
                .unwrap_err()
                .0
                .contains("Mcp-Method")
        );
    }

    #[test]
    fn sep2243_revision_2026_requires_the_headers_older_ones_check_what_is_sent() {
        assert!(check(&headers(&[V26]), &call("a")).is_err());
        assert!(check(&headers(&[V26, ("Mcp-Method", "tools/call")]), &call("a")).is_err());
        let old = ("MCP-Protocol-Version", "2025-11-25");
        assert_eq!(check(&headers(&[old]), &call("a")), Ok(()));
        assert!(check(&headers(&[old, ("Mcp-Name", "b")]), &call("a")).is_err());
        // No header but the body's _meta says 2026-07-28.
        let meta = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {META_VERSION: "2026-07-28"}}});
        assert!(check(&headers(&[]), &meta).is_err());
        assert_eq!(
            check(&headers(&[("Mcp-Method", "tools/list")]), &meta),
            Ok(())
        );
        // Header and _meta disagree.
        let other = headers(&[
            ("MCP-Protocol-Version", "2025-11-25"),
            ("Mcp-Method", "tools/list"),
        ]);
        assert!(check(&other, &meta).unwrap_err().0.contains("_meta"));
        // The handshake does not need them.
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}});
        assert_eq!(check(&headers(&[V26]), &init), Ok(()));
        assert!(check(&headers(&[V26, ("Mcp-Method", "ping")]), &init).is_err());
    }

    #[test]
    fn sep2243_base64_names_repeated_lines_and_stray_headers() {
        let body = call("café");
        let encoded = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode("café")
        );
        let ok = headers(&[V26, ("Mcp-Method", "tools/call"), ("Mcp-Name", &encoded)]);
        assert_eq!(check(&ok, &body), Ok(()));
        let bad = headers(&[
            V26,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "=?base64?!!?="),
        ]);
        assert!(check(&bad, &body).unwrap_err().0.contains("base64"));
        let twice = headers(&[
            V26,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "a"),
            ("Mcp-Name", "a"),
        ]);
        assert!(
            check(&twice, &call("a"))
                .unwrap_err()
                .0
                .contains("more than once")
        );
        let stray = headers(&[V26, ("Mcp-Method", "tools/list"), ("Mcp-Name", "a")]);
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        assert!(check(&stray, &list).is_err());
        let param = headers(&[
            V26,
            ("Mcp-Method", "tools/list"),
            ("Mcp-Param-Region", "eu"),
        ]);
        assert!(check(&param, &list).is_err());
        let task =
            json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"taskId": "t1"}});
        let task_headers = headers(&[V26, ("Mcp-Method", "tasks/get"), ("Mcp-Name", "t2")]);
        assert!(check(&task_headers, &task).is_err());
    }

    #[test]
    fn sep2243_batches_and_responses_cannot_carry_request_headers() {
        let batch = json!([call("a"), call("b")]);
        assert_eq!(check(&headers(&[]), &batch), Ok(()));
        assert!(check(&headers(&[("Mcp-Method", "tools/call")]), &batch).is_err());
        assert!(check(&headers(&[V26]), &batch).is_err());
        let response = json!({"jsonrpc": "2.0", "id": 3, "result": {}});
        assert_eq!(check(&headers(&[V26]), &response), Ok(()));
        assert!(check(&headers(&[("Mcp-Method", "tools/call")]), &response).is_err());
    }
}
