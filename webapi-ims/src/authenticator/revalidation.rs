//! A known token whose last IMS check is `revalidate_after` old: IMS is
//! asked again, within its deadline.

use std::future::Future;

use ims_api::{AccessToken, Error, InvalidationReason, TokenHash, TokenRejection, TokenValidity};

use super::settings::{Current, Trust};
use super::{Key, Outcome, WebApiAuthenticator};
use crate::AuthError;
use crate::memory::HotEntry;

impl WebApiAuthenticator {
    /// A known token whose last check is old: IMS is asked again.
    pub(super) async fn revalidate(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &Current,
    ) -> Outcome {
        let hash = TokenHash::from_digest(entry.digest);
        let trust = Trust::of(settings)?;
        let client = if self.config.allowed_client_ids.is_empty() {
            // Only the integration's tokens were let in.
            trust.client.clone()
        } else {
            // The token's own client, once more checked against the list.
            let verified = self
                .within_ims_deadline(self.services.verifier.verify(token))
                .await
                .map_err(|err| self.map_error(err))?;
            match self.allowed_client(verified.claims.client_id.as_deref(), &trust) {
                Ok(client) => client,
                Err(rejection) => {
                    self.memory.forget(&key);
                    return Err(self.refuse(key, rejection));
                }
            }
        };
        let now = self.services.clock.now();
        match self
            .within_ims_deadline(self.services.validator.validate(token, &client))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => {
                // Still a member of the organization: a user removed from
                // it loses the API at this check, not when the token
                // expires. An outage here is an outage (the grace applies).
                match self
                    .within_ims_deadline(self.services.organizations.is_member(token, &trust.org))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        self.memory.forget(&key);
                        let reason = InvalidationReason::Other(LEFT_ORGANIZATION.into());
                        if let Err(err) = self.services.tokens.invalidate(&hash, &reason, now).await
                        {
                            tracing::warn!("could not record a Web API token invalidation: {err}");
                        }
                        tracing::info!(
                            admin_user_id = entry.admin,
                            "Web API token invalidated: its user is no longer a member of the configured organization"
                        );
                        return Err(self.refuse(key, TokenRejection::UnknownUser));
                    }
                    Err(err) => return Err(self.refuse_error(key, err)),
                }
                let expires = expires_at.min(entry.expires_at);
                if let Err(err) = self.services.tokens.record_check(&hash, now, expires).await {
                    tracing::warn!("could not record a Web API token check: {err}");
                }
                let entry = self.memory.accept(
                    key,
                    entry.profile.clone(),
                    expires,
                    now,
                    entry.digest,
                    entry.email,
                    now,
                    trust.generation,
                );
                Ok(entry)
            }
            Ok(TokenValidity::Invalid { reason }) => {
                self.memory.forget(&key);
                if let Err(err) = self
                    .services
                    .tokens
                    .invalidate(&hash, &InvalidationReason::FailedValidation, now)
                    .await
                {
                    tracing::warn!("could not record a Web API token invalidation: {err}");
                }
                tracing::info!(
                    admin_user_id = entry.admin,
                    "Web API token invalidated: IMS said {reason}"
                );
                Err(self.refuse(key, TokenRejection::RejectedByIms(reason)))
            }
            Ok(_) => Err(AuthError::Internal("unknown validation verdict".into())),
            Err(err) => Err(self.map_error(err)),
        }
    }

    /// Runs an IMS call within the deadline; running out of time is an
    /// outage.
    pub(super) async fn within_ims_deadline<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.config.ims_deadline, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::Unavailable {
                detail: format!(
                    "no answer from IMS within {} ms",
                    self.config.ims_deadline.as_millis()
                ),
                retry_after: None,
            }),
        }
    }
}

/// The invalidation reason stored for a token whose user left the
/// configured organization.
pub(super) const LEFT_ORGANIZATION: &str = "not_a_member";
