//! The framework-neutral authenticator, one module per job:
//!
//! - this module: a request's path — decided from memory when it can be
//!   ([`WebApiAuthenticator::authenticate_from_memory`]), otherwise finished
//!   with I/O, the header parsed and the token fingerprinted once either way;
//! - `services`: what the host wires in ([`WebApiServices`]);
//! - `settings`: the integration's settings, cached;
//! - `record`: a token not in the hot cache (local verification, its record,
//!   its admin);
//! - `first_sight`: a token never seen, validated at IMS once across the
//!   fleet;
//! - `revalidation`: a known token whose last IMS check is old;
//! - `refusal`: refusals remembered and errors mapped to HTTP answers;
//! - `revocation`: revoking an admin's tokens, purging expired records;
//! - `feed`: following the fleet's change feed.

mod feed;
mod first_sight;
mod record;
mod refusal;
mod revalidation;
mod revocation;
mod services;
mod settings;

pub use feed::{ChangeFollower, FollowError};
pub use revocation::RevocationReport;
pub use services::WebApiServices;

use std::fmt;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use ims_api::{AccessToken, TokenRejection};

use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::header::{bearer_value, checked_token};
use crate::memory::{HotEntry, Memory};
use crate::metrics::{Accepted, AuthMetrics};
use crate::{AuthError, Authenticated, WebApiConfig};
use record::Flights;

use refusal::internal;
use settings::{CachedSettings, Current};

/// The key of the in-memory caches: a token's keyed fingerprint (see
/// [`crate::fingerprint`]), cheaper than its SHA-256 on every request.
type Key = Fingerprint;

/// The outcome of deciding on a token, which one flight hands to every
/// caller that waited for it: the token's hot entry, or why it is refused.
type Outcome = Result<HotEntry, AuthError>;

/// Authenticates Web API requests that carry an IMS access token, as
/// Magento's `AdminAdobeIms` does, without its weaknesses:
///
/// - a known token costs a memory lookup (no RSA, no database, no IMS) until
///   its last IMS check is `revalidate_after` old;
/// - a new token is verified locally, then validated at IMS once — however
///   many requests carry it at the same time — and its profile read once;
/// - during an IMS outage, tokens checked within `outage_grace` keep working
///   and others get 503 with `Retry-After`, never 401, and no request waits
///   longer than `ims_deadline`;
/// - refusals are remembered briefly, so a replayed bad token costs nothing.
///
/// What it accepts carries the admin as the host's directory gave them
/// ([`Authenticated::admin`]), kept with the token's hot entry and read
/// again with it, so that handlers need no query of their own.
///
/// Framework adapters (`axum`, `actix` features) call
/// [`authenticate`](Self::authenticate) with the request's `Authorization`
/// values.
pub struct WebApiAuthenticator {
    services: WebApiServices,
    config: WebApiConfig,
    fingerprints: Fingerprinter,
    memory: Memory,
    /// The settings, and how long they are used unread.
    settings: RwLock<Option<CachedSettings>>,
    /// Bumped by every change of the settings the feed reports, before
    /// the cached ones are made stale: a load in flight across one is not
    /// trusted.
    settings_changes: AtomicU64,
    first_sight: Flights<Key, Outcome>,
    recheck: Flights<Key, Outcome>,
    /// This instance's name in first-sight leases shared with other
    /// instances (random, never a secret).
    holder: String,
    /// The outcome counters, registered once (see [`crate::metrics`]).
    metrics: AuthMetrics,
}

impl fmt::Debug for WebApiAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApiAuthenticator")
            .field("config", &self.config)
            .field("hot_cache_entries", &self.memory.accepted_len())
            .finish_non_exhaustive()
    }
}

/// What memory alone says about a request.
pub(crate) enum Decision {
    /// Decided without I/O.
    Decided(Result<Authenticated, AuthError>),
    /// Deciding needs I/O: finish with [`WebApiAuthenticator::finish`].
    Pending(Pending),
}

/// A request that memory could not decide: its token, parsed and
/// fingerprinted once, so that finishing it does neither again.
pub(crate) struct Pending {
    key: Key,
    /// The token as a string, or why its characters are refused (answered
    /// only if the token is not known: a known one was checked before).
    token: Result<AccessToken, AuthError>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl WebApiAuthenticator {
    /// An authenticator over the host's services.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails (as `std`'s
    /// `HashMap` does): the caches' key is drawn from it.
    pub fn new(services: WebApiServices, config: WebApiConfig) -> Self {
        #[allow(clippy::expect_used)]
        let fingerprints =
            Fingerprinter::random().expect("the operating system's random source failed");
        #[allow(clippy::expect_used)]
        let holder =
            first_sight::holder_name().expect("the operating system's random source failed");
        WebApiAuthenticator {
            services,
            memory: Memory::new(&config),
            config,
            fingerprints,
            settings: RwLock::new(None),
            settings_changes: AtomicU64::new(0),
            first_sight: Flights::new("first_sight"),
            recheck: Flights::new("recheck"),
            holder,
            metrics: AuthMetrics::register(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &WebApiConfig {
        &self.config
    }

    /// How many accepted tokens the hot cache holds (at most
    /// [`WebApiConfig::hot_cache_capacity`]).
    pub fn hot_cache_len(&self) -> usize {
        self.memory.accepted_len()
    }

    /// Authenticates a request from its `Authorization` header values (raw
    /// bytes, every occurrence).
    ///
    /// A known token costs a fingerprint and a cache lookup: its characters
    /// were checked, and the token verified, when it was first seen. The
    /// header is parsed, and the token fingerprinted, once.
    pub async fn authenticate(&self, authorization: &[&[u8]]) -> Result<Authenticated, AuthError> {
        match self.decide(bearer_value(authorization.iter().copied())) {
            Decision::Decided(outcome) => outcome,
            Decision::Pending(pending) => self.finish(pending).await,
        }
    }

    /// Authenticates a request from memory alone, without waiting: `Some`
    /// when the outcome is known at once — a malformed `Authorization`
    /// header, the integration disabled, or a known token whose last IMS
    /// check is recent — and `None` when deciding needs I/O (a token not in
    /// memory, one due for a check, settings to reload); then call
    /// [`authenticate`](Self::authenticate).
    pub fn authenticate_from_memory(
        &self,
        authorization: &[&[u8]],
    ) -> Option<Result<Authenticated, AuthError>> {
        match self.decide(bearer_value(authorization.iter().copied())) {
            Decision::Decided(outcome) => Some(outcome),
            Decision::Pending(_) => None,
        }
    }

    /// Authenticates an already extracted bearer token.
    pub async fn authenticate_token(
        &self,
        token: &AccessToken,
    ) -> Result<Authenticated, AuthError> {
        let key = self
            .key_of(token.expose_secret().as_bytes())
            .map_err(crate::metrics::counted)?;
        self.finish(Pending {
            key,
            token: Ok(token.clone()),
        })
        .await
    }

    /// The warm path, for the adapters: the token's bytes as
    /// [`bearer_value`] found them (or why not), decided from memory if it
    /// can be — no future, no allocation — or else parsed and
    /// fingerprinted once into a [`Pending`] request.
    pub(crate) fn decide(&self, raw: Result<&[u8], AuthError>) -> Decision {
        let raw = match raw {
            Ok(raw) => raw,
            Err(err) => return Decision::Decided(Err(crate::metrics::counted(err))),
        };
        let now = self.services.clock.now();
        // One atomic load: how far the change feed (if followed) lets the
        // caches be trusted.
        let feed = self.memory.feed_state();
        let enabled = self.cached_enabled(now, feed);
        if enabled == Some(false) {
            return Decision::Decided(Err(crate::metrics::counted(AuthError::Disabled)));
        }
        let key = match self.key_of(raw) {
            Ok(key) => key,
            Err(err) => return Decision::Decided(Err(crate::metrics::counted(err))),
        };
        if enabled.is_some()
            && let Some(entry) = self.memory.fresh(&key, now, feed)
        {
            self.metrics.accepted(Accepted::Hot);
            return Decision::Decided(Ok(authenticated(entry, false)));
        }
        Decision::Pending(Pending {
            key,
            token: checked_token(raw),
        })
    }

    /// Decides on a request that memory could not: settings loaded if
    /// needed, then the known token admitted (or checked again), or the
    /// unknown one loaded.
    pub(crate) async fn finish(&self, pending: Pending) -> Result<Authenticated, AuthError> {
        self.finish_uncounted(pending)
            .await
            .map_err(crate::metrics::counted)
    }

    /// [`finish`](Self::finish), its refusals not yet counted (what it
    /// accepts is counted where it knows how).
    async fn finish_uncounted(&self, pending: Pending) -> Result<Authenticated, AuthError> {
        let Pending { key, token } = pending;
        let now = self.services.clock.now();
        let settings = self.settings(now).await?;
        if !settings.enabled {
            return Err(AuthError::Disabled);
        }
        match self.memory.accepted(&key) {
            Some(entry) if self.memory.trusted(&entry, now) => {
                self.admit(key, &token?, entry, &settings, Accepted::Hot)
                    .await
            }
            known => self.cold(key, &token?, known, &settings).await,
        }
    }

    /// The keyed fingerprint of an e-mail address as
    /// [`AdminUser::email_matches`](ims_api::AdminUser::email_matches)
    /// compares it (ASCII whitespace trimmed, ASCII lower-case).
    fn email_key(&self, email: &str) -> Result<Fingerprint, AuthError> {
        let email = email
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_ascii_lowercase();
        self.fingerprints
            .of(email.as_bytes())
            .ok_or_else(|| AuthError::Internal("an e-mail could not be fingerprinted".into()))
    }

    fn key_of(&self, token: &[u8]) -> Result<Key, AuthError> {
        self.fingerprints
            .of(token)
            .ok_or_else(|| AuthError::Internal("the token could not be fingerprinted".into()))
    }

    /// A token not in the hot cache, or whose entry is stale: refused
    /// recently, or loaded or re-read (once for concurrent callers).
    async fn cold(
        &self,
        key: Key,
        token: &AccessToken,
        stale: Option<HotEntry>,
        settings: &Current,
    ) -> Result<Authenticated, AuthError> {
        if let Some(reason) = self.memory.refusal(&key, self.services.clock.now()) {
            return Err(AuthError::InvalidToken(reason));
        }
        let via = match stale {
            Some(_) => Accepted::Reread,
            None => Accepted::FirstSight,
        };
        let entry = self
            .first_sight
            .run(&key, || async {
                let changes = self.memory.changes();
                let decided = match stale {
                    Some(entry) => self.reread(key, token, entry, settings).await,
                    None => self.load(key, token, settings).await,
                };
                // Read before a feed event that came meanwhile: not trusted.
                self.memory.settle(&key, changes);
                decided
            })
            .await?;
        self.admit(key, token, entry, settings, via).await
    }

    /// Decides on a known token: expired, fresh (accepted `via` what
    /// brought it here), or due for a check.
    async fn admit(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &Current,
        via: Accepted,
    ) -> Result<Authenticated, AuthError> {
        let now = self.services.clock.now();
        if entry.expires_at <= now {
            self.memory.forget(&key);
            let rejection = TokenRejection::Expired {
                expired_at: entry.expires_at,
            };
            return Err(self.refuse(key, rejection));
        }
        if !entry.check_due(now, self.config.revalidate_after) {
            self.metrics.accepted(via);
            return Ok(authenticated(entry, false));
        }
        match self
            .recheck
            .run(&key, || async {
                let changes = self.memory.changes();
                let checked = self.revalidate(key, token, entry.clone(), settings).await;
                // Kept on what was read before a feed event meanwhile: not
                // trusted.
                self.memory.settle(&key, changes);
                checked
            })
            .await
        {
            Ok(updated) => {
                self.metrics.accepted(Accepted::Recheck);
                Ok(authenticated(updated, false))
            }
            Err(AuthError::Unavailable { retry_after })
                if !entry.check_due(now, self.config.outage_grace) =>
            {
                tracing::warn!(
                    admin_user_id = entry.admin,
                    retry_after_s = retry_after.as_secs(),
                    "IMS unavailable: token accepted within the outage grace window"
                );
                self.metrics.accepted(Accepted::Degraded);
                Ok(authenticated(entry, true))
            }
            Err(err) => Err(err),
        }
    }
}

/// What a handler gets of an accepted token's entry.
fn authenticated(entry: HotEntry, degraded: bool) -> Authenticated {
    Authenticated {
        admin_user_id: ims_api::AdminUserId(entry.admin),
        admin: entry.profile,
        token_digest: entry.digest,
        expires_at: entry.expires_at,
        last_check: entry.last_check,
        degraded,
    }
}
