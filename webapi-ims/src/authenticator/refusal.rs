//! Refusals: remembered (briefly, or until the admin changes), logged with
//! their reason, answered alike; and errors mapped to their HTTP answers.

use ims_api::{
    AdminUserId, Error, InvalidationReason, TokenHash, TokenRejection, TokenStatus, WebApiToken,
};

use super::{Key, WebApiAuthenticator};
use crate::AuthError;

impl WebApiAuthenticator {
    /// Refuses a token whose record names an admin whose address is no
    /// longer the token's: the record is invalidated, so that no instance
    /// trusts it again.
    pub(super) async fn readdressed(
        &self,
        key: Key,
        hash: &TokenHash,
        admin: AdminUserId,
    ) -> AuthError {
        tracing::info!(
            admin_user_id = admin.0,
            "Web API token refused: its admin's e-mail address is no longer the token's"
        );
        let now = self.services.clock.now();
        let reason = InvalidationReason::Other(ADDRESS_CHANGED.into());
        if let Err(err) = self.services.tokens.invalidate(hash, &reason, now).await {
            tracing::warn!("could not record a Web API token invalidation: {err}");
        }
        self.refuse(key, TokenRejection::UnknownUser)
    }

    /// Refuses a token because of its admin's state (locked, inactive,
    /// without a role): remembered against the admin, so that the feed's
    /// event for that admin (an unlock) ends the refusal at once.
    pub(super) fn refuse_for_admin_state(&self, key: Key, admin: AdminUserId) -> AuthError {
        let rejection = TokenRejection::UnknownUser;
        self.memory
            .refuse_for_admin(key, rejection.clone(), admin.0, self.services.clock.now());
        tracing::info!("Web API token refused: {rejection}");
        AuthError::InvalidToken(rejection)
    }

    /// Remembers a refusal and returns it as an error.
    pub(super) fn refuse(&self, key: Key, rejection: TokenRejection) -> AuthError {
        self.memory
            .refuse(key, rejection.clone(), self.services.clock.now());
        // The reason goes to the log only: every refusal is answered alike.
        tracing::info!("Web API token refused: {rejection}");
        AuthError::InvalidToken(rejection)
    }

    /// Maps an error, remembering token refusals.
    pub(super) fn refuse_error(&self, key: Key, err: Error) -> AuthError {
        match err {
            Error::InvalidToken(rejection) => self.refuse(key, rejection),
            other => self.map_error(other),
        }
    }

    pub(super) fn map_error(&self, err: Error) -> AuthError {
        match err {
            Error::InvalidToken(rejection) => AuthError::InvalidToken(rejection),
            Error::Unavailable {
                detail,
                retry_after,
            } => {
                tracing::warn!("IMS unavailable for Web API authentication: {detail}");
                AuthError::Unavailable {
                    retry_after: retry_after.unwrap_or(self.config.retry_after),
                }
            }
            other => {
                tracing::error!("Web API authentication failed: {other}");
                AuthError::Internal(other.code().to_owned())
            }
        }
    }
}

/// The invalidation reason stored for a token whose admin's e-mail address
/// changed after the token was mapped to them.
pub(super) const ADDRESS_CHANGED: &str = "admin_email_changed";

/// The refusal of an invalidated record.
pub(super) fn invalidated(row: &WebApiToken) -> TokenRejection {
    match &row.status {
        TokenStatus::Invalidated { reason, .. } => TokenRejection::Invalidated(reason.to_string()),
        _ => TokenRejection::Invalidated("invalidated".into()),
    }
}

/// A claim's value fit for a log line: printable ASCII, at most 64
/// characters.
pub(super) fn printable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

pub(super) fn internal(doing: &'static str) -> impl Fn(Error) -> AuthError {
    move |err| {
        tracing::error!("Web API authentication failed {doing}: {err}");
        AuthError::Internal(err.code().to_owned())
    }
}
