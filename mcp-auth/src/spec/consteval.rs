//! The `const` helpers of the compile-time checks `#[requires_scope]` and `#[tool_scopes]`
//! generate: whether a scope is declared by the resource, and the message when it is not, built
//! at compile time and reported at the scope literal.
//!
//! Not a public API: reached only through `mcp_auth::__private`, for generated code.

/// Whether `scope` is one of `declared` (usable in `const` items).
pub const fn scope_declared(declared: &[&str], scope: &str) -> bool {
    let mut i = 0;
    while i < declared.len() {
        if bytes_eq(declared[i].as_bytes(), scope.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The total length of `parts`.
const fn concat_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut p = 0;
    while p < parts.len() {
        len += parts[p].len();
        p += 1;
    }
    len
}

/// Fails compile-time evaluation with `message`, reported at the caller's location: the
/// generated code calls it with the span of the offending literal, so the error points there
/// rather than at the whole attribute (as a `panic!` inside the expansion would).
#[track_caller]
pub const fn compile_error(message: &[u8]) -> ! {
    match core::str::from_utf8(message) {
        Ok(message) => panic!("{}", message),
        Err(_) => panic!("mcp-auth: a compile-time check failed"),
    }
}

/// What [`concat_list_bytes`] writes for an empty list.
const LIST_NONE: &str = "none";

/// The length of [`concat_list_bytes`]`(parts, items)`.
pub const fn concat_list_len(parts: &[&str], items: &[&str]) -> usize {
    let mut len = concat_len(parts);
    if items.is_empty() {
        return len + LIST_NONE.len();
    }
    let mut i = 0;
    while i < items.len() {
        // The item between backquotes, and ", " before every item but the first.
        len += items[i].len() + 2;
        if i > 0 {
            len += 2;
        }
        i += 1;
    }
    len
}

/// `parts` concatenated, then `items` as `` `a`, `b` `` (or `none`), as a byte array of length
/// `N` at compile time, for the messages of compile-time assertions. `N` must be
/// [`concat_list_len`]`(parts, items)`; extra bytes are cut, missing ones left zero.
pub const fn concat_list_bytes<const N: usize>(parts: &[&str], items: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut p = 0;
    while p < parts.len() {
        at = push_bytes(&mut out, at, parts[p]);
        p += 1;
    }
    if items.is_empty() {
        push_bytes(&mut out, at, LIST_NONE);
        return out;
    }
    let mut i = 0;
    while i < items.len() {
        if i > 0 {
            at = push_bytes(&mut out, at, ", ");
        }
        at = push_bytes(&mut out, at, "`");
        at = push_bytes(&mut out, at, items[i]);
        at = push_bytes(&mut out, at, "`");
        i += 1;
    }
    out
}

/// Copies `s` into `out` from `at` (as far as it fits); the position after it.
const fn push_bytes<const N: usize>(out: &mut [u8; N], mut at: usize, s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && at < N {
        out[at] = bytes[i];
        at += 1;
        i += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[&str] = &["read:notes", "write:notes"];
    const _: () = assert!(scope_declared(DECLARED, "read:notes"));
    const _: () = assert!(!scope_declared(DECLARED, "delete:notes"));

    #[test]
    fn const_concat_list() {
        const PARTS: &[&str] = &["declared scopes: "];
        const TWO: [u8; concat_list_len(PARTS, DECLARED)] = concat_list_bytes(PARTS, DECLARED);
        assert_eq!(
            std::str::from_utf8(&TWO).unwrap(),
            "declared scopes: `read:notes`, `write:notes`"
        );
        const ONE: [u8; concat_list_len(&[], &["a"])] = concat_list_bytes(&[], &["a"]);
        assert_eq!(&ONE, b"`a`");
        const NONE: [u8; concat_list_len(PARTS, &[])] = concat_list_bytes(PARTS, &[]);
        assert_eq!(std::str::from_utf8(&NONE).unwrap(), "declared scopes: none");
    }
}
