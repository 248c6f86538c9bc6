//! Shared settings for the crate's outbound HTTP requests (discovery, and any other fetch of
//! authorization-server documents).
//!
//! * One process-wide [`reqwest::Client`] with a `User-Agent` and a connect timeout, which
//!   follows **no redirect**: discovery documents and JWK sets are fetched from exactly the
//!   configured URLs. A redirect (same origin or not) is an answer like any other non-2xx
//!   status, so it fails the fetch; the keys or metadata at another place never replace the
//!   issuer's. The same rule as for introspection, whose requests carry credentials.
//! * [`get_json`]: a `GET` with `Accept: application/json`, a total timeout (connect to last
//!   body byte) and a cap on the body size, so a hostile or broken server can neither hang nor
//!   exhaust the caller.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Client, Response, redirect};

/// The default total time a request may take, from connecting to the last body byte.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default maximum size of a response body (256 KiB). Discovery documents and JWK sets are
/// a few KiB.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

const USER_AGENT: &str = concat!("mcp-auth/", env!("CARGO_PKG_VERSION"));

/// The process-wide client, built on first use. Building it again after a failure is allowed,
/// so a transient TLS setup error is not cached.
pub(crate) fn shared_client() -> Result<Client, reqwest::Error> {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(DEFAULT_TIMEOUT)
        .redirect(redirect::Policy::none())
        .build()?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// A client that follows no redirect, for requests that carry credentials (introspection): a
/// redirect must not carry the resource server's secret elsewhere.
pub(crate) fn no_redirect_client() -> Result<Client, reqwest::Error> {
    Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(DEFAULT_TIMEOUT)
        .redirect(redirect::Policy::none())
        .build()
}

/// The outcome of a [`get_json`] that reached the server.
#[derive(Debug)]
pub(crate) enum JsonGet {
    /// A 2xx response and its body (not parsed yet).
    Body(Vec<u8>),
    /// Any other status; the body is not read.
    Status(u16),
}

/// Why a [`get_json`] did not reach a usable answer.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// Connecting, sending or reading failed, or the timeout elapsed.
    Network(reqwest::Error),
    /// The body is longer than the limit.
    TooLarge,
}

/// `GET url` with `Accept: application/json`, a total `timeout` and a body of at most
/// `max_body_bytes`.
pub(crate) async fn get_json(
    client: &Client,
    url: &str,
    timeout: Duration,
    max_body_bytes: usize,
) -> Result<JsonGet, HttpError> {
    let response = client
        .get(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .timeout(timeout)
        .send()
        .await
        .map_err(HttpError::Network)?;
    let status = response.status();
    if !status.is_success() {
        return Ok(JsonGet::Status(status.as_u16()));
    }
    read_limited(response, max_body_bytes)
        .await
        .map(JsonGet::Body)
}

/// Reads a body of at most `max_body_bytes`, refusing early when `Content-Length` already says
/// it is longer and stopping as soon as the streamed body goes over.
pub(crate) async fn read_limited(
    mut response: Response,
    max_body_bytes: usize,
) -> Result<Vec<u8>, HttpError> {
    let limit = u64::try_from(max_body_bytes).unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(HttpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(HttpError::Network)? {
        if body.len().saturating_add(chunk.len()) > max_body_bytes {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error as a short phrase naming the URL (origin and path only) and what failed,
/// without the long source chain.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    match e.url() {
        Some(url) => format!(
            "{}{}: {what}",
            url.origin().ascii_serialization(),
            url.path()
        ),
        None => what.to_owned(),
    }
}

impl HttpError {
    /// A short phrase for logs and `Unavailable` reasons.
    pub(crate) fn describe(&self, max_body_bytes: usize) -> String {
        match self {
            Self::Network(e) => describe(e),
            Self::TooLarge => format!("the response is larger than {max_body_bytes} bytes"),
        }
    }
}
