//! `#[requires_scope(...)]` arguments and item, from tokens to raw values with their spans.

use darling::Error;
use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, ItemFn, LitStr, Token, Type};

/// The keys `#[requires_scope]` accepts, for did-you-mean suggestions.
const KEYS: &[&str] = &["resource"];

/// One comma-separated argument.
enum Arg {
    /// `"read:notes"`.
    Scope(LitStr),
    /// `Notes` or `resource = Notes`.
    Resource(Box<Type>),
    /// A problem found while parsing this argument; the parser went on to the next comma.
    Invalid(Error),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Self::Scope(input.parse()?));
        }
        if input.peek(syn::Lit) {
            let lit: syn::Lit = input.parse()?;
            return Ok(Self::Invalid(
                Error::custom("expected a scope as a string literal, e.g. `\"read:notes\"`")
                    .with_span(&lit),
            ));
        }
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if key == "resource" {
                return Ok(Self::Resource(input.parse()?));
            }
            skip_to_comma(input)?;
            return Ok(Self::Invalid(
                Error::unknown_field_with_alts(&key.to_string(), KEYS).with_span(&key),
            ));
        }
        Ok(Self::Resource(input.parse()?))
    }
}

fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// The arguments of `#[requires_scope(...)]`, as written.
#[derive(Debug, Default)]
pub(crate) struct ScopeArgs {
    /// The resource named explicitly.
    pub(crate) resource: Option<Type>,
    /// The scopes, in order.
    pub(crate) scopes: Vec<LitStr>,
}

/// Parses the attribute arguments; every problem is pushed to `errors`.
pub(crate) fn args(tokens: TokenStream, errors: &mut Vec<syn::Error>) -> ScopeArgs {
    let mut out = ScopeArgs::default();
    let parsed = match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.push(e);
            return out;
        }
    };
    for arg in parsed {
        match arg {
            Arg::Scope(lit) => out.scopes.push(lit),
            Arg::Resource(ty) => {
                if out.resource.is_some() {
                    errors.push(crate::diag::at(
                        &ty,
                        "the resource is named twice; name it once, first: `#[requires_scope(Notes, \"read:notes\")]`",
                    ));
                } else {
                    out.resource = Some(*ty);
                }
            }
            Arg::Invalid(e) => errors.push(e.into()),
        }
    }
    out
}

/// Parses the annotated item: a function with a body (free function or method).
pub(crate) fn target(item: &TokenStream) -> darling::Result<ItemFn> {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => Ok(f),
        Ok(other) => Err(not_a_fn().with_span(&other)),
        // A method with a receiver, or a function without a body: try the function grammar
        // for the receiver case, which `syn::Item` also accepts, and otherwise explain.
        Err(_) => syn::parse2::<ItemFn>(item.clone()).map_err(|_| not_a_fn().with_span(item)),
    }
}

fn not_a_fn() -> Error {
    Error::custom(
        "#[requires_scope] goes on an axum handler function (or an MCP tool method) with a body",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> (ScopeArgs, Vec<String>) {
        let mut errors = Vec::new();
        let a = args(tokens, &mut errors);
        (a, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn forms() {
        let (a, e) = parse(quote!("read:notes", "write:notes"));
        assert!(e.is_empty() && a.resource.is_none() && a.scopes.len() == 2);
        let (a, e) = parse(quote!(Notes, "read:notes"));
        assert!(e.is_empty() && a.resource.is_some() && a.scopes.len() == 1);
        let (a, e) = parse(quote!(resource = crate::api::Notes, "read:notes",));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            a.resource.map(|t| quote!(#t).to_string()).as_deref(),
            Some("crate :: api :: Notes")
        );
    }

    #[test]
    fn problems_are_all_reported() {
        let (a, e) = parse(quote!(resourse = Notes, 3, "a", Notes, Other));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("Did you mean `resource`?"), "{e:?}");
        assert!(e[1].contains("string literal"), "{e:?}");
        assert!(e[2].contains("named twice"), "{e:?}");
        assert_eq!(a.scopes.len(), 1);
    }

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
