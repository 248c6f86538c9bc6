//! Server nonces (RFC 9449 §9) without shared state: the time slot and an HMAC-SHA-256 of it.
//!
//! A nonce is base64url(`slot` as 8 big-endian bytes ‖ the first 16 bytes of
//! HMAC-SHA-256(key, "mcp-auth dpop nonce" ‖ resource ‖ `slot`)), 32 characters. The slot is
//! the Unix time divided by the lifetime; the current and the previous slot are accepted, so a
//! nonce lives between one and two lifetimes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

const LABEL: &[u8] = b"mcp-auth dpop nonce";

/// The HMAC key of a verifier's nonces.
pub(super) struct NonceKey {
    key: [u8; 32],
    resource: Vec<u8>,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// The key from `secret` (hashed to 32 bytes), or a random one.
    pub(super) fn new(secret: Option<&[u8]>, resource: &str) -> Self {
        let key = match secret {
            Some(secret) => Sha256::digest(secret).into(),
            None => {
                let mut key = [0u8; 32];
                // As for state handles: no weaker fallback if the OS has no CSPRNG.
                getrandom::fill(&mut key)
                    .expect("the operating system's random number generator failed");
                key
            }
        };
        Self {
            key,
            resource: resource.as_bytes().to_vec(),
        }
    }

    /// The nonce of the current slot.
    pub(super) fn current(&self, now: u64, lifetime: u64) -> String {
        self.make(now / lifetime)
    }

    /// Whether `nonce` is the nonce of the current or the previous slot.
    pub(super) fn accepts(&self, nonce: &str, now: u64, lifetime: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Ok(raw) = <[u8; 24]>::try_from(bytes.as_slice()) else {
            return false;
        };
        let mut slot_bytes = [0u8; 8];
        slot_bytes.copy_from_slice(&raw[..8]);
        let slot = u64::from_be_bytes(slot_bytes);
        let current = now / lifetime;
        if slot != current && slot.checked_add(1) != Some(current) {
            return false;
        }
        let mac = self.mac(slot);
        // Constant time over the tag.
        mac[..16]
            .iter()
            .zip(&raw[8..])
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    fn make(&self, slot: u64) -> String {
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&slot.to_be_bytes());
        raw[8..].copy_from_slice(&self.mac(slot)[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn mac(&self, slot: u64) -> [u8; 32] {
        hmac_sha256(&self.key, &[LABEL, &self.resource, &slot.to_be_bytes()])
    }
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts` under a 32-byte key.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for part in parts {
        // Length-prefixed, so that no two part lists give one input.
        inner.update((part.len() as u64).to_be_bytes());
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner);
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_and_previous_slot_accepted_older_and_forged_refused() {
        let key = NonceKey::new(Some(b"secret"), "https://rs.example/mcp");
        let nonce = key.current(1_000, 100);
        assert_eq!(nonce.len(), 32);
        assert!(key.accepts(&nonce, 1_000, 100));
        assert!(key.accepts(&nonce, 1_099, 100));
        assert!(key.accepts(&nonce, 1_199, 100), "previous slot");
        assert!(!key.accepts(&nonce, 1_200, 100), "two slots old");
        assert!(!key.accepts(&nonce, 900, 100), "from the future");
        let other = NonceKey::new(Some(b"other"), "https://rs.example/mcp");
        assert!(!other.accepts(&nonce, 1_000, 100), "another secret");
        let shared = NonceKey::new(Some(b"secret"), "https://rs.example/mcp");
        assert!(
            shared.accepts(&nonce, 1_000, 100),
            "same secret, another instance"
        );
        assert!(!key.accepts("not-a-nonce", 1_000, 100));
        assert!(!key.accepts("", 1_000, 100));
        let mut forged = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        forged[23] ^= 1;
        assert!(!key.accepts(&URL_SAFE_NO_PAD.encode(forged), 1_000, 100));
    }

    #[test]
    fn hmac_matches_rfc4231_shape() {
        // HMAC is deterministic and key-dependent.
        let a = hmac_sha256(&[1; 32], &[b"x"]);
        assert_eq!(a, hmac_sha256(&[1; 32], &[b"x"]));
        assert_ne!(a, hmac_sha256(&[2; 32], &[b"x"]));
        assert_ne!(a, hmac_sha256(&[1; 32], &[b"y"]));
    }
}
