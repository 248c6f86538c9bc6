//! Peak RSS with many distinct valid tokens through the verified-token cache (default bound,
//! 10,000 entries): the cache must stay bounded however many tokens pass.
//!
//! Run: `cargo bench -p mcp-auth --bench cache_rss` (TOKENS=1000000 by default).

use mcp_auth::verify::TokenVerifier;
use mcp_auth::verify::{JwtVerifier, TokenCacheOptions, VerifyOptions};
use mcp_auth_dev::{AuthorizationServer, SigningAlg};

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo bench` / `cargo test` probing
    }
    let tokens: usize = std::env::var("TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let idp = rt
        .block_on(
            AuthorizationServer::builder()
                .algorithms([SigningAlg::EdDsa])
                .start(),
        )
        .expect("dev server");
    let options = TokenCacheOptions::default();
    let verifier = JwtVerifier::builder()
        .resource(RESOURCE)
        .issuer(idp.issuer(), idp.jwks_uri())
        .options(VerifyOptions::default().token_cache(options))
        .build()
        .expect("verifier");
    let mint = |i: usize| {
        idp.token()
            .audience(RESOURCE)
            .scopes(["mcp:read", "files:write"])
            .subject(format!("user-{i}"))
            .alg(SigningAlg::EdDsa)
            .mint()
    };
    let sample = mint(0);
    rt.block_on(verifier.verify(&sample)).expect("verifies");
    let base = status("VmRSS:");
    let started = std::time::Instant::now();
    for i in 1..=tokens {
        let token = mint(i);
        rt.block_on(verifier.verify(&token)).expect("verifies");
        if i % 100_000 == 0 {
            eprintln!(
                "{i} tokens, RSS {} KiB, peak {} KiB, {:.0?}",
                status("VmRSS:"),
                status("VmHWM:"),
                started.elapsed()
            );
        }
    }
    let peak = status("VmHWM:");
    println!(
        "{tokens} distinct tokens of {} bytes: RSS before {base} KiB, peak {peak} KiB, growth {} KiB = {} bytes per cached entry (10,000 entries)",
        sample.len(),
        peak.saturating_sub(base),
        peak.saturating_sub(base) * 1024 / 10_000,
    );
}
