//! Fetching metadata: [`fetch_server_config`] and the configurable [`ServerConfigFetcher`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mcp_auth_rules::{discovery_urls, https_url};
use serde_json::Value;

use super::DiscoveryKind;
use super::config::{AuthServerConfig, ensure_valid_issuer, error_messages};
use super::error::DiscoveryError;
use super::metadata::AuthServerMetadata;
use crate::http_client::{self, HttpError, JsonGet};
use futures_util::future::BoxFuture;

/// Fetches the metadata of `issuer` with the default [`ServerConfigFetcher`] (10 s timeout per
/// request, 256 KiB body limit).
///
/// The well-known URLs of `kind` are tried in MCP's order (RFC 8414 §3, then OpenID Connect
/// Discovery): a 4xx moves on to the next URL; a 5xx, a network error or a timeout stops at once.
/// The document's `issuer` must be byte-identical to `issuer` (RFC 8414 §3.3), trailing slash
/// included.
///
/// ```no_run
/// use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
///
/// # async fn run() -> Result<(), mcp_auth::discovery::DiscoveryError> {
/// let config = fetch_server_config("https://tenant.auth0.com/", DiscoveryKind::Auto).await?;
/// assert_eq!(config.issuer(), "https://tenant.auth0.com/");
/// # Ok(()) }
/// ```
pub async fn fetch_server_config(
    issuer: &str,
    kind: DiscoveryKind,
) -> Result<AuthServerConfig, DiscoveryError> {
    ServerConfigFetcher::new().fetch(issuer, kind).await
}

type TransformFn =
    Arc<dyn Fn(String, Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;

/// Fetches authorization-server metadata, with settings.
///
/// * [`http_client`](Self::http_client): the `reqwest::Client` to use (proxies, custom roots).
///   By default a shared client that follows no redirect: a `3xx` answer counts as "no
///   document at this URL" (the next well-known URL is tried), so metadata always comes from the
///   issuer's own well-known URLs.
/// * [`timeout`](Self::timeout): the total time of each request, from connecting to the last
///   body byte (default 10 s).
/// * [`max_body_bytes`](Self::max_body_bytes): the largest document accepted (default 256 KiB).
/// * [`transform`](Self::transform): a hook (awaited) that rewrites the raw JSON before it is
///   parsed and its issuer compared, for providers whose documents need repair.
///
/// ```no_run
/// use std::time::Duration;
/// use mcp_auth::discovery::{DiscoveryKind, ServerConfigFetcher};
///
/// # async fn run() -> Result<(), mcp_auth::discovery::DiscoveryError> {
/// let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// let issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
/// let config = ServerConfigFetcher::new()
///     .timeout(Duration::from_secs(5))
///     // Entra's `common` document says `{tenantid}` where the tenant belongs.
///     .transform(move |_issuer, mut raw| async move {
///         if let Some(iss) = raw.get_mut("issuer") {
///             let fixed = iss.as_str().unwrap_or_default().replace("{tenantid}", tenant);
///             *iss = fixed.into();
///         }
///         Ok(raw)
///     })
///     .fetch_from_url(
///         &issuer,
///         "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
///     )
///     .await?;
/// assert_eq!(config.issuer(), issuer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerConfigFetcher {
    client: Option<reqwest::Client>,
    timeout: Duration,
    max_body_bytes: usize,
    transform: Option<TransformFn>,
}

impl Default for ServerConfigFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerConfigFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfigFetcher")
            .field("custom_client", &self.client.is_some())
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("transform", &self.transform.is_some())
            .finish()
    }
}

impl ServerConfigFetcher {
    /// A fetcher with the defaults: shared client, 10 s timeout, 256 KiB limit, no transform.
    pub fn new() -> Self {
        Self {
            client: None,
            timeout: http_client::DEFAULT_TIMEOUT,
            max_body_bytes: http_client::DEFAULT_MAX_BODY_BYTES,
            transform: None,
        }
    }

    /// Uses `client` for the requests. The fetcher's timeout and `Accept: application/json`
    /// are still applied to each request; redirects follow the client's own policy.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The total time each request may take, from connecting to the last body byte. Discovery
    /// tries up to three URLs, so it may take up to three times this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest document accepted, in bytes; a longer one fails with
    /// [`DiscoveryError::TooLarge`].
    pub fn max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Rewrites the raw JSON object before it is parsed and its `issuer` compared. The hook gets
    /// the configured issuer (owned, so that its future can keep it) and the document, and is
    /// awaited (it may look something up); an `Err` fails the fetch with
    /// [`DiscoveryError::Transform`]. Replaces any earlier transform.
    ///
    /// ```
    /// use mcp_auth::discovery::ServerConfigFetcher;
    ///
    /// let fetcher = ServerConfigFetcher::new().transform(|issuer, mut raw| async move {
    ///     raw["issuer"] = issuer.into();
    ///     Ok(raw)
    /// });
    /// # let _ = fetcher;
    /// ```
    pub fn transform<F, Fut>(mut self, transform: F) -> Self
    where
        F: Fn(String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        self.transform = Some(Arc::new(move |issuer: String, raw: Value| {
            Box::pin(transform(issuer, raw)) as BoxFuture<'static, _>
        }));
        self
    }

    /// Discovers the metadata of `issuer` from the well-known URLs of `kind`, in MCP's order
    /// (RFC 8414 §3, then OpenID Connect Discovery). In [`DiscoveryKind::Auto`] mode, a document
    /// without `jwks_uri` is kept while the next URLs are tried for one that has it (and used
    /// when none has).
    ///
    /// `issuer` is first checked against RFC 8414 §2 ([`DiscoveryError::InvalidIssuer`], no
    /// request made). Then each URL is fetched in turn: a 2xx answer is used (and must be
    /// valid, with an `issuer` byte-identical to `issuer`); a 4xx moves on to the next URL; a
    /// 5xx ([`DiscoveryError::Status`]), a network error or a timeout
    /// ([`DiscoveryError::Network`]) fails at once. When every URL answered 4xx the result is
    /// [`DiscoveryError::NotFound`] with the URLs tried.
    pub async fn fetch(
        &self,
        issuer: &str,
        kind: DiscoveryKind,
    ) -> Result<AuthServerConfig, DiscoveryError> {
        ensure_valid_issuer(issuer)?;
        self.fetch_checked(issuer, kind).await
    }

    /// [`fetch`](Self::fetch) for an issuer the caller has already checked.
    pub(crate) async fn fetch_checked(
        &self,
        issuer: &str,
        kind: DiscoveryKind,
    ) -> Result<AuthServerConfig, DiscoveryError> {
        let result = self.fetch_urls(issuer, kind).await;
        crate::metric::fetched(crate::metric::DISCOVERY_FETCHES, result.is_ok());
        result
    }

    async fn fetch_urls(
        &self,
        issuer: &str,
        kind: DiscoveryKind,
    ) -> Result<AuthServerConfig, DiscoveryError> {
        let urls = discovery_urls(issuer, kind).ok_or_else(|| DiscoveryError::InvalidIssuer {
            issuer: issuer.to_owned(),
            message: format!("issuer `{issuer}` is not an absolute URL with a host"),
        })?;
        let client = self.client()?;
        let mut tried = Vec::with_capacity(urls.len());
        // In `Auto` mode a document without `jwks_uri` (Okta's org server publishes its keys in
        // the OpenID document only) is kept while the next URLs are tried for one that has it.
        let mut without_keys: Option<AuthServerConfig> = None;
        for url in urls {
            let answer = match self.get(&client, &url).await {
                Ok(answer) => answer,
                Err(error) => return without_keys.ok_or(error),
            };
            match answer {
                JsonGet::Body(body) => {
                    let config = self.finish(issuer, url, &body).await?;
                    if config.jwks_uri().is_some() || kind != DiscoveryKind::Auto {
                        return Ok(config);
                    }
                    tracing::debug!(
                        url = config.source_url().unwrap_or_default(),
                        "discovery document without jwks_uri; trying the next URL for one with keys"
                    );
                    without_keys.get_or_insert(config);
                }
                JsonGet::Status(status) if (400..500).contains(&status) => {
                    tracing::debug!(%url, status, "no discovery document here, trying the next URL");
                    tried.push(url);
                }
                JsonGet::Status(status) => {
                    return without_keys.ok_or(DiscoveryError::Status { url, status });
                }
            }
        }
        without_keys.ok_or_else(|| DiscoveryError::NotFound {
            issuer: issuer.to_owned(),
            tried,
        })
    }

    /// Fetches the metadata of `issuer` from an explicit URL (for servers that publish it
    /// elsewhere). The same checks apply as for [`fetch`](Self::fetch), including the
    /// byte-identical `issuer`; any non-2xx status is a [`DiscoveryError::Status`].
    pub async fn fetch_from_url(
        &self,
        issuer: &str,
        url: &str,
    ) -> Result<AuthServerConfig, DiscoveryError> {
        ensure_valid_issuer(issuer)?;
        let check = https_url("metadata URL", url);
        if !check.is_ok() {
            return Err(DiscoveryError::InvalidUrl {
                url: url.to_owned(),
                message: error_messages(&check),
            });
        }
        let client = self.client()?;
        match self.get(&client, url).await? {
            JsonGet::Body(body) => self.finish(issuer, url.to_owned(), &body).await,
            JsonGet::Status(status) => Err(DiscoveryError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }

    fn client(&self) -> Result<reqwest::Client, DiscoveryError> {
        match &self.client {
            Some(client) => Ok(client.clone()),
            None => http_client::shared_client().map_err(|e| DiscoveryError::HttpClient {
                source: Arc::new(e),
            }),
        }
    }

    async fn get(&self, client: &reqwest::Client, url: &str) -> Result<JsonGet, DiscoveryError> {
        http_client::get_json(client, url, self.timeout, self.max_body_bytes)
            .await
            .map_err(|e| match e {
                HttpError::Network(e) => DiscoveryError::network(url, e),
                HttpError::TooLarge => DiscoveryError::TooLarge {
                    url: url.to_owned(),
                    limit: self.max_body_bytes,
                },
            })
    }

    /// Parses, transforms and checks a fetched document.
    async fn finish(
        &self,
        issuer: &str,
        url: String,
        body: &[u8],
    ) -> Result<AuthServerConfig, DiscoveryError> {
        let mut raw: Value =
            serde_json::from_slice(body).map_err(|e| DiscoveryError::InvalidJson {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if !raw.is_object() {
            return Err(DiscoveryError::InvalidJson {
                url,
                message: format!("found {}", json_kind(&raw)),
            });
        }
        if let Some(transform) = &self.transform {
            raw = transform(issuer.to_owned(), raw).await.map_err(|message| {
                DiscoveryError::Transform {
                    url: url.clone(),
                    message,
                }
            })?;
        }
        let metadata = AuthServerMetadata::from_json(&raw).map_err(|message| {
            DiscoveryError::InvalidMetadata {
                url: url.clone(),
                message,
            }
        })?;
        if metadata.issuer != issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: metadata.issuer,
                url,
            });
        }
        AuthServerConfig::fetched(metadata, url)
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
