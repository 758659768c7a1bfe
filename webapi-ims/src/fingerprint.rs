//! The key of the in-memory caches: a keyed 128-bit fingerprint of a token.
//!
//! The record's key is Magento's SHA-256 of the token, but SHA-256 of a
//! 1–3 KiB token costs more than half a microsecond even with SHA
//! instructions — most of what a warm request may add. The caches need a
//! key that is unique per token, not one that is published, so they use a
//! keyed hash instead: the GMAC tag of the token (AES-128-GCM with the token
//! as associated data, no plaintext and a fixed nonce) under a key drawn at
//! random when the authenticator starts. Carry-less multiplication computes
//! it about five times faster than SHA-256, and twice as fast as the
//! GCM-SIV tag this module used before (the `fingerprint` group of
//! `benches/warm_path.rs` measures all three).
//!
//! Why this is safe as an identity:
//!
//! - The tag is `GHASH_H(token) ⊕ AES_K(J₀)`. With the nonce fixed, the
//!   second term is one secret constant, so two tokens share a fingerprint
//!   exactly when their GHASH values are equal. GHASH under a secret `H` is
//!   an almost-universal hash: for any two distinct tokens of at most `ℓ`
//!   16-byte blocks, whoever chose them, they collide with probability at
//!   most `(ℓ + 1) / 2¹²⁸` over the key — below 2⁻¹¹⁷ for any token the
//!   `Authorization` limit (16 KiB, 1,024 blocks) lets through.
//! - The key never leaves the process and fingerprints are never shown, so
//!   GMAC's weakness under a repeated nonce (published tags reveal `H`) has
//!   nothing to work on, and an attacker who wants a token that collides
//!   with a cached one can only guess: with a million cached tokens and 2⁴⁰
//!   attempts of the longest length, the chance of any hit is below 2⁻⁵⁷.
//! - Even a leaked key would not help anyone impersonate a token they do
//!   not hold: aiming at a cached token's fingerprint takes knowing that
//!   token, and whoever knows it can present it.
//! - A new key each start means fingerprints cannot be precomputed, and a
//!   restart forgets nothing that matters (the caches are rebuilt from the
//!   record).

use std::hash::{BuildHasher, Hash, Hasher};

use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// A token's fingerprint: the key of the hot, refused and in-flight caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 16]);

/// A fingerprint is already the output of a keyed hash: hash tables can use
/// its first 8 bytes as they are (no second hash, and no way for anyone
/// without the key to aim at a bucket).
impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b, c, d, e, f, g, h, ..] = self.0;
        state.write_u64(u64::from_le_bytes([a, b, c, d, e, f, g, h]));
    }
}

/// The [`BuildHasher`] for maps keyed by [`Fingerprint`]: it passes the
/// fingerprint's own bits through.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FingerprintHash;

impl BuildHasher for FingerprintHash {
    type Hasher = PassThrough;

    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}

/// The hasher of [`FingerprintHash`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Fingerprint`; anything else still
        // hashes every byte.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Computes [`Fingerprint`]s under a key of its own.
pub(crate) struct Fingerprinter {
    key: LessSafeKey,
}

impl Fingerprinter {
    /// A fingerprinter under a fresh random key; `None` only when the
    /// system's random source fails.
    pub(crate) fn random() -> Option<Self> {
        let mut key = [0u8; 16];
        aws_lc_rs::rand::fill(&mut key).ok()?;
        let key = UnboundKey::new(&AES_128_GCM, &key).ok()?;
        Some(Fingerprinter {
            key: LessSafeKey::new(key),
        })
    }

    /// The fingerprint of `token`; `None` only for inputs far beyond the
    /// `Authorization` header's length limit (GCM takes up to 2⁶¹ bytes of
    /// associated data).
    pub(crate) fn of(&self, token: &[u8]) -> Option<Fingerprint> {
        // Deterministic on purpose: the same token must give the same key, and
        // no tag ever leaves the process (see the module documentation).
        let nonce = Nonce::assume_unique_for_key([0u8; 12]);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(token), &mut [])
            .ok()?;
        tag.as_ref().try_into().ok().map(Fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_one_fingerprint_and_distinct_tokens_differ() {
        let f = Fingerprinter::random().unwrap();
        let a = f.of(b"header.payload.signature").unwrap();
        assert_eq!(a, f.of(b"header.payload.signature").unwrap());
        assert_ne!(a, f.of(b"header.payload.signaturf").unwrap());
        assert_ne!(a, f.of(b"header.payload.signature\0").unwrap());
        assert_ne!(f.of(b"").unwrap(), f.of(b"\0").unwrap());
    }

    #[test]
    fn each_fingerprinter_has_its_own_key() {
        let (a, b) = (
            Fingerprinter::random().unwrap(),
            Fingerprinter::random().unwrap(),
        );
        assert_ne!(a.of(b"token").unwrap(), b.of(b"token").unwrap());
    }

    #[test]
    fn maps_keyed_by_fingerprint_find_their_entries() {
        let f = Fingerprinter::random().unwrap();
        let mut map = std::collections::HashMap::with_hasher(FingerprintHash);
        for i in 0..1000 {
            map.insert(f.of(format!("token {i}").as_bytes()).unwrap(), i);
        }
        assert_eq!(map.len(), 1000);
        assert_eq!(map.get(&f.of(b"token 7").unwrap()), Some(&7));
        assert_eq!(map.get(&f.of(b"token 1000").unwrap()), None);
    }
}
