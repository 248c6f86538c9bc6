//! Wire helpers shared by the endpoints: RFC 6749 §5.2 JSON errors, form bodies, CORS and
//! caching headers.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use url::form_urlencoded;

/// Bodies above this size are refused (forms and registrations here are tiny).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// An RFC 6749 §5.2 (or RFC 7591 §3.2.2) error.
#[derive(Debug)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) description: String,
    /// Adds `WWW-Authenticate: Basic` (RFC 6749 §5.2 `invalid_client`).
    pub(crate) challenge: bool,
    /// A `DPoP-Nonce` to send (RFC 9449 §8, with `use_dpop_nonce`).
    pub(crate) dpop_nonce: Option<String>,
}

impl OAuthError {
    pub(crate) fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            challenge: false,
            dpop_nonce: None,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_grant", description)
    }

    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: description.into(),
            challenge: true,
            dpop_nonce: None,
        }
    }

    pub(crate) fn server_error(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: description.into(),
            challenge: false,
            dpop_nonce: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = error(self.status, self.code, &self.description);
        if self.challenge {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dev-authorization-server\""),
            );
        }
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("dpop-nonce", nonce);
        }
        response
    }
}

/// An RFC 6749 §5.2 style JSON error.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "this method is not allowed here",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// `Access-Control-Allow-Origin: *`: browsers (MCP Inspector) may read the response.
pub(crate) fn allow_any_origin(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
}

/// The answer to a CORS preflight (`OPTIONS`) for a route that accepts `methods`.
pub(crate) fn preflight(methods: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_any_origin(headers);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, MCP-Protocol-Version"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    headers.insert(ALLOW, HeaderValue::from_static(methods));
    response
}

/// The form parameters of a request, in order, repeats kept.
pub(crate) type Form = Vec<(String, String)>;

/// The media type of the request (`Content-Type` without parameters), lowercased.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// The body, at most [`MAX_BODY`] bytes.
pub(crate) async fn read_body(body: Body) -> Result<bytes::Bytes, OAuthError> {
    to_bytes(body, MAX_BODY).await.map_err(|_| OAuthError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "invalid_request",
        description: "the body is too large".into(),
        challenge: false,
        dpop_nonce: None,
    })
}

/// An `application/x-www-form-urlencoded` body.
pub(crate) async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    if media_type(headers).as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(parse_form(&read_body(body).await?))
}

/// Parses `a=b&c=d` (a body or a query string).
pub(crate) fn parse_form(bytes: &[u8]) -> Form {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// The value of a parameter that must appear at most once (RFC 6749 §3.1, §3.2).
pub(crate) fn single<'f>(form: &'f Form, name: &str) -> Result<Option<&'f str>, OAuthError> {
    let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(format!(
            "the `{name}` parameter appears more than once"
        )));
    }
    Ok(first.map(String::as_str))
}

/// Every value of a parameter that may repeat (RFC 8707 `resource`).
pub(crate) fn all<'f>(form: &'f Form, name: &str) -> Vec<&'f str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The scope tokens of a `scope` parameter: an empty value is no scope; otherwise scope
/// tokens separated by single spaces (RFC 6749 §3.3), else `Err` with the problem.
pub(crate) fn scope_tokens(scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(scope) = scope else {
        return Ok(Vec::new());
    };
    let tokens: Vec<&str> = scope.split(' ').collect();
    if tokens
        .iter()
        .any(|s| mcp_auth_rules::scope_token(s).is_err())
    {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            "scope must be scope tokens separated by single spaces (RFC 6749 §3.3)",
        ));
    }
    let mut unique: Vec<String> = Vec::with_capacity(tokens.len());
    for token in tokens {
        if !unique.iter().any(|t| t == token) {
            unique.push(token.to_owned());
        }
    }
    Ok(unique)
}

/// `true` for an RFC 8707 resource indicator: an absolute URI without a fragment.
pub(crate) fn is_resource_indicator(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|u| u.fragment().is_none())
}

/// Checks every `resource` value (RFC 8707 §2), `invalid_target` otherwise.
pub(crate) fn resources(form: &Form) -> Result<Vec<&str>, OAuthError> {
    let values = all(form, "resource");
    if values.iter().all(|r| is_resource_indicator(r)) {
        Ok(values)
    } else {
        Err(OAuthError::bad_request(
            "invalid_target",
            "resource must be an absolute URI without a fragment (RFC 8707 §2)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_are_checked_and_deduplicated() {
        assert_eq!(scope_tokens(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            scope_tokens(Some("a b a")).unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(
            scope_tokens(Some("a  b")).unwrap_err().code,
            "invalid_scope"
        );
        assert_eq!(scope_tokens(Some("")).unwrap_err().code, "invalid_scope");
        assert_eq!(
            scope_tokens(Some("a\"b")).unwrap_err().code,
            "invalid_scope"
        );
    }

    #[test]
    fn resource_indicators_are_absolute_without_fragment() {
        assert!(is_resource_indicator("https://api.example.com/mcp"));
        assert!(is_resource_indicator("urn:example:api"));
        assert!(!is_resource_indicator("/relative"));
        assert!(!is_resource_indicator("https://a.example.com/#frag"));
    }
}
