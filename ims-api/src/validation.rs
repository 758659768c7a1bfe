//! Is this token good? Asked of IMS (remote validation) or answered locally
//! (signature and claims).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{AccessToken, ClientId, Result, TokenClaims};

/// IMS's verdict on a token (`/ims/validate_token/v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenValidity {
    /// IMS considers the token valid.
    Valid {
        /// When it expires (`expires_at`).
        expires_at: OffsetDateTime,
        /// The decoded claims IMS returned, when it did.
        claims: Option<Box<TokenClaims>>,
    },
    /// IMS considers the token invalid.
    Invalid {
        /// IMS's `reason` (`bad_signature`, `token_expired`, …).
        reason: String,
    },
}

impl TokenValidity {
    /// Whether the verdict is "valid".
    pub fn is_valid(&self) -> bool {
        matches!(self, TokenValidity::Valid { .. })
    }
}

/// Asks IMS whether an access token is valid.
///
/// Magento's `IsTokenValidInterface`, aio's `validateToken`; implemented by
/// `ims-core` (with a cache in front, so hosts need no cache of their own).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenValidator: Send + Sync {
    /// Validates `token` as an access token of `client_id`. An invalid token
    /// is `Ok(TokenValidity::Invalid)`; `Err` means no verdict was had (IMS
    /// unavailable, refused the client, …).
    async fn validate(&self, token: &AccessToken, client_id: &ClientId) -> Result<TokenValidity>;
}

/// A token whose signature and claims were checked locally.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// Its claims.
    pub claims: TokenClaims,
    /// The `kid` of the key that signed it.
    pub key_id: String,
}

impl VerifiedToken {
    /// A verified token.
    pub fn new(claims: TokenClaims, key_id: impl Into<String>) -> Self {
        VerifiedToken {
            claims,
            key_id: key_id.into(),
        }
    }

    /// `created_at + expires_in`.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.claims.expires_at()
    }
}

/// Checks an access token without asking IMS: RS256 signature against IMS's
/// published keys, `type`, `as`, and `created_at + expires_in`.
///
/// Magento's `TokenReaderInterface`; implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenVerifier: Send + Sync {
    /// Verifies `token`. A bad token is
    /// `Err(Error::InvalidToken(reason))`; fetching keys may fail with
    /// `Error::Unavailable`.
    async fn verify(&self, token: &AccessToken) -> Result<VerifiedToken>;
}
