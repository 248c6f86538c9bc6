//! Runnable examples of mcp-auth, and the code they share with the integration tests.
//!
//! * `cargo run --example notes`: the notes MCP server of [`notes_server`] with an embedded
//!   development authorization server (see `notes.rs`).
//! * `cargo run --example api`: a plain axum API protected with the macros (see `api.rs`).

pub mod notes_server;
