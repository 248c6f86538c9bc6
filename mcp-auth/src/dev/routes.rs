//! The HTTP side: one handler that counts, applies faults and dispatches on the exact path.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use url::form_urlencoded;

use super::fault::Fault;
use super::introspect;
use super::metadata::Route;
use super::mint::{DEFAULT_LIFETIME, TokenBuilder};
use super::server::Shared;

/// Bodies above this size are refused (forms here are tiny).
const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    match shared.traffic.record(&path) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return fault_response(fault),
        None => {}
    }
    let Some(&route) = shared.layout.routes.get(&path) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "nothing is served at this path",
        );
    };
    match route {
        Route::OAuthMetadata | Route::OidcMetadata | Route::Jwks => {
            if parts.method != Method::GET && parts.method != Method::HEAD {
                return method_not_allowed("GET, HEAD");
            }
            match route {
                Route::Jwks => {
                    let mut response = Json(shared.jwks()).into_response();
                    response
                        .headers_mut()
                        .insert(CACHE_CONTROL, shared.jwks_cache_control.clone());
                    response
                }
                _ => Json(shared.metadata(route == Route::OidcMetadata)).into_response(),
            }
        }
        Route::Token | Route::Introspect => {
            if parts.method != Method::POST {
                return method_not_allowed("POST");
            }
            let result = match read_form(&parts.headers, body).await {
                Ok(form) if route == Route::Token => token_endpoint(&shared, &parts.headers, &form),
                Ok(form) => introspection_endpoint(&shared, &parts.headers, &form),
                Err(e) => Err(e),
            };
            let mut response = result.unwrap_or_else(OAuthError::into_response);
            no_store(response.headers_mut());
            response
        }
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status.is_server_error() {
                "server_error"
            } else {
                "invalid_request"
            };
            error(
                status,
                code,
                "fault injected by the development authorization server",
            )
        }
        Fault::Body {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("text/plain"));
            (status, [(CONTENT_TYPE, content_type)], body).into_response()
        }
        // Handled before dispatch; kept total for a non-exhaustive future.
        Fault::Delay(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An RFC 6749 §5.2 error of the token or introspection endpoint.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Adds `WWW-Authenticate: Basic` (RFC 6749 §5.2 `invalid_client`).
    challenge: bool,
}

impl OAuthError {
    fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            challenge: false,
        }
    }

    fn invalid_client(description: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: description.into(),
            challenge: true,
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
        response
    }
}

/// An RFC 6749 §5.2 style JSON error.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn method_not_allowed(allow: &'static str) -> Response {
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

fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

type Form = Vec<(String, String)>;

async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| OAuthError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "invalid_request",
        description: "the body is too large".into(),
        challenge: false,
    })?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The value of a parameter that must appear at most once (RFC 6749 §3.1, §3.2).
fn single<'f>(form: &'f Form, name: &str) -> Result<Option<&'f str>, OAuthError> {
    let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            format!("the `{name}` parameter appears more than once"),
        ));
    }
    Ok(first.map(String::as_str))
}

/// Checks the client's credentials (`client_secret_basic` or `client_secret_post`, not both).
fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(), OAuthError> {
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(basic_credentials(value).ok_or_else(|| {
            OAuthError::invalid_client("the Authorization header is not valid Basic")
        })?),
    };
    let post_id = single(form, "client_id")?;
    let post_secret = single(form, "client_secret")?;
    let (id, secret) = match (basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        (Some(credentials), None) => credentials,
        (None, Some(secret)) => (post_id.unwrap_or_default().to_owned(), secret.to_owned()),
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        }
    };
    let id_ok = id == shared.client_id;
    let secret_ok = aws_lc_rs::constant_time::verify_slices_are_equal(
        secret.as_bytes(),
        shared.client_secret.as_bytes(),
    )
    .is_ok();
    if id_ok && secret_ok {
        Ok(())
    } else {
        Err(OAuthError::invalid_client("client authentication failed"))
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn form_decode(value: &str) -> String {
    // A lone key decodes to itself; `=` and `&` are percent-encoded by conforming clients.
    let escaped = value.replace('&', "%26").replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

fn token_endpoint(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    authenticate_client(shared, headers, form)?;
    match single(form, "grant_type")? {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "only the client_credentials grant is supported",
            ));
        }
        None => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "the grant_type parameter is missing",
            ));
        }
    }
    let scope = single(form, "scope")?;
    let scopes: Vec<&str> = scope.map(|s| s.split(' ').collect()).unwrap_or_default();
    if scopes.iter().any(|s| crate::rules::scope_token(s).is_err()) {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            "scope must be scope tokens separated by single spaces (RFC 6749 §3.3)",
        ));
    }
    let resources: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "resource")
        .map(|(_, v)| v.as_str())
        .collect();
    let valid_resource = |r: &&str| url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
    if !resources.iter().all(valid_resource) {
        return Err(OAuthError::bad_request(
            "invalid_target",
            "resource must be an absolute URI without a fragment (RFC 8707 §2)",
        ));
    }

    let mut builder = TokenBuilder::new(shared)
        .subject(shared.client_id.clone())
        .client_id(shared.client_id.clone());
    builder = match resources.as_slice() {
        [] => builder,
        [one] => builder.audience(*one),
        many => builder.audiences(many.iter().copied()),
    };
    if !scopes.is_empty() {
        builder = builder.scopes(scopes.iter().copied());
    }
    let access_token = builder.try_mint().map_err(|e| {
        tracing::warn!(error = %e, "the development authorization server could not mint a token");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: "the token could not be signed".into(),
            challenge: false,
        }
    })?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": DEFAULT_LIFETIME,
    });
    if let (Some(scope), Value::Object(map)) = (scope, &mut body) {
        map.insert("scope".into(), scope.into());
    }
    Ok(Json(body).into_response())
}

fn introspection_endpoint(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    authenticate_client(shared, headers, form)?;
    let token = single(form, "token")?.ok_or_else(|| {
        OAuthError::bad_request("invalid_request", "the token parameter is missing")
    })?;
    // token_type_hint is optional and may be ignored (RFC 7662 §2.1).
    single(form, "token_type_hint")?;
    Ok(Json(introspect::introspect(shared, token)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header =
            |raw: &str| HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap();
        assert_eq!(
            basic_credentials(&header("my%20client:s%3Acret+x")),
            Some(("my client".into(), "s:cret x".into()))
        );
        assert_eq!(
            basic_credentials(&header("a=b&c:d")),
            Some(("a=b&c".into(), "d".into()))
        );
        assert_eq!(basic_credentials(&header("no-colon")), None);
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Bearer abc")),
            None
        );
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Basic !!!")),
            None
        );
    }
}
