//! Wiring an MCP endpoint: the one call that does it right, and the checks that catch a
//! hand-wired mistake.
//!
//! [`ResourceAuth::mcp_router`] mounts an MCP service (rmcp's `StreamableHttpService`, or any
//! tower service) at the path of the resource identifier, behind the bearer layer in MCP mode
//! with the per-tool scopes, with the metadata routes outside the layer. The address to listen
//! on and the `Host` values to accept come from the identifier too
//! ([`ResourceAuth::listen_address`], [`ResourceAuth::allowed_hosts`]).
//!
//! ```no_run
//! # use mcp_auth::{mcp_resource, mcp::McpScopes};
//! # use std::convert::Infallible;
//! #[mcp_resource(id = "http://127.0.0.1:3000/mcp", issuer = "https://auth.example.com", scopes = ["read:notes"])]
//! struct Notes;
//!
//! # async fn run(service: axum::routing::Router) -> Result<(), Box<dyn std::error::Error>> {
//! let notes = Notes::builder().build().await?;
//! let app = notes.mcp_router(service, McpScopes::new().tool("list_notes", ["read:notes"]));
//! let listener = tokio::net::TcpListener::bind(notes.listen_address()).await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Wired by hand, three mistakes are caught when the first request shows them, each logged once
//! per resource at `warn` with the fix:
//!
//! * the metadata router merged *inside* the bearer layer: the layer answers the metadata
//!   request itself (the document is public; a `401` there breaks every client's discovery);
//! * the MCP service mounted at another path than the identifier's (clients compare the
//!   metadata's `resource` with the URL they connect to, and refuse a mismatch);
//! * the metadata document served while no bearer layer was ever made for the resource (the
//!   endpoint is unprotected).
//!
//! A tool marked `#[requires_scope]` never runs without its scopes, whatever the wiring: see
//! `mcp_auth::rmcp` (feature `rmcp`).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use http::Request;
use tower::Service;

use crate::mcp::McpScopes;
use crate::resource::ResourceAuth;

/// Where an endpoint lives, from its identifier, and what its wiring has shown so far.
#[derive(Debug)]
pub(crate) struct Wiring {
    /// The path of the identifier (`/` for an identifier without one): where the MCP service
    /// is mounted.
    pub(crate) path: String,
    /// `host:port` of the identifier.
    pub(crate) listen_address: String,
    /// The `Host` names the MCP server accepts.
    pub(crate) allowed_hosts: Vec<String>,
    /// Bearer layers made for the resource.
    layers: AtomicUsize,
    warned_metadata_behind_layer: AtomicBool,
    warned_mount_path: AtomicBool,
    warned_no_layer: AtomicBool,
    #[cfg(feature = "rmcp")]
    warned_unchecked_tool_scopes: AtomicBool,
    warned_typ: AtomicBool,
}

/// The loopback names a server started for a loopback identifier is also reached by.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl Wiring {
    /// The wiring of the resource identified by the canonical URL `id`.
    pub(crate) fn new(id: &url::Url) -> Self {
        let path = match id.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        let host = id.host_str().unwrap_or_default();
        let port = id.port_or_known_default().unwrap_or(443);
        let bare = host.trim_matches(['[', ']']);
        let allowed_hosts = if LOOPBACK_HOSTS.contains(&bare) {
            LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect()
        } else {
            vec![bare.to_owned()]
        };
        Self {
            path,
            listen_address: format!("{host}:{port}"),
            allowed_hosts,
            layers: AtomicUsize::new(0),
            warned_metadata_behind_layer: AtomicBool::new(false),
            warned_mount_path: AtomicBool::new(false),
            warned_no_layer: AtomicBool::new(false),
            #[cfg(feature = "rmcp")]
            warned_unchecked_tool_scopes: AtomicBool::new(false),
            warned_typ: AtomicBool::new(false),
        }
    }

    /// Records that a bearer layer was made.
    pub(crate) fn layer_made(&self) {
        self.layers.fetch_add(1, Ordering::Relaxed);
    }

    /// The metadata document is being served: warns (once) when no layer protects the resource.
    pub(crate) fn metadata_served(&self, id: &str) {
        if self.layers.load(Ordering::Relaxed) == 0 && first(&self.warned_no_layer) {
            tracing::warn!(
                resource = %id,
                "the metadata document of `{id}` is served, but no bearer layer was made for it: \
                 its endpoint is not protected. Wire it with `.mcp_router(service, Server::tool_scopes())` \
                 (or put `.layer(resource.mcp_layer(..))` on the routes that serve it)"
            );
        }
    }

    /// A metadata request reached the bearer layer: warns once.
    pub(crate) fn metadata_behind_layer(&self, id: &str) {
        if first(&self.warned_metadata_behind_layer) {
            tracing::warn!(
                resource = %id,
                "the metadata router of `{id}` is merged inside the bearer layer; the layer answers \
                 its requests itself, but merge it outside: `.layer(..).merge(resource.metadata_router())`, \
                 or use `.mcp_router(..)`"
            );
        }
    }

    /// An MCP request arrived at `path`: warns once when it is not the identifier's path.
    pub(crate) fn mcp_request_at(&self, id: &str, path: &str) {
        if path != self.path && first(&self.warned_mount_path) {
            tracing::warn!(
                resource = %id,
                "MCP requests arrive at `{path}`, but the resource identifier `{id}` says `{}`: MCP \
                 clients compare the two and refuse the server. Mount the MCP service at `{}` \
                 (`.mcp_router(..)` does), or change the identifier to the public URL of the endpoint",
                self.path,
                self.path
            );
        }
    }

    /// A `#[requires_scope]` tool was reached by a token without its scopes: warns once.
    #[cfg(feature = "rmcp")]
    pub(crate) fn unchecked_tool_scopes(&self, id: &str, resource_type: &str) {
        if first(&self.warned_unchecked_tool_scopes) {
            tracing::warn!(
                resource = %id,
                "a tool marked #[requires_scope] was called with a token that lacks its scopes, and \
                 the layer did not refuse it: the MCP service is not behind `mcp_layer(..::tool_scopes())` \
                 of `{resource_type}`. The tool refused the call with a JSON-RPC error; wire the \
                 endpoint with `.mcp_router(service, Server::tool_scopes())` so that clients get the \
                 `403` they step up on"
            );
        }
    }
}

impl Wiring {
    /// A token was refused for its `typ` header: names the setting, once. Clients only see
    /// "must be at+jwt"; the operator's log says how to accept the provider's tokens.
    pub(crate) fn typ_refused(&self, id: &str) {
        if first(&self.warned_typ) {
            tracing::warn!(
                resource = %id,
                "an access token was refused because its `typ` header is not `at+jwt` (RFC 9068 §4). \
                 If your authorization server mints `typ: JWT` access tokens (Keycloak, Auth0's default \
                 token profile, Entra ID, ...), accept them with `accept_jwt_typ = true` in \
                 #[mcp_resource], or `.verify(|v| v.typ(TypPolicy::AllowJwt))` on the resource"
            );
        }
    }
}

/// `true` the first time, for a flag that starts `false`.
fn first(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::Relaxed)
}

impl<R: 'static> ResourceAuth<R> {
    /// The whole MCP endpoint in one router: `service` at the path of the resource identifier,
    /// behind [`mcp_layer(scopes)`](Self::mcp_layer) (standard headers checked against the
    /// body, per-tool `403 insufficient_scope` before dispatch, sessions and tasks bound to their
    /// user), and the metadata routes outside the layer.
    ///
    /// `service` is usually rmcp's `StreamableHttpService` (give it
    /// [`allowed_hosts`](Self::allowed_hosts)) and `scopes` its server's `tool_scopes()`.
    pub fn mcp_router<S>(&self, service: S, scopes: McpScopes) -> Router
    where
        S: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        Router::new()
            .route_service(&self.inner.wiring.path, service)
            .layer(self.mcp_layer(scopes))
            .merge(self.metadata_router())
    }

    /// The path of the identifier, where the MCP service is mounted (`/` when it has none).
    pub fn path(&self) -> &str {
        &self.inner.wiring.path
    }

    /// `host:port` of the identifier: where to listen when the server is reached directly (the
    /// development default). Behind a proxy or in a container, listen where the proxy forwards
    /// to instead; the identifier stays the public URL.
    pub fn listen_address(&self) -> &str {
        &self.inner.wiring.listen_address
    }

    /// The `Host` names the MCP server should accept (DNS-rebinding protection, rmcp's
    /// `StreamableHttpServerConfig::with_allowed_hosts`): the identifier's host, and all the
    /// loopback names when it is one of them (a server for `http://127.0.0.1:3000/mcp` is also
    /// reached as `localhost:3000`).
    pub fn allowed_hosts(&self) -> &[String] {
        &self.inner.wiring.allowed_hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring(id: &str) -> Wiring {
        Wiring::new(&url::Url::parse(id).unwrap())
    }

    #[test]
    fn the_endpoint_follows_the_identifier() {
        let w = wiring("https://mcp.example.com/api/mcp");
        assert_eq!(w.path, "/api/mcp");
        assert_eq!(w.listen_address, "mcp.example.com:443");
        assert_eq!(w.allowed_hosts, ["mcp.example.com"]);

        let w = wiring("http://127.0.0.1:3000/mcp");
        assert_eq!(w.listen_address, "127.0.0.1:3000");
        assert_eq!(w.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);

        let w = wiring("http://[::1]:3000");
        assert_eq!(w.path, "/");
        assert_eq!(w.listen_address, "[::1]:3000");
        assert_eq!(w.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
    }
}
