//! CORS for browser MCP clients: the headers of protected responses and both preflights.
//!
//! * The protected endpoint (behind the bearer layer) answers a preflight with `204`, never
//!   authenticated, allowing the MCP request headers; its responses (rejections included) expose
//!   `WWW-Authenticate` and the MCP headers to an allowed `Origin` only.
//! * The metadata document is public: `Access-Control-Allow-Origin: *` and a preflight that
//!   allows what the browser asks for.
//!
//! Which origins may call the protected endpoint at all is [`OriginPolicy`]'s decision.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The request headers a browser MCP client sends, allowed in preflights.
const ALLOWED_REQUEST_HEADERS: &str = "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id, mcp-method, mcp-name, dpop";
/// The response headers a browser client must be able to read.
const EXPOSED_HEADERS: &str = "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, DPoP-Nonce";
/// The request headers the metadata preflight allows when the browser names none.
const METADATA_ALLOWED_HEADERS: &str = "mcp-protocol-version, accept, authorization, content-type";

/// Which browser origins may call a resource. Requests without `Origin` (non-browser clients)
/// are never affected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// The resource's own origin and loopback origins (`localhost`, `127.0.0.0/8`, `[::1]`,
    /// any port): local tools such as MCP Inspector work, a page elsewhere is refused.
    #[default]
    LocalAndSelf,
    /// The resource's own origin and exactly these.
    List(Vec<String>),
    /// Every origin.
    Any,
}

impl OriginPolicy {
    /// Whether a browser at `origin` may call the resource whose origin is `resource_origin`.
    pub(crate) fn allows(&self, origin: &HeaderValue, resource_origin: &str) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        // A serialized origin (RFC 6454 §6.2): `scheme://host[:port]`, nothing else (no path,
        // query, userinfo or trailing slash). `null` and other values are never allowed.
        let serialized = url::Url::parse(origin)
            .ok()
            .map(|u| u.origin().ascii_serialization());
        if !serialized.is_some_and(|s| s.eq_ignore_ascii_case(origin)) {
            return false;
        }
        if origin.eq_ignore_ascii_case(resource_origin) {
            return true;
        }
        match self {
            Self::Any => true,
            Self::List(allowed) => allowed.iter().any(|a| a == origin),
            Self::LocalAndSelf => url::Url::parse(origin).ok().is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host()
                        .is_some_and(|h| mcp_auth_rules::is_loopback_host(&h))
            }),
        }
    }
}

/// The `204` answer to a preflight of the protected endpoint. Requested `mcp-*` headers (the
/// `Mcp-Param-*` family of newer revisions) are allowed besides the known ones.
pub(crate) fn endpoint_preflight(request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    let mut allowed = ALLOWED_REQUEST_HEADERS.to_owned();
    if let Some(requested) = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
    {
        for name in requested
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let lower = name.to_ascii_lowercase();
            let known = allowed.split(", ").any(|a| a == lower);
            if !known
                && lower.starts_with("mcp-")
                && HeaderName::from_bytes(lower.as_bytes()).is_ok()
            {
                allowed.push_str(", ");
                allowed.push_str(&lower);
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&allowed) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    headers.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    response
}

/// The CORS headers of a protected response to an allowed `origin`.
pub(crate) fn add_endpoint_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if !headers.contains_key(header::ACCESS_CONTROL_EXPOSE_HEADERS) {
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}

/// `Access-Control-Allow-Origin: *`, for the public metadata document.
pub(crate) fn add_public_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The `204` answer to a preflight of the metadata document: it is public, so what the browser
/// asks for is allowed.
pub(crate) fn public_preflight(request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    add_public_headers(headers);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    let allowed = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static(METADATA_ALLOWED_HEADERS));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}
