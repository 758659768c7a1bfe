//! A token not in the hot cache, or whose entry is stale: verified locally,
//! its client checked, and its record (and its admin) read.

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use ims_api::{
    AccessToken, AdminUser, AdminUserId, ClientId, TokenHash, TokenRejection, WebApiToken,
};
use time::OffsetDateTime;

use super::refusal::{invalidated, printable};
use super::settings::{Current, Trust};
use super::{Key, Outcome, WebApiAuthenticator, internal};
use crate::AuthError;
use crate::memory::{Digest, HotEntry};

impl WebApiAuthenticator {
    /// A token not in the hot cache: local verification and the client
    /// allow-list, then its record, or its first sight.
    pub(super) async fn load(&self, key: Key, token: &AccessToken, settings: &Current) -> Outcome {
        let trust = Trust::of(settings)?;
        let verified = match self
            .within_ims_deadline(self.services.verifier.verify(token))
            .await
        {
            Ok(verified) => verified,
            Err(err) => return Err(self.refuse_error(key, err)),
        };
        // Before the record and before any IMS call: a record saved for a
        // token of another client (by an older build, or an instance
        // configured otherwise) is not trusted either.
        let client = match self.allowed_client(verified.claims.client_id.as_deref(), &trust) {
            Ok(client) => client,
            Err(rejection) => return Err(self.refuse(key, rejection)),
        };
        let digest = digest_of(token);
        let row = self
            .services
            .tokens
            .find_by_hash(&TokenHash::from_digest(digest))
            .await
            .map_err(internal("reading the Web API token record"))?;
        let claims_expiry = verified.expires_at();
        let seen = Seen {
            digest,
            client,
            claims_expiry,
            issued_at: verified.claims.created_at,
        };
        if let Some(answer) = self.settled(key, token, &trust, &seen, row.as_ref()).await {
            return answer;
        }
        if row.is_some() {
            // Checked for another organization, or saved before the
            // organization was kept: checked again, as on first sight.
            tracing::info!(
                "Web API token record not checked for the configured organization: \
                 validating it again"
            );
        }
        self.first_sight_of(key, token, &trust, seen).await
    }

    /// What a token's record decides, if it decides: an invalidated record
    /// refuses the token; a validated one checked for the configured
    /// organization admits it if its admin may still use the API and is
    /// still the token's (see [`trusted_record`](Self::trusted_record)).
    /// `None`: no record, or one that needs a first sight.
    pub(super) async fn settled(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: &Seen,
        row: Option<&WebApiToken>,
    ) -> Option<Outcome> {
        match row {
            Some(row) if row.is_invalidated() => Some(Err(self.refuse(key, invalidated(row)))),
            Some(row) if row.organization.as_ref() == Some(&trust.org) => {
                Some(self.trusted_record(key, token, trust, seen, row).await)
            }
            _ => None,
        }
    }

    /// A validated record checked for the configured organization: its
    /// admin must still be usable and still the token's.
    pub(super) async fn trusted_record(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: &Seen,
        row: &WebApiToken,
    ) -> Outcome {
        let now = self.services.clock.now();
        let Some(admin) = self.usable_admin(row.admin_user_id, now).await? else {
            return Err(self.refuse_for_admin_state(key, row.admin_user_id));
        };
        // The record maps the token to an admin id, not to an address: the
        // admin's address may have changed (or been given to another admin)
        // since. The address the token's profile gave, kept as a digest,
        // says whose token it is; records saved before the digest was kept
        // ask the profile.
        let still_theirs = match row.admin_email_sha256 {
            Some(digest) => email_sha256(&admin.email) == Some(digest),
            None => {
                let profile = match self
                    .within_ims_deadline(self.services.profiles.profile(token, &seen.client))
                    .await
                {
                    Ok(profile) => profile,
                    Err(err) => return Err(self.refuse_error(key, err)),
                };
                admin.email_matches(&profile.email.unwrap_or_default())
            }
        };
        if !still_theirs {
            return Err(self
                .readdressed(key, &row.access_token_hash, admin.id)
                .await);
        }
        let email = self.email_key(&admin.email)?;
        let entry = self.memory.accept(
            key,
            Arc::new(admin),
            seen.claims_expiry.min(row.access_token_expires_at),
            row.last_check_time,
            seen.digest,
            email,
            now,
            trust.generation,
        );
        Ok(entry)
    }

    /// A known token whose entry is stale: its record is read again, so an
    /// invalidation (or a newer check) by another instance is seen, and its
    /// admin, so that a lock, a deactivation or a lost role ends its access.
    /// No local verification: the token was verified when first seen.
    pub(super) async fn reread(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &Current,
    ) -> Outcome {
        let trust = Trust::of(settings)?;
        let row = self
            .services
            .tokens
            .find_by_hash(&TokenHash::from_digest(entry.digest))
            .await
            .map_err(internal("reading the Web API token record"))?;
        let Some(row) = row else {
            // Purged meanwhile: treat it as new.
            self.memory.forget(&key);
            return self.load(key, token, settings).await;
        };
        if row.is_invalidated() {
            self.memory.forget(&key);
            return Err(self.refuse(key, invalidated(&row)));
        }
        if row.organization.as_ref() != Some(&trust.org) {
            self.memory.forget(&key);
            return self.load(key, token, settings).await;
        }
        let now = self.services.clock.now();
        let Some(admin) = self.usable_admin(row.admin_user_id, now).await? else {
            // Kept, stale, and refused until the admin changes (the feed
            // says so) or the refusal expires: an unlock then costs a read
            // of the database, not IMS.
            self.memory.stale_key(&key);
            return Err(self.refuse_for_admin_state(key, row.admin_user_id));
        };
        if row.admin_user_id.0 != entry.admin || self.email_key(&admin.email)? != entry.email {
            // The admin's address changed since the token's profile
            // matched it: the account may be someone else's now.
            self.memory.forget(&key);
            return Err(self
                .readdressed(key, &row.access_token_hash, admin.id)
                .await);
        }
        let entry = self.memory.accept(
            key,
            Arc::new(admin),
            entry.expires_at.min(row.access_token_expires_at),
            entry.last_check.max(row.last_check_time),
            entry.digest,
            entry.email,
            now,
            trust.generation,
        );
        Ok(entry)
    }

    /// The admin with this id if they may use the Web API at `now`:
    /// active, not locked, with a role that grants something.
    pub(super) async fn usable_admin(
        &self,
        id: AdminUserId,
        now: OffsetDateTime,
    ) -> Result<Option<AdminUser>, AuthError> {
        let admin = self
            .services
            .admins
            .find_by_id(id)
            .await
            .map_err(internal("looking up the admin user"))?;
        let Some(admin) = admin else {
            tracing::info!(
                admin_user_id = id.0,
                "Web API token refused: admin user gone"
            );
            return Ok(None);
        };
        match usable(&admin, now) {
            Ok(()) => Ok(Some(admin)),
            Err(why) => {
                tracing::info!(admin_user_id = id.0, "Web API token refused: {why}");
                Ok(None)
            }
        }
    }

    /// The configured client a token's `client_id` claim names: the
    /// integration's, or one on the host's allow-list.
    pub(super) fn allowed_client(
        &self,
        claim: Option<&str>,
        trust: &Trust,
    ) -> Result<ClientId, TokenRejection> {
        client_allowed(claim, &trust.client, &self.config.allowed_client_ids).cloned()
    }
}

/// The client a `client_id` claim names if it is `integration` or one of
/// `extra`, compared exactly: no case folding, no trimming; a missing claim
/// is refused.
pub(super) fn client_allowed<'a>(
    claim: Option<&str>,
    integration: &'a ClientId,
    extra: &'a [ClientId],
) -> Result<&'a ClientId, TokenRejection> {
    let Some(claim) = claim else {
        return Err(TokenRejection::ClientNotAllowed("(none)".into()));
    };
    std::iter::once(integration)
        .chain(extra)
        .find(|client| client.as_str() == claim)
        .ok_or_else(|| TokenRejection::ClientNotAllowed(printable(claim)))
}

/// What local verification learnt of a new token.
#[derive(Clone)]
pub(super) struct Seen {
    /// Its SHA-256.
    pub(super) digest: Digest,
    /// The configured client its `client_id` claim names.
    pub(super) client: ClientId,
    /// Its expiry by its claims.
    pub(super) claims_expiry: OffsetDateTime,
    /// Its `created_at`.
    pub(super) issued_at: OffsetDateTime,
}

/// Why an admin may not use the Web API at `now`, if they may not.
pub(super) fn usable(admin: &AdminUser, now: OffsetDateTime) -> Result<(), &'static str> {
    if !admin.is_active {
        Err("the admin user is inactive")
    } else if admin.is_locked(now) {
        Err("the admin user is locked")
    } else if !admin.has_permissions() {
        Err("the admin user has no role that grants permissions")
    } else {
        Ok(())
    }
}

/// The SHA-256 of an e-mail address as [`AdminUser::email_matches`]
/// compares it ([`ims_api::normalized_email`]): what a record keeps of the
/// address its token's profile gave. `None` for an empty address, which
/// matches nothing.
pub(super) fn email_sha256(email: &str) -> Option<[u8; 32]> {
    let normalized = ims_api::normalized_email(email)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, normalized.as_bytes()).as_ref());
    Some(out)
}

/// The SHA-256 of a token: its record's key.
pub(super) fn digest_of(token: &AccessToken) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.expose_secret().as_bytes()).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use ims_api::AdminUserId;
    use proptest::prelude::*;

    use super::*;

    fn id(value: &str) -> ClientId {
        ClientId::parse(value).unwrap()
    }

    proptest! {
        /// A claim passes only when it is byte for byte the integration's
        /// client id or one of the extra ones.
        #[test]
        fn only_exact_client_ids_pass(
            claim in proptest::option::of(".{0,40}"),
            integration in "[A-Za-z0-9_.-]{1,20}",
            extra in proptest::collection::vec("[A-Za-z0-9_.-]{1,20}", 0..3),
        ) {
            let extra_ids: Vec<ClientId> = extra.iter().map(|e| id(e)).collect();
            let integration_id = id(&integration);
            let verdict = client_allowed(claim.as_deref(), &integration_id, &extra_ids);
            let expected = claim
                .as_deref()
                .is_some_and(|c| c == integration || extra.iter().any(|e| e == c));
            prop_assert_eq!(verdict.is_ok(), expected);
            if let Ok(named) = verdict {
                prop_assert_eq!(Some(named.as_str()), claim.as_deref());
            }
        }

        /// Case and whitespace variants of an allowed client id are refused.
        #[test]
        fn variants_of_the_client_id_are_refused(
            integration in "[a-z][a-z0-9_.-]{0,20}",
            pad in "[ \t\r\n\u{0}\u{a0}]{1,3}",
            at_end in any::<bool>(),
        ) {
            let client = id(&integration);
            let padded = if at_end {
                format!("{integration}{pad}")
            } else {
                format!("{pad}{integration}")
            };
            prop_assert!(client_allowed(Some(&padded), &client, &[]).is_err());
            let upper = integration.to_uppercase();
            prop_assert_eq!(client_allowed(Some(&upper), &client, &[]).is_ok(), upper == integration);
            // The refusal's text is safe to log.
            if let Err(TokenRejection::ClientNotAllowed(shown)) =
                client_allowed(Some(&padded), &client, &[])
            {
                prop_assert!(shown.chars().all(|c| c.is_ascii_graphic()));
            }
        }
    }

    #[test]
    fn usable_admins_are_active_unlocked_and_have_a_role() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        let mut admin = AdminUser::new(AdminUserId(1), "jane", "jane@example.com");
        assert!(usable(&admin, now).is_err(), "no role");
        admin.role = Some(ims_api::ADOBE_IMS_ROLE.into());
        assert!(usable(&admin, now).is_err(), "the role that grants nothing");
        admin.role = Some("Administrators".into());
        assert!(usable(&admin, now).is_ok());
        admin.login_failures.lock_expires = Some(now + time::Duration::seconds(1));
        assert!(usable(&admin, now).is_err(), "locked");
        admin.login_failures.lock_expires = Some(now);
        assert!(usable(&admin, now).is_ok(), "the lock ended");
        admin.is_active = false;
        assert!(usable(&admin, now).is_err(), "inactive");
    }
}

/// In-flight results kept at most at once; beyond it a finished result may
/// leave the cache before its late waiters look (they still get it from the
/// guard's shared slot: nothing is lost, nothing runs twice).
const FLIGHTS_CAPACITY: usize = 4_096;

/// Concurrent callers with the same key share one execution: quick_cache's
/// guard-based single flight (`get_value_or_guard_async`), the workspace's
/// one, as admin-ims's revalidation gates use it.
///
/// - The first caller gets the guard and runs `work`; the others wait on it
///   and get its result, errors included (an `Err` outcome is shared with
///   the current waiters like any other).
/// - Nothing is cached: the result is removed as soon as it is handed over,
///   so a later call runs again.
/// - A leader dropped or cancelled before it finished drops its guard
///   unfilled, and quick_cache hands the guard to one waiting caller, which
///   runs its own `work`: nobody stalls.
pub(super) struct Flights<K, V> {
    running: quick_cache::sync::Cache<K, Arc<V>>,
    /// The flight's kind, the label of its coalesced count.
    kind: &'static str,
}

impl<K: Eq + std::hash::Hash + Clone, V: Clone> Flights<K, V> {
    /// No flight running.
    pub(super) fn new(kind: &'static str) -> Self {
        Flights {
            running: quick_cache::sync::Cache::new(FLIGHTS_CAPACITY),
            kind,
        }
    }

    /// The result of `work` for `key`, shared with concurrent callers.
    pub(super) async fn run<F, Fut>(&self, key: &K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = V>,
    {
        match self.running.get_value_or_guard_async(key).await {
            // Handed over by a leader that has not removed it yet.
            Ok(shared) => {
                crate::metrics::flight_coalesced(self.kind);
                (*shared).clone()
            }
            Err(guard) => {
                let value = Arc::new(work().await);
                // Waiters get the value from the guard; refused only when
                // the placeholder was removed meanwhile (nobody removes one).
                let _ = guard.insert(value.clone());
                // Not cached: removed at once, no await in between, so no
                // cancellation can leave it behind. Only this flight's
                // value is removed, never a later flight's.
                self.running
                    .remove_if(key, |current| Arc::ptr_eq(current, &value));
                Arc::unwrap_or_clone(value)
            }
        }
    }

    /// How many results are kept (none once every flight handed its over).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.running.len()
    }
}

#[cfg(test)]
mod flight_tests {
    use super::Flights;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(Flights::<u8, usize>::new("test"));
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let flights = flights.clone();
                let runs = runs.clone();
                tokio::spawn(async move {
                    flights
                        .run(&1, || async {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            runs.fetch_add(1, Ordering::SeqCst) + 1
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 1);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
        // A later call runs again.
        assert_eq!(flights.run(&1, || async { 7 }).await, 7);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_dropped_leader_does_not_stall_the_others() {
        let flights = Arc::new(Flights::<u8, u8>::new("test"));
        let leader = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run(&1, || async {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        0
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let follower = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(&1, || async { 5 }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let value = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("the follower finished")
            .unwrap();
        assert_eq!(value, 5);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_error_is_shared_with_the_waiters_and_not_cached() {
        let flights = Arc::new(Flights::<u8, Result<u8, &'static str>>::new("test"));
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let flights = flights.clone();
                let runs = runs.clone();
                tokio::spawn(async move {
                    flights
                        .run(&1, || async {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            runs.fetch_add(1, Ordering::SeqCst);
                            Err("unavailable")
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err("unavailable"));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
        // The error was not kept: the next call runs and succeeds.
        assert_eq!(flights.run(&1, || async { Ok(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn distinct_keys_fly_apart() {
        let flights = Flights::<u8, u8>::new("test");
        let (a, b) = tokio::join!(
            flights.run(&1, || async { 1 }),
            flights.run(&2, || async { 2 })
        );
        assert_eq!((a, b), (1, 2));
    }
}
