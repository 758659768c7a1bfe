//! Secrets: tokens, client secrets, private keys and passwords.
//!
//! Each is a newtype over [`secrecy::SecretString`]: `Debug` prints the type
//! name and `[REDACTED]`, there is no `Display`, no `Serialize` and no
//! `PartialEq` (compare secrets in constant time, where you must). Reading the
//! value takes an explicit [`expose_secret`](AccessToken::expose_secret) call,
//! so every place a secret leaves the type is easy to find.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(SecretString::from(value.into()))
            }

            /// The secret value. Never log it or put it in an error message.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::new(value)
            }
        }

        impl From<SecretString> for $name {
            fn from(value: SecretString) -> Self {
                $name(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::new)
            }
        }
    };
}

secret_string!(
    /// An IMS access token (a JWT of `type` `access_token`).
    ///
    /// ```
    /// let token = ims_api::AccessToken::new("eyJhbGciOi...");
    /// assert_eq!(format!("{token:?}"), "AccessToken([REDACTED])");
    /// assert_eq!(token.expose_secret(), "eyJhbGciOi...");
    /// ```
    AccessToken
);
secret_string!(
    /// An IMS refresh token (a JWT of `type` `refresh_token`).
    RefreshToken
);
secret_string!(
    /// A one-time authorization code from the authorize redirect.
    AuthorizationCode
);
secret_string!(
    /// An OpenID Connect ID token.
    IdToken
);
secret_string!(
    /// An OAuth client secret ("private key" in Magento's admin).
    ClientSecret
);
secret_string!(
    /// A PKCE code verifier, kept by the client until the code exchange.
    PkceVerifier
);
secret_string!(
    /// A PEM-encoded private key (PKCS#1, PKCS#8 or encrypted PKCS#8).
    PrivateKeyPem
);
secret_string!(
    /// The passphrase of an encrypted private key.
    Passphrase
);
secret_string!(
    /// A password in clear text, on its way to being hashed or checked.
    Password
);

/// A token of any kind that IMS can invalidate or revoke.
///
/// ```
/// use ims_api::{AnyToken, RefreshToken, TokenType};
///
/// let token = AnyToken::Refresh(RefreshToken::new("r"));
/// assert_eq!(token.token_type(), TokenType::RefreshToken);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyToken {
    /// An access token.
    Access(AccessToken),
    /// A refresh token.
    Refresh(RefreshToken),
}

impl AnyToken {
    /// The token's type, as IMS names it in `token_type`/`type` parameters.
    pub fn token_type(&self) -> crate::TokenType {
        match self {
            AnyToken::Access(_) => crate::TokenType::AccessToken,
            AnyToken::Refresh(_) => crate::TokenType::RefreshToken,
        }
    }

    /// The secret value. Never log it.
    pub fn expose_secret(&self) -> &str {
        match self {
            AnyToken::Access(token) => token.expose_secret(),
            AnyToken::Refresh(token) => token.expose_secret(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = ClientSecret::new("s3cr3t-value");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("ClientSecret([REDACTED])"));
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let token: AccessToken = serde_json::from_str("\"abc.def.ghi\"").unwrap();
        assert_eq!(token.expose_secret(), "abc.def.ghi");
    }
}
