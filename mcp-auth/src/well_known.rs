//! The RFC 9728 well-known route that serves each resource's metadata document.
//!
//! * `GET`/`HEAD` → `200`, `Content-Type: application/json`, the document built once,
//!   `Cache-Control` as configured, `Access-Control-Allow-Origin: *`. `OPTIONS` → `204` CORS
//!   preflight. Other methods → `405`.
//! * Each resource at its path-inserted location (RFC 9728 §3.1). When the server has exactly
//!   one resource, its document is also served at the root `/.well-known/oauth-protected-resource`
//!   for clients that only try the root; with several, the root answers `404` JSON.
//! * Never behind authentication: merge this router outside the bearer layer (clients read it
//!   before they have a token).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::cors::{add_public_headers, public_preflight};
use crate::resource::{ResourceAuth, ResourceInner, ResourceServer, route_path};

/// The `200` answer with the metadata document of `resource`.
pub(crate) fn document_response(resource: &ResourceInner) -> Response {
    resource.wiring.metadata_served(&resource.id);
    let mut response = Response::new(Body::from(resource.document.clone()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        resource.settings.metadata_cache_control.clone(),
    );
    add_public_headers(headers);
    response
}

/// Whether `path` is where the metadata document of `resource` is served.
pub(crate) fn is_document_path(resource: &ResourceInner, path: &str) -> bool {
    path == route_path(&resource.metadata_path)
        || (resource.sole && path == mcp_auth_rules::PROTECTED_RESOURCE_WELL_KNOWN)
}

fn document_route<S: Clone + Send + Sync + 'static>(
    resource: Arc<ResourceInner>,
) -> MethodRouter<S> {
    get(move || {
        let resource = Arc::clone(&resource);
        async move { document_response(&resource) }
    })
    .options(|request_headers: HeaderMap| async move { public_preflight(&request_headers) })
}

fn not_found() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": "not_found",
            "error_description": "This server hosts several protected resources; fetch the metadata at the path-inserted URL of the resource (RFC 9728 §3.1)",
        })),
    )
        .into_response();
    add_public_headers(response.headers_mut());
    response
}

/// The routes of `resources`' documents, and of the root document when `root` says so.
fn router<S: Clone + Send + Sync + 'static>(
    resources: &[&ResourceAuth],
    root: Root<'_>,
) -> Router<S> {
    let mut router = Router::new();
    let root_path = mcp_auth_rules::PROTECTED_RESOURCE_WELL_KNOWN;
    for resource in resources {
        router = router.route(
            route_path(resource.metadata_path()),
            document_route(Arc::clone(&resource.inner)),
        );
    }
    if resources
        .iter()
        .any(|r| route_path(r.metadata_path()) == root_path)
    {
        return router;
    }
    match root {
        Root::Document(only) => router.route(root_path, document_route(Arc::clone(&only.inner))),
        Root::NotFound => router.route(
            root_path,
            get(|| async { not_found() })
                .options(|h: HeaderMap| async move { public_preflight(&h) }),
        ),
        Root::None => router,
    }
}

/// What the root well-known URL serves.
enum Root<'a> {
    /// The document of the server's one resource.
    Document(&'a ResourceAuth),
    /// `404`: the server has several resources.
    NotFound,
    /// Nothing: another router serves it.
    None,
}

impl ResourceServer {
    /// The router serving every resource's metadata. Merge it into the application outside the
    /// bearer layer: `Router::new().merge(auth.metadata_router()).merge(protected)`.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let all: Vec<&ResourceAuth> = self.resources.iter().collect();
        let root = match all.as_slice() {
            [only] => Root::Document(only),
            _ => Root::NotFound,
        };
        router(&all, root)
    }
}

impl<R: 'static> ResourceAuth<R> {
    /// The router serving this resource's metadata document (and, when it is its server's only
    /// resource, the root document). Merge it outside the bearer layer.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let this = self.clone().retag::<crate::resource::AnyResource>();
        let root = if this.inner.sole {
            Root::Document(&this)
        } else {
            Root::None
        };
        router(&[&this], root)
    }
}
