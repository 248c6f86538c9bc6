//! [`DiscoveryError`]: why an authorization server's configuration could not be obtained.

use std::fmt;
use std::sync::Arc;

/// Why authorization-server discovery failed. Every message names the URL (or the setting) and
/// what to do about it.
///
/// Cheap to clone: the underlying HTTP error is shared.
#[derive(Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The configured issuer breaks RFC 8414 §2 (not an absolute `https` URL, a query, a
    /// fragment, ...). No request was made.
    #[error("{message}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An explicit metadata URL given to
    /// [`fetch_from_url`](crate::discovery::ServerConfigFetcher::fetch_from_url) is not an
    /// absolute `https` URL (`http` only for loopback hosts). No request was made.
    #[error("{message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Every discovery URL answered with a 4xx status.
    #[error(
        "no authorization-server metadata found for issuer `{issuer}`: every discovery URL answered with a 4xx status (tried {}); check that the issuer is spelled exactly as the server's `issuer`; if the server publishes its metadata elsewhere, give it by hand (`#[mcp_resource]`: `Resource::builder().authorization_server(config)`; runtime API: `ServerConfigFetcher::fetch_from_url`)",
        .tried.join(", ")
    )]
    NotFound {
        /// The issuer as configured.
        issuer: String,
        /// The URLs tried, in order.
        tried: Vec<String>,
    },
    /// A URL answered with a status that stops discovery: a 5xx (or any other non-2xx, non-4xx
    /// status) during discovery, or any non-2xx status from an explicit URL.
    #[error("{}", status_message(.url, *.status))]
    Status {
        /// The URL that answered.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The request could not be completed: DNS, connection, TLS, redirect or timeout.
    #[error(
        "GET {url} failed: {kind}; check that the authorization server is reachable from this host (DNS, firewall, proxy){}",
        if matches!(.kind, NetworkErrorKind::Timeout) { ", or raise ServerConfigFetcher::timeout" } else { "" }
    )]
    Network {
        /// The URL requested.
        url: String,
        /// What went wrong, roughly.
        kind: NetworkErrorKind,
        /// The HTTP client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The response body is longer than the fetcher's limit.
    #[error(
        "the document at {url} is larger than {limit} bytes; discovery documents are a few KiB, so check the URL, or raise ServerConfigFetcher::max_body_bytes"
    )]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The response body is not JSON, or not a JSON object.
    #[error(
        "the document at {url} is not a JSON object ({message}); check that this URL serves the authorization server's metadata"
    )]
    InvalidJson {
        /// The URL requested.
        url: String,
        /// What the parser found.
        message: String,
    },
    /// The JSON object is not authorization-server metadata: `issuer` is missing or a member
    /// has the wrong type.
    #[error(
        "the metadata at {url} does not follow RFC 8414: {message}; fix the document, or repair it with ServerConfigFetcher::transform"
    )]
    InvalidMetadata {
        /// The URL requested.
        url: String,
        /// Which member is wrong and why.
        message: String,
    },
    /// The document's `issuer` is not byte-identical to the issuer it was fetched for
    /// (RFC 8414 §3.3, OpenID Connect Discovery §4.3), so it must not be used.
    #[error(
        "the metadata at {url} has issuer `{found}` but was fetched for issuer `{expected}`; RFC 8414 §3.3 requires them to be identical byte for byte (a trailing slash counts), so it was not used: configure the issuer exactly as the server spells it"
    )]
    IssuerMismatch {
        /// The issuer as configured.
        expected: String,
        /// The `issuer` member of the document.
        found: String,
        /// The URL the document came from.
        url: String,
    },
    /// The transform hook returned an error.
    #[error("the metadata transform failed for the document at {url}: {message}")]
    Transform {
        /// The URL the document came from.
        url: String,
        /// The hook's message.
        message: String,
    },
    /// An endpoint that verifiers call (`jwks_uri`, `introspection_endpoint`) is not an
    /// absolute `https` URL (`http` only for loopback hosts).
    #[error("{message}; the authorization server's metadata must be fixed")]
    InvalidEndpoint {
        /// The metadata member.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The default HTTP client could not be built (TLS setup).
    #[error(
        "could not build the HTTP client: {source}; pass a client of your own with ServerConfigFetcher::http_client"
    )]
    HttpClient {
        /// The HTTP client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
}

fn status_message(url: &str, status: u16) -> String {
    if (500..600).contains(&status) {
        format!(
            "GET {url} answered HTTP {status}; a server error stops discovery (only a 4xx moves on to the next URL): check that the authorization server is healthy, then retry"
        )
    } else {
        format!(
            "GET {url} answered HTTP {status}; check that this URL serves the authorization server's metadata"
        )
    }
}

/// The rough cause of a [`DiscoveryError::Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkErrorKind {
    /// The fetcher's timeout elapsed before the whole response arrived.
    Timeout,
    /// No connection could be made (DNS, refused, TLS handshake).
    Connect,
    /// A redirect was refused (too many, or `https` to `http`).
    Redirect,
    /// Anything else: the connection broke while sending or reading.
    Other,
}

impl NetworkErrorKind {
    pub(crate) fn of(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect
        } else if error.is_redirect() {
            Self::Redirect
        } else {
            Self::Other
        }
    }
}

impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "the request timed out",
            Self::Connect => "could not connect",
            Self::Redirect => "a redirect was refused (too many, or from https to http)",
            Self::Other => "the request failed",
        })
    }
}

impl DiscoveryError {
    pub(crate) fn network(url: &str, error: reqwest::Error) -> Self {
        Self::Network {
            url: url.to_owned(),
            kind: NetworkErrorKind::of(&error),
            source: Arc::new(error),
        }
    }
}

impl std::fmt::Debug for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}
