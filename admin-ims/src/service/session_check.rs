//! Re-validating a signed-in session at IMS: at most one validation per
//! interval, shared by concurrent requests, and the outage policy when IMS
//! cannot be asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use ims_api::{AccessToken, TokenValidity};
use time::OffsetDateTime;

use super::{AdminIms, LOG_TARGET, SessionEnd, SessionState, active, to_time};
use crate::callback::loggable;
use crate::session::SignedIn;
use crate::{AdminSession, OutagePolicy};

/// What IMS last said about a session token, shared by the checks of
/// concurrent requests so that one interval costs one validation.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// Valid at this time.
    Confirmed(OffsetDateTime),
    /// Not valid.
    Rejected,
    /// IMS could not be asked at this time.
    Unavailable(OffsetDateTime),
}

/// One lock per session token: concurrent checks that find the interval
/// over wait for the first one's verdict instead of asking IMS again.
type Gate = Arc<tokio::sync::Mutex<Option<Verdict>>>;

/// Gates kept at most; idle ones are dropped beyond this (costing at most
/// one extra validation each).
const MAX_GATES: usize = 10_000;

/// How long an IMS outage seen by one check spares the others the wait.
const OUTAGE_MEMORY: time::Duration = time::Duration::seconds(10);

#[derive(Debug, Default)]
pub(super) struct Revalidations {
    gates: Mutex<HashMap<[u8; 32], Gate>>,
}

impl Revalidations {
    fn gate(&self, key: [u8; 32]) -> Gate {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if gates.len() >= MAX_GATES {
            gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        }
        gates.entry(key).or_default().clone()
    }

    pub(super) fn forget(&self, key: &[u8; 32]) {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
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
                    && user.has_permissions()
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
        let gate = self.revalidations.gate(key);
        let mut verdict = gate.lock().await;
        match *verdict {
            Some(Verdict::Confirmed(at)) if now < at.saturating_add(interval) => {
                // A concurrent request of this session asked IMS a moment ago.
                if let Some(current) = session.signed_in.as_mut() {
                    current.last_check = at;
                }
                return SessionState::Valid(admin_id);
            }
            Some(Verdict::Rejected) => {
                drop(verdict);
                self.revalidations.forget(&key);
                return end(session, SessionEnd::TokenInvalid);
            }
            Some(Verdict::Unavailable(at)) if now < at.saturating_add(OUTAGE_MEMORY) => {
                return self.outage(session, &signed_in, now, end);
            }
            _ => {}
        }
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
                        *verdict = Some(Verdict::Rejected);
                        drop(verdict);
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
                        *verdict = Some(Verdict::Unavailable(now));
                        tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not check the session's organization membership at IMS");
                        return self.outage(session, &signed_in, now, end);
                    }
                }
                *verdict = Some(Verdict::Confirmed(now));
                if let Some(current) = session.signed_in.as_mut() {
                    current.last_check = now;
                }
                tracing::debug!(target: LOG_TARGET, event = "session_revalidated", admin_id = admin_id.0, "IMS confirmed the session's token");
                SessionState::Valid(admin_id)
            }
            Ok(TokenValidity::Invalid { reason }) => {
                *verdict = Some(Verdict::Rejected);
                drop(verdict);
                self.revalidations.forget(&key);
                tracing::info!(target: LOG_TARGET, event = "session_token_invalid", admin_id = admin_id.0, ims_reason = %loggable(&reason), "IMS says the session's token is no longer valid");
                end(session, SessionEnd::TokenInvalid)
            }
            Ok(_) => {
                *verdict = Some(Verdict::Rejected);
                end(session, SessionEnd::TokenInvalid)
            }
            Err(err) => {
                *verdict = Some(Verdict::Unavailable(now));
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
