//! Compact JWS serialization (RFC 7515 §7.1): the one place a token's shape is decided.
//!
//! Access tokens, DPoP proofs and the introspection router's choice between JWT and opaque
//! token all read a compact JWS the same way:
//! - three base64url segments separated by dots (five are a JWE, RFC 7516 §7.1, never read);
//!   neither the header nor the payload empty;
//! - the header and the payload each a base64url-encoded (RFC 4648 §5, no padding) JSON object.
//!
//! [`precheck`] decides the shape of a token without allocating, and refuses exactly what
//! [`Jws::split`] and [`decode_object`] of the header would refuse, with the same [`JwsError`]:
//! a flood of garbage costs a scan, not a decode (`tests/fuzz.rs` compares the two).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The part of a JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    Header,
    Payload,
}

/// Why a string is not a compact JWS with a JSON header and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwsError {
    /// Not three dot-separated segments (nor five).
    NotThreeParts,
    /// Five segments: a JWE (RFC 7516 §7.1).
    Encrypted,
    /// The header or the payload is empty.
    EmptyPart(Segment),
    /// A segment is not base64url.
    NotBase64url(Segment),
    /// A segment decodes to something that is not a JSON object.
    NotObject(Segment),
}

/// The segments of a compact JWS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Jws<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`, what the signature covers.
    pub(crate) signing_input: &'a str,
}

impl<'a> Jws<'a> {
    /// Splits `token` into its segments (none decoded).
    pub(crate) fn split(token: &'a str) -> Result<Self, JwsError> {
        parts_count(dot_count(token.as_bytes()))?;
        let (signing_input, signature) = token.rsplit_once('.').ok_or(JwsError::NotThreeParts)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(JwsError::NotThreeParts)?;
        if header.is_empty() {
            return Err(JwsError::EmptyPart(Segment::Header));
        }
        if payload.is_empty() {
            return Err(JwsError::EmptyPart(Segment::Payload));
        }
        Ok(Self {
            header,
            payload,
            signature,
            signing_input,
        })
    }
}

/// Two dots are a JWS, four a JWE; any other count is neither.
fn parts_count(dots: usize) -> Result<(), JwsError> {
    match dots {
        2 => Ok(()),
        4 => Err(JwsError::Encrypted),
        _ => Err(JwsError::NotThreeParts),
    }
}

/// The JSON object a base64url `segment` encodes.
pub(crate) fn decode_object(segment: &str, which: Segment) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwsError::NotBase64url(which))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::NotObject(which)),
    }
}

/// What one pass over a token's bytes found: its dots, and whether every other byte is in the
/// base64url alphabet: what [`precheck`] and [`is_jwt_shaped`] decide first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenShape {
    pub(crate) dots: usize,
    pub(crate) base64url: bool,
}

impl TokenShape {
    /// The shape of `bytes`, in one branch-free pass over blocks of 64 bytes with byte-wide
    /// accumulators, so that it compiles to 16-byte vector operations.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        #[inline(always)]
        fn block(block: &[u8]) -> (u8, u8) {
            let mut dots = 0u8;
            let mut bad = 0u8;
            for &b in block {
                let dot = b == b'.';
                let ok = dot || is_base64url(b);
                dots += u8::from(dot);
                bad |= u8::from(!ok);
            }
            (dots, bad)
        }
        let mut dots = 0usize;
        let mut bad = 0u8;
        let mut blocks = bytes.chunks_exact(64);
        for chunk in &mut blocks {
            let (d, b) = block(chunk);
            dots += usize::from(d);
            bad |= b;
        }
        let (d, b) = block(blocks.remainder());
        Self {
            dots: dots + usize::from(d),
            base64url: (bad | b) == 0,
        }
    }
}

/// A byte of the base64url alphabet (RFC 4648 §5), branch-free.
#[inline(always)]
pub(crate) fn is_base64url(b: u8) -> bool {
    let digit = b.wrapping_sub(b'0') < 10;
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    digit | letter | (b == b'-') | (b == b'_')
}

fn dot_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'.').count()
}

/// Structural checks that need neither allocation nor crypto: three (or, for a JWE, five)
/// segments, neither of the first two empty, and a header in the base64url alphabet with a
/// possible length that decodes to something framed like a JSON object. Refuses exactly with
/// the error [`Jws::split`] and [`decode_object`] of the header would give; the payload is left
/// to the full reading, which looks at the header first.
pub(crate) fn precheck(token: &str) -> Result<(), JwsError> {
    let bytes = token.as_bytes();
    let shape = TokenShape::of(bytes);
    if shape.dots == 2 && shape.base64url {
        // The two dots are the first one (after the short header) and the last one (before the
        // signature): the payload, the longest part, is not searched.
        let first = token.find('.').unwrap_or(0);
        let last = token.rfind('.').unwrap_or(0);
        let (header, payload) = (first, last.saturating_sub(first + 1));
        if header != 0 && payload != 0 && header % 4 != 1 {
            return header_framing(&bytes[..first]);
        }
    }
    parts_count(shape.dots)?;
    let mut parts = bytes.splitn(3, |&b| b == b'.');
    let header = parts.next().unwrap_or_default();
    let payload = parts.next().unwrap_or_default();
    if header.is_empty() {
        return Err(JwsError::EmptyPart(Segment::Header));
    }
    if payload.is_empty() {
        return Err(JwsError::EmptyPart(Segment::Payload));
    }
    check_header(header)
}

/// The checks of a header segment that need no allocation: not empty, a possible base64url
/// string (a length of `4n + 1` cannot be decoded), framed like a JSON object.
fn check_header(header: &[u8]) -> Result<(), JwsError> {
    if header.is_empty() {
        return Err(JwsError::EmptyPart(Segment::Header));
    }
    if header.len() % 4 == 1 || !header.iter().all(|&b| is_base64url(b)) {
        return Err(JwsError::NotBase64url(Segment::Header));
    }
    header_framing(header)
}

/// Whether the first segment (up to the first dot) is framed like a compact JWS header: a
/// possible base64url length, in the alphabet, decoding to something framed like a JSON object.
/// The header alone, a few dozen bytes: random garbage fails it before the whole token is
/// scanned or hashed. A token that fails it fails [`precheck`] too (which gives the error); one
/// that passes may still fail [`precheck`].
pub(crate) fn header_is_framed(token: &str) -> bool {
    let bytes = token.as_bytes();
    let Some(first) = memchr::memchr(b'.', bytes) else {
        return false;
    };
    check_header(&bytes[..first]).is_ok()
}

/// The largest header [`header_framing`] decodes (bytes after decoding; longer ones are left to
/// the full reading). Real headers are a few dozen bytes.
const HEADER_BUFFER: usize = 512;

/// Whether the header can be a JSON object: its first and last bytes other than whitespace must
/// be `{` and `}`. `header` is a non-empty segment in the base64url alphabet whose length is
/// not `4n + 1` (what every caller checked), so only its last quantum can fail to decode.
///
/// The first and the last quantum (4 characters, 3 bytes) decide when the bytes at the edges are
/// not whitespace, as in every real header; otherwise the header is decoded whole into a stack
/// buffer (no allocation).
fn header_framing(header: &[u8]) -> Result<(), JwsError> {
    let last_quantum = header.len().saturating_sub(1) / 4 * 4;
    if last_quantum >= 4 {
        // The first quantum and the last (2 to 4 characters), decoded as one string.
        let mut edges = [0u8; 8];
        let tail = &header[last_quantum..];
        edges[..4].copy_from_slice(&header[..4]);
        edges[4..4 + tail.len()].copy_from_slice(tail);
        let mut decoded = [0u8; 6];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(&edges[..4 + tail.len()], &mut decoded) else {
            return Err(JwsError::NotBase64url(Segment::Header));
        };
        let (first, last) = (decoded[0], decoded[len - 1]);
        if !first.is_ascii_whitespace() && !last.is_ascii_whitespace() {
            return if first == b'{' && last == b'}' {
                Ok(())
            } else {
                Err(JwsError::NotObject(Segment::Header))
            };
        }
    }
    let mut buffer = [0u8; HEADER_BUFFER];
    let decoded = match URL_SAFE_NO_PAD.decode_slice(header, &mut buffer) {
        Ok(len) => &buffer[..len],
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => return Ok(()),
        Err(base64::DecodeSliceError::DecodeError(_)) => {
            return Err(JwsError::NotBase64url(Segment::Header));
        }
    };
    // `trim_ascii` also trims form feeds, which JSON does not allow: it may let a header through
    // that the full reading refuses, never the reverse.
    match decoded.trim_ascii() {
        [b'{', .., b'}'] => Ok(()),
        _ => Err(JwsError::NotObject(Segment::Header)),
    }
}

/// Whether `token` looks like a compact JWS: three non-empty base64url segments, the first of
/// which decodes to a JSON object. Nothing is verified.
pub(crate) fn is_jwt_shaped(token: &str) -> bool {
    let shape = TokenShape::of(token.as_bytes());
    if shape.dots != 2 || !shape.base64url {
        return false;
    }
    // Two dots, counted: the header ends at the first, the signature starts after the last.
    match (token.split_once('.'), token.rsplit_once('.')) {
        (Some((header, rest)), Some((_, signature))) => {
            !header.is_empty()
                && !rest.starts_with('.')
                && !signature.is_empty()
                && decode_object(header, Segment::Header).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift64 sequence: test data without a dependency.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// The full reading's verdict on the shape, for comparison with [`precheck`].
    fn full(token: &str) -> Result<(), JwsError> {
        let jws = Jws::split(token)?;
        decode_object(jws.header, Segment::Header).map(drop)
    }

    #[test]
    fn precheck_refuses_garbage_like_the_full_reading() {
        for token in [
            "abc",
            "a.b.c.d.e",
            ".ab.c",
            "a$cd.abcd.c",
            "abcd.a bc.c",
            "abcde.abcd.c",
            "abcd.abcd.",
            "e30.abcd.",
            "eyJ.eyJhIjoxfQ.c2ln",
        ] {
            assert_eq!(precheck(token), full(token).map(drop), "{token}");
        }
        assert_eq!(precheck("a.b.c.d.e"), Err(JwsError::Encrypted));
        assert_eq!(precheck("e30.abcd."), Ok(()));
    }

    #[test]
    fn random_garbage_is_refused_by_its_header() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let token = |header: &[u8]| format!("{}.eyJhIjoxfQ.c2ln", B64.encode(header));
        assert_eq!(precheck(&token(br#"{"alg":"RS256"}"#)), Ok(()));
        assert_eq!(precheck(&token(b" \r\n{\"alg\":\"RS256\"}\t")), Ok(()));
        for header in [
            &b"[1]"[..],
            b"{",
            b"  ",
            b"\"{}\"",
            b"{\"a\":1} x",
            b"\xff\xfe",
        ] {
            assert_eq!(
                precheck(&token(header)),
                Err(JwsError::NotObject(Segment::Header)),
                "{header:?}"
            );
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut refused = 0;
        for _ in 0..1000 {
            let mut segment = |len: usize| -> String {
                (0..len)
                    .map(|_| char::from(alphabet[(xorshift(&mut seed) % 64) as usize]))
                    .collect()
            };
            let garbage = format!("{}.{}.{}", segment(36), segment(120), segment(86));
            refused += usize::from(precheck(&garbage).is_err());
        }
        assert!(refused > 980, "{refused} of 1000 refused");
    }

    #[test]
    fn the_block_scan_agrees_with_the_byte_by_byte_one() {
        let naive = |bytes: &[u8]| TokenShape {
            dots: dot_count(bytes),
            base64url: bytes.iter().all(|&b| b == b'.' || is_base64url(b)),
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"abcXYZ019-_.";
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 700, 1000] {
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(TokenShape::of(&bytes), naive(&bytes), "len {len}");
            for bad in 0..=255u8 {
                if let Some(last) = bytes.last_mut() {
                    *last = bad;
                    assert_eq!(TokenShape::of(&bytes), naive(&bytes), "byte {bad}");
                }
            }
        }
    }

    #[test]
    fn a_token_whose_header_is_not_framed_fails_the_precheck() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        for len in 0..200 {
            let token: String = (0..len)
                .map(|_| char::from(alphabet[(xorshift(&mut seed) % 65) as usize]))
                .collect();
            if !header_is_framed(&token) {
                assert!(precheck(&token).is_err(), "{token}");
            }
        }
        assert!(header_is_framed("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"));
        assert!(!header_is_framed("abcd.e30.c2ln"));
    }

    /// The edges of a header decide exactly as its whole decoding does: headers of JSON-like
    /// text (braces, whitespace at the edges or not, trailing bits set or not) and random ones.
    #[test]
    fn the_edges_of_a_header_decide_as_its_whole_decoding() {
        fn whole(header: &[u8]) -> Result<(), JwsError> {
            match URL_SAFE_NO_PAD.decode(header) {
                Err(_) => Err(JwsError::NotBase64url(Segment::Header)),
                Ok(bytes) => match bytes.trim_ascii() {
                    [b'{', .., b'}'] => Ok(()),
                    _ => Err(JwsError::NotObject(Segment::Header)),
                },
            }
        }
        let mut seed = 0x0bad_cafe_dead_beefu64;
        let pieces: [&[u8]; 8] = [b"{", b"}", b" ", b"\t", b"\n", b"\"a\":1", b"x", b"\x0c"];
        let mut checked = 0;
        for _ in 0..20_000 {
            let len = 1 + xorshift(&mut seed) % 12;
            let text: Vec<u8> = (0..len)
                .flat_map(|_| pieces[(xorshift(&mut seed) % 8) as usize].iter().copied())
                .collect();
            let mut header = URL_SAFE_NO_PAD.encode(&text).into_bytes();
            // Now and then, set the trailing bits of the last character.
            if xorshift(&mut seed).is_multiple_of(4)
                && let Some(last) = header.last_mut()
            {
                *last = b"BCDEFGHhijklmnop"[(xorshift(&mut seed) % 16) as usize];
            }
            if header.len() % 4 == 1 {
                continue;
            }
            assert_eq!(
                header_framing(&header),
                whole(&header),
                "{}",
                String::from_utf8_lossy(&header)
            );
            checked += 1;
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn jwt_shaped_tokens_have_a_json_header() {
        assert!(is_jwt_shaped("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"));
        assert!(!is_jwt_shaped("2YotnFZFEjr1zCsicMWpAA"));
        assert!(!is_jwt_shaped("not.a.jwt"));
        assert!(!is_jwt_shaped("eyJhbGciOiJFUzI1NiJ9.e30."));
        assert!(!is_jwt_shaped("eyJhbGciOiJFUzI1NiJ9..c2ln"));
    }
}
