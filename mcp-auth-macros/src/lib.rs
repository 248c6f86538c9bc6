//! Procedural macros for [`mcp-auth`](https://docs.rs/mcp-auth): [`macro@mcp_resource`],
//! [`macro@requires_scope`], [`macro@requires_role`] and [`macro@tool_scopes`].
//!
//! Use them through `mcp_auth` (`use mcp_auth::{mcp_resource, requires_scope};`): the code they
//! generate names the runtime only through `::mcp_auth::__private` (written in one place, the
//! `runtime` module), never through the caller's imports.
//!
//! Every literal is checked at compile time by the same rules the runtime applies to values it
//! reads from the environment ([`mcp_auth_rules`]). All problems of one attribute are reported in
//! one compile, each at the literal or key that is wrong; when there is a problem the annotated
//! item is still emitted unchanged, so the rest of the crate does not drown in follow-up errors.
//!
//! The layout follows `serde_derive`: a thin entry point per macro here, and per macro a
//! `parse` (tokens to raw arguments, spans kept), `validate` (raw arguments to a checked model)
//! and `expand` (model to tokens) module. Shared by all three: one error sink per invocation
//! (`ctxt::Ctxt`: every problem is recorded at its span and all are reported at once), one
//! argument grammar (`attr`: comma-separated arguments, each parsed by a hand-written
//! `syn::parse::Parse` impl), and the messages (`diag`); shared by `#[requires_scope]` and
//! `#[tool_scopes]`: the scope arguments, rules and declared-scope check (`scopes`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod attr;
mod ctxt;
mod diag;
mod requires_scope;
mod resource;
mod runtime;
mod scopes;
mod tool_scopes;

#[cfg(test)]
mod snapshot;

/// Declares a struct as an OAuth 2.1 protected resource (RFC 9728).
///
/// ```ignore
/// use mcp_auth::mcp_resource;
///
/// #[mcp_resource(
///     id = env("NOTES_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
///     issuer = "https://auth.example.com/oidc",
///     scopes = ["read:notes", "write:notes"],
///     name = "Notes",
/// )]
/// pub struct Notes;
/// ```
///
/// # Keys
///
/// | key | value | meaning |
/// |---|---|---|
/// | `id` | `"https://..."` or `env("VAR")` or `env("VAR", default = "https://...")` | the resource identifier, canonical form (required) |
/// | `issuer` | `"https://..."` or `env(...)` | the trusted authorization server (this or `issuers`) |
/// | `issuers` | `["https://...", env(...), ...]` | several trusted authorization servers |
/// | `scopes` | `["read:notes", ...]` | `scopes_supported`, and the scopes `#[requires_scope]` may name; may be empty or absent (then `scopes_supported` is omitted and no handler can require a scope) |
/// | `name` | `"..."` | `resource_name` |
/// | `documentation`, `policy_uri`, `tos_uri` | `"https://..."` | `resource_documentation`, `resource_policy_uri`, `resource_tos_uri` |
/// | `discovery` | `"oauth"`, `"oidc"` or `"auto"` (default) | how the issuers' metadata is discovered |
/// | `accept_jwt_typ` | `true` | also accept `typ: JWT` and no `typ` (providers without RFC 9068 tokens) |
/// | `lenient_claims` | `true` | require only `iss`, `exp`, `aud` |
/// | `scope_claim` | `"scp"` | the claim scopes are read from when `scope` is absent |
/// | `roles` | `["notes-admin", ...]` | the roles `#[requires_role]` may name (none by default) |
/// | `role_claim` | `"realm_access.roles"` | where tokens hold their roles: a claim or a dotted path to a nested one (default `roles`); an array of strings or a space-separated string |
/// | `dpop` | `"bearer_only"` (default), `"accepted"` or `"required"` | DPoP (RFC 9449): Bearer tokens only, DPoP-bound tokens too, or DPoP-bound tokens only |
/// | `dpop_algs` | `["ES256", ...]` | the DPoP proof algorithms (asymmetric; default ES256, RS256, PS256, EdDSA); only with `dpop = "accepted"` or `"required"` |
///
/// Literals are checked at compile time: URLs must be absolute, `https` (`http` only for
/// loopback hosts), without userinfo or fragment, and in canonical form; the resource id must
/// not have a query (the runtime would accept one with a warning, the macro cannot warn);
/// scopes must be RFC 6749 scope tokens, listed once, and not `offline_access`. Values read
/// from the environment are checked by the same rules when the resource is built, and an
/// `env` default is checked here like a literal.
///
/// # Generated items
///
/// * `impl mcp_auth::spec::Resource for Notes` with the whole declaration as a constant;
/// * `Notes::SCOPES`, `Notes::ROLES`, and `Notes::builder()` to start the resource;
/// * when `id` is a literal: `Notes::ID` and `Notes::WELL_KNOWN_PATH` (where the metadata is
///   served);
/// * when `id` and every issuer are literals: `Notes::METADATA_JSON`, the exact bytes of the
///   metadata document.
///
/// The associated items have the visibility of the struct.
#[proc_macro_attribute]
pub fn mcp_resource(args: TokenStream, item: TokenStream) -> TokenStream {
    resource::mcp_resource(args.into(), item.into()).into()
}

/// Requires scopes for an axum handler or, inside a [`macro@tool_scopes`] impl block, an MCP
/// tool or prompt.
///
/// ```ignore
/// use mcp_auth::{requires_scope, Auth};
///
/// #[requires_scope("write:notes")]
/// async fn create_note(auth: Auth<Notes>, body: String) -> StatusCode { /* ... */ }
///
/// #[requires_scope(Notes, "read:notes")]           // the resource named explicitly
/// async fn list(headers: HeaderMap) -> String { /* ... */ }
///
/// #[requires_scope(resource = Notes, "read:notes")] // the same, with a key
/// async fn list2() -> String { /* ... */ }
/// ```
///
/// The resource is the `X` of the handler's `Auth<X>` argument unless it is named first. Every
/// scope must be declared by the resource's `#[mcp_resource(scopes = [...])]`; otherwise the
/// crate does not compile, and the error at the scope literal lists the declared scopes.
///
/// # Free functions (axum handlers)
///
/// The handler gets a first, hidden extractor argument `ScopeGuard<X, ...>` that rejects a token
/// lacking any listed scope with `403` and the RFC 6750 `insufficient_scope` challenge before
/// the other extractors and the body run. The return type, attributes, generics and docs are
/// kept, so the function stays an axum `Handler`. A hidden zero-sized type
/// `__mcp_auth_scopes_<fn>` carrying the scopes is emitted next to it, with the function's
/// visibility. List all scopes in one attribute.
///
/// # Methods (MCP tools and prompts)
///
/// On the methods of an rmcp server, `#[requires_scope]` is read by [`macro@tool_scopes`] on the
/// impl block, which names the resource (so the method attribute needs none) and hands the
/// scopes to the MCP layer. A method with a `self` receiver reached by `#[requires_scope]`
/// itself has no `#[tool_scopes]` on its impl block, so nothing would enforce the scopes: that
/// is a compile error that says so.
#[proc_macro_attribute]
pub fn requires_scope(args: TokenStream, item: TokenStream) -> TokenStream {
    requires_scope::requires(scopes::Kind::Scope, args.into(), item.into()).into()
}

/// Requires roles for an axum handler or, inside a [`macro@tool_scopes`] impl block, an MCP
/// tool, prompt or resource: the counterpart of [`macro@requires_scope`] for roles.
///
/// ```ignore
/// #[tool(description = "Delete all your notes")]
/// #[requires_scope("write:notes")]
/// #[requires_role("notes-admin")]
/// async fn purge_notes(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> { /* ... */ }
/// ```
///
/// Every role must be declared by the resource's `#[mcp_resource(roles = [...])]`, or the crate
/// does not compile (the error is at the role literal and lists the declared roles). The roles
/// are read from the token's claim the resource names (`role_claim`, default `roles`).
///
/// A token without a role is refused `403` with no `insufficient_scope` challenge: no scope a
/// client could ask for grants a role, so the client is not sent to re-authorize. On a handler
/// function it adds a hidden extractor argument, as `#[requires_scope]` does; on a method, see
/// [`macro@tool_scopes`].
#[proc_macro_attribute]
pub fn requires_role(args: TokenStream, item: TokenStream) -> TokenStream {
    requires_scope::requires(scopes::Kind::Role, args.into(), item.into()).into()
}

/// Collects the `#[requires_scope]` and `#[requires_role]` of an rmcp server's tools, prompts and
/// resources into `Server::tool_scopes()`, the per-operation requirements of the MCP layer
/// (an `mcp_auth::mcp::McpAccess`).
///
/// ```ignore
/// use mcp_auth::tool_scopes;
///
/// #[tool_scopes(Notes)]          // above rmcp's #[tool_router]
/// #[tool_router]
/// impl NotesServer {
///     #[tool(description = "List notes")]
///     #[requires_scope("read:notes")]
///     async fn list_notes(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
///         let auth = mcp_auth::rmcp::auth_info(&ctx)?;
///         /* ... */
///     }
///
///     #[tool(name = "create", description = "Create a note")]
///     #[requires_scope("write:notes")]
///     async fn create_note(&self /* , ... */) -> Result<CallToolResult, McpError> { /* ... */ }
///
///     #[tool(description = "Who am I")]
///     async fn whoami(&self) -> Result<CallToolResult, McpError> { /* ... */ } // base scopes only
/// }
///
/// let app = Router::new()
///     .nest_service("/mcp", service)
///     .layer(notes.mcp_layer(NotesServer::tool_scopes()));
/// ```
///
/// # Arguments
///
/// * the resource type (`Notes` or `resource = Notes`), declared with [`macro@mcp_resource`]:
///   every scope of the impl block belongs to it, and must be one of its declared scopes or the
///   crate does not compile (the error is at the scope literal);
/// * `fn_name = prompt_scopes` (optional): the name of the generated function, for a second
///   impl block of the same type (e.g. one with `#[prompt_router]`); merge the results with
///   `McpAccess::merge`.
///
/// # What it reads
///
/// For every method with `#[requires_scope("...")]` or `#[requires_role("...")]` it takes the
/// operation the method serves: `#[tool]` (a `tools/call` of its name) or `#[prompt]` (a
/// `prompts/get`); the name is the attribute's `name = "..."` or else the method's name, as rmcp
/// computes it. The method-level attributes are removed (this macro enforces them), so they need
/// no resource; naming the same resource (`#[requires_scope(Notes, "...")]`) is accepted,
/// another one is an error. Tools and prompts without a requirement need only the layer's base
/// scopes.
///
/// On `read_resource` (in the `impl ServerHandler` block, with this macro on it), each
/// requirement names its MCP resource: `#[requires_scope("read:notes", uri = "notes://stats")]`
/// for one URI, `uri_template = "notes://note/{id}"` (RFC 6570, checked at compile time) for
/// every URI the template covers. `read_resource`, `subscribe` and `unsubscribe` of that block
/// then check the requirement of the URI they are asked for before their body runs.
///
/// # Errors
///
/// A requirement on a method that is neither a tool, a prompt nor `read_resource`; a resource
/// (`uri`, `uri_template`) on a tool or prompt, none on `read_resource`, a template given as a
/// `uri`, a malformed template; two tools (or two prompts) with the same name; invalid, repeated
/// or undeclared scopes and roles; a missing resource.
///
/// # Generated items
///
/// `impl Server { pub fn tool_scopes() -> mcp_auth::mcp::McpAccess }` (with the impl block's
/// generics), next to the impl block, which is otherwise unchanged.
#[proc_macro_attribute]
pub fn tool_scopes(args: TokenStream, item: TokenStream) -> TokenStream {
    tool_scopes::tool_scopes(args.into(), item.into()).into()
}
