//! Rejections: what a request gets when it does not reach the handler, and how it is rendered.
//!
//! Every refusal of the bearer layer and of the `#[requires_scope]` extractor is an
//! [`AuthRejection`]: a status, an RFC 6750 error code, a description without token material and
//! the `WWW-Authenticate` challenge. The layer renders it with the application's
//! [`error_body`](crate::BearerLayer::error_body) hook, or with
//! [`AuthRejection::default_body`]; the status and the headers are always the layer's.

use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderValue};

use crate::bearer::MalformedCredentials;
use crate::challenge::BearerChallenge;
use crate::error::{ErrorCode, VerifyError};
use crate::resource::ResourceInner;
use crate::scope::MissingScopes;

/// A rejection the layer (or a scope guard) answers with, before the handler runs.
///
/// [`BearerLayer::error_body`](crate::BearerLayer::error_body) lets applications shape its JSON
/// body; the status and the RFC 6750 headers are always set by the layer.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    status: StatusCode,
    code: Option<ErrorCode>,
    description: String,
    challenge: Option<BearerChallenge>,
    retry_after: Option<u64>,
    /// The `DPoP` challenge (and nonce) of a resource that accepts DPoP.
    dpop: Option<Box<crate::dpop::layer::DpopReply>>,
}

/// A function that builds the JSON body of rejections.
pub type ErrorBodyHook = Arc<dyn Fn(&AuthRejection) -> serde_json::Value + Send + Sync>;

impl AuthRejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The outcome (`None` for a request without credentials or with a refused origin).
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code
    }

    /// A human-readable description without token material.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The `WWW-Authenticate` challenge, for `400`/`401`/`403`.
    pub fn challenge(&self) -> Option<&BearerChallenge> {
        self.challenge.as_ref()
    }

    /// The default JSON body: `{"error": .., "error_description": ..}`, with no token material.
    /// `error` is the RFC 6750 code, left out for a request without credentials (RFC 6750 §3.1);
    /// a `503` says `temporarily_unavailable`.
    pub fn default_body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        match self.code {
            Some(ErrorCode::Unavailable) => {
                body.insert("error".into(), "temporarily_unavailable".into());
            }
            Some(code) => {
                if let Some(name) = code.as_rfc6750() {
                    body.insert("error".into(), name.into());
                }
            }
            None => {}
        }
        body.insert("error_description".into(), self.description.clone().into());
        serde_json::Value::Object(body)
    }

    /// `401` without an error code: the request carried no bearer token (RFC 6750 §3.1).
    pub(crate) fn missing_credentials(resource: &ResourceInner, scopes: &[String]) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: None,
            description: "Authentication required: send an OAuth 2.1 access token in the Authorization header (Bearer scheme)".into(),
            challenge: Some(BearerChallenge::new(resource.metadata_url.as_str()).scope(scopes)),
            retry_after: None,
            dpop: None,
        }
    }

    /// `400 invalid_request`: the credentials could not be read.
    pub(crate) fn malformed(resource: &ResourceInner, why: MalformedCredentials) -> Self {
        let description = why.to_string();
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Some(ErrorCode::InvalidRequest),
            challenge: Some(
                BearerChallenge::new(resource.metadata_url.as_str())
                    .error(ErrorCode::InvalidRequest)
                    .error_description(description.clone()),
            ),
            description,
            retry_after: None,
            dpop: None,
        }
    }

    /// `401 invalid_token`, or `503` with `Retry-After` when the token could not be checked.
    pub(crate) fn from_verify_error(
        resource: &ResourceInner,
        error: &VerifyError,
        scopes: &[String],
    ) -> Self {
        match error {
            VerifyError::Unavailable { retry_after, .. } => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: Some(ErrorCode::Unavailable),
                // The reason names upstream URLs: log it, do not send it.
                description: "The authorization server is temporarily unavailable; retry later"
                    .into(),
                challenge: None,
                retry_after: Some(
                    retry_after
                        .as_secs()
                        .max(resource.settings.retry_after_floor),
                ),
                dpop: None,
            },
            _ => {
                let description = error.to_string();
                Self {
                    status: StatusCode::UNAUTHORIZED,
                    code: Some(ErrorCode::InvalidToken),
                    challenge: Some(
                        BearerChallenge::new(resource.metadata_url.as_str())
                            .error(ErrorCode::InvalidToken)
                            .error_description(description.clone())
                            .scope(scopes),
                    ),
                    description,
                    retry_after: None,
                    dpop: None,
                }
            }
        }
    }

    /// `503` with `Retry-After`: the [binding store](crate::binding) could not take or check a
    /// binding this request needs (unreachable, too slow, or full). The authorization server
    /// is not at fault, and the description says so. `Retry-After` is `retry_after` (when a full
    /// store makes room) if the store knows it, never below the resource's floor.
    pub(crate) fn binding_store_unavailable(
        resource: &ResourceInner,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: Some(ErrorCode::Unavailable),
            description: crate::binding::UNAVAILABLE_DESCRIPTION.into(),
            challenge: None,
            retry_after: Some(crate::binding::retry_after_secs(
                retry_after,
                resource.settings.retry_after_floor,
            )),
            dpop: None,
        }
    }

    /// `403 insufficient_scope`, naming `challenge_scopes` (see
    /// [`challenge_scopes`](crate::scope::challenge_scopes)).
    pub(crate) fn insufficient_scope(
        resource: &ResourceInner,
        challenge_scopes: &[String],
        missing: &MissingScopes,
    ) -> Self {
        let description = missing.to_string();
        Self {
            status: StatusCode::FORBIDDEN,
            code: Some(ErrorCode::InsufficientScope),
            challenge: Some(
                BearerChallenge::new(resource.metadata_url.as_str())
                    .error(ErrorCode::InsufficientScope)
                    .scope(challenge_scopes)
                    .error_description(description.clone()),
            ),
            description,
            retry_after: None,
            dpop: None,
        }
    }

    /// `403` without a challenge: the browser `Origin` is not allowed.
    pub(crate) fn forbidden_origin() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: None,
            description: "The request's Origin is not allowed".into(),
            challenge: None,
            retry_after: None,
            dpop: None,
        }
    }

    /// `403` without a challenge: the request has more than one `Origin` line.
    pub(crate) fn ambiguous_origin() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: None,
            description: "The request has more than one Origin header".into(),
            challenge: None,
            retry_after: None,
            dpop: None,
        }
    }

    /// `400 invalid_request` without a challenge: the request itself is malformed (not its
    /// credentials), e.g. its `Host` header.
    pub(crate) fn bad_request(description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Some(ErrorCode::InvalidRequest),
            description: description.into(),
            challenge: None,
            retry_after: None,
            dpop: None,
        }
    }

    /// The response, its body built by `hook` when the application set one.
    pub(crate) fn render(self, hook: Option<&ErrorBodyHook>) -> Response {
        let body = match hook {
            Some(hook) => hook(&self),
            None => self.default_body(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        let bearer = self.dpop.as_ref().is_none_or(|d| d.bearer);
        if let Some(challenge) = self.challenge.as_ref().filter(|_| bearer) {
            headers.insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        if let Some(dpop) = &self.dpop {
            dpop.apply(headers);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A refusal whose response depends only on the layer and the kind of refusal (not on the
/// token's claims), so that the layer can render it once and answer it again from
/// [`Prebuilt`] copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RejectionKey {
    /// No (Bearer) credentials.
    Missing,
    /// Unreadable credentials.
    Malformed(MalformedCredentials),
    /// A token the verifier refused (never [`VerifyError::Unavailable`]: its `Retry-After`
    /// varies).
    Verify(VerifyError),
}

impl RejectionKey {
    /// The rejection, rendered in full.
    pub(crate) fn rejection(&self, resource: &ResourceInner, scopes: &[String]) -> AuthRejection {
        match self {
            Self::Missing => AuthRejection::missing_credentials(resource, scopes),
            Self::Malformed(why) => AuthRejection::malformed(resource, *why),
            Self::Verify(error) => AuthRejection::from_verify_error(resource, error, scopes),
        }
    }
}

/// A rendered rejection without an application body hook: the status, the header values and
/// the JSON body bytes, shared (cloning is a reference count).
#[derive(Debug, Clone)]
pub(crate) struct Prebuilt {
    status: StatusCode,
    challenge: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
    body: Bytes,
}

impl Prebuilt {
    /// What [`AuthRejection::render`] without a hook answers, kept.
    fn of(rejection: &AuthRejection) -> Self {
        // Serializing a `Value` cannot fail.
        let body = serde_json::to_vec(&rejection.default_body()).unwrap_or_default();
        Self {
            status: rejection.status,
            challenge: rejection
                .challenge
                .as_ref()
                .map(BearerChallenge::to_header_value),
            retry_after: rejection.retry_after.map(HeaderValue::from),
            body: Bytes::from(body),
        }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The same response as [`AuthRejection::render`] without a hook: status, `Content-Type`,
    /// `WWW-Authenticate`, `Retry-After`, `Cache-Control` and body.
    pub(crate) fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = &self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
        }
        if let Some(secs) = &self.retry_after {
            headers.insert(header::RETRY_AFTER, secs.clone());
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The most distinct refusals one layer keeps rendered (the kinds are few; the bound only
/// guards against a verifier whose errors vary without end).
const MAX_PREBUILT: usize = 64;

/// The rejections a layer has rendered, by [`RejectionKey`]: a refusal seen before is answered
/// without formatting, sanitising or serializing anything.
#[derive(Debug, Default)]
pub(crate) struct PrebuiltRejections {
    entries: RwLock<Vec<(RejectionKey, Prebuilt)>>,
}

impl PrebuiltRejections {
    /// The response for `key`, rendered by `build` the first time.
    pub(crate) fn get_or_build(
        &self,
        key: RejectionKey,
        build: impl FnOnce(&RejectionKey) -> AuthRejection,
    ) -> Prebuilt {
        {
            let entries = self
                .entries
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, prebuilt)) = entries.iter().find(|(k, _)| *k == key) {
                return prebuilt.clone();
            }
        }
        let prebuilt = Prebuilt::of(&build(&key));
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() < MAX_PREBUILT && !entries.iter().any(|(k, _)| *k == key) {
            entries.push((key, prebuilt.clone()));
        }
        prebuilt
    }
}

/// DPoP (RFC 9449 §7.1): the challenges of a resource that accepts the `DPoP` scheme.
impl AuthRejection {
    /// The `WWW-Authenticate: DPoP` challenge, sent after the Bearer one (or alone when the
    /// resource requires DPoP), for a resource that accepts DPoP.
    pub fn dpop_challenge(&self) -> Option<&crate::dpop::DpopChallenge> {
        self.dpop.as_ref().map(|d| &d.challenge)
    }

    /// `code` (401 `invalid_dpop_proof`, `use_dpop_nonce` or `invalid_token`) for a request
    /// of the DPoP path, the error on a Bearer-form challenge until
    /// [`dpop_scheme`](Self::dpop_scheme) moves it to the DPoP one.
    pub(crate) fn dpop_refused(
        resource: &ResourceInner,
        code: ErrorCode,
        description: String,
        scopes: &[String],
    ) -> Self {
        Self {
            status: code.status(),
            code: Some(code),
            challenge: Some(
                BearerChallenge::new(resource.metadata_url.as_str())
                    .error(code)
                    .error_description(description.clone())
                    .scope(scopes),
            ),
            description,
            retry_after: None,
            dpop: None,
        }
    }

    /// Replaces the description (what the client should do differs when DPoP is required).
    pub(crate) fn described(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// Adds the DPoP reply (a challenge without error) to a rejection of the Bearer path.
    pub(crate) fn add_dpop(mut self, dpop: crate::dpop::layer::DpopReply) -> Self {
        if self.status != StatusCode::SERVICE_UNAVAILABLE {
            self.dpop = Some(Box::new(dpop));
        }
        self
    }

    /// For a request that used the `DPoP` scheme: the error goes on the DPoP challenge (with
    /// `algs` and the `DPoP-Nonce` `nonce`), the Bearer challenge keeps only `resource_metadata`
    /// and `scope`, and is sent only when `bearer` (the resource accepts Bearer).
    pub(crate) fn dpop_scheme(
        mut self,
        algs: &[&str],
        bearer: bool,
        nonce: Option<HeaderValue>,
    ) -> Self {
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return self;
        }
        let Some(with_error) = self.challenge.take() else {
            return self;
        };
        self.challenge =
            Some(BearerChallenge::new(with_error.resource_metadata()).scope(with_error.scopes()));
        self.dpop = Some(Box::new(crate::dpop::layer::DpopReply {
            challenge: crate::dpop::DpopChallenge::new(with_error, algs),
            nonce,
            bearer,
        }));
        self
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.render(None)
    }
}
