//! The HTTP side: one handler that counts, applies faults and dispatches on the exact path.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::authorize;
use super::clients::authenticate;
use super::fault::Fault;
use super::introspect;
use super::metadata::Route;
use super::register;
use super::server::Shared;
use super::token;
use super::wire::{self, Form, OAuthError};

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    match shared.traffic.record(&path) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return fault_response(fault),
        None => {}
    }
    let Some(&route) = shared.layout.routes.get(&path) else {
        return wire::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "nothing is served at this path",
        );
    };
    // Browsers (MCP Inspector) call these directly, so they answer CORS requests.
    let cors_methods = match route {
        Route::OAuthMetadata | Route::OidcMetadata | Route::TenantMetadata { .. } | Route::Jwks => {
            Some("GET, HEAD")
        }
        Route::Token | Route::Register => Some("POST"),
        Route::Introspect | Route::Authorize => None,
    };
    if let (Some(methods), &Method::OPTIONS) = (cors_methods, &parts.method) {
        return wire::preflight(methods);
    }
    let mut response = match route {
        Route::OAuthMetadata | Route::OidcMetadata | Route::TenantMetadata { .. } | Route::Jwks => {
            if parts.method != Method::GET && parts.method != Method::HEAD {
                wire::method_not_allowed("GET, HEAD")
            } else if route == Route::Jwks {
                let mut response = Json(shared.jwks()).into_response();
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, shared.jwks_cache_control.clone());
                response
            } else if let Route::TenantMetadata { oidc, tenant } = route {
                Json(shared.tenant_metadata(oidc, tenant)).into_response()
            } else {
                Json(shared.metadata(route == Route::OidcMetadata)).into_response()
            }
        }
        Route::Token | Route::Introspect => {
            if parts.method != Method::POST {
                wire::method_not_allowed("POST")
            } else {
                let result = match wire::read_form(&parts.headers, body).await {
                    Ok(form) if route == Route::Token => {
                        token::token_endpoint(&shared, &parts, &form).await
                    }
                    Ok(form) => introspection_endpoint(&shared, &parts.headers, &form),
                    Err(e) => Err(e),
                };
                let mut response = result.unwrap_or_else(OAuthError::into_response);
                wire::no_store(response.headers_mut());
                response
            }
        }
        Route::Register => {
            if parts.method != Method::POST {
                wire::method_not_allowed("POST")
            } else {
                let result = register::register(&shared, &parts.headers, body).await;
                let mut response = result.unwrap_or_else(OAuthError::into_response);
                wire::no_store(response.headers_mut());
                response
            }
        }
        Route::Authorize => {
            authorize::handle(
                &shared,
                &parts.method,
                parts.uri.query(),
                &parts.headers,
                body,
            )
            .await
        }
    };
    if cors_methods.is_some() {
        wire::allow_any_origin(response.headers_mut());
    }
    response
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
            wire::error(
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

/// RFC 7662 §2: any confidential client may introspect.
fn introspection_endpoint(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    let client_id = if wire::single(form, "client_assertion_type")?.is_some() {
        super::assertion::authenticate(
            shared,
            headers,
            form,
            &shared.layout.introspection_endpoint,
        )?
    } else {
        let client = authenticate(&shared.clients, headers, form)?;
        if client.is_public() {
            return Err(OAuthError::invalid_client(
                "public clients may not introspect; authenticate with a client secret",
            ));
        }
        if shared
            .introspection_keys
            .iter()
            .any(|(id, _)| id == &client.client_id)
        {
            return Err(OAuthError::invalid_client(
                "this client introspects with private_key_jwt",
            ));
        }
        client.client_id.clone()
    };
    let token = wire::single(form, "token")?
        .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))?;
    // token_type_hint is optional and may be ignored (RFC 7662 §2.1).
    wire::single(form, "token_type_hint")?;
    let answer = introspect::introspect(shared, token);
    // RFC 9701: a signed answer when the caller asks for one (and the server signs them).
    let wants_jwt = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(introspect::SIGNED_RESPONSE));
    if wants_jwt && shared.signs_introspection {
        let jwt = introspect::signed(shared, &client_id, answer).map_err(|_| {
            OAuthError::server_error("the introspection answer could not be signed")
        })?;
        return Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                introspect::SIGNED_RESPONSE,
            )],
            jwt,
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}
