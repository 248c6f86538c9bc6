//! Compile-time behaviour of `#[mcp_resource]`, `#[requires_scope]` and `#[tool_scopes]`: every
//! `fail/` case must fail with exactly its `.stderr`, every `pass/` case must compile.
//!
//! The snapshots are tied to the compiler that produced them, so the test runs only on that
//! one (rustc 1.95 stable) and is skipped elsewhere. To refresh after an intended change:
//! `TRYBUILD=overwrite cargo test -p mcp-auth-ui`, then read every changed
//! `.stderr`.

#[rustversion::stable(1.95)]
#[test]
fn trybuild_compile_errors_match_their_snapshots() {
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
    t.pass("pass/*.rs");
}

#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "the ui snapshots were made with rustc 1.95 stable"]
fn trybuild_compile_errors_match_their_snapshots() {}
