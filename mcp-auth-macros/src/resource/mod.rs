//! `#[mcp_resource]`.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::diag;

/// The macro on `proc_macro2` tokens: the struct and its impls; or, on problems, every problem
/// found with the struct and a fallback implementation (as `thiserror` does), so that the code
/// using the resource (`#[requires_scope]`, `Notes::builder()`) adds no errors of its own and
/// only the real one shows.
pub(crate) fn mcp_resource(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let target = parse::target(&item).map_err(|e| cx.syn_error(e)).ok();
    let parsed = parse::args(&cx, args.clone());
    let written_scopes = parsed.written_scopes();
    let written_roles = parsed.written_roles();
    let model = validate::validate(&cx, parsed, &args);
    match (cx.check(), target, model) {
        (Ok(()), Some(target), Some(model)) => expand::expand(&item, &target, &model),
        (errors, Some(target), _) => diag::with_errors(
            expand::fallback(&item, &target, &written_scopes, &written_roles),
            errors,
        ),
        (errors, None, _) => diag::with_errors(&item, errors),
    }
}
