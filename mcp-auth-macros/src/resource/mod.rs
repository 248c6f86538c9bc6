//! `#[mcp_resource]`.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::diag;

/// The macro on `proc_macro2` tokens: the struct and its impls, or the struct unchanged and
/// every problem found.
pub(crate) fn mcp_resource(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let target = parse::target(&item).map_err(|e| cx.syn_error(e)).ok();
    let parsed = parse::args(&cx, args.clone());
    let model = validate::validate(&cx, parsed, &args);
    match (cx.check(), target, model) {
        (Ok(()), Some(target), Some(model)) => expand::expand(&item, &target, &model),
        (errors, ..) => diag::with_errors(&item, errors),
    }
}
