//! Rejections: what a request gets when it does not reach the handler, and how it is rendered.
//!
//! Every refusal of the bearer layer, of MCP mode and of the `#[requires_scope]` extractor is an
//! [`AuthRejection`]: a status, an RFC 6750 error code, a description without token material and
//! the `WWW-Authenticate` challenges. It is built from a resource's [`ChallengeContext`] (where
//! the metadata is, which scopes a client should ask for, which schemes it accepts), for the
//! scheme the request used ([`Scheme`]): a resource that accepts DPoP sends its `DPoP` challenge
//! too, with the error on the challenge of the request's scheme (RFC 9449 §7.1). The layer
//! renders it with the application's [`error_body`](crate::BearerLayer::error_body) hook, or
//! with [`AuthRejection::default_body`]; the status and the headers are always the layer's.

use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{HeaderName, StatusCode};

use crate::auth_info::AuthInfo;
use crate::bearer::{MalformedCredentials, Scheme};
use crate::challenge::BearerChallenge;
use crate::dpop::DpopChallenge;
use crate::error::{ErrorCode, VerifyError};
use crate::scope::MissingScopes;

const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// What a resource's challenges say, whatever the refusal: built once per resource.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeContext {
    /// The absolute URL of the RFC 9728 metadata document (`resource_metadata`).
    pub(crate) metadata_url: String,
    /// `scopes_supported`: the baseline scopes a client should hold.
    pub(crate) base_scopes: Vec<String>,
    /// The least `Retry-After` of a `503`, in seconds.
    pub(crate) retry_floor: u64,
    /// The `DPoP` scheme, when the resource accepts it.
    pub(crate) dpop: Option<DpopOffer>,
}

/// How a resource that accepts DPoP states it in its challenges.
#[derive(Debug, Clone)]
pub(crate) struct DpopOffer {
    /// The accepted proof algorithms (`algs`).
    pub(crate) algs: Vec<&'static str>,
    /// Whether `Bearer` is accepted too (its challenge is then sent first).
    pub(crate) bearer: bool,
}

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
    dpop: Option<Box<DpopReply>>,
    /// The scopes an `insufficient_scope` refusal found missing (empty otherwise).
    missing: Vec<String>,
}

/// The DPoP part of a rejection: the `DPoP` challenge, a `DPoP-Nonce`, and whether the Bearer
/// challenge is sent too.
#[derive(Debug, Clone)]
struct DpopReply {
    challenge: DpopChallenge,
    nonce: Option<HeaderValue>,
    bearer: bool,
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

    /// The `WWW-Authenticate: Bearer` challenge, for `400`/`401`/`403` (absent when the resource
    /// accepts only DPoP).
    pub fn challenge(&self) -> Option<&BearerChallenge> {
        self.challenge
            .as_ref()
            .filter(|_| self.dpop.as_ref().is_none_or(|d| d.bearer))
    }

    /// The `WWW-Authenticate: DPoP` challenge, sent after the Bearer one (or alone when the
    /// resource requires DPoP), for a resource that accepts DPoP.
    pub fn dpop_challenge(&self) -> Option<&DpopChallenge> {
        self.dpop.as_ref().map(|d| &d.challenge)
    }

    /// The scopes the token lacks, for a `403 insufficient_scope` (empty for every other
    /// refusal). The challenge's `scope` names more: every scope the operation needs, and the
    /// baseline scopes the token holds, so that re-authorizing loses nothing.
    pub fn missing_scopes(&self) -> &[String] {
        &self.missing
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
            Some(ErrorCode::Forbidden) => {
                body.insert("error".into(), "forbidden".into());
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

    fn plain(status: StatusCode, code: Option<ErrorCode>, description: String) -> Self {
        Self {
            status,
            code,
            description,
            challenge: None,
            retry_after: None,
            dpop: None,
            missing: Vec::new(),
        }
    }

    /// `401` without an error code: the request carried no usable credentials (RFC 6750 §3.1).
    pub(crate) fn missing_credentials(ctx: &ChallengeContext, scopes: &[String]) -> Self {
        let dpop_only = ctx.dpop.as_ref().is_some_and(|d| !d.bearer);
        let description = if dpop_only {
            "Authentication required: send a DPoP-bound access token (Authorization: DPoP) with a DPoP proof header"
        } else {
            "Authentication required: send an OAuth 2.1 access token in the Authorization header (Bearer scheme)"
        };
        Self {
            challenge: Some(BearerChallenge::new(ctx.metadata_url.as_str()).scope(scopes)),
            ..Self::plain(StatusCode::UNAUTHORIZED, None, description.into())
        }
        .offer_dpop(ctx, scopes)
    }

    /// `400 invalid_request`: the credentials of `scheme` could not be read.
    pub(crate) fn malformed(
        ctx: &ChallengeContext,
        scheme: Scheme,
        why: MalformedCredentials,
        scopes: &[String],
    ) -> Self {
        match scheme {
            Scheme::Dpop => Self::refused(ctx, Scheme::Dpop, why.code(), why.to_string(), scopes),
            Scheme::Bearer => {
                let description = why.to_string();
                Self {
                    challenge: Some(
                        BearerChallenge::new(ctx.metadata_url.as_str())
                            .error(ErrorCode::InvalidRequest)
                            .error_description(description.clone()),
                    ),
                    ..Self::plain(
                        StatusCode::BAD_REQUEST,
                        Some(ErrorCode::InvalidRequest),
                        description,
                    )
                }
                .offer_dpop(ctx, scopes)
            }
        }
    }

    /// `401 invalid_token` for a token of `scheme` the verifier refused, or `503` with
    /// `Retry-After` when it could not be checked.
    pub(crate) fn from_verify_error(
        ctx: &ChallengeContext,
        scheme: Scheme,
        error: &VerifyError,
        scopes: &[String],
    ) -> Self {
        match error {
            VerifyError::Unavailable { retry_after, .. } => Self {
                retry_after: Some(retry_after.as_secs().max(ctx.retry_floor)),
                // The reason names upstream URLs: log it, do not send it.
                ..Self::plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(ErrorCode::Unavailable),
                    "The authorization server is temporarily unavailable; retry later".into(),
                )
            },
            _ => Self::refused(
                ctx,
                scheme,
                ErrorCode::InvalidToken,
                error.to_string(),
                scopes,
            ),
        }
    }

    /// `code` (`401 invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, `400
    /// invalid_request`) with `description`, on the challenge of `scheme`.
    pub(crate) fn refused(
        ctx: &ChallengeContext,
        scheme: Scheme,
        code: ErrorCode,
        description: String,
        scopes: &[String],
    ) -> Self {
        Self {
            challenge: Some(
                BearerChallenge::new(ctx.metadata_url.as_str())
                    .error(code)
                    .error_description(description.clone())
                    .scope(scopes),
            ),
            ..Self::plain(code.status(), Some(code), description)
        }
        .for_scheme(ctx, scheme, scopes)
    }

    /// `403 insufficient_scope` for a token of `scheme` that lacks `missing` for an operation
    /// that needs `needed`, beyond the `required` scopes of the layer. The one place a scope
    /// refusal is built (the layer, MCP mode, the extractor and the rmcp guard come here).
    ///
    /// Its `scope` names every needed and required scope, then the baseline scopes the token
    /// still holds, so that a client re-authorizing with exactly this list loses nothing it had
    /// (MCP's step-up guidance). Without duplicates and in a fixed order, so that repeated
    /// refusals are byte-identical.
    pub(crate) fn insufficient_scope<'a>(
        ctx: &ChallengeContext,
        info: &AuthInfo,
        needed: impl IntoIterator<Item = &'a str>,
        required: &[String],
        missing: &MissingScopes,
    ) -> Self {
        let mut scopes: Vec<String> = Vec::new();
        let required = required.iter().map(String::as_str);
        let held = ctx.base_scopes.iter().filter(|s| info.has_scope(s));
        for scope in needed
            .into_iter()
            .map(str::to_owned)
            .chain(required.map(str::to_owned))
            .chain(held.cloned())
        {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        tracing::debug!(missing = ?missing.scopes(), "insufficient scope");
        let description = missing.to_string();
        let rejection = Self {
            challenge: Some(
                BearerChallenge::new(ctx.metadata_url.as_str())
                    .error(ErrorCode::InsufficientScope)
                    .scope(&scopes)
                    .error_description(description.clone()),
            ),
            missing: missing.scopes().to_vec(),
            ..Self::plain(
                StatusCode::FORBIDDEN,
                Some(ErrorCode::InsufficientScope),
                description,
            )
        };
        // A key-bound token got this far by the DPoP scheme only.
        let scheme = if info.dpop_jkt().is_some() {
            Scheme::Dpop
        } else {
            Scheme::Bearer
        };
        rejection.for_scheme(ctx, scheme, &scopes)
    }

    /// `403` without a challenge error: the token lacks the roles `missing`. The one place a
    /// role refusal is built. No `insufficient_scope`: RFC 6750 §3.1 has a client answered so
    /// obtain a token with more scope, and no scope grants a role, so MCP clients (which step
    /// up on it) would re-authorize in a loop. No `WWW-Authenticate` either: the token was
    /// accepted, and nothing the client can send would change the answer.
    pub(crate) fn forbidden_roles(missing: &[&str]) -> Self {
        let (noun, verb, pronoun) = match missing.len() {
            1 => ("role", "is", "it"),
            _ => ("roles", "are", "them"),
        };
        let description = format!(
            "The {noun} {} {verb} required for this operation and the access token does not grant {pronoun}; requesting more scopes does not help",
            missing.join(" ")
        );
        tracing::debug!(missing = ?missing, "insufficient role");
        Self::plain(
            StatusCode::FORBIDDEN,
            Some(ErrorCode::Forbidden),
            description,
        )
    }

    /// `503` with `Retry-After`: what the request's code needed could not answer, as
    /// `description` tells the client: the [binding store](crate::binding) (unreachable, too
    /// slow, or full; the authorization server is not at fault, and the description says so),
    /// or the authorization server asked for a downstream token. `Retry-After` is `retry_after`
    /// (when a full store makes room) if it is known, never below the resource's floor.
    pub(crate) fn unavailable(
        ctx: &ChallengeContext,
        description: &str,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        Self {
            retry_after: Some(crate::binding::retry_after_secs(
                retry_after,
                ctx.retry_floor,
            )),
            ..Self::plain(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(ErrorCode::Unavailable),
                description.into(),
            )
        }
    }

    /// `403` without a challenge: the browser `Origin` is not allowed.
    pub(crate) fn forbidden_origin() -> Self {
        Self::plain(
            StatusCode::FORBIDDEN,
            None,
            "The request's Origin is not allowed".into(),
        )
    }

    /// `403` without a challenge: the request has more than one `Origin` line.
    pub(crate) fn ambiguous_origin() -> Self {
        Self::plain(
            StatusCode::FORBIDDEN,
            None,
            "The request has more than one Origin header".into(),
        )
    }

    /// `400 invalid_request` without a challenge: the request itself is malformed (not its
    /// credentials), e.g. its `Host` header.
    pub(crate) fn bad_request(description: &str) -> Self {
        Self::plain(
            StatusCode::BAD_REQUEST,
            Some(ErrorCode::InvalidRequest),
            description.into(),
        )
    }

    /// Adds the `DPoP` challenge (with `scopes`, without an error) of a resource that accepts
    /// DPoP to a refusal of a request without credentials or with `Bearer` ones. A resource that
    /// requires DPoP sends no Bearer challenge: the error, if any, goes on the `DPoP` one.
    fn offer_dpop(mut self, ctx: &ChallengeContext, scopes: &[String]) -> Self {
        let Some(offer) = ctx.dpop.as_ref() else {
            return self;
        };
        if !offer.bearer {
            return self.on_dpop_challenge(ctx, None);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return self;
        }
        self.dpop = Some(Box::new(DpopReply {
            challenge: DpopChallenge::new(
                BearerChallenge::new(ctx.metadata_url.as_str()).scope(scopes),
                &offer.algs,
            ),
            nonce: None,
            bearer: offer.bearer,
        }));
        self
    }

    /// The refusal of a request that used `scheme`: for `Bearer`, the resource's `DPoP`
    /// challenge is added; for `DPoP`, the error moves to the `DPoP` challenge (with `algs`),
    /// and the Bearer challenge keeps only `resource_metadata` and `scope`, sent only when the
    /// resource accepts Bearer.
    fn for_scheme(self, ctx: &ChallengeContext, scheme: Scheme, scopes: &[String]) -> Self {
        match scheme {
            Scheme::Bearer => self.offer_dpop(ctx, scopes),
            Scheme::Dpop => self.on_dpop_challenge(ctx, None),
        }
    }

    /// Sends `nonce` as `DPoP-Nonce` with the `DPoP` challenge (for `use_dpop_nonce`).
    pub(crate) fn with_dpop_nonce(mut self, nonce: Option<HeaderValue>) -> Self {
        if let Some(dpop) = self.dpop.as_mut() {
            dpop.nonce = nonce;
        }
        self
    }

    /// Moves the error to the `DPoP` challenge, with `nonce` as `DPoP-Nonce`.
    fn on_dpop_challenge(mut self, ctx: &ChallengeContext, nonce: Option<HeaderValue>) -> Self {
        let Some(offer) = ctx.dpop.as_ref() else {
            return self;
        };
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return self;
        }
        let Some(with_error) = self.challenge.take() else {
            return self;
        };
        self.challenge =
            Some(BearerChallenge::new(with_error.resource_metadata()).scope(with_error.scopes()));
        self.dpop = Some(Box::new(DpopReply {
            challenge: DpopChallenge::new(with_error, &offer.algs),
            nonce,
            bearer: offer.bearer,
        }));
        self
    }

    /// The headers of the response: `Content-Type`, the challenges, `DPoP-Nonce`,
    /// `Retry-After`, `Cache-Control`.
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.challenge() {
            headers.append(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        if let Some(dpop) = &self.dpop {
            headers.append(header::WWW_AUTHENTICATE, dpop.challenge.to_header_value());
            if let Some(nonce) = &dpop.nonce {
                headers.insert(DPOP_NONCE, nonce.clone());
            }
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers
    }

    /// The response, its body built by `hook` when the application set one.
    pub(crate) fn render(self, hook: Option<&ErrorBodyHook>) -> Response {
        let body = match hook {
            Some(hook) => hook(&self),
            None => self.default_body(),
        };
        // Serializing a `Value` cannot fail.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Prebuilt {
            status: self.status,
            headers: self.headers(),
            body: Bytes::from(body),
        }
        .response()
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.render(None)
    }
}

/// A refusal whose response depends only on the layer and the kind of refusal (not on the
/// token's claims), so that the layer can render it once and answer it again from the kept
/// [`Prebuilt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RejectionKey {
    /// No usable credentials.
    Missing,
    /// Unreadable credentials of a scheme.
    Malformed(Scheme, MalformedCredentials),
    /// A Bearer token the verifier refused (never [`VerifyError::Unavailable`]: its
    /// `Retry-After` varies).
    Verify(VerifyError),
    /// A Bearer token at a resource that requires DPoP.
    DpopRequired,
}

impl RejectionKey {
    /// The rejection, rendered in full; `scopes`: the layer's challenge scopes.
    pub(crate) fn rejection(&self, ctx: &ChallengeContext, scopes: &[String]) -> AuthRejection {
        match self {
            Self::Missing => AuthRejection::missing_credentials(ctx, scopes),
            Self::Malformed(scheme, why) => AuthRejection::malformed(ctx, *scheme, *why, scopes),
            Self::Verify(error) => {
                AuthRejection::from_verify_error(ctx, Scheme::Bearer, error, scopes)
            }
            Self::DpopRequired => AuthRejection::refused(
                ctx,
                Scheme::Dpop,
                ErrorCode::InvalidToken,
                "This resource accepts only DPoP-bound access tokens: send Authorization: DPoP <token> with a DPoP proof".into(),
                scopes,
            ),
        }
    }
}

/// A rendered rejection without an application body hook: the status, the headers and the JSON
/// body bytes, shared (cloning the body is a reference count).
#[derive(Debug)]
struct Prebuilt {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Prebuilt {
    /// What [`AuthRejection::render`] without a hook answers, kept.
    fn of(rejection: &AuthRejection) -> Self {
        // Serializing a `Value` cannot fail.
        let body = serde_json::to_vec(&rejection.default_body()).unwrap_or_default();
        Self {
            status: rejection.status,
            headers: rejection.headers(),
            body: Bytes::from(body),
        }
    }

    /// The response: status, headers and body.
    fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
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
    pub(crate) fn respond(
        &self,
        key: RejectionKey,
        build: impl FnOnce(&RejectionKey) -> AuthRejection,
    ) -> Response {
        {
            let entries = self
                .entries
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, prebuilt)) = entries.iter().find(|(k, _)| *k == key) {
                return prebuilt.response();
            }
        }
        let prebuilt = Prebuilt::of(&build(&key));
        let response = prebuilt.response();
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() < MAX_PREBUILT && !entries.iter().any(|(k, _)| *k == key) {
            entries.push((key, prebuilt));
        }
        response
    }
}
