//! What the token endpoints hand out, and tokens with a known expiry.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AccessToken, IdToken, RefreshToken};

/// The unit IMS used for an `expires_in` field. It depends on the endpoint:
/// `/ims/token/v1`, `/ims/token` and `/ims/exchange/jwt` answer in
/// milliseconds, `/ims/token/v2`, `/v3` and `/v4` in seconds.
///
/// ```
/// use std::time::Duration;
/// use ims_api::ExpiresInUnit;
///
/// assert_eq!(ExpiresInUnit::Seconds.resolve(86_399), Duration::from_secs(86_399));
/// assert_eq!(ExpiresInUnit::Milliseconds.resolve(86_399_985), Duration::from_millis(86_399_985));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpiresInUnit {
    /// Seconds (token endpoint v2, v3, v4).
    Seconds,
    /// Milliseconds (token endpoint v1 and unversioned, JWT exchange).
    Milliseconds,
}

impl ExpiresInUnit {
    /// The duration `raw` stands for in this unit.
    pub fn resolve(self, raw: u64) -> Duration {
        match self {
            ExpiresInUnit::Seconds => Duration::from_secs(raw),
            ExpiresInUnit::Milliseconds => Duration::from_millis(raw),
        }
    }
}

/// A successful answer of a token endpoint, with `expires_in` already
/// resolved to a duration whatever unit the endpoint used.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// A refresh token, where IMS gives one.
    pub refresh_token: Option<RefreshToken>,
    /// An ID token, when `openid` was granted.
    pub id_token: Option<IdToken>,
    /// `token_type`, normally `bearer`.
    pub token_type: String,
    /// Lifetime of the access token from the time of the answer.
    pub expires_in: Duration,
    /// Profile fields that `/ims/token/v1` adds to its answer.
    pub profile: Option<TokenProfile>,
    /// The `userId` a client-credentials answer names: the technical account
    /// the token belongs to (Adobe's Go client reads it). Not secret.
    pub user_id: Option<String>,
}

impl TokenResponse {
    /// A bearer response with only an access token and its lifetime.
    pub fn new(access_token: AccessToken, expires_in: Duration) -> Self {
        TokenResponse {
            access_token,
            refresh_token: None,
            id_token: None,
            token_type: "bearer".to_owned(),
            expires_in,
            profile: None,
            user_id: None,
        }
    }

    /// Adds a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: RefreshToken) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// Adds an ID token.
    pub fn with_id_token(mut self, id_token: IdToken) -> Self {
        self.id_token = Some(id_token);
        self
    }

    /// Adds the v1 profile fields.
    pub fn with_profile(mut self, profile: TokenProfile) -> Self {
        self.profile = Some(profile);
        self
    }
}

/// The profile fields `/ims/token/v1` returns beside the tokens (Magento's
/// `TokenResponseInterface`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenProfile {
    /// The IMS user id.
    #[serde(default)]
    pub sub: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether IMS verified the e-mail address.
    #[serde(default, deserialize_with = "crate::profile::lenient_bool")]
    pub email_verified: bool,
}

/// A token with the instant it stops being valid: aio's `{token, expiry}`.
///
/// ```
/// use std::time::Duration;
/// use ims_api::{AccessToken, ExpiringToken};
/// use time::macros::datetime;
///
/// let token = ExpiringToken::new(AccessToken::new("t"), datetime!(2030-01-01 0:00 UTC));
/// assert!(token.has_life_left(datetime!(2029-12-31 23:00 UTC), Duration::from_secs(600)));
/// assert!(!token.has_life_left(datetime!(2029-12-31 23:55 UTC), Duration::from_secs(600)));
/// ```
#[derive(Debug, Clone)]
pub struct ExpiringToken<T> {
    /// The token.
    pub token: T,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

impl<T> ExpiringToken<T> {
    /// A token that expires at `expires_at`.
    pub fn new(token: T, expires_at: OffsetDateTime) -> Self {
        ExpiringToken { token, expires_at }
    }

    /// Whether more than `margin` of life is left at `now`.
    pub fn has_life_left(&self, now: OffsetDateTime, margin: Duration) -> bool {
        now.saturating_add(crate::claims::duration_to_time(margin)) < self.expires_at
    }
}

/// The tokens kept for a context: what a [`TokenCache`](crate::TokenCache)
/// stores.
#[derive(Debug, Clone, Default)]
pub struct ContextTokens {
    /// The cached access token.
    pub access_token: Option<ExpiringToken<AccessToken>>,
    /// The refresh token, for contexts whose flow gives one.
    pub refresh_token: Option<ExpiringToken<RefreshToken>>,
}
