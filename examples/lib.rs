//! Runnable examples of mcp-auth, and the code they share with the integration tests.
//!
//! * `cargo run --example notes`: the notes MCP server of [`notes_server`] with an embedded
//!   development authorization server (see `notes.rs`).
//! * `cargo run --example api`: a plain axum API protected with the macros (see `api.rs`).

pub mod backup;
pub mod notes_server;

/// The README's Rust examples, compiled as doc tests here: this crate depends on everything they
/// use (`mcp-auth` with `rmcp`, `mcp-auth-dev`, rmcp, axum, tokio).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
