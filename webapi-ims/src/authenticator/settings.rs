//! The integration's settings, cached in memory for `settings_ttl` (and
//! made stale by the change feed), and what they say a token must match.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use ims_api::{ClientId, ImsSettings, OrgId};
use time::OffsetDateTime;

use super::{WebApiAuthenticator, internal};
use crate::AuthError;
use crate::memory::FeedState;

impl WebApiAuthenticator {
    /// The integration's settings, cached for `settings_ttl`. The lock is
    /// never held across the load: concurrent loads at expiry are harmless.
    pub(super) async fn settings(&self, now: OffsetDateTime) -> Result<Current, AuthError> {
        // Taken before the load: an event that comes during it makes what
        // it read stale.
        let feed = self.memory.feed_state();
        let changes = self.settings_changes.load(Ordering::Acquire);
        if let Some(current) = self.cached_settings(now, feed) {
            return Ok(current);
        }
        let previous = self
            .settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|cached| cached.current.settings.clone());
        let settings = Arc::new(
            self.services
                .settings
                .load()
                .await
                .map_err(internal("loading the IMS settings"))?,
        );
        if let Some(previous) = previous
            && (previous.client_id != settings.client_id || previous.org_id != settings.org_id)
        {
            // What was accepted (or refused) for the old client or
            // organization does not hold for the new ones; decisions in
            // flight under the old ones are not kept either (see
            // `Memory::accept`).
            self.memory.clear();
            tracing::info!("IMS client or organization changed: Web API token caches cleared");
        }
        let current = Current {
            settings,
            generation: self.memory.generation(),
        };
        let mut cached = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Under the lock: a change reported after this check makes the
        // stored settings stale after they are stored.
        let changed = self.settings_changes.load(Ordering::Acquire) != changes;
        *cached = Some(CachedSettings {
            until: if changed {
                OffsetDateTime::UNIX_EPOCH
            } else {
                after(now, self.config.settings_ttl)
            },
            reread_at: after(now, self.config.unfollowed_reread),
            epoch: feed.epoch(),
            current: current.clone(),
        });
        Ok(current)
    }

    /// The settings in memory, if trusted at `now` under `feed`.
    pub(super) fn cached_settings(&self, now: OffsetDateTime, feed: FeedState) -> Option<Current> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|cached| cached.trusted(now, feed))
            .map(|cached| cached.current.clone())
    }

    /// Whether the cached settings enable the integration, if they are
    /// still trusted at `now` under `feed`: the warm path's question,
    /// answered under the read lock without touching the settings'
    /// reference count.
    pub(super) fn cached_enabled(&self, now: OffsetDateTime, feed: FeedState) -> Option<bool> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|cached| cached.trusted(now, feed))
            .map(|cached| cached.current.settings.enabled)
    }

    /// Forgets the cached settings, so a change (enable, disable) applies to
    /// the next request.
    pub fn reload_settings(&self) {
        self.stale_settings();
    }

    /// Makes the cached settings stale (kept: the next load compares the new
    /// settings with them), and a load in flight too.
    pub(super) fn stale_settings(&self) {
        self.settings_changes.fetch_add(1, Ordering::AcqRel);
        if let Some(cached) = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            cached.until = OffsetDateTime::UNIX_EPOCH;
        }
    }
}

/// The settings in memory, and how long they are trusted.
pub(super) struct CachedSettings {
    /// Trusted before this instant (`settings_ttl` after they were read).
    until: OffsetDateTime,
    /// While the change feed is lost, trusted before this instant
    /// (`unfollowed_reread` after they were read).
    reread_at: OffsetDateTime,
    /// The feed epoch they were read in.
    epoch: u64,
    current: Current,
}

impl CachedSettings {
    pub(super) fn trusted(&self, now: OffsetDateTime, feed: FeedState) -> bool {
        feed.trusts(self.epoch, self.until, self.reread_at, now)
    }
}

/// `now` plus `duration`, saturating.
pub(super) fn after(now: OffsetDateTime, duration: std::time::Duration) -> OffsetDateTime {
    now.saturating_add(duration.try_into().unwrap_or(time::Duration::MAX))
}

/// The settings in force, and the generation of the caches they were read
/// in: an entry decided under them is kept only while that generation lasts
/// (a change of client or organization starts a new one).
#[derive(Clone)]
pub(super) struct Current {
    pub(super) settings: Arc<ImsSettings>,
    pub(super) generation: u64,
}

impl std::ops::Deref for Current {
    type Target = ImsSettings;

    fn deref(&self) -> &ImsSettings {
        &self.settings
    }
}

/// What the settings say a token must match: the integration's client (IMS
/// validates every token for it) and organization (its admin must belong
/// to it). An enabled integration without either is misconfigured: no token
/// is accepted.
pub(super) struct Trust {
    pub(super) client: ClientId,
    pub(super) org: OrgId,
    /// The caches' generation the settings were read in.
    pub(super) generation: u64,
}

impl Trust {
    pub(super) fn of(current: &Current) -> Result<Trust, AuthError> {
        let settings = &current.settings;
        match (&settings.client_id, &settings.org_id) {
            (Some(client), Some(org)) => Ok(Trust {
                client: client.clone(),
                org: org.clone(),
                generation: current.generation,
            }),
            (None, _) => {
                tracing::error!("the IMS integration is enabled without a client id");
                Err(AuthError::Internal("misconfigured".into()))
            }
            (_, None) => {
                tracing::error!("the IMS integration is enabled without an organization id");
                Err(AuthError::Internal("misconfigured".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: &str) -> ClientId {
        ClientId::parse(value).unwrap()
    }

    #[test]
    fn an_enabled_integration_needs_a_client_and_an_organization() {
        let full = ImsSettings::enabled(
            id("host"),
            ims_api::ClientSecret::new("s"),
            OrgId::parse("0123456789ABCDEF01234567").unwrap(),
        );
        let current = |settings: &ImsSettings| Current {
            settings: Arc::new(settings.clone()),
            generation: 0,
        };
        assert!(Trust::of(&current(&full)).is_ok());
        let mut no_org = full.clone();
        no_org.org_id = None;
        assert!(matches!(
            Trust::of(&current(&no_org)),
            Err(AuthError::Internal(_))
        ));
        let mut no_client = full;
        no_client.client_id = None;
        assert!(matches!(
            Trust::of(&current(&no_client)),
            Err(AuthError::Internal(_))
        ));
    }
}
