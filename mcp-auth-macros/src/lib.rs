//! Procedural macros for [`mcp-auth`](https://docs.rs/mcp-auth).
