//! The RFC 9728 well-known route that serves each resource's metadata document.
//!
//! * `GET`/`HEAD` → `200`, `Content-Type: application/json`, the document built once (RS-01,
//!   RS-07, RS-08), `Cache-Control` as configured (RS-14), `Access-Control-Allow-Origin: *`
//!   (RS-60). `OPTIONS` → `204` CORS preflight. Other methods → `405`.
//! * Each resource at its path-inserted location (RS-05). When the server has exactly one
//!   resource, its document is also served at the root `/.well-known/oauth-protected-resource`
//!   for clients that only try the root (RS-06); with several, the root answers `404` JSON.
//! * Never behind authentication: merge this router outside the bearer layer (RS-09).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::resource::{ResourceHandle, ResourceServer, route_path};

const ALLOWED_HEADERS: &str = "mcp-protocol-version, accept, authorization, content-type";

fn cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

fn document_route<S: Clone + Send + Sync + 'static>(
    resource: Arc<ResourceHandle>,
) -> MethodRouter<S> {
    let cache_control = resource.settings.metadata_cache_control.clone();
    get(move || {
        let resource = Arc::clone(&resource);
        let cache_control = cache_control.clone();
        async move {
            let mut response = Response::new(Body::from(resource.document.clone()));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, cache_control);
            cors(headers);
            response
        }
    })
    .options(|request_headers: HeaderMap| async move { preflight(&request_headers) })
}

fn preflight(request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    cors(headers);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    // Echo what the browser asks for (it is a public document), else our list.
    let allowed = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static(ALLOWED_HEADERS));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
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
    cors(response.headers_mut());
    response
}

impl ResourceServer {
    /// The router serving every resource's metadata. Merge it into the application outside the
    /// bearer layer: `Router::new().merge(auth.metadata_router()).merge(protected)`.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new();
        let root = mcp_auth_rules::PROTECTED_RESOURCE_WELL_KNOWN;
        for resource in &self.resources {
            router = router.route(
                route_path(resource.metadata_path()),
                document_route(Arc::clone(resource)),
            );
        }
        let root_taken = self
            .resources
            .iter()
            .any(|r| route_path(r.metadata_path()) == root);
        if !root_taken {
            router = match self.resources.as_slice() {
                [only] => router.route(root, document_route(Arc::clone(only))),
                _ => router.route(
                    root,
                    get(|| async { not_found() })
                        .options(|h: HeaderMap| async move { preflight(&h) }),
                ),
            };
        }
        router
    }
}
