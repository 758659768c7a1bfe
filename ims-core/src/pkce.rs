//! Random values for the browser flow: CSRF `state`, nonces and PKCE pairs
//! — the one place in the workspace they are made (hosts get them through
//! [`AuthorizeUrlBuilder::begin_authorization`]).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{
    AuthorizeRedirect, AuthorizeRequest, AuthorizeUrlBuilder, PkceChallenge, PkceMethod,
    PkceVerifier, Result,
};
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
        URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
    }
}

/// [`AuthorizeUrlBuilder::begin_authorization`] for any builder: a fresh
/// state and PKCE pair put into `request`, its URL built by `builder`.
pub(crate) async fn begin_authorization<B: AuthorizeUrlBuilder + ?Sized>(
    builder: &B,
    mut request: AuthorizeRequest,
) -> Result<AuthorizeRedirect> {
    let state = random_state();
    let pair = PkcePair::generate();
    request.state = state.clone();
    request.pkce = Some(pair.challenge);
    let url = builder.authorize_url(&request).await?;
    Ok(AuthorizeRedirect::new(url, state, pair.verifier))
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

    /// A builder that shows what it was asked to build.
    struct Echo;

    #[async_trait::async_trait]
    impl AuthorizeUrlBuilder for Echo {
        async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<url::Url> {
            let mut url =
                url::Url::parse("https://ims.example/authorize").unwrap_or_else(|_| unreachable!());
            url.query_pairs_mut()
                .append_pair("state", &request.state)
                .append_pair(
                    "code_challenge",
                    request
                        .pkce
                        .as_ref()
                        .map(|p| p.challenge.as_str())
                        .unwrap_or_default(),
                );
            Ok(url)
        }

        async fn begin_authorization(
            &self,
            request: AuthorizeRequest,
        ) -> Result<AuthorizeRedirect> {
            begin_authorization(self, request).await
        }
    }

    #[tokio::test]
    async fn begin_authorization_makes_a_fresh_state_and_pkce_pair() {
        let request = AuthorizeRequest::new(
            ims_api::ClientId::parse("c").unwrap_or_else(|_| unreachable!()),
            url::Url::parse("https://shop.example/cb").unwrap_or_else(|_| unreachable!()),
            "caller-state-is-replaced",
        );
        let a = Echo.begin_authorization(request.clone()).await.ok();
        let b = Echo.begin_authorization(request).await.ok();
        let (Some(a), Some(b)) = (a, b) else {
            unreachable!("the echo builder never fails")
        };
        assert_eq!(a.state.len(), 43);
        assert_ne!(a.state, b.state);
        let pairs: Vec<(String, String)> = a.url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("state".to_owned(), a.state.clone()));
        assert_eq!(
            pairs[1],
            (
                "code_challenge".to_owned(),
                PkcePair::s256(a.verifier.expose_secret())
            )
        );
        assert!(!format!("{a:?}").contains(&a.state));
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
