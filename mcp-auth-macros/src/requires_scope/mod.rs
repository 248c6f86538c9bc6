//! `#[requires_scope]`.
//!
//! On a free function (an axum handler) it expands on its own. On a method (an MCP tool or
//! prompt) it is read by `#[tool_scopes]` on the impl block, which expands first, guards the
//! method and puts the attribute back with a marker argument; reaching this macro on a method
//! without the marker means there is no `#[tool_scopes]`, and nothing would enforce the scopes,
//! so it is an error.

mod expand;
mod parse;
mod validate;

use proc_macro2::{Span, TokenStream};

use crate::ctxt::Ctxt;
use crate::scopes::Kind;
use crate::{diag, scopes};

/// The macro on `proc_macro2` tokens: the expansion, or the function unchanged and every
/// problem found. `kind` tells `#[requires_scope]` from `#[requires_role]`.
pub(crate) fn requires(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    if is_taken_over(&args) {
        return item;
    }
    let cx = Ctxt::new();
    let target = parse::target(&item).map_err(|e| cx.syn_error(e)).ok();
    if let Some(method) = target.as_ref().filter(|f| f.sig.receiver().is_some()) {
        // The one thing to fix; the arguments are checked once `#[tool_scopes]` reads them.
        method_without_tool_scopes(&cx, kind, &method.sig.ident);
        return diag::with_errors(&item, cx.check());
    }
    let parsed = scopes::args(&cx, args.clone());
    let model = target
        .as_ref()
        .and_then(|f| validate::validate(&cx, kind, parsed, &args, f));
    match (cx.check(), target, model) {
        (Ok(()), Some(target), Some(model)) => expand::expand(target, &model),
        (errors, ..) => diag::with_errors(&item, errors),
    }
}

/// Whether the arguments are the marker of a method `#[tool_scopes]` has guarded.
fn is_taken_over(args: &TokenStream) -> bool {
    let mut tokens = args.clone().into_iter();
    matches!(
        (tokens.next(), tokens.next()),
        (Some(proc_macro2::TokenTree::Ident(ident)), None)
            if ident == crate::tool_scopes::TAKEN_OVER
    )
}

/// A requirement on a method whose impl block has no `#[tool_scopes]`.
fn method_without_tool_scopes(cx: &Ctxt, kind: Kind, method: &syn::Ident) {
    let what = match kind {
        Kind::Scope => "scopes",
        Kind::Role => "roles",
    };
    cx.error_at(
        Span::call_site(),
        format!(
            "{} on the method `{method}` is enforced only through \
             `#[mcp_auth::tool_scopes(Notes)]` on its impl block (above `#[tool_router]`), which \
             collects the requirements of every `#[tool]` and `#[prompt]` for \
             `resource.mcp_layer(Server::tool_scopes())`; add it, or nothing would enforce these \
             {what}",
            kind.attribute()
        ),
    );
}
