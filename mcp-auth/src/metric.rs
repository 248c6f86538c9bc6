//! The counters of rare events (fetches, exchanges, store errors), by name: a leaf that the
//! modules which meet those events use without reaching the request path. The decisions are
//! recorded by `telemetry`; the crate documentation lists every metric.

pub(crate) const JWKS_FETCHES: &str = "mcp_auth_jwks_fetches_total";
pub(crate) const DISCOVERY_FETCHES: &str = "mcp_auth_discovery_fetches_total";
pub(crate) const INTROSPECTIONS: &str = "mcp_auth_introspection_requests_total";
pub(crate) const BINDING_STORE_ERRORS: &str = "mcp_auth_binding_store_errors_total";
pub(crate) const DOWNSTREAM: &str = "mcp_auth_token_exchanges_total";

/// Increments the counter `name` with `labels` (registered at each call: for rare events).
#[inline]
pub(crate) fn count(name: &'static str, labels: &[(&'static str, &str)]) {
    #[cfg(feature = "metrics")]
    {
        let labels: Vec<metrics::Label> = labels
            .iter()
            .map(|(key, value)| metrics::Label::new(*key, (*value).to_owned()))
            .collect();
        metrics::counter!(name, labels).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (name, labels);
}

/// A fetch (`JWKS_FETCHES`, `DISCOVERY_FETCHES`, `INTROSPECTIONS`) ended: `ok` or `error`.
#[inline]
pub(crate) fn fetched(name: &'static str, ok: bool) {
    count(name, &[("result", if ok { "ok" } else { "error" })]);
}
