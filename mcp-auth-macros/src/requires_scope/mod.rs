//! `#[requires_scope]`.
//!
//! On a free function (an axum handler) it expands on its own. On a method (an MCP tool or
//! prompt) it is read and removed by `#[tool_scopes]` on the impl block, which expands first;
//! reaching this macro on a method means there is no `#[tool_scopes]`, and nothing would
//! enforce the scopes, so it is an error.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::diag;

/// The macro on `proc_macro2` tokens: the expansion, or the function unchanged and every
/// problem found.
pub(crate) fn requires_scope(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let target = parse::target(&item).map_err(|e| errors.push(e.into())).ok();
    if let Some(method) = target.as_ref().filter(|f| f.sig.receiver().is_some()) {
        // The one thing to fix; the arguments are checked once `#[tool_scopes]` reads them.
        let error = method_without_tool_scopes(&method.sig.ident).into_compile_error();
        return quote!(#item #error);
    }
    let parsed = parse::args(args.clone(), &mut errors);
    let model = target
        .as_ref()
        .and_then(|f| validate::validate(parsed, &args, f, &mut errors));
    match (target, model) {
        (Some(target), Some(model)) if errors.is_empty() => expand::expand(target, &model),
        _ => {
            let errors = diag::to_compile_errors(errors);
            quote!(#item #errors)
        }
    }
}

/// `#[requires_scope]` on a method whose impl block has no `#[tool_scopes]`.
fn method_without_tool_scopes(method: &syn::Ident) -> syn::Error {
    diag::at_span(
        Span::call_site(),
        format!(
            "#[requires_scope] on the method `{method}` is enforced only through \
             `#[mcp_auth::tool_scopes(Notes)]` on its impl block (above `#[tool_router]`), which \
             collects the scopes of every `#[tool]` and `#[prompt]` for \
             `resource.mcp_layer(Server::tool_scopes())`; add it, or nothing would enforce these \
             scopes"
        ),
    )
}
