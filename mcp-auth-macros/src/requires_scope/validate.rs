//! `#[requires_scope]`: raw arguments and the function to a checked [`ScopeModel`].
//!
//! Shared by every expansion mode (axum handler, MCP tool method).

use mcp_auth_rules::ProblemKind;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, Type};

use super::parse::ScopeArgs;
use crate::diag;

/// A checked `#[requires_scope]`: the resource and the scopes it requires.
#[derive(Debug, Clone)]
pub(crate) struct ScopeModel {
    /// The resource type (explicit, or the `X` of an `Auth<X>` argument).
    pub(crate) resource: Type,
    /// The scopes, valid tokens, each once; their spans are kept for the declared-scope check.
    pub(crate) scopes: Vec<LitStr>,
}

/// Checks `args` against `item`; every problem is pushed to `errors`.
///
/// `attr` is the whole argument list, the span of errors about the list as a whole.
pub(crate) fn validate(
    args: ScopeArgs,
    attr: &TokenStream,
    item: &ItemFn,
    errors: &mut Vec<syn::Error>,
) -> Option<ScopeModel> {
    let before = errors.len();

    for attr in &item.attrs {
        let repeated = attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "requires_scope");
        if repeated {
            errors.push(
                diag::at(attr, "#[requires_scope] is given twice; list all scopes in one attribute: `#[requires_scope(\"a\", \"b\")]`",),
            );
        }
    }

    let resource = match args.resource {
        Some(ty) => Some(ty),
        None => resource_from_arguments(item, attr, errors),
    };

    check_scopes(&args.scopes, attr, errors);

    if errors.len() > before {
        return None;
    }
    Some(ScopeModel {
        resource: resource?,
        scopes: args.scopes,
    })
}

/// Checks the scopes of one `#[requires_scope]`: at least one, each a valid RFC 6749 scope
/// token, listed once, not `offline_access`. Every problem is pushed to `errors` at its literal;
/// an empty list is reported at `attr`.
///
/// Shared by `#[requires_scope]` and `#[tool_scopes]`.
pub(crate) fn check_scopes<T: ToTokens>(scopes: &[LitStr], attr: &T, errors: &mut Vec<syn::Error>) {
    if scopes.is_empty() {
        errors.push(diag::at(
            attr,
            "#[requires_scope] needs at least one scope, e.g. `#[requires_scope(\"read:notes\")]`",
        ));
    }
    let values: Vec<String> = scopes.iter().map(LitStr::value).collect();
    for (i, problem) in mcp_auth_rules::scope_list(values.iter().map(String::as_str)) {
        let Some(lit) = scopes.get(i) else {
            continue;
        };
        if problem.kind == ProblemKind::OfflineAccess {
            errors.push(
                diag::at(lit, "`offline_access` cannot be required: a resource never declares it (it is asked of the authorization server, not of the resource)",),
            );
        } else {
            errors.push(diag::problem(&problem, lit));
        }
    }
}

/// The `X` of the function's `Auth<X>` arguments; an error when there is none or several
/// different ones.
fn resource_from_arguments(
    item: &ItemFn,
    attr: &TokenStream,
    errors: &mut Vec<syn::Error>,
) -> Option<Type> {
    let found: Vec<&Type> = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => auth_resource(&pat.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let Some(first) = found.first() else {
        if let Some(bare) = item.sig.inputs.iter().find_map(bare_auth) {
            errors.push(diag::at(
                bare,
                "this `Auth` does not name the resource the scopes belong to: write `Auth<Notes>`, or name the resource first: `#[requires_scope(Notes, \"read:notes\")]`",
            ));
            return None;
        }
        errors.push(
            diag::at(attr, "cannot tell which resource these scopes belong to: take an `Auth<Notes>` argument, or name the resource first: `#[requires_scope(Notes, \"read:notes\")]`",),
        );
        return None;
    };
    let first_text = first.to_token_stream().to_string();
    if let Some(other) = found
        .iter()
        .find(|ty| ty.to_token_stream().to_string() != first_text)
    {
        errors.push(
            diag::at(other, format!(
                "the handler takes `Auth` for two resources (`{first_text}` and `{}`): name the one the scopes belong to first, e.g. `#[requires_scope({first_text}, \"read:notes\")]`",
                other.to_token_stream()
            )),
        );
        return None;
    }
    Some((*first).clone())
}

/// The type of an argument typed `Auth` without a type argument (`Auth<AnyResource>`).
fn bare_auth(arg: &FnArg) -> Option<&Type> {
    let FnArg::Typed(pat) = arg else {
        return None;
    };
    let Type::Path(path) = &*pat.ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    (last.ident == "Auth" && last.arguments.is_none()).then_some(&*pat.ty)
}

/// `X` when `ty` is `Auth<X>` (any path ending in `Auth` with one type argument).
fn auth_resource(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Auth" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use quote::quote;

    fn check(args: TokenStream, item: TokenStream) -> Result<ScopeModel, Vec<String>> {
        let mut errors = Vec::new();
        let a = parse::args(args.clone(), &mut errors);
        let f = parse::target(&item).unwrap();
        match validate(a, &args, &f, &mut errors) {
            Some(m) if errors.is_empty() => Ok(m),
            _ => Err(errors.iter().map(ToString::to_string).collect()),
        }
    }

    fn resource(m: &ScopeModel) -> String {
        m.resource.to_token_stream().to_string()
    }

    #[test]
    fn resource_from_auth_argument() {
        let m = check(
            quote!("read:notes"),
            quote!(
                async fn f(h: HeaderMap, a: mcp_auth::Auth<Notes>, b: String) {}
            ),
        )
        .unwrap();
        assert_eq!(resource(&m), "Notes");
        let m = check(
            quote!(Other, "read:notes"),
            quote!(
                async fn f(a: Auth<Notes>) {}
            ),
        )
        .unwrap();
        assert_eq!(resource(&m), "Other");
    }

    #[test]
    fn resource_must_be_known_and_unique() {
        let e = check(
            quote!("read:notes"),
            quote!(
                async fn f(b: String) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].starts_with("cannot tell which resource"), "{e:?}");
        let e = check(
            quote!("r"),
            quote!(
                async fn f(a: Auth) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].starts_with("this `Auth` does not name"), "{e:?}");
        let e = check(
            quote!("r"),
            quote!(
                async fn f(a: Auth<A>, b: Auth<B>) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("two resources"), "{e:?}");
        assert!(
            check(
                quote!("r"),
                quote!(
                    async fn f(a: Auth<A>, b: Auth<A>) {}
                )
            )
            .is_ok()
        );
    }

    #[test]
    fn scope_rules() {
        let e = check(
            quote!(Notes),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("at least one scope"), "{e:?}");
        let e = check(
            quote!(Notes, "a", "b c", "a", "offline_access"),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("contains a space"));
        assert!(e[1].contains("listed twice"));
        assert!(e[2].contains("cannot be required"));
    }

    #[test]
    fn repeated_attribute() {
        let e = check(
            quote!(Notes, "a"),
            quote!(
                #[requires_scope("b")]
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("given twice"), "{e:?}");
    }
}
