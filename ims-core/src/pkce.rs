//! Random values for the browser flow: CSRF `state`, nonces and PKCE pairs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{PkceChallenge, PkceMethod, PkceVerifier};
use rand::RngExt as _;

/// A random URL-safe string carrying `bytes` bytes of entropy (from the
/// operating system's generator through `rand::rng()`).
fn random_url_safe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh CSRF `state`: 256 random bits, base64url (43 characters).
///
/// ```
/// let a = ims_core::random_state();
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, ims_core::random_state());
/// ```
pub fn random_state() -> String {
    random_url_safe(32)
}

/// A fresh OIDC `nonce` (256 random bits).
pub fn random_nonce() -> String {
    random_url_safe(32)
}

/// A PKCE verifier and its `S256` challenge (RFC 7636).
///
/// ```
/// use ims_api::PkceMethod;
///
/// let pair = ims_core::PkcePair::generate();
/// assert_eq!(pair.challenge.method, PkceMethod::S256);
/// assert_eq!(pair.verifier.expose_secret().len(), 64);
/// assert_eq!(ims_core::PkcePair::s256(pair.verifier.expose_secret()), pair.challenge.challenge);
/// ```
#[derive(Debug, Clone)]
pub struct PkcePair {
    /// The verifier: kept secret until the code exchange.
    pub verifier: PkceVerifier,
    /// The challenge: sent with the authorize request.
    pub challenge: PkceChallenge,
}

impl PkcePair {
    /// A new pair: a 64-character verifier (384 random bits) and its S256
    /// challenge.
    pub fn generate() -> Self {
        let verifier = random_url_safe(48);
        let challenge = PkceChallenge {
            challenge: Self::s256(&verifier),
            method: PkceMethod::S256,
        };
        PkcePair {
            verifier: PkceVerifier::new(verifier),
            challenge,
        }
    }

    /// `BASE64URL(SHA256(verifier))`, the S256 transformation.
    pub fn s256(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            PkcePair::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_use_the_unreserved_alphabet() {
        let pair = PkcePair::generate();
        assert!(
            pair.verifier
                .expose_secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(!format!("{pair:?}").contains(pair.verifier.expose_secret()));
    }
}
