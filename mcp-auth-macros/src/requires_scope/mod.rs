//! `#[requires_scope]`.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag;

/// The macro on `proc_macro2` tokens: the expansion, or the function unchanged and every
/// problem found.
pub(crate) fn requires_scope(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let parsed = parse::args(args.clone(), &mut errors);
    let target = parse::target(&item).map_err(|e| errors.push(e.into())).ok();
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
