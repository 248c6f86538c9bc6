//! Turning findings of [`mcp_auth_rules`] into compile errors at a span.

use std::fmt::Display;

use mcp_auth_rules::{Problem, Severity, UrlCheck};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

/// An error spanning `tokens` (from their first to their last token, or the attribute when
/// there are none).
pub(crate) fn at<T: ToTokens>(tokens: T, message: impl Display) -> syn::Error {
    syn::Error::new_spanned(tokens, message)
}

/// An error at `span`.
pub(crate) fn at_span(span: Span, message: impl Display) -> syn::Error {
    syn::Error::new(span, message)
}

/// All `errors` as `compile_error!` invocations, in order.
pub(crate) fn to_compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.into_iter().map(|e| e.into_compile_error());
    quote!(#(#errors)*)
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

/// Reports every finding of a URL check at `at`.
pub(crate) fn url_check<T: ToTokens>(check: &UrlCheck, tokens: &T, errors: &mut Vec<syn::Error>) {
    errors.extend(check.problems.iter().map(|p| problem(p, tokens)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_say_how_to_get_the_runtime_behaviour() {
        let check = mcp_auth_rules::resource_id("https://mcp.example.com/mcp?tenant=a");
        let lit: syn::LitStr = syn::parse_quote!("x");
        let mut errors = Vec::new();
        url_check(&check, &lit, &mut errors);
        assert_eq!(errors.len(), 1);
        let text = errors[0].to_string();
        assert!(text.contains("has a query"), "{text}");
        assert!(text.contains("accepts this with a warning"), "{text}");
        assert!(text.contains("env(\"VAR\")"), "{text}");
    }
}
