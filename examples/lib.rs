//! Runnable examples of mcp-auth; see `notes.rs` (`cargo run --example notes`).
