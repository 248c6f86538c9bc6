//! `#[mcp_resource]`.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag;

/// The macro on `proc_macro2` tokens: the struct and its impls, or the struct unchanged and
/// every problem found.
pub(crate) fn mcp_resource(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let target = parse::target(&item).map_err(|e| errors.push(e.into())).ok();
    let parsed = parse::args(args.clone(), &mut errors);
    let model = validate::validate(parsed, &args, &mut errors);
    match (target, model) {
        (Some(target), Some(model)) if errors.is_empty() => expand::expand(&item, &target, &model),
        _ => {
            let errors = diag::to_compile_errors(errors);
            quote!(#item #errors)
        }
    }
}
