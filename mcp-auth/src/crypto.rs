//! Selection of jsonwebtoken's crypto backend.
//!
//! jsonwebtoken 11 picks its process-wide `CryptoProvider` from its own cargo features. When
//! both `aws_lc_rs` and `rust_crypto` end up enabled (easy in a workspace, where features are
//! unified), it falls back to a provider that panics on first use. Every entry point of this
//! crate that signs or verifies calls [`ensure_provider`] first, which installs the provider of
//! our preferred backend (aws-lc-rs when its feature is on) before jsonwebtoken can choose the
//! panicking one.

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "mcp-auth needs a crypto backend: enable the `aws-lc-rs` (default) or the `rust-crypto` feature"
);

/// Installs jsonwebtoken's provider of the enabled backend (aws-lc-rs when its feature is on,
/// else RustCrypto) unless one is installed already.
///
/// Cheap after the first call. If the application installed a provider of its own first, that
/// one stays.
pub fn ensure_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "aws-lc-rs")]
        let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
        // Err means another provider was installed first: the application's choice wins.
        let _ = provider.install_default();
    });
}
