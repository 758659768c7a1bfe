//! Random values: CSRF `state`, PKCE pairs and provisioning passwords, from
//! the operating system's generator through `rand::rng()`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{PkceChallenge, PkceMethod, PkceVerifier};
use rand::RngExt as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The characters of a provisioning password: Magento's `[0-9a-zA-Z_-.]`.
pub(crate) const PASSWORD_ALPHABET: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.";

/// The length Magento gives provisioning passwords.
pub(crate) const PASSWORD_LEN: usize = 100;

fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    rand::rng().fill(&mut buf[..]);
    buf
}

/// A fresh `state`: 256 random bits, base64url (43 characters).
pub(crate) fn new_state() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// A PKCE verifier (384 random bits, 64 characters) and its S256 challenge.
pub(crate) fn new_pkce() -> (PkceVerifier, PkceChallenge) {
    let verifier = URL_SAFE_NO_PAD.encode(random_bytes(48));
    let challenge = PkceChallenge {
        challenge: s256(&verifier),
        method: PkceMethod::S256,
    };
    (PkceVerifier::new(verifier), challenge)
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// 100 characters from `[0-9a-zA-Z_-.]`, uniformly (rejection sampling).
pub(crate) fn new_password() -> String {
    let alphabet_len = PASSWORD_ALPHABET.len();
    // The largest multiple of the alphabet's length that fits in a byte.
    let limit = 256 - 256 % alphabet_len;
    let mut out = String::with_capacity(PASSWORD_LEN);
    while out.len() < PASSWORD_LEN {
        for byte in random_bytes(PASSWORD_LEN * 2) {
            let byte = usize::from(byte);
            if byte < limit
                && out.len() < PASSWORD_LEN
                && let Some(&c) = PASSWORD_ALPHABET.get(byte % alphabet_len)
            {
                out.push(char::from(c));
            }
        }
    }
    out
}

/// Compares two strings in constant time (for equal lengths).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_long_random_and_url_safe() {
        let a = new_state();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_state());
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn pkce_matches_rfc7636() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let (verifier, challenge) = new_pkce();
        assert_eq!(verifier.expose_secret().len(), 64);
        assert_eq!(challenge.method, PkceMethod::S256);
        assert_eq!(challenge.challenge, s256(verifier.expose_secret()));
    }

    #[test]
    fn passwords_follow_magentos_rule() {
        let password = new_password();
        assert_eq!(password.len(), 100);
        assert!(password.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        assert_ne!(password, new_password());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert!(!ct_eq("", "a"));
    }
}
