//! `#[tool_scopes]`: collects the `#[requires_scope]` of an rmcp server's tools and prompts.
//!
//! It expands before the attributes inside the impl block (rmcp's `#[tool]`, `#[prompt]` and
//! the `#[requires_scope]` it takes over) and before or after `#[tool_router]` alike, since both
//! leave the methods' attributes in place.
//!
//! Fail closed: besides the scopes for the layer (`Server::tool_scopes()`, the HTTP `403` clients
//! step up on), every method with a requirement gets a first parameter
//! `ToolScopeGuard<Resource, Scopes>`, an rmcp extractor that checks the verified token again
//! when the tool or prompt is called, so the body never runs without its scopes whatever layer
//! the server is behind. Its `#[requires_scope]` is put back with a marker argument, which the
//! attribute then ignores, so that the user's import of it is used.

mod expand;
mod parse;
mod validate;

pub(crate) use expand::TAKEN_OVER;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::diag;

/// The macro on `proc_macro2` tokens: the impl block, each scoped method guarded, plus the
/// generated function; or, on problems, the impl block without the `#[requires_scope]`
/// attributes, a placeholder function (so that its callers do not add errors of their own) and
/// every problem.
pub(crate) fn tool_scopes(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = parse::args(&cx, args.clone());
    let mut target = match parse::target(&item) {
        Ok(target) => target,
        Err(e) => {
            cx.syn_error(e);
            return diag::with_errors(&item, cx.check());
        }
    };
    let methods = parse::take_methods(&cx, &mut target);
    let fn_name = parsed
        .fn_name
        .clone()
        .unwrap_or_else(validate::default_fn_name);
    let model = validate::validate(&cx, parsed, &args, &methods);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(target, &model),
        (errors, _) => {
            let placeholder = expand::placeholder(&target, &fn_name);
            diag::with_errors(quote!(#target #placeholder), errors)
        }
    }
}
