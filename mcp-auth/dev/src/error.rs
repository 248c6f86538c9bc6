//! [`DevServerError`]: why the development authorization server could not start or act.

use super::keys::SigningAlg;

/// Why the development authorization server could not start, or could not do what a test
/// asked of it. Each message names the setting and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServerError {
    /// No TCP port could be bound on 127.0.0.1.
    #[error("could not bind the development authorization server to 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// A signing key could not be generated.
    #[error("could not generate the {alg} signing key: {reason}")]
    KeyGeneration {
        /// The algorithm the key was for.
        alg: SigningAlg,
        /// What failed.
        reason: String,
    },
    /// [`algorithms`](super::AuthorizationServerBuilder::algorithms) was given an empty list.
    #[error(
        "algorithms: the list is empty; give at least one algorithm, e.g. `.algorithms([SigningAlg::Rs256])`"
    )]
    NoAlgorithms,
    /// The [`issuer_path`](super::AuthorizationServerBuilder::issuer_path) cannot be used.
    #[error("issuer_path `{path}` {problem}")]
    InvalidIssuerPath {
        /// The path as given.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The [`metadata_document`](super::AuthorizationServerBuilder::metadata_document) cannot
    /// be served.
    #[error("metadata_document: {0}")]
    InvalidMetadataDocument(String),
    /// Both an issuer path and a metadata document were given; each decides the issuer.
    #[error(
        "issuer_path and metadata_document both set the issuer; keep one (a metadata document's issuer is its own `issuer` with the origin rewritten)"
    )]
    ConflictingIssuer,
    /// A tenant given to [`tenants`](super::AuthorizationServerBuilder::tenants) cannot be
    /// served: its name is not 1 to 64 ASCII letters, digits and `-`, or its paths are taken.
    #[error("tenants: `{tenant}` {problem}")]
    InvalidTenant {
        /// The tenant name as given.
        tenant: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Both tenants and a metadata document were given; tenants share the generated metadata.
    #[error(
        "tenants and metadata_document cannot be combined; a tenant's metadata is the generated document with the tenant's issuer, so drop the metadata document (or the tenants)"
    )]
    TenantsWithMetadataDocument,
    /// The [`jwks_cache_control`](super::AuthorizationServerBuilder::jwks_cache_control) value
    /// is not a valid HTTP header value.
    #[error(
        "jwks_cache_control `{0}` is not a valid HTTP header value; use visible ASCII, e.g. `max-age=300`"
    )]
    InvalidCacheControl(String),
    /// A token asked for an algorithm that has no key on this server.
    #[error(
        "this development server has no {0} key; list it in `AuthorizationServerBuilder::algorithms` or call `AuthorizationServer::add_key`"
    )]
    NoKey(SigningAlg),
    /// A token asked to be signed with a `kid` that is not in the JWKS.
    #[error(
        "no published key has kid `{0}`; use one of `AuthorizationServer::key_ids()` (keys leave the JWKS on `rotate_keys`)"
    )]
    UnknownKid(String),
    /// A [`ClientRegistration`](super::ClientRegistration) cannot be registered.
    #[error("client `{client_id}` {problem}")]
    InvalidClient {
        /// The client's `client_id`.
        client_id: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A scope given to [`scopes`](super::AuthorizationServerBuilder::scopes) is not a valid
    /// scope token.
    #[error(
        "scopes: `{0}` is not a scope token (RFC 6749 §3.3: printable ASCII without spaces, `\"` or `\\`)"
    )]
    InvalidScope(String),
    /// Signing a token failed.
    #[error("could not sign the token: {0}")]
    Signing(String),
}
