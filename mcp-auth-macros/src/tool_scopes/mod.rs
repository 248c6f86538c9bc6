//! `#[tool_scopes]`: collects the `#[requires_scope]` of an rmcp server's tools and prompts.
//!
//! It expands before the attributes inside the impl block (rmcp's `#[tool]`, `#[prompt]` and
//! the `#[requires_scope]` it takes over) and before or after `#[tool_router]` alike, since both
//! leave the methods' attributes in place.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag;

/// The macro on `proc_macro2` tokens: the impl block without its `#[requires_scope]`
/// attributes plus the generated function, or, on problems, the impl block without them, a
/// placeholder function (so that its callers do not add errors of their own) and every problem.
pub(crate) fn tool_scopes(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let parsed = parse::args(args.clone(), &mut errors);
    let mut target = match parse::target(&item) {
        Ok(target) => target,
        Err(e) => {
            errors.push(e);
            let errors = diag::to_compile_errors(errors);
            return quote!(#item #errors);
        }
    };
    let methods = parse::take_methods(&mut target, &mut errors);
    let fn_name = parsed
        .fn_name
        .clone()
        .unwrap_or_else(validate::default_fn_name);
    match validate::validate(parsed, &args, &methods, &mut errors) {
        Some(model) if errors.is_empty() => expand::expand(&target, &model),
        _ => {
            let placeholder = expand::placeholder(&target, &fn_name);
            let errors = diag::to_compile_errors(errors);
            quote!(#target #placeholder #errors)
        }
    }
}
