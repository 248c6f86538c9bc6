//! The one path from generated code to the runtime.
//!
//! Everything the macros generate names `mcp_auth` items through [`private`] (or
//! [`private_spanned`]) and nothing else: `::mcp_auth::__private` is written here only, so the
//! contract with the runtime is the items that module re-exports. The absolute path does not
//! depend on the caller's imports; the runtime pins this crate exactly, so both sides agree on
//! what the module holds.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// `::mcp_auth::__private`, at the macro call site.
pub(crate) fn private() -> TokenStream {
    private_spanned(Span::call_site())
}

/// `::mcp_auth::__private` with every token at `span`, for `quote_spanned!` expansions whose
/// errors must point at one literal.
pub(crate) fn private_spanned(span: Span) -> TokenStream {
    quote_spanned!(span=> ::mcp_auth::__private)
}
