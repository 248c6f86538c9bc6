//! Compile errors: findings of [`mcp_auth_rules`] at a span, unknown keys, and the output of a
//! macro that found problems.

use std::fmt::Display;

use mcp_auth_rules::{Problem, Severity, UrlCheck};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

use crate::ctxt::Ctxt;

/// An error spanning `tokens` (from their first to their last token, or the attribute when
/// there are none).
pub(crate) fn at<T: ToTokens>(tokens: T, message: impl Display) -> syn::Error {
    syn::Error::new_spanned(tokens, message)
}

/// An error at `span`.
pub(crate) fn at_span(span: Span, message: impl Display) -> syn::Error {
    syn::Error::new(span, message)
}

/// What a macro emits when it found problems: `item` unchanged (so the rest of the crate does
/// not drown in follow-up errors), then every error as a `compile_error!`, in order.
pub(crate) fn with_errors<T: ToTokens>(item: T, errors: syn::Result<()>) -> TokenStream {
    let errors = errors.err().map(syn::Error::into_compile_error);
    quote!(#item #errors)
}

/// The compile error for one finding, spanned at `at`.
///
/// A warning (a finding the runtime accepts and logs) is an error here, since stable Rust has no
/// way to emit a warning from a macro; the message says how to get the runtime behaviour.
pub(crate) fn problem<T: ToTokens>(problem: &Problem, tokens: &T) -> syn::Error {
    let message = match problem.severity {
        Severity::Error => problem.message.clone(),
        Severity::Warning => format!(
            "{}; the runtime builder accepts this with a warning, but a macro cannot warn: \
             fix the literal, or read the value from the environment with `env(\"VAR\")` to \
             get the warning at start-up instead",
            problem.message
        ),
    };
    at(tokens, message)
}

/// Reports every finding of a URL check at `tokens`; whether there was none.
pub(crate) fn url_check<T: ToTokens>(cx: &Ctxt, check: &UrlCheck, tokens: &T) -> bool {
    for p in &check.problems {
        cx.syn_error(problem(p, tokens));
    }
    check.problems.is_empty()
}

/// An unknown key of an attribute, at `span`: `` Unknown field: `x`. Did you mean `y`? `` when
/// one of `known` is close (Jaro-Winkler similarity above 0.8, the closest), otherwise the list
/// of known keys when it is short.
pub(crate) fn unknown_key(span: Span, key: &str, known: &[&str]) -> syn::Error {
    let mut known = known.to_vec();
    known.sort_unstable();
    known.dedup();
    let mut closest: Option<(f64, &str)> = None;
    for candidate in &known {
        let similarity = strsim::jaro_winkler(key, candidate);
        if similarity > 0.8 && closest.is_none_or(|(best, _)| best < similarity) {
            closest = Some((similarity, candidate));
        }
    }
    let message = match closest {
        Some((_, candidate)) => format!("Unknown field: `{key}`. Did you mean `{candidate}`?"),
        None if !known.is_empty() && known.len() < 10 => {
            let listed: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "Unknown field: `{key}`. Available values: {}",
                listed.join(", ")
            )
        }
        None => format!("Unknown field: `{key}`"),
    };
    at_span(span, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_say_how_to_get_the_runtime_behaviour() {
        let check = mcp_auth_rules::resource_id("https://mcp.example.com/mcp?tenant=a");
        let lit: syn::LitStr = syn::parse_quote!("x");
        let cx = Ctxt::new();
        assert!(!url_check(&cx, &check, &lit));
        let errors = cx.messages();
        assert_eq!(errors.len(), 1);
        let text = &errors[0];
        assert!(text.contains("has a query"), "{text}");
        assert!(text.contains("accepts this with a warning"), "{text}");
        assert!(text.contains("env(\"VAR\")"), "{text}");
    }

    #[test]
    fn unknown_keys_suggest_the_closest_or_list_the_few() {
        let message =
            |key: &str, known: &[&str]| unknown_key(Span::call_site(), key, known).to_string();
        assert_eq!(
            message("nmae", &["id", "name", "scopes"]),
            "Unknown field: `nmae`. Did you mean `name`?"
        );
        assert_eq!(
            message("fallback", &["default"]),
            "Unknown field: `fallback`. Available values: `default`"
        );
        assert_eq!(
            message("x", &["resource", "fn_name"]),
            "Unknown field: `x`. Available values: `fn_name`, `resource`"
        );
        let many: Vec<String> = (0..10).map(|i| format!("key{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(message("zzz", &many), "Unknown field: `zzz`");
    }
}
