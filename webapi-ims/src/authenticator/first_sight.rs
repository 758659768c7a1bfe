//! A new token's first sight across the instances that share its record:
//! one instance leads (asks IMS, saves the record) under a lease in the
//! record's repository, the others follow (wait for the record, or the
//! leader's refusal) within `ims_deadline`, and take over a lease that
//! expired — a leader that died releases nothing.
//!
//! Within one instance, the single flight of [`WebApiAuthenticator`] makes
//! one caller per token lead or follow; across instances, the lease does.

use std::sync::Arc;
use std::time::Duration;

use ims_api::{
    AccessToken, FirstSight, FirstSightOutcome, InvalidationReason, TokenHash, TokenRejection,
    TokenValidity, WebApiToken,
};
use time::OffsetDateTime;

use super::record::{Seen, email_sha256, usable};
use super::refusal::invalidated;
use super::settings::Trust;
use super::{Key, Outcome, WebApiAuthenticator, internal};
use crate::AuthError;

/// The longest refusal text shared with other instances.
const MAX_REFUSAL: usize = 200;

/// A name for this instance in first-sight leases: random, so that two
/// instances never share one; `None` if the random source fails.
pub(super) fn holder_name() -> Option<String> {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    let mut name = String::from("webapi-");
    for byte in bytes {
        name.push_str(&format!("{byte:02x}"));
    }
    Some(name)
}

/// A refusal in words for other instances' logs: no control characters,
/// at most [`MAX_REFUSAL`] characters.
fn refusal_text(rejection: &TokenRejection) -> String {
    rejection
        .to_string()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REFUSAL)
        .collect()
}

impl WebApiAuthenticator {
    /// A token without a usable record: this instance leads its first sight
    /// or follows another's. A follower waits for the leader's record (or
    /// refusal) for at most `ims_deadline`, then answers 503; it takes over
    /// a lease that expired and validates the token itself.
    pub(super) async fn first_sight_of(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: Seen,
    ) -> Outcome {
        let hash = TokenHash::from_digest(seen.digest);
        let deadline = tokio::time::Instant::now() + self.config.ims_deadline;
        loop {
            let turn = self
                .services
                .tokens
                .begin_first_sight(&hash, &self.holder, self.config.first_sight_lease)
                .await
                .map_err(internal("taking a Web API token's first-sight lease"))?;
            let until = match turn {
                FirstSight::Refused { reason } => {
                    tracing::info!("Web API token refused: another instance refused it: {reason}");
                    let rejection = TokenRejection::Invalidated(format!(
                        "refused at first sight by another instance: {reason}"
                    ));
                    return Err(self.refuse(key, rejection));
                }
                FirstSight::Follow { until } => until,
                // `Lead`, or a turn this build does not know: asking IMS
                // is never wrong, only dearer.
                _ => return self.lead(key, token, trust, seen, &hash).await,
            };
            let row = self
                .services
                .tokens
                .find_by_hash(&hash)
                .await
                .map_err(internal("reading the Web API token record"))?;
            if let Some(answer) = self.settled(key, token, trust, &seen, row.as_ref()).await {
                return answer;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(self.leader_too_slow(until));
            }
            // At least a millisecond: a zero interval must not spin.
            let pause = self
                .config
                .first_sight_poll
                .max(Duration::from_millis(1))
                .min(deadline - now);
            tokio::time::sleep(pause).await;
        }
    }

    /// This instance holds the lease: a record saved since this instance
    /// read none is used as is; otherwise IMS is asked. The outcome ends the
    /// lease: recorded, refused (shared for `negative_cache_ttl`; a refusal
    /// for the admin's state is not shared), or undecided
    /// (released, the next caller leads).
    async fn lead(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: Seen,
        hash: &TokenHash,
    ) -> Outcome {
        let answer = match self.services.tokens.find_by_hash(hash).await {
            Ok(row) => match self.settled(key, token, trust, &seen, row.as_ref()).await {
                Some(answer) => answer,
                None => self.validate_first_sight(key, token, trust, seen).await,
            },
            Err(err) => Err(internal("reading the Web API token record")(err)),
        };
        let outcome = match &answer {
            Ok(_) => FirstSightOutcome::Recorded,
            // The admin's state (locked, inactive, without a role) can
            // change at any moment, and an admin's change reaches other
            // instances through the feed, not through this row: not
            // shared, each instance decides it from its own reads.
            Err(AuthError::InvalidToken(_)) if self.memory.refused_for_admin(&key) => {
                FirstSightOutcome::Undecided
            }
            Err(AuthError::InvalidToken(rejection)) => FirstSightOutcome::Refused {
                reason: refusal_text(rejection),
                remembered_for: self.config.negative_cache_ttl,
            },
            Err(_) => FirstSightOutcome::Undecided,
        };
        if let Err(err) = self
            .services
            .tokens
            .end_first_sight(hash, &self.holder, &outcome)
            .await
        {
            // The lease then expires on its own.
            tracing::warn!("could not end a Web API token's first-sight lease: {err}");
        }
        answer
    }

    /// Extends this instance's lease before its next IMS call, so that the
    /// lease needs to cover one call (`ims_deadline`), not the whole first
    /// sight: a leader that dies is then taken over within about one IMS
    /// deadline. A failure, or a lease lost meanwhile, changes nothing here
    /// (the record's save is the same whoever makes it).
    async fn renew_first_sight(&self, hash: &TokenHash) {
        match self
            .services
            .tokens
            .begin_first_sight(hash, &self.holder, self.config.first_sight_lease)
            .await
        {
            Ok(FirstSight::Lead) => {}
            Ok(_) => {
                tracing::debug!("a Web API token's first-sight lease passed to another instance")
            }
            Err(err) => {
                tracing::warn!("could not extend a Web API token's first-sight lease: {err}")
            }
        }
    }

    /// The answer of a follower whose leader did not finish within
    /// `ims_deadline`: 503, retried once the leader's lease ends (at most
    /// `retry_after` from now, at least a second).
    fn leader_too_slow(&self, until: OffsetDateTime) -> AuthError {
        tracing::warn!(
            "Web API token first sight led by another instance not done within {} ms",
            self.config.ims_deadline.as_millis()
        );
        let left = Duration::try_from(until - self.services.clock.now()).unwrap_or_default();
        AuthError::Unavailable {
            retry_after: left
                .min(self.config.retry_after)
                .max(Duration::from_secs(1)),
        }
    }

    /// A new token, led by this instance: IMS validates it for `client`
    /// (the integration's, or the allowed client the token was issued to),
    /// its profile names the admin, who must be usable and a member of the
    /// configured organization; a row is saved, with the digest of the
    /// profile's address, and kept only if no revocation of the admin's
    /// tokens happened meanwhile.
    async fn validate_first_sight(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: Seen,
    ) -> Outcome {
        let Seen {
            digest,
            client,
            claims_expiry,
            issued_at,
        } = seen;
        let client = &client;
        let started = self.services.clock.now();
        let expires_at = match self
            .within_ims_deadline(self.services.validator.validate(token, client))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => expires_at.min(claims_expiry),
            Ok(TokenValidity::Invalid { reason }) => {
                tracing::info!("Web API token refused: IMS said {reason}");
                return Err(self.refuse(key, TokenRejection::RejectedByIms(reason)));
            }
            Ok(_) => return Err(AuthError::Internal("unknown validation verdict".into())),
            Err(err) => return Err(self.refuse_error(key, err)),
        };
        self.renew_first_sight(&TokenHash::from_digest(digest))
            .await;
        let profile = match self
            .within_ims_deadline(self.services.profiles.profile(token, client))
            .await
        {
            Ok(profile) => profile,
            Err(err) => return Err(self.refuse_error(key, err)),
        };
        let Some(email) = profile.email.filter(|email| !email.trim().is_empty()) else {
            tracing::info!("Web API token refused: its IMS profile has no e-mail");
            return Err(self.refuse(key, TokenRejection::UnknownUser));
        };
        let admin = self
            .services
            .admins
            .find_by_email(email.trim())
            .await
            .map_err(internal("looking up the admin user"))?;
        // The directory may match more loosely than "the same mailbox"
        // (Unicode case folding, an accent-insensitive collation): only the
        // admin whose address is the profile's is this token's.
        let Some(admin) = admin.filter(|admin| admin.email_matches(&email)) else {
            tracing::info!("Web API token refused: no admin user has its e-mail");
            return Err(self.refuse(key, TokenRejection::UnknownUser));
        };
        if let Err(why) = usable(&admin, self.services.clock.now()) {
            tracing::info!(admin_user_id = admin.id.0, "Web API token refused: {why}");
            return Err(self.refuse_for_admin_state(key, admin.id));
        }
        self.renew_first_sight(&TokenHash::from_digest(digest))
            .await;
        match self
            .within_ims_deadline(self.services.organizations.is_member(token, &trust.org))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(
                    admin_user_id = admin.id.0,
                    "Web API token refused: its user is not a member of the configured organization"
                );
                return Err(self.refuse(key, TokenRejection::UnknownUser));
            }
            Err(err) => return Err(self.refuse_error(key, err)),
        }
        let email_key = self.email_key(&admin.email)?;
        let now = self.services.clock.now();
        let hash = TokenHash::from_digest(digest);
        let mut row = WebApiToken::validated(admin.id, hash.clone(), expires_at, now)
            .with_organization(trust.org.clone());
        if let Some(digest) = email_sha256(&email) {
            row = row.with_admin_email_sha256(digest);
        }
        if self.config.store_tokens {
            row = row.with_access_token(token.clone());
        }
        self.services
            .tokens
            .save(&row)
            .await
            .map_err(internal("saving the Web API token record"))?;
        // The save never revives an invalidated row: read back what stands.
        let saved = self
            .services
            .tokens
            .find_by_hash(&hash)
            .await
            .map_err(internal("reading the Web API token record"))?;
        match saved {
            Some(saved) if saved.is_invalidated() => {
                tracing::info!(
                    admin_user_id = admin.id.0,
                    "Web API token refused: its record was invalidated during its first sight"
                );
                return Err(self.refuse(key, invalidated(&saved)));
            }
            Some(saved) if saved.admin_user_id == admin.id => {}
            _ => {
                tracing::error!("a saved Web API token record did not read back");
                return Err(AuthError::Internal("storage".into()));
            }
        }
        // In memory before the revocation is read: a revocation on this
        // instance that this read misses forgets the entry after it.
        let entry = self.memory.accept(
            key,
            Arc::new(admin.clone()),
            expires_at,
            now,
            digest,
            email_key,
            now,
            trust.generation,
        );
        let revoked = self
            .services
            .tokens
            .last_revocation(admin.id)
            .await
            .map_err(|err| {
                self.memory.forget(&key);
                internal("reading the admin's last revocation")(err)
            })?;
        if let Some(revoked_at) = revoked
            && (revoked_at >= started || revoked_at >= issued_at)
        {
            // Revoked while IMS was being asked (the row did not exist for
            // the revocation to invalidate), or issued before a revocation
            // and never seen until now.
            self.memory.forget(&key);
            if let Err(err) = self
                .services
                .tokens
                .invalidate(&hash, &InvalidationReason::Revoked, now)
                .await
            {
                tracing::warn!("could not record a Web API token invalidation: {err}");
            }
            tracing::info!(
                admin_user_id = admin.id.0,
                "Web API token refused: its admin's tokens were revoked after it was issued"
            );
            return Err(self.refuse(
                key,
                TokenRejection::Invalidated(InvalidationReason::Revoked.to_string()),
            ));
        }
        tracing::info!(
            admin_user_id = admin.id.0,
            "Web API token accepted on first sight"
        );
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_are_random_and_plain() {
        let (a, b) = (holder_name().unwrap(), holder_name().unwrap());
        assert_ne!(a, b);
        assert!(a.len() <= 64);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn refusal_texts_are_short_and_single_line() {
        let text = refusal_text(&TokenRejection::RejectedByIms(
            "a\r\nInjected: x".repeat(100),
        ));
        assert!(text.chars().count() <= MAX_REFUSAL);
        assert!(!text.contains('\n') && !text.contains('\r'));
    }
}
