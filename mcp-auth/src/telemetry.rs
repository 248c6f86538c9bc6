//! What the request path records of its decisions, for the operator: the metrics (feature
//! `metrics`, through the `metrics` facade) and the audit trail (`tracing` events at the target
//! [`AUDIT_TARGET`]). The crate documentation lists both as a stable schema.
//!
//! * A decision is recorded where it is made, once: a refusal from the response the client gets
//!   (its status and challenge decide the `outcome`, so the label is what the client saw), an
//!   allowed request when it is passed on.
//! * Labels come from closed sets only: the outcome, the resource identifier (configuration),
//!   the operation's kind and its *declared* name (an MCP name the resource declares, otherwise
//!   `other`). Nothing a request carries (a token, a subject, a client id, a URI) is ever a label.
//! * The audit events carry the caller (client id, issuer, subject or its digest), never a token.
//! * The counters of the hot path are registered once per resource, at its first request: the
//!   recorder must be installed before the server serves.

use std::borrow::Cow;

use axum::response::Response;
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;

use crate::auth_info::AuthInfo;

/// The `tracing` target of the audit trail.
pub(crate) const AUDIT_TARGET: &str = "mcp_auth::audit";

/// What was decided about a request: the `outcome` label and audit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allowed,
    /// No credentials (`401` without an error code), or a DPoP nonce to use (`use_dpop_nonce`).
    Unauthenticated,
    /// `401` with an error code: the token or its DPoP proof was refused.
    InvalidToken,
    /// `403 insufficient_scope`.
    InsufficientScope,
    /// `403` without `insufficient_scope`: a role, a browser origin.
    Forbidden,
    /// Any other `4xx`: malformed credentials, an ambiguous or unreadable request, a session or
    /// task that is unknown or another user's (`404`).
    BadRequest,
    /// `503`: the authorization server or the binding store could not answer.
    Unavailable,
}

impl Outcome {
    #[cfg(feature = "metrics")]
    const COUNT: usize = 7;

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::Forbidden => "forbidden",
            Self::BadRequest => "bad_request",
            Self::Unavailable => "unavailable",
        }
    }

    /// The outcome of a refusal answered with `response`, read from what the client sees: its
    /// status and the error code of its challenges.
    pub(crate) fn of_refusal(response: &Response) -> Self {
        // Our challenges (Bearer, and DPoP beside it) carry one error code between them.
        let code = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .find_map(|value| challenge_error(value.as_bytes()));
        match (response.status(), code) {
            // A nonce challenge (RFC 9449 §8) is the protocol's first step, not a refused token.
            (StatusCode::UNAUTHORIZED, Some(b"use_dpop_nonce") | None) => Self::Unauthenticated,
            (StatusCode::UNAUTHORIZED, Some(_)) => Self::InvalidToken,
            (StatusCode::FORBIDDEN, Some(b"insufficient_scope")) => Self::InsufficientScope,
            (StatusCode::FORBIDDEN, _) => Self::Forbidden,
            (status, _) if status.is_server_error() => Self::Unavailable,
            (status, _) if status.is_client_error() => Self::BadRequest,
            // Not a refusal: a caller's mistake, recorded as what it let through.
            _ => Self::Allowed,
        }
    }
}

/// The value of the `error` parameter of one of our own challenges (`error="..."`, as
/// `challenge.rs` writes it), `None` when it has none.
fn challenge_error(value: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"error=\"";
    let at = memchr::memmem::find(value, KEY)?;
    // Not `error_description=` or `error_uri=`: those have `_` where `=` is.
    let rest = &value[at + KEY.len()..];
    let end = memchr::memchr(b'"', rest)?;
    Some(&rest[..end])
}

/// What one MCP operation of a request is, as labels: its kind and its declared name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OperationLabel {
    /// `tool`, `prompt`, `resource`, `completion`, or `method` for any other request.
    pub(crate) kind: &'static str,
    /// The JSON-RPC method, when it is one of MCP's (`other` otherwise).
    pub(crate) method: &'static str,
    /// The name the resource declares (a tool's or prompt's name, a resource URI or template,
    /// the method), `other` for a name it does not declare.
    pub(crate) name: Cow<'static, str>,
}

/// The distinct operations of a request with how many times each is asked for: a batch of many
/// messages is as many events and counter updates as it has distinct labels (a bounded set),
/// not messages.
fn grouped(operations: &[OperationLabel]) -> Vec<(&OperationLabel, u64)> {
    let mut groups: Vec<(&OperationLabel, u64)> = Vec::new();
    for op in operations {
        match groups.iter_mut().find(|(seen, _)| *seen == op) {
            Some((_, count)) => *count += 1,
            None => groups.push((op, 1)),
        }
    }
    groups
}

/// Whether a request's operations are recorded at all: with metrics, or when a subscriber
/// takes the audit trail.
pub(crate) fn records_operations() -> bool {
    cfg!(feature = "metrics") || tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO)
}

/// The JSON-RPC methods of MCP (2025-06-18 to 2026-07-28), the only ones that become a label.
const MCP_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/list",
    "tasks/result",
    "tasks/cancel",
    "roots/list",
    "sampling/createMessage",
    "elicitation/create",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// `method` as a label: itself when it is one of MCP's, `other` otherwise.
pub(crate) fn method_label(method: &str) -> &'static str {
    MCP_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or(OTHER)
}

/// The reason of an operation's refusal: the audit trail says `insufficient_scope` or
/// `missing_role`, from the answer.
pub(crate) const OPERATION: &str = "operation";

/// The label of anything not declared.
pub(crate) const OTHER: &str = "other";

/// How the audit trail names the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum AuditSubject {
    /// The token's `sub`.
    #[default]
    Plain,
    /// The binding stores' owner digest of issuer and subject (`binding::Owner`), instead.
    Digest,
}

/// The decisions of one resource, recorded.
#[derive(Debug)]
pub(crate) struct Telemetry {
    resource: String,
    subject: AuditSubject,
    #[cfg(feature = "metrics")]
    handles: std::sync::OnceLock<metrics_handles::Handles>,
}

impl Telemetry {
    pub(crate) fn new(resource: &str, subject: AuditSubject) -> Self {
        Self {
            resource: resource.to_owned(),
            subject,
            #[cfg(feature = "metrics")]
            handles: std::sync::OnceLock::new(),
        }
    }

    /// A request refused with `response` for `reason` (a stable code); `caller`: the verified
    /// token, when the refusal came after its verification; `operations`: what the request asked
    /// for, when its body was read.
    pub(crate) fn refused(
        &self,
        response: &Response,
        reason: &'static str,
        caller: Option<&AuthInfo>,
        operations: &[OperationLabel],
    ) {
        // Nothing records (no metrics, no audit subscriber): the answer is not read.
        if !cfg!(feature = "metrics")
            && !tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO)
        {
            return;
        }
        self.decided(Outcome::of_refusal(response), reason, caller, operations);
    }

    /// A request passed on; `operations` as for [`refused`](Self::refused), empty for a request
    /// that is not an MCP one (or whose body is not read).
    pub(crate) fn allowed(&self, caller: Option<&AuthInfo>, operations: &[OperationLabel]) {
        self.decided(Outcome::Allowed, "allowed", caller, operations);
    }

    fn decided(
        &self,
        outcome: Outcome,
        reason: &'static str,
        caller: Option<&AuthInfo>,
        operations: &[OperationLabel],
    ) {
        let reason = match (reason, outcome) {
            (OPERATION, Outcome::InsufficientScope) => "insufficient_scope",
            (OPERATION, Outcome::Forbidden) => "missing_role",
            (reason, _) => reason,
        };
        #[cfg(feature = "metrics")]
        self.count(outcome, operations);
        self.audit(outcome, reason, caller, operations);
    }

    /// The audit events of one decision: one per MCP operation, or one for the request. At
    /// `info`, except an allowed request that is no MCP operation (a route behind the layer),
    /// which is at `debug`.
    fn audit(
        &self,
        outcome: Outcome,
        reason: &'static str,
        caller: Option<&AuthInfo>,
        operations: &[OperationLabel],
    ) {
        let quiet = outcome == Outcome::Allowed && operations.is_empty();
        let enabled = if quiet {
            tracing::enabled!(target: AUDIT_TARGET, tracing::Level::DEBUG)
        } else {
            tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO)
        };
        if !enabled {
            return;
        }
        let issuer = caller.map(AuthInfo::issuer);
        let client_id = caller.and_then(AuthInfo::client_id);
        let (subject, subject_digest) = match (self.subject, caller) {
            (_, None) => (None, None),
            (AuditSubject::Plain, Some(info)) => (info.subject(), None),
            (AuditSubject::Digest, Some(info)) => {
                (None, Some(crate::binding::Owner::of(info).to_string()))
            }
        };
        let event =
            |operation: Option<&str>, kind: Option<&str>, name: Option<&str>, count: u64| {
                macro_rules! emit {
                ($level:expr) => {
                    tracing::event!(
                        target: AUDIT_TARGET,
                        $level,
                        outcome = outcome.as_str(),
                        reason,
                        resource = self.resource.as_str(),
                        operation,
                        kind,
                        name,
                        count,
                        client_id,
                        issuer,
                        subject,
                        subject_digest = subject_digest.as_deref(),
                        "decision"
                    )
                };
            }
                if quiet {
                    emit!(tracing::Level::DEBUG);
                } else {
                    emit!(tracing::Level::INFO);
                }
            };
        if operations.is_empty() {
            event(None, None, None, 1);
        }
        for (op, count) in grouped(operations) {
            event(Some(op.method), Some(op.kind), Some(&op.name), count);
        }
    }
}

/// The metrics of the hot path, registered once per resource.
#[cfg(feature = "metrics")]
mod metrics_handles {
    use super::{Outcome, Telemetry};
    use metrics::{Counter, Histogram};

    /// The handles of the counters every request touches.
    #[derive(Debug)]
    pub(super) struct Handles {
        /// By [`Outcome`], in its order.
        pub(super) requests: [Counter; Outcome::COUNT],
        pub(super) cache_hit: Counter,
        pub(super) cache_miss: Counter,
        pub(super) verify_hit: Histogram,
        pub(super) verify_miss: Histogram,
    }

    const OUTCOMES: [Outcome; Outcome::COUNT] = [
        Outcome::Allowed,
        Outcome::Unauthenticated,
        Outcome::InvalidToken,
        Outcome::InsufficientScope,
        Outcome::Forbidden,
        Outcome::BadRequest,
        Outcome::Unavailable,
    ];

    impl Telemetry {
        pub(super) fn handles(&self) -> &Handles {
            self.handles.get_or_init(|| {
                let resource = self.resource.clone();
                let requests = OUTCOMES.map(|outcome| {
                    metrics::counter!(
                        super::REQUESTS,
                        "outcome" => outcome.as_str(),
                        "resource" => resource.clone()
                    )
                });
                let cache = |result: &'static str| {
                    metrics::counter!(super::TOKEN_CACHE, "result" => result, "resource" => resource.clone())
                };
                let verify = |cache: &'static str| {
                    metrics::histogram!(super::VERIFY_SECONDS, "cache" => cache, "resource" => resource.clone())
                };
                Handles {
                    requests,
                    cache_hit: cache("hit"),
                    cache_miss: cache("miss"),
                    verify_hit: verify("hit"),
                    verify_miss: verify("miss"),
                }
            })
        }
    }

    pub(super) fn index(outcome: Outcome) -> usize {
        OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or_default()
    }
}

/// The names of the metrics of the hot path (the crate documentation lists every metric; the
/// others are in [`crate::metric`]).
#[cfg(feature = "metrics")]
pub(crate) const REQUESTS: &str = "mcp_auth_requests_total";
#[cfg(feature = "metrics")]
pub(crate) const OPERATIONS: &str = "mcp_auth_operations_total";
#[cfg(feature = "metrics")]
pub(crate) const TOKEN_CACHE: &str = "mcp_auth_token_cache_total";
#[cfg(feature = "metrics")]
pub(crate) const VERIFY_SECONDS: &str = "mcp_auth_verify_duration_seconds";

#[cfg(feature = "metrics")]
impl Telemetry {
    fn count(&self, outcome: Outcome, operations: &[OperationLabel]) {
        let handles = self.handles();
        handles.requests[metrics_handles::index(outcome)].increment(1);
        for (op, count) in grouped(operations) {
            metrics::counter!(
                OPERATIONS,
                "kind" => op.kind,
                "name" => op.name.clone(),
                "outcome" => outcome.as_str(),
                "resource" => self.resource.clone()
            )
            .increment(count);
        }
    }
}

/// The start of a verification, for its duration (feature `metrics`; nothing without it, and
/// nothing for a probe of the caches that is not sampled).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Started(#[cfg(feature = "metrics")] Option<std::time::Instant>);

/// One probe of the verifier's caches in this many is timed: a hit costs about 100 ns, and
/// reading the clock twice for each would cost half as much again.
#[cfg(feature = "metrics")]
pub(crate) const HIT_SAMPLING: u32 = 16;

impl Telemetry {
    /// Marks the start of a full verification.
    #[inline]
    pub(crate) fn start(&self) -> Started {
        Started(
            #[cfg(feature = "metrics")]
            Some(std::time::Instant::now()),
        )
    }

    /// Marks the start of a probe of the verifier's caches: timed one time in
    /// `HIT_SAMPLING`.
    #[inline]
    pub(crate) fn start_probe(&self) -> Started {
        #[cfg(feature = "metrics")]
        {
            // Per thread, not per resource: no atomic shared by every core on the hot path.
            thread_local! {
                static PROBES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
            }
            let n = PROBES.with(|probes| {
                let n = probes.get();
                probes.set(n.wrapping_add(1));
                n
            });
            Started(n.is_multiple_of(HIT_SAMPLING).then(std::time::Instant::now))
        }
        #[cfg(not(feature = "metrics"))]
        Started()
    }

    /// A verification that started at `started` is over: answered from the verifier's caches
    /// (`hit`), or in full.
    #[inline]
    pub(crate) fn verified(&self, started: Started, hit: bool) {
        #[cfg(feature = "metrics")]
        {
            let handles = self.handles();
            if hit {
                handles.cache_hit.increment(1);
            }
            if let Some(started) = started.0 {
                let seconds = started.elapsed().as_secs_f64();
                match hit {
                    true => handles.verify_hit.record(seconds),
                    false => handles.verify_miss.record(seconds),
                }
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (started, hit);
    }

    /// The verifier's caches did not know a token: it is verified in full.
    #[inline]
    pub(crate) fn cache_missed(&self) {
        #[cfg(feature = "metrics")]
        self.handles().cache_miss.increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn refusal(status: StatusCode, challenges: &[&str]) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        for challenge in challenges {
            response
                .headers_mut()
                .append(WWW_AUTHENTICATE, challenge.parse().unwrap());
        }
        response
    }

    #[test]
    fn the_outcome_of_a_refusal_is_what_the_client_sees() {
        let cases = [
            (
                StatusCode::UNAUTHORIZED,
                vec![
                    r#"Bearer resource_metadata="https://x/.well-known/oauth-protected-resource""#,
                ],
                "unauthenticated",
            ),
            (
                StatusCode::UNAUTHORIZED,
                vec![r#"Bearer error="invalid_token", error_description="expired""#],
                "invalid_token",
            ),
            (
                StatusCode::UNAUTHORIZED,
                vec![
                    r#"Bearer realm="x""#,
                    r#"DPoP error="invalid_dpop_proof", algs="ES256""#,
                ],
                "invalid_token",
            ),
            (
                StatusCode::FORBIDDEN,
                vec![r#"Bearer error="insufficient_scope", scope="a b""#],
                "insufficient_scope",
            ),
            (StatusCode::FORBIDDEN, vec![], "forbidden"),
            (
                StatusCode::BAD_REQUEST,
                vec![r#"Bearer error="invalid_request""#],
                "bad_request",
            ),
            (StatusCode::PAYLOAD_TOO_LARGE, vec![], "bad_request"),
            (StatusCode::NOT_FOUND, vec![], "bad_request"),
            (StatusCode::SERVICE_UNAVAILABLE, vec![], "unavailable"),
        ];
        for (status, challenges, outcome) in cases {
            let response = refusal(status, &challenges);
            assert_eq!(
                Outcome::of_refusal(&response).as_str(),
                outcome,
                "{status} {challenges:?}"
            );
        }
    }

    #[test]
    fn an_error_description_is_not_an_error_code() {
        assert_eq!(challenge_error(br#"Bearer error_description="x""#), None);
        assert_eq!(
            challenge_error(br#"Bearer error_description="a", error="invalid_token""#),
            Some(&b"invalid_token"[..])
        );
    }

    #[test]
    fn only_mcp_methods_become_labels() {
        assert_eq!(method_label("tools/call"), "tools/call");
        assert_eq!(method_label("eyJhbGciOi.secret"), "other");
    }
}
