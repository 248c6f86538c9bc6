//! `#[requires_scope]` item, from tokens to the function. Its arguments are parsed by
//! [`crate::scopes::args`], shared with `#[tool_scopes]`.

use proc_macro2::TokenStream;
use syn::ItemFn;
use syn::spanned::Spanned;

use crate::diag;

/// Parses the annotated item: a function with a body (free function or method).
pub(crate) fn target(item: &TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => Ok(f),
        Ok(other) => Err(not_a_fn(other.span())),
        // A method with a receiver, or a function without a body: try the function grammar
        // for the receiver case, which `syn::Item` also accepts, and otherwise explain.
        Err(_) => syn::parse2::<ItemFn>(item.clone()).map_err(|_| not_a_fn(item.span())),
    }
}

fn not_a_fn(span: proc_macro2::Span) -> syn::Error {
    diag::at_span(
        span,
        "#[requires_scope] goes on an axum handler function (or an MCP tool method) with a body",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn targets() {
        assert!(
            target(&quote!(
                async fn f(a: Auth<Notes>) {}
            ))
            .is_ok()
        );
        assert!(
            target(&quote!(
                pub async fn f(&self, x: u8) -> u8 {
                    x
                }
            ))
            .is_ok()
        );
        assert!(
            target(&quote!(
                struct S;
            ))
            .is_err()
        );
        assert!(
            target(&quote!(
                fn f(&self);
            ))
            .is_err()
        );
    }
}
