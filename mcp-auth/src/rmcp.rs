//! The verified token inside [rmcp](https://docs.rs/rmcp) tool and prompt handlers (feature
//! `rmcp`).
//!
//! An rmcp server mounted behind [`BearerLayer`](crate::BearerLayer) (usually
//! [`ResourceAuth::mcp_layer`](crate::ResourceAuth::mcp_layer)) gets every request only after
//! the layer verified its token and checked the scopes of the tool it calls. rmcp's streamable
//! HTTP server hands the HTTP request's [`Parts`] to handlers in
//! [`RequestContext::extensions`]; the layer put the verified token into those parts'
//! extensions. [`auth_info`] reads it in one line:
//!
//! ```
//! use mcp_auth::rmcp::auth_info;
//! use rmcp::service::RequestContext;
//! use rmcp::{ErrorData, RoleServer};
//!
//! // The body of a `#[tool]` method taking `ctx: RequestContext<RoleServer>`.
//! async fn whoami(ctx: RequestContext<RoleServer>) -> Result<String, ErrorData> {
//!     let auth = auth_info(&ctx)?;
//!     Ok(auth.subject().unwrap_or("unknown").to_owned())
//! }
//! ```
//!
//! A handler that takes rmcp's `Extension<Parts>` uses [`auth_info_from_parts`] instead. The
//! layer also inserts a plain [`AuthInfo`] clone into the request extensions, so
//! `parts.extensions.get::<AuthInfo>()` works as well; the functions here are preferred because
//! they only accept what the layer itself recorded.
//!
//! A handler reached without the layer (the server is not mounted behind it, or runs over stdio)
//! gets an error, never an anonymous identity.

use http::request::Parts;
use rmcp::model::Extensions;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

use crate::auth_info::AuthInfo;
use crate::extract::Authenticated;

/// The message when rmcp has no HTTP request for the handler.
const NO_HTTP_REQUEST: &str = "mcp-auth: this request did not arrive over HTTP (no \
    http::request::Parts in the request context); serve the MCP server with rmcp's \
    StreamableHttpService behind mcp-auth's bearer layer";

/// The message when the HTTP request did not pass through the layer.
const NOT_BEHIND_LAYER: &str = "mcp-auth: the MCP server is not behind mcp-auth's bearer layer \
    (no verified token on the request); mount it with \
    `Router::new().nest_service(\"/mcp\", service).layer(resource.mcp_layer(...))`";

/// The verified token of the request a tool or prompt handler serves.
///
/// # Errors
///
/// An `internal_error` (a server misconfiguration, not a client mistake) when the request did
/// not pass through mcp-auth's layer: rmcp's request context carries no HTTP request (e.g. a
/// stdio transport), or the HTTP request carries no token verified by the layer.
pub fn auth_info(ctx: &RequestContext<RoleServer>) -> Result<AuthInfo, ErrorData> {
    from_extensions(&ctx.extensions)
}

/// The verified token recorded in the HTTP request `parts`, for handlers that take rmcp's
/// `Extension<http::request::Parts>`; `None` when the request did not pass through the layer.
///
/// ```
/// use mcp_auth::rmcp::auth_info_from_parts;
///
/// let (parts, ()) = http::Request::new(()).into_parts();
/// assert!(auth_info_from_parts(&parts).is_none(), "not behind the layer");
/// ```
pub fn auth_info_from_parts(parts: &Parts) -> Option<&AuthInfo> {
    parts
        .extensions
        .get::<Authenticated>()
        .map(|authenticated| &authenticated.info)
}

/// The [state handles](crate::binding::StateHandles) of the caller of a tool: mint a handle into
/// a tool result, check it when it comes back as an argument. A handle is refused to every other
/// user, on every instance that shares the resource's binding store.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::rmcp::{handle_error, state_handles};
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer};
///
/// async fn open_draft(ctx: RequestContext<RoleServer>) -> Result<String, ErrorData> {
///     let handles = state_handles(&ctx)?;
///     handles.mint(Duration::from_secs(3600)).await.map_err(handle_error)
/// }
///
/// async fn publish(ctx: RequestContext<RoleServer>, draft: String) -> Result<(), ErrorData> {
///     state_handles(&ctx)?.check(&draft).await.map_err(handle_error)?;
///     Ok(()) // the draft is the caller's
/// }
/// ```
///
/// # Errors
///
/// As [`auth_info`]: an `internal_error` when the request did not pass through the layer.
pub fn state_handles(
    ctx: &RequestContext<RoleServer>,
) -> Result<crate::binding::StateHandles, ErrorData> {
    authenticated(&ctx.extensions).map(Authenticated::handles)
}

/// A token for the downstream API `audience` with `scopes`, on behalf of the caller of a tool
/// (see [`downstream`](crate::downstream) and [`Auth::downstream_token`](crate::Auth::downstream_token)).
///
/// ```
/// use mcp_auth::rmcp::downstream_token;
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer};
///
/// async fn backup(ctx: RequestContext<RoleServer>, notes: String) -> Result<String, ErrorData> {
///     let token = downstream_token(&ctx, "https://backup.example.com/api", &[]).await?;
///     let sent = token
///         .authorize(reqwest::Client::new().post("https://backup.example.com/api"))
///         .body(notes)
///         .send()
///         .await;
///     Ok(format!("{}", sent.is_ok()))
/// }
/// ```
///
/// # Errors
///
/// An `internal_error` when the request did not pass through the layer, or the token could not
/// be had (the message says why, naming no token). Behind the layer, an authorization server
/// that is unavailable never reaches the client as this error: the layer answers `503` with
/// `Retry-After` instead, whatever the tool returns (an answer already streaming as
/// server-sent events ends with an error event).
pub async fn downstream_token(
    ctx: &RequestContext<RoleServer>,
    audience: &str,
    scopes: &[&str],
) -> Result<crate::downstream::DownstreamToken, ErrorData> {
    let authenticated = authenticated(&ctx.extensions)?.clone();
    authenticated
        .downstream_token(audience, scopes)
        .await
        .map_err(|error| {
            tracing::debug!(%error, "no downstream token");
            ErrorData::internal_error(error.client_message(), None)
        })
}

/// The JSON-RPC error for a refused handle: `invalid_params` ("unknown handle") for
/// [`HandleError::Unknown`](crate::binding::HandleError::Unknown), an `internal_error` naming
/// the binding store when it could not take or check the handle.
///
/// Behind the layer, a handle the store could not take or check never reaches the client as
/// this error: the layer answers the request `503` with `Retry-After` instead (or, for an answer
/// already streaming as server-sent events, ends the stream with an error event), whatever the
/// tool returns.
pub fn handle_error(error: crate::binding::HandleError) -> ErrorData {
    match error {
        crate::binding::HandleError::Unknown => ErrorData::invalid_params(
            "unknown handle: it was not issued to you, or it expired",
            None,
        ),
        other => {
            tracing::debug!(error = %other, "state handle could not be checked");
            ErrorData::internal_error(crate::binding::UNAVAILABLE_DESCRIPTION, None)
        }
    }
}

fn authenticated(extensions: &Extensions) -> Result<&Authenticated, ErrorData> {
    let Some(parts) = extensions.get::<Parts>() else {
        tracing::error!("{NO_HTTP_REQUEST}");
        return Err(ErrorData::internal_error(NO_HTTP_REQUEST, None));
    };
    match parts.extensions.get::<Authenticated>() {
        Some(authenticated) => Ok(authenticated),
        None => {
            tracing::error!("{NOT_BEHIND_LAYER}");
            Err(ErrorData::internal_error(NOT_BEHIND_LAYER, None))
        }
    }
}

fn from_extensions(extensions: &Extensions) -> Result<AuthInfo, ErrorData> {
    authenticated(extensions).map(|authenticated| authenticated.info.clone())
}

/// Enforces the scopes and roles `S` of the `#[mcp_resource]` `R` inside an rmcp tool or prompt,
/// whatever layer the server is behind; `#[tool_scopes]` adds it as a parameter of every tool and
/// prompt marked `#[requires_scope]` or `#[requires_role]`. Not used directly.
///
/// The layer in MCP mode refuses a call that lacks the scopes with an HTTP `403` before the tool
/// runs (the answer clients step up on). This guard is the floor under it: a call that reaches
/// the tool without them (the server was wrapped in a plain layer without the tool scopes, or in
/// no layer at all) fails with a JSON-RPC error and the tool body never runs. Without a token
/// verified by mcp-auth's layer it fails too.
#[doc(hidden)]
pub struct ToolScopeGuard<R, S> {
    _marker: std::marker::PhantomData<fn() -> (R, S)>,
}

impl<C, R, S> rmcp::handler::server::common::FromContextPart<C> for ToolScopeGuard<R, S>
where
    C: rmcp::handler::server::common::AsRequestContext,
    R: crate::spec::Resource,
    S: crate::spec::ScopeSet,
{
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        let extensions = &context.as_request_context().extensions;
        let needs = crate::mcp::Needs::from_static(S::SCOPES, S::ROLES);
        guard::<R>(extensions, &needs)?;
        Ok(Self {
            _marker: std::marker::PhantomData,
        })
    }
}

/// Enforces, inside an rmcp `read_resource` (or `subscribe`, `unsubscribe`), what the
/// `#[mcp_resource]` `R` requires for the resource `uri` in `access`: the requirements
/// `#[tool_scopes]` read from the method's `#[requires_scope(.., uri = ..)]` attributes, which it
/// calls this with before the body runs. Not used directly.
///
/// As [`ToolScopeGuard`], the floor under the layer: a URI with a requirement is refused
/// without a token verified by mcp-auth's layer, or without its scopes and roles.
#[doc(hidden)]
pub fn resource_guard<R: crate::spec::Resource>(
    extensions: &Extensions,
    uri: &str,
    access: &crate::mcp::McpAccess,
) -> Result<(), ErrorData> {
    let params = serde_json::json!({ "uri": uri });
    let needs = access.needs("resources/read", &params);
    if needs.is_empty() {
        return Ok(());
    }
    guard::<R>(extensions, &needs)
}

/// The decision of the rmcp guards: the layer's record of the token, then roles, then scopes.
fn guard<R: crate::spec::Resource>(
    extensions: &Extensions,
    needs: &crate::mcp::Needs<'_>,
) -> Result<(), ErrorData> {
    let authenticated = authenticated(extensions)?;
    let refusal = match authenticated.role_refusal(needs.roles()) {
        Some(refusal) => refusal,
        None => match authenticated.scope_refusal(needs.scopes().iter().copied()) {
            Some(refusal) => refusal,
            None => return Ok(()),
        },
    };
    let protection = &authenticated.layer.protection;
    protection
        .notices
        .unchecked_tool_scopes(&protection.id, R::SPEC.type_name);
    // The layer's refusal, as a JSON-RPC error: it names what the call lacks.
    let data = match refusal.error_code() {
        Some(crate::ErrorCode::Forbidden) => serde_json::json!({ "error": "forbidden" }),
        _ => serde_json::json!({
            "error": "insufficient_scope",
            "scope": refusal.missing_scopes().join(" "),
        }),
    };
    let code = data["error"].as_str().unwrap_or("forbidden").to_owned();
    Err(ErrorData::invalid_request(
        format!("{code}: {}", refusal.description()),
        Some(data),
    ))
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;
    use std::sync::Arc;

    use super::*;
    use crate::auth_info::TokenKind;
    use crate::resource::{ProtectedResource, ResourceServer};
    use crate::spec::AnyResource;

    fn authenticated(subject: &str) -> Authenticated {
        let server = ResourceServer::builder()
            .resource(
                ProtectedResource::new("https://mcp.example.com/mcp")
                    .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks"),
            )
            .build()
            .unwrap();
        let protection = Arc::clone(&server.resources().next().unwrap().inner.protection);
        Authenticated {
            info: AuthInfo::from(crate::auth_info::TokenFacts {
                issuer: "https://auth.example.com".into(),
                subject: Some(subject.into()),
                client_id: None,
                audiences: vec!["https://mcp.example.com/mcp".into()],
                scopes: vec!["read:notes".into()],
                expires_at: None,
                issued_at: None,
                token_id: None,
                claims: Default::default(),
                kind: TokenKind::Jwt,
            }),
            layer: Arc::new(crate::extract::LayerContext {
                protection,
                marker: TypeId::of::<AnyResource>(),
                required: Arc::from(Vec::new()),
                error_body: None,
            }),
            outage: None,
            token: None,
        }
    }

    fn parts_with(authenticated: Option<Authenticated>) -> Parts {
        let mut request = http::Request::new(());
        if let Some(a) = authenticated {
            request.extensions_mut().insert(a);
        }
        request.into_parts().0
    }

    #[test]
    fn reads_the_token_the_layer_recorded() {
        let mut extensions = Extensions::new();
        extensions.insert(parts_with(Some(authenticated("alice"))));
        let info = from_extensions(&extensions).unwrap();
        assert_eq!(info.subject(), Some("alice"));
    }

    #[test]
    fn a_plain_auth_info_is_not_trusted() {
        // Only the layer's own record counts: a bare `AuthInfo` (which any middleware could
        // insert) is not taken for a verified token.
        let mut request = http::Request::new(());
        request
            .extensions_mut()
            .insert(authenticated("mallory").info);
        let parts = request.into_parts().0;
        assert!(auth_info_from_parts(&parts).is_none());
    }

    #[test]
    fn without_the_layer_it_is_an_internal_error_not_anonymous() {
        let mut extensions = Extensions::new();
        extensions.insert(parts_with(None));
        let error = from_extensions(&extensions).unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::INTERNAL_ERROR);
        assert!(
            error.message.contains("not behind mcp-auth's bearer layer"),
            "{}",
            error.message
        );
    }

    #[test]
    fn without_http_it_is_an_internal_error() {
        let error = from_extensions(&Extensions::new()).unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::INTERNAL_ERROR);
        assert!(
            error.message.contains("did not arrive over HTTP"),
            "{}",
            error.message
        );
    }
}
