//! What authentication gives: the admin behind a token, or why not — and the
//! HTTP answer for each refusal.

use std::sync::Arc;
use std::time::Duration;

use ims_api::{AdminUser, AdminUserId, TokenHash, TokenRejection};
use time::OffsetDateTime;

/// Magento's answer to any Web API authentication failure.
pub const CONSUMER_NOT_AUTHORIZED: &str = "The consumer isn't authorized to access %resources.";

/// The challenge of every refused token (RFC 6750), whatever the reason.
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer error="invalid_token""#;

/// An accepted token: who it belongs to and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authenticated {
    /// The admin user the token maps to (by its IMS profile's e-mail).
    pub admin_user_id: AdminUserId,
    /// The admin as the host's directory gave them when the token's hot
    /// entry was last read: at its first sight, then every
    /// `hot_cache_ttl`, and again as soon as the change feed reports a
    /// change of the admin (a lock, a new role or address ends the token's
    /// access; other changes, such as their names, are read in). Handlers
    /// answer from it without a query of their own.
    pub admin: Arc<AdminUser>,
    /// SHA-256 of the token (see [`token_hash`](Self::token_hash)); kept as
    /// bytes so the hot path formats nothing.
    pub(crate) token_digest: [u8; 32],
    /// When the token expires.
    pub expires_at: OffsetDateTime,
    /// When IMS last confirmed it.
    pub last_check: OffsetDateTime,
    /// `true` when IMS could not be reached and the token was accepted on
    /// the strength of a check within the outage grace window.
    pub degraded: bool,
}

impl Authenticated {
    /// SHA-256 of the token, the key of its `admin_adobe_ims_webapi` row.
    pub fn token_hash(&self) -> TokenHash {
        TokenHash::from_digest(self.token_digest)
    }
}

/// Why a request was not authenticated. Each maps to an HTTP status, a
/// `WWW-Authenticate` challenge and Magento's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no bearer token")]
    MissingCredentials,
    /// The IMS integration is disabled: IMS tokens are not accepted.
    #[error("Adobe IMS integration is disabled")]
    Disabled,
    /// The token is malformed, badly signed, expired, revoked, invalidated,
    /// or maps to no active admin.
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
    /// IMS could not be asked and the token has no recent enough check.
    #[error("Adobe IMS is unavailable")]
    Unavailable {
        /// What the client should wait before retrying.
        retry_after: Duration,
    },
    /// The host's storage or configuration failed (details are logged).
    #[error("authentication failed on the server: {0}")]
    Internal(String),
}

impl AuthError {
    /// The HTTP status: 401 for refusals, 503 for an IMS outage, 500 for the
    /// host's own failures.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingCredentials | AuthError::Disabled | AuthError::InvalidToken(_) => 401,
            AuthError::Unavailable { .. } => 503,
            AuthError::Internal(_) => 500,
        }
    }

    /// The `WWW-Authenticate` value for a 401 (RFC 6750): the same
    /// `invalid_token` challenge for every refusal, with no description.
    /// Why a token was refused is logged, never answered: a reason such as
    /// "no known admin user" would tell a token holder whether an admin
    /// with the token's e-mail exists.
    ///
    /// ```
    /// use ims_api::TokenRejection;
    /// use webapi_ims::AuthError;
    ///
    /// let err = AuthError::InvalidToken(TokenRejection::BadSignature);
    /// assert_eq!(err.www_authenticate().unwrap(), r#"Bearer error="invalid_token""#);
    /// let unknown = AuthError::InvalidToken(TokenRejection::UnknownUser);
    /// assert_eq!(unknown.www_authenticate(), err.www_authenticate());
    /// assert_eq!(AuthError::MissingCredentials.www_authenticate().unwrap(), "Bearer");
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            AuthError::MissingCredentials => Some("Bearer".to_owned()),
            AuthError::Disabled | AuthError::InvalidToken(_) => {
                Some(INVALID_TOKEN_CHALLENGE.to_owned())
            }
            AuthError::Unavailable { .. } | AuthError::Internal(_) => None,
        }
    }

    /// `Retry-After` in seconds, for a 503.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AuthError::Unavailable { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        }
    }

    /// The JSON body Magento's REST API answers with: the message with its
    /// `%resources` parameter (401); a plain message otherwise.
    ///
    /// ```
    /// use webapi_ims::AuthError;
    ///
    /// let body = AuthError::MissingCredentials.json_body("Magento_Backend::admin");
    /// assert_eq!(
    ///     body,
    ///     r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Backend::admin"}}"#
    /// );
    /// ```
    pub fn json_body(&self, resources: &str) -> String {
        let body = match self.status() {
            401 => serde_json::json!({
                "message": CONSUMER_NOT_AUTHORIZED,
                "parameters": { "resources": resources },
            }),
            503 => serde_json::json!({
                "message": "Adobe IMS is unavailable. Please try again later.",
            }),
            _ => serde_json::json!({ "message": "Internal error." }),
        };
        body.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(AuthError::Disabled.status(), 401);
        let outage = AuthError::Unavailable {
            retry_after: Duration::from_millis(10),
        };
        assert_eq!(outage.status(), 503);
        assert_eq!(outage.retry_after_secs(), Some(1));
        assert!(outage.www_authenticate().is_none());
        assert_eq!(AuthError::Internal("db".into()).status(), 500);
    }

    proptest::proptest! {
        /// Whatever a refusal's reason says, its answer is the same.
        #[test]
        fn no_reason_text_reaches_the_answer(reason in ".{0,80}") {
            for err in [
                AuthError::InvalidToken(TokenRejection::RejectedByIms(reason.clone())),
                AuthError::InvalidToken(TokenRejection::Invalidated(reason.clone())),
                AuthError::InvalidToken(TokenRejection::ClientNotAllowed(reason.clone())),
                AuthError::InvalidToken(TokenRejection::Malformed(reason.clone())),
            ] {
                let challenge = err.www_authenticate();
                proptest::prop_assert_eq!(challenge.as_deref(), Some(INVALID_TOKEN_CHALLENGE));
                proptest::prop_assert_eq!(
                    err.json_body("r"),
                    AuthError::MissingCredentials.json_body("r")
                );
            }
        }
    }

    #[test]
    fn challenges_tell_no_reason() {
        let reasons = [
            TokenRejection::RejectedByIms("a \"quoted\"\r\nInjected: header \\ é".into()),
            TokenRejection::UnknownUser,
            TokenRejection::ClientNotAllowed("emulator-cli".into()),
            TokenRejection::Invalidated("revoked".into()),
            TokenRejection::BadSignature,
        ];
        for reason in reasons {
            let err = AuthError::InvalidToken(reason);
            assert_eq!(
                err.www_authenticate().as_deref(),
                Some(INVALID_TOKEN_CHALLENGE)
            );
            assert_eq!(
                err.json_body("r"),
                AuthError::MissingCredentials.json_body("r")
            );
        }
        assert_eq!(
            AuthError::Disabled.www_authenticate().as_deref(),
            Some(INVALID_TOKEN_CHALLENGE)
        );
    }
}
