//! Axum extractors: [`Auth`] hands the verified token to handlers, [`ScopeGuard`] enforces the
//! scopes of `#[requires_scope]`.

use std::any::{TypeId, type_name};
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::auth_info::AuthInfo;
use crate::layer::{AnyResource, AuthRejection, Authenticated};
use crate::resource::ResourceHandle;
use crate::spec::ScopeSet;

/// The verified token of the request, for handlers behind a [`BearerLayer`](crate::layer::BearerLayer).
///
/// `Auth<Notes>` only accepts a token verified by the layer of the `#[mcp_resource]` type
/// `Notes`, so a handler cannot be reached with a token verified for another resource. `Auth`
/// (that is, `Auth<AnyResource>`) accepts the token of any layer.
///
/// Used on a route without the layer, extraction fails loudly with a `500` that says so: it
/// never lets the request through unauthenticated.
///
/// ```
/// use mcp_auth::Auth;
///
/// async fn whoami(auth: Auth) -> String {
///     format!("{} via {}", auth.subject().unwrap_or("?"), auth.client_id().unwrap_or("?"))
/// }
/// ```
pub struct Auth<R = AnyResource> {
    info: AuthInfo,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Auth<R> {
    /// The verified token's facts.
    pub fn info(&self) -> &AuthInfo {
        &self.info
    }

    /// Takes the [`AuthInfo`] out.
    pub fn into_inner(self) -> AuthInfo {
        self.info
    }
}

impl<R> Deref for Auth<R> {
    type Target = AuthInfo;

    fn deref(&self) -> &AuthInfo {
        &self.info
    }
}

impl<R> Clone for Auth<R> {
    fn clone(&self) -> Self {
        Self {
            info: self.info.clone(),
            _resource: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for Auth<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Auth").field(&self.info).finish()
    }
}

/// Why [`Auth`] or [`ScopeGuard`] could not be extracted: the route is not behind the right
/// layer. A programming error, answered with `500` and a message that says how to fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct MissingAuthLayer(String);

impl IntoResponse for MissingAuthLayer {
    fn into_response(self) -> Response {
        tracing::error!(message = %self.0, "mcp-auth extractor used without its layer");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({
                "error": "server_error",
                "error_description": self.0,
            })),
        )
            .into_response()
    }
}

fn authenticated<R: 'static>(parts: &Parts) -> Result<&Authenticated, MissingAuthLayer> {
    let Some(auth) = parts.extensions.get::<Authenticated>() else {
        return Err(MissingAuthLayer(format!(
            "Auth<{}> needs the route to be behind mcp-auth's bearer layer; add `.layer(..layer())` to the router that holds this route",
            short_name::<R>()
        )));
    };
    if TypeId::of::<R>() != TypeId::of::<AnyResource>() && auth.marker != TypeId::of::<R>() {
        return Err(MissingAuthLayer(format!(
            "Auth<{}> is used behind the layer of another resource ({}); use that resource's layer or Auth<AnyResource>",
            short_name::<R>(),
            auth.resource.id()
        )));
    }
    Ok(auth)
}

fn short_name<T>() -> &'static str {
    let full = type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

impl<S: Send + Sync, R: 'static> FromRequestParts<S> for Auth<R> {
    type Rejection = MissingAuthLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            info: authenticated::<R>(parts)?.info.clone(),
            _resource: PhantomData,
        })
    }
}

/// Enforces the scopes `S` before a handler runs; inserted by `#[requires_scope]`.
///
/// A token without them gets the `403 insufficient_scope` challenge of the layer (RS-47), with
/// every scope the handler needs plus the baseline scopes the token holds (RS-48).
pub struct ScopeGuard<R, S> {
    _marker: PhantomData<fn() -> (R, S)>,
}

impl<R, S> std::fmt::Debug for ScopeGuard<R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeGuard")
    }
}

/// The rejection of a [`ScopeGuard`].
#[derive(Debug)]
pub enum ScopeRejection {
    /// The route is not behind the resource's layer.
    MissingLayer(MissingAuthLayer),
    /// The token lacks scopes: the ready `403` response.
    Insufficient(Response),
}

impl IntoResponse for ScopeRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer(e) => e.into_response(),
            Self::Insufficient(response) => response,
        }
    }
}

/// Checks `needed` against the token of `auth`: `None` when granted, else the `403` response.
pub(crate) fn missing_scopes_response(auth: &Authenticated, needed: &[&str]) -> Option<Response> {
    let resource: &ResourceHandle = &auth.resource;
    let granted = auth.info.scopes();
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|scope| !resource.scope_hierarchy().satisfies(granted, scope))
        .collect();
    if missing.is_empty() {
        return None;
    }
    tracing::info!(?missing, "insufficient scope");
    let mut all: Vec<String> = needed.iter().map(|s| (*s).to_owned()).collect();
    for scope in auth.required.iter() {
        if !all.contains(scope) {
            all.push(scope.clone());
        }
    }
    let scopes = auth.challenge_scopes(&all);
    Some(auth.reject(AuthRejection::insufficient_scope(
        resource, &scopes, &missing,
    )))
}

impl<St: Send + Sync, R: 'static, S: ScopeSet> FromRequestParts<St> for ScopeGuard<R, S> {
    type Rejection = ScopeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let auth = authenticated::<R>(parts).map_err(ScopeRejection::MissingLayer)?;
        if let Some(response) = missing_scopes_response(auth, S::SCOPES) {
            return Err(ScopeRejection::Insufficient(response));
        }
        Ok(Self {
            _marker: PhantomData,
        })
    }
}
