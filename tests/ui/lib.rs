//! The compile-time behaviour of `#[mcp_resource]`, `#[requires_scope]`, `#[requires_role]` and
//! `#[tool_scopes]`: every case under `fail/` must fail with exactly its `.stderr`, every case
//! under `pass/` must compile (`tests/ui.rs`). A crate of its own so that trybuild, which builds
//! the dependencies of the crate it runs in, builds only what the cases use.
