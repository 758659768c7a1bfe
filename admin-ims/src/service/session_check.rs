//! Re-validating a signed-in session at IMS: at most one validation per
//! interval, shared by concurrent requests (quick_cache's guard-based single
//! flight, the workspace's one), and the outage policy when IMS cannot be
//! asked.

use aws_lc_rs::digest::{SHA256, digest};
use ims_api::{AccessToken, TokenValidity};
use time::OffsetDateTime;

use super::{AdminIms, LOG_TARGET, SessionEnd, SessionState, active, to_time};
use crate::callback::loggable;
use crate::session::SignedIn;
use crate::{AdminSession, OutagePolicy};

/// What IMS last said about a session token, shared by the checks of
/// concurrent requests so that one interval costs one validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Valid at this time.
    Confirmed(OffsetDateTime),
    /// Not valid.
    Rejected,
    /// IMS could not be asked at this time.
    Unavailable(OffsetDateTime),
}

/// Verdicts kept at most; the least used are dropped beyond this (costing
/// at most one extra validation each).
const MAX_VERDICTS: usize = 10_000;

/// How long an IMS outage seen by one check spares the others the wait.
const OUTAGE_MEMORY: time::Duration = time::Duration::seconds(10);

/// The last verdict per session token (keyed by its SHA-256): concurrent
/// checks that find the interval over wait on the first one's guard
/// (`get_value_or_guard_async`) for its verdict instead of asking IMS again.
pub(super) struct Revalidations {
    verdicts: quick_cache::sync::Cache<[u8; 32], Verdict>,
}

impl Default for Revalidations {
    fn default() -> Self {
        Revalidations {
            verdicts: quick_cache::sync::Cache::new(MAX_VERDICTS),
        }
    }
}

impl std::fmt::Debug for Revalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revalidations")
            .field("verdicts", &self.verdicts.len())
            .finish()
    }
}

impl Revalidations {
    pub(super) fn forget(&self, key: &[u8; 32]) {
        self.verdicts.remove(key);
    }
}

pub(super) fn token_key(token: &AccessToken) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, token.expose_secret().as_bytes()).as_ref());
    key
}

impl AdminIms {
    /// Whether the session's admin is still signed in.
    ///
    /// The token is re-validated at IMS at most once per
    /// [`revalidate_after`](crate::AdminImsConfig::revalidate_after); in between this
    /// makes no call at all, and concurrent checks of one token share one
    /// call. An invalid token ends the session; an IMS outage
    /// follows the [`OutagePolicy`]. The integration being disabled also
    /// ends the session (checked at re-validation time).
    ///
    /// The admin user is read on **every** call: gone, inactive, locked,
    /// without a role that grants anything, or given another e-mail address
    /// than the Adobe ID that signed in ends the session at once (and
    /// logs its token out at IMS), so an administrator's lock, deactivation
    /// or role removal takes effect at the admin's next request. A storage
    /// failure reading the user follows the outage policy.
    pub async fn check_session(&self, session: &mut AdminSession) -> SessionState {
        let Some(signed_in) = session.signed_in.clone() else {
            return SessionState::NeedsLogin;
        };
        let now = self.now();
        let interval = to_time(self.config.revalidate_after);
        let admin_id = signed_in.admin_id;
        let end = |session: &mut AdminSession, why: SessionEnd| {
            session.clear();
            crate::metrics::session_ended(why.reason());
            tracing::info!(
                target: LOG_TARGET,
                event = "session_ended",
                admin_id = admin_id.0,
                reason = why.reason(),
                "admin session ended"
            );
            SessionState::Ended(why)
        };
        match self.services.admins.find_by_id(admin_id).await {
            Ok(Some(user))
                if user.id == admin_id
                    && user.is_active
                    && !user.is_locked(now)
                    && (user.has_permissions() || self.signs_in_without_permissions(&user))
                    // The account still belongs to the Adobe ID that
                    // signed in (matched by e-mail at sign-in).
                    && user.email_matches(&signed_in.email) => {}
            Ok(_) => {
                self.revalidations.forget(&token_key(&signed_in.token()));
                if let Ok(Ok(active)) = self.services.settings.load().await.map(|s| active(&s)) {
                    self.logout_at_ims(
                        &active.credentials,
                        &signed_in.token(),
                        Some(admin_id),
                        "admin user unavailable",
                    )
                    .await;
                }
                return end(session, SessionEnd::UserUnavailable);
            }
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "session_check_failed", admin_id = admin_id.0, error = %err, "could not read the admin user");
                return self.outage(session, &signed_in, now, end);
            }
        }
        if now < signed_in.last_check.saturating_add(interval) {
            return SessionState::Valid(admin_id);
        }
        let settings = match self.services.settings.load().await {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not load the IMS settings");
                return self.outage(session, &signed_in, now, end);
            }
        };
        let active = match active(&settings) {
            Ok(active) => active,
            Err(_) => return end(session, SessionEnd::Disabled),
        };
        let token = signed_in.token();
        let key = token_key(&token);
        let fresh = |verdict: Verdict| match verdict {
            Verdict::Confirmed(at) => now < at.saturating_add(interval),
            Verdict::Rejected => true,
            Verdict::Unavailable(at) => now < at.saturating_add(OUTAGE_MEMORY),
        };
        // A fresh verdict, or the guard that makes this check the one that
        // asks IMS (the others wait for its verdict). A stale verdict is
        // removed and the lookup tried again; a few rounds at most.
        let mut guard = None;
        for _ in 0..4 {
            match self
                .revalidations
                .verdicts
                .get_value_or_guard_async(&key)
                .await
            {
                Ok(verdict) if fresh(verdict) => match verdict {
                    Verdict::Confirmed(at) => {
                        // A concurrent request of this session asked IMS a
                        // moment ago.
                        if let Some(current) = session.signed_in.as_mut() {
                            current.last_check = at;
                        }
                        return SessionState::Valid(admin_id);
                    }
                    Verdict::Rejected => {
                        self.revalidations.forget(&key);
                        return end(session, SessionEnd::TokenInvalid);
                    }
                    Verdict::Unavailable(_) => {
                        return self.outage(session, &signed_in, now, end);
                    }
                },
                Ok(stale) => {
                    self.revalidations
                        .verdicts
                        .remove_if(&key, |current| *current == stale);
                }
                Err(placeholder) => {
                    guard = Some(placeholder);
                    break;
                }
            }
        }
        // What this check found, for the checks waiting on it.
        let mut settle = move |verdict: Verdict| {
            if let Some(guard) = guard.take() {
                // Refused only when the entry was removed meanwhile.
                let _ = guard.insert(verdict);
            }
        };
        crate::metrics::session_revalidation();
        match self
            .services
            .validator
            .validate(&token, &active.credentials.client_id)
            .await
        {
            Ok(TokenValidity::Valid { .. }) => {
                // Still a member of the organization, as sign-in required:
                // a user removed from it loses the session at this check.
                match self
                    .services
                    .organizations
                    .is_member(&token, &active.org)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        settle(Verdict::Rejected);
                        self.revalidations.forget(&key);
                        tracing::info!(target: LOG_TARGET, event = "session_not_a_member", admin_id = admin_id.0, "the signed-in user is no longer a member of the organization");
                        self.logout_at_ims(
                            &active.credentials,
                            &token,
                            Some(admin_id),
                            "no longer a member",
                        )
                        .await;
                        return end(session, SessionEnd::NotMember);
                    }
                    Err(err) => {
                        settle(Verdict::Unavailable(now));
                        tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not check the session's organization membership at IMS");
                        return self.outage(session, &signed_in, now, end);
                    }
                }
                settle(Verdict::Confirmed(now));
                if let Some(current) = session.signed_in.as_mut() {
                    current.last_check = now;
                }
                tracing::debug!(target: LOG_TARGET, event = "session_revalidated", admin_id = admin_id.0, "IMS confirmed the session's token");
                SessionState::Valid(admin_id)
            }
            Ok(TokenValidity::Invalid { reason }) => {
                settle(Verdict::Rejected);
                self.revalidations.forget(&key);
                tracing::info!(target: LOG_TARGET, event = "session_token_invalid", admin_id = admin_id.0, ims_reason = %loggable(&reason), "IMS says the session's token is no longer valid");
                end(session, SessionEnd::TokenInvalid)
            }
            Ok(_) => {
                settle(Verdict::Rejected);
                end(session, SessionEnd::TokenInvalid)
            }
            Err(err) => {
                settle(Verdict::Unavailable(now));
                tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not re-validate the session's token at IMS");
                self.outage(session, &signed_in, now, end)
            }
        }
    }

    fn outage(
        &self,
        session: &mut AdminSession,
        signed_in: &SignedIn,
        now: OffsetDateTime,
        end: impl FnOnce(&mut AdminSession, SessionEnd) -> SessionState,
    ) -> SessionState {
        crate::metrics::session_outage();
        match self.config.outage_policy {
            OutagePolicy::KeepWithin(grace) => {
                let limit = signed_in
                    .last_check
                    .saturating_add(to_time(self.config.revalidate_after))
                    .saturating_add(to_time(grace));
                if now < limit {
                    SessionState::Valid(signed_in.admin_id)
                } else {
                    end(session, SessionEnd::ImsUnavailable)
                }
            }
            OutagePolicy::EndSession => end(session, SessionEnd::ImsUnavailable),
        }
    }
}
