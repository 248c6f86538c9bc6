//! The grammar the three attributes share: comma-separated arguments, each parsed on its own
//! by a `syn::parse::Parse` impl of the macro's `Arg` type. An argument that is well-formed
//! tokens but wrong is parsed into an `Invalid` argument carrying its error, so the parser goes
//! on and every such problem is reported at once; only tokens that cannot be split into
//! arguments stop it.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::ctxt::Ctxt;

/// The arguments of an attribute, in order; none when the tokens cannot be parsed (the error is
/// recorded in `cx`).
pub(crate) fn args<A: Parse>(cx: &Ctxt, tokens: TokenStream) -> Vec<A> {
    match Punctuated::<A, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(args) => args.into_iter().collect(),
        Err(e) => {
            cx.syn_error(e);
            Vec::new()
        }
    }
}

/// Whether the next argument is `key = ...` with `key` an identifier.
pub(crate) fn peek_key(input: ParseStream<'_>) -> bool {
    input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==])
}

/// Skips the rest of an argument that was refused, up to the next comma.
pub(crate) fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}
