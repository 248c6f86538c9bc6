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
//! # use mcp_auth::mcp_resource;
//! # use mcp_auth::mcp::{McpAccess, Operation};
//! #[mcp_resource(id = "http://127.0.0.1:3000/mcp", issuer = "https://auth.example.com", scopes = ["read:notes"])]
//! struct Notes;
//!
//! # async fn run(service: axum::routing::Router) -> Result<(), Box<dyn std::error::Error>> {
//! let notes = Notes::builder().build().await?;
//! let app = notes.mcp_router(service, McpAccess::new().scopes(Operation::tool("list_notes"), ["read:notes"]));
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
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use http::Request;
use tower::Service;

use crate::mcp::McpAccess;
use crate::pipeline::BearerLayer;
use crate::resource::{ResourceAuth, ResourceServer};
use crate::spec::AnyResource;
use crate::well_known::{Root, router};

impl<R: 'static> ResourceAuth<R> {
    /// The bearer layer for the resource's routes (the MCP endpoint, an API): see
    /// [`BearerLayer`].
    pub fn layer(&self) -> BearerLayer<R> {
        BearerLayer::new(Arc::clone(&self.inner.protection))
    }

    /// The bearer layer in MCP mode: standard headers checked against the JSON-RPC body,
    /// per-operation scopes and roles from the body, public operations, lists filtered per caller,
    /// and sessions and tasks bound to their user. See
    /// [`crate::mcp`].
    pub fn mcp_layer(&self, access: McpAccess) -> BearerLayer<R> {
        self.layer().mcp(access)
    }

    /// The whole MCP endpoint in one router: `service` at the path of the resource identifier,
    /// behind [`mcp_layer(access)`](Self::mcp_layer) (standard headers checked against the
    /// body, per-tool `403 insufficient_scope` before dispatch, sessions and tasks bound to their
    /// user), and the metadata routes outside the layer.
    ///
    /// `service` is usually rmcp's `StreamableHttpService` (give it
    /// [`allowed_hosts`](Self::allowed_hosts)) and `access` its server's `tool_scopes()`.
    pub fn mcp_router<S>(&self, service: S, access: McpAccess) -> Router
    where
        S: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        Router::new()
            .route_service(self.path(), service)
            .layer(self.mcp_layer(access))
            .merge(self.metadata_router())
    }

    /// The router serving this resource's metadata document (and, when it is its server's only
    /// resource, the root document). Merge it outside the bearer layer.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let document = Arc::clone(&self.inner.protection.document);
        let root = if document.sole {
            Root::Document(Arc::clone(&document))
        } else {
            Root::None
        };
        router(&[document], root)
    }
}

impl ResourceServer {
    /// The bearer layer for the resource `id` (see [`BearerLayer`]).
    ///
    /// # Panics
    ///
    /// When no resource has this identifier: a start-up mistake, reported at once with the
    /// identifiers that exist rather than by refusing every request later.
    pub fn bearer(&self, id: &str) -> BearerLayer<AnyResource> {
        match self.resource(id) {
            Some(resource) => resource.layer(),
            None => panic!(
                "ResourceServer::bearer: no protected resource `{id}`; configured: {}",
                self.resources()
                    .map(ResourceAuth::id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The router serving every resource's metadata. Merge it into the application outside the
    /// bearer layer: `Router::new().merge(auth.metadata_router()).merge(protected)`.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let documents: Vec<_> = self
            .resources()
            .map(|r| Arc::clone(&r.inner.protection.document))
            .collect();
        let root = match documents.as_slice() {
            [only] => Root::Document(Arc::clone(only)),
            _ => Root::NotFound,
        };
        router(&documents, root)
    }
}
