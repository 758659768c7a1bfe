//! The framework-neutral authenticator.

mod feed;

pub use feed::{ChangeFollower, FollowError};

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::digest::{SHA256, digest};
use ims_api::{
    AccessToken, AdminUser, AdminUserDirectory, AdminUserId, ClientId, Clock, Error, ImsSettings,
    ImsSettingsStore, InvalidationReason, OrgId, OrganizationReader, ProfileReader, TokenHash,
    TokenRejection, TokenRevoker, TokenStatus, TokenValidator, TokenValidity, TokenVerifier,
    WebApiToken, WebApiTokenRepository,
};
use time::OffsetDateTime;

use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::flight::Flights;
use crate::header::bearer_bytes;
use crate::memory::{Digest, FeedState, HotEntry, Memory};
use crate::{AuthError, Authenticated, WebApiConfig, parse_bearer};

mod first_sight;

/// What the authenticator needs from the host: the IMS side (usually
/// `ims-core`'s client and verifier) and the host side (usually `ims-store`).
#[derive(Clone)]
#[non_exhaustive]
pub struct WebApiServices {
    /// Local signature and claim checks (every new token).
    pub verifier: Arc<dyn TokenVerifier>,
    /// Remote validation at IMS (first sight, then every `revalidate_after`).
    pub validator: Arc<dyn TokenValidator>,
    /// The token's profile (its e-mail finds the admin).
    pub profiles: Arc<dyn ProfileReader>,
    /// Whether the token's user belongs to the configured organization
    /// (first sight), as admin sign-in requires.
    pub organizations: Arc<dyn OrganizationReader>,
    /// Logs tokens out at IMS when an admin's tokens are revoked.
    pub revoker: Arc<dyn TokenRevoker>,
    /// The host's admin users.
    pub admins: Arc<dyn AdminUserDirectory>,
    /// The `admin_adobe_ims_webapi` record.
    pub tokens: Arc<dyn WebApiTokenRepository>,
    /// Whether the integration is enabled, and its client.
    pub settings: Arc<dyn ImsSettingsStore>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl WebApiServices {
    /// Bundles the services.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        verifier: Arc<dyn TokenVerifier>,
        validator: Arc<dyn TokenValidator>,
        profiles: Arc<dyn ProfileReader>,
        organizations: Arc<dyn OrganizationReader>,
        revoker: Arc<dyn TokenRevoker>,
        admins: Arc<dyn AdminUserDirectory>,
        tokens: Arc<dyn WebApiTokenRepository>,
        settings: Arc<dyn ImsSettingsStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        WebApiServices {
            verifier,
            validator,
            profiles,
            organizations,
            revoker,
            admins,
            tokens,
            settings,
            clock,
        }
    }
}

impl fmt::Debug for WebApiServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApiServices").finish_non_exhaustive()
    }
}

/// The key of the in-memory caches: a token's keyed fingerprint (see
/// [`crate::fingerprint`]), cheaper than its SHA-256 on every request.
type Key = Fingerprint;

/// The outcome shared by concurrent callers of one flight.
type Shared = Result<HotEntry, AuthError>;

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
    first_sight: Flights<Key, Shared>,
    recheck: Flights<Key, Shared>,
    /// This instance's name in first-sight leases shared with other
    /// instances (random, never a secret).
    holder: String,
}

impl fmt::Debug for WebApiAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApiAuthenticator")
            .field("config", &self.config)
            .field("hot_cache_entries", &self.memory.accepted_len())
            .finish_non_exhaustive()
    }
}

/// What revoking an admin's tokens did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationReport {
    /// Rows marked invalidated.
    pub invalidated: u64,
    /// Tokens logged out at IMS (only stored tokens can be).
    pub logged_out_at_ims: usize,
    /// Tokens IMS could not log out (the rows are invalidated anyway).
    pub ims_failures: usize,
}

/// The invalidation reason stored for a token whose admin's e-mail address
/// changed after the token was mapped to them.
const ADDRESS_CHANGED: &str = "admin_email_changed";

/// The invalidation reason stored for a token whose user left the
/// configured organization.
const LEFT_ORGANIZATION: &str = "not_a_member";

/// The SHA-256 of an e-mail address as [`AdminUser::email_matches`]
/// compares it ([`ims_api::normalized_email`]): what a record keeps of the
/// address its token's profile gave. `None` for an empty address, which
/// matches nothing.
fn email_sha256(email: &str) -> Option<[u8; 32]> {
    let normalized = ims_api::normalized_email(email)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, normalized.as_bytes()).as_ref());
    Some(out)
}

/// The SHA-256 of a token: its record's key.
fn digest_of(token: &AccessToken) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.expose_secret().as_bytes()).as_ref());
    out
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
            first_sight: Flights::new(),
            recheck: Flights::new(),
            holder,
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
    /// were checked, and the token verified, when it was first seen.
    pub async fn authenticate(&self, authorization: &[&[u8]]) -> Result<Authenticated, AuthError> {
        let raw = bearer_bytes(authorization)?;
        let key = self.key_of(raw)?;
        let now = self.services.clock.now();
        let settings = self.settings(now).await?;
        if !settings.enabled {
            return Err(AuthError::Disabled);
        }
        match self.memory.accepted(&key) {
            Some(entry) if self.memory.trusted(&entry, now) => {
                self.admit(key, raw, entry, &settings).await
            }
            known => {
                let token = parse_bearer(authorization)?;
                self.cold(key, &token, known, &settings).await
            }
        }
    }

    /// Authenticates a request from memory alone, without waiting: `Some`
    /// when the outcome is known at once — a malformed `Authorization`
    /// header, the integration disabled, or a known token whose last IMS
    /// check is recent — and `None` when deciding needs I/O (a token not in
    /// memory, one due for a check, settings to reload); then call
    /// [`authenticate`](Self::authenticate).
    ///
    /// Adapters call it first, so that the warm path costs no future and no
    /// allocation.
    pub fn authenticate_from_memory(
        &self,
        authorization: &[&[u8]],
    ) -> Option<Result<Authenticated, AuthError>> {
        let raw = match bearer_bytes(authorization) {
            Ok(raw) => raw,
            Err(err) => return Some(Err(err)),
        };
        let now = self.services.clock.now();
        // One atomic load: how far the change feed (if followed) lets the
        // caches be trusted.
        let feed = self.memory.feed_state();
        if !self.cached_enabled(now, feed)? {
            return Some(Err(AuthError::Disabled));
        }
        let key = match self.key_of(raw) {
            Ok(key) => key,
            Err(err) => return Some(Err(err)),
        };
        let entry = self.memory.fresh(&key, now, feed)?;
        Some(Ok(self.authenticated(entry, false)))
    }

    /// Authenticates an already extracted bearer token.
    pub async fn authenticate_token(
        &self,
        token: &AccessToken,
    ) -> Result<Authenticated, AuthError> {
        let now = self.services.clock.now();
        let settings = self.settings(now).await?;
        if !settings.enabled {
            return Err(AuthError::Disabled);
        }
        let key = self.key_of(token.expose_secret().as_bytes())?;
        match self.memory.accepted(&key) {
            Some(entry) if self.memory.trusted(&entry, now) => {
                self.admit(key, token.expose_secret().as_bytes(), entry, &settings)
                    .await
            }
            known => self.cold(key, token, known, &settings).await,
        }
    }

    /// The keyed fingerprint of an e-mail address as [`AdminUser::email_matches`]
    /// compares it (ASCII whitespace trimmed, ASCII lower-case).
    fn email_key(&self, email: &str) -> Result<Fingerprint, AuthError> {
        let email = email
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_ascii_lowercase();
        self.fingerprints
            .of(email.as_bytes())
            .ok_or_else(|| AuthError::Internal("an e-mail could not be fingerprinted".into()))
    }

    /// Refuses a token whose record names an admin whose address is no
    /// longer the token's: the record is invalidated, so that no instance
    /// trusts it again.
    async fn readdressed(&self, key: Key, hash: &TokenHash, admin: AdminUserId) -> AuthError {
        tracing::info!(
            admin_user_id = admin.0,
            "Web API token refused: its admin's e-mail address is no longer the token's"
        );
        let now = self.services.clock.now();
        let reason = InvalidationReason::Other(ADDRESS_CHANGED.into());
        if let Err(err) = self.services.tokens.invalidate(hash, &reason, now).await {
            tracing::warn!("could not record a Web API token invalidation: {err}");
        }
        self.refuse(key, TokenRejection::UnknownUser).await
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
        self.admit(key, token.expose_secret().as_bytes(), entry, settings)
            .await
    }

    /// Decides on a known token: expired, fresh, or due for a check. `raw`
    /// is the token, fully checked when it was first seen; it becomes an
    /// [`AccessToken`] only if IMS must be asked again.
    async fn admit(
        &self,
        key: Key,
        raw: &[u8],
        entry: HotEntry,
        settings: &Current,
    ) -> Result<Authenticated, AuthError> {
        let now = self.services.clock.now();
        if entry.expires_at <= now {
            self.memory.forget(&key);
            let rejection = TokenRejection::Expired {
                expired_at: entry.expires_at,
            };
            return Err(self.refuse(key, rejection).await);
        }
        if !entry.check_due(now, self.config.revalidate_after) {
            return Ok(self.authenticated(entry, false));
        }
        let token = AccessToken::new(String::from_utf8_lossy(raw));
        match self
            .recheck
            .run(&key, || async {
                let changes = self.memory.changes();
                let checked = self.revalidate(key, &token, entry, settings).await;
                // Kept on what was read before a feed event meanwhile: not
                // trusted.
                self.memory.settle(&key, changes);
                checked
            })
            .await
        {
            Ok(updated) => Ok(self.authenticated(updated, false)),
            Err(AuthError::Unavailable { retry_after })
                if !entry.check_due(now, self.config.outage_grace) =>
            {
                tracing::warn!(
                    admin_user_id = entry.admin,
                    retry_after_s = retry_after.as_secs(),
                    "IMS unavailable: token accepted within the outage grace window"
                );
                Ok(self.authenticated(entry, true))
            }
            Err(err) => Err(err),
        }
    }

    fn authenticated(&self, entry: HotEntry, degraded: bool) -> Authenticated {
        Authenticated {
            admin_user_id: AdminUserId(entry.admin),
            token_digest: entry.digest,
            expires_at: entry.expires_at,
            last_check: entry.last_check,
            degraded,
        }
    }

    /// A token not in the hot cache: local verification and the client
    /// allow-list, then its record, or its first sight.
    async fn load(&self, key: Key, token: &AccessToken, settings: &Current) -> Shared {
        let trust = Trust::of(settings)?;
        let verified = match self.ims(self.services.verifier.verify(token)).await {
            Ok(verified) => verified,
            Err(err) => return Err(self.refuse_error(key, err).await),
        };
        // Before the record and before any IMS call: a record saved for a
        // token of another client (by an older build, or an instance
        // configured otherwise) is not trusted either.
        let client = match self.allowed_client(verified.claims.client_id.as_deref(), &trust) {
            Ok(client) => client,
            Err(rejection) => return Err(self.refuse(key, rejection).await),
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
    async fn settled(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: &Seen,
        row: Option<&WebApiToken>,
    ) -> Option<Shared> {
        match row {
            Some(row) if row.is_invalidated() => {
                Some(Err(self.refuse(key, invalidated(row)).await))
            }
            Some(row) if row.organization.as_ref() == Some(&trust.org) => {
                Some(self.trusted_record(key, token, trust, seen, row).await)
            }
            _ => None,
        }
    }

    /// A validated record checked for the configured organization: its
    /// admin must still be usable and still the token's.
    async fn trusted_record(
        &self,
        key: Key,
        token: &AccessToken,
        trust: &Trust,
        seen: &Seen,
        row: &WebApiToken,
    ) -> Shared {
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
                    .ims(self.services.profiles.profile(token, &seen.client))
                    .await
                {
                    Ok(profile) => profile,
                    Err(err) => return Err(self.refuse_error(key, err).await),
                };
                admin.email_matches(&profile.email.unwrap_or_default())
            }
        };
        if !still_theirs {
            return Err(self
                .readdressed(key, &row.access_token_hash, admin.id)
                .await);
        }
        let entry = self.memory.accept(
            key,
            row.admin_user_id.0,
            seen.claims_expiry.min(row.access_token_expires_at),
            row.last_check_time,
            seen.digest,
            self.email_key(&admin.email)?,
            now,
            trust.generation,
        );
        Ok(entry)
    }

    /// A known token whose entry is stale: its record is read again, so an
    /// invalidation (or a newer check) by another instance is seen, and its
    /// admin, so that a lock, a deactivation or a lost role ends its access.
    /// No local verification: the token was verified when first seen.
    async fn reread(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &Current,
    ) -> Shared {
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
            return Err(self.refuse(key, invalidated(&row)).await);
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
            row.admin_user_id.0,
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
    async fn usable_admin(
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
    fn allowed_client(
        &self,
        claim: Option<&str>,
        trust: &Trust,
    ) -> Result<ClientId, TokenRejection> {
        client_allowed(claim, &trust.client, &self.config.allowed_client_ids).cloned()
    }

    /// A known token whose last check is old: IMS is asked again.
    async fn revalidate(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &Current,
    ) -> Shared {
        let hash = TokenHash::from_digest(entry.digest);
        let trust = Trust::of(settings)?;
        let client = if self.config.allowed_client_ids.is_empty() {
            // Only the integration's tokens were let in.
            trust.client.clone()
        } else {
            // The token's own client, once more checked against the list.
            let verified = self
                .ims(self.services.verifier.verify(token))
                .await
                .map_err(|err| self.map_error(err))?;
            match self.allowed_client(verified.claims.client_id.as_deref(), &trust) {
                Ok(client) => client,
                Err(rejection) => {
                    self.memory.forget(&key);
                    return Err(self.refuse(key, rejection).await);
                }
            }
        };
        let now = self.services.clock.now();
        match self
            .ims(self.services.validator.validate(token, &client))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => {
                // Still a member of the organization: a user removed from
                // it loses the API at this check, not when the token
                // expires. An outage here is an outage (the grace applies).
                match self
                    .ims(self.services.organizations.is_member(token, &trust.org))
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
                        return Err(self.refuse(key, TokenRejection::UnknownUser).await);
                    }
                    Err(err) => return Err(self.refuse_error(key, err).await),
                }
                let expires = expires_at.min(entry.expires_at);
                if let Err(err) = self.services.tokens.record_check(&hash, now, expires).await {
                    tracing::warn!("could not record a Web API token check: {err}");
                }
                let entry = self.memory.accept(
                    key,
                    entry.admin,
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
                Err(self
                    .refuse(key, TokenRejection::RejectedByIms(reason))
                    .await)
            }
            Ok(_) => Err(AuthError::Internal("unknown validation verdict".into())),
            Err(err) => Err(self.map_error(err)),
        }
    }

    /// Runs an IMS call within the deadline; running out of time is an
    /// outage.
    async fn ims<T>(&self, call: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
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

    /// Refuses a token because of its admin's state (locked, inactive,
    /// without a role): remembered against the admin, so that the feed's
    /// event for that admin (an unlock) ends the refusal at once.
    fn refuse_for_admin_state(&self, key: Key, admin: AdminUserId) -> AuthError {
        let rejection = TokenRejection::UnknownUser;
        self.memory
            .refuse_for_admin(key, rejection.clone(), admin.0, self.services.clock.now());
        tracing::info!("Web API token refused: {rejection}");
        AuthError::InvalidToken(rejection)
    }

    /// Remembers a refusal and returns it as an error.
    async fn refuse(&self, key: Key, rejection: TokenRejection) -> AuthError {
        self.memory
            .refuse(key, rejection.clone(), self.services.clock.now());
        // The reason goes to the log only: every refusal is answered alike.
        tracing::info!("Web API token refused: {rejection}");
        AuthError::InvalidToken(rejection)
    }

    /// Maps an error, remembering token refusals.
    async fn refuse_error(&self, key: Key, err: Error) -> AuthError {
        match err {
            Error::InvalidToken(rejection) => self.refuse(key, rejection).await,
            other => self.map_error(other),
        }
    }

    fn map_error(&self, err: Error) -> AuthError {
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

    /// The integration's settings, cached for `settings_ttl`. The lock is
    /// never held across the load: concurrent loads at expiry are harmless.
    async fn settings(&self, now: OffsetDateTime) -> Result<Current, AuthError> {
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
    fn cached_settings(&self, now: OffsetDateTime, feed: FeedState) -> Option<Current> {
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
    fn cached_enabled(&self, now: OffsetDateTime, feed: FeedState) -> Option<bool> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|cached| cached.trusted(now, feed))
            .map(|cached| cached.current.settings.enabled)
    }

    /// Forgets the cached settings, so a change (enable, disable) applies to
    /// the next request.
    pub async fn reload_settings(&self) {
        self.stale_settings();
    }

    /// Makes the cached settings stale (kept: the next load compares the new
    /// settings with them), and a load in flight too.
    fn stale_settings(&self) {
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

    /// Revokes every token of an admin: logs out at IMS those whose token is
    /// stored (see [`WebApiConfig::store_tokens`]), marks every row
    /// invalidated, and forgets them in memory, so the next request with any
    /// of them fails without asking IMS.
    pub async fn revoke_admin_tokens(&self, admin: AdminUserId) -> Result<RevocationReport, Error> {
        let rows = self.services.tokens.list_by_admin(admin).await?;
        let credentials = self.services.settings.load().await?.credentials();
        let mut report = RevocationReport::default();
        for row in rows.iter().filter(|row| !row.is_invalidated()) {
            if let (Some(token), Some(credentials)) = (&row.access_token, &credentials) {
                match self.services.revoker.logout(credentials, token).await {
                    Ok(()) => report.logged_out_at_ims += 1,
                    Err(err) => {
                        report.ims_failures += 1;
                        tracing::warn!(
                            admin_user_id = admin.0,
                            "IMS logout of a revoked Web API token failed: {err}"
                        );
                    }
                }
            }
        }
        let now = self.services.clock.now();
        report.invalidated = self
            .services
            .tokens
            .invalidate_all_for_admin(admin, &InvalidationReason::Revoked, now)
            .await?;
        // The caches are keyed by fingerprint, not by the rows' hash: the
        // admin's entries are found by admin id. A token of theirs not in
        // memory finds its row invalidated when it is next seen.
        self.memory
            .refuse_admin(admin.0, &TokenRejection::Invalidated("revoked".into()), now);
        tracing::info!(
            admin_user_id = admin.0,
            invalidated = report.invalidated,
            logged_out = report.logged_out_at_ims,
            "Web API tokens of an admin revoked"
        );
        Ok(report)
    }

    /// Deletes the records of tokens that expired, and first-sight leases
    /// and refusals that ended; how many records. For a scheduled job.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        let now = self.services.clock.now();
        let purged = self.services.tokens.purge_expired(now).await?;
        self.services.tokens.purge_first_sights(now).await?;
        Ok(purged)
    }
}

/// The settings in memory, and how long they are trusted.
struct CachedSettings {
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
    fn trusted(&self, now: OffsetDateTime, feed: FeedState) -> bool {
        feed.trusts(self.epoch, self.until, self.reread_at, now)
    }
}

/// `now` plus `duration`, saturating.
fn after(now: OffsetDateTime, duration: std::time::Duration) -> OffsetDateTime {
    now.saturating_add(duration.try_into().unwrap_or(time::Duration::MAX))
}

/// The settings in force, and the generation of the caches they were read
/// in: an entry decided under them is kept only while that generation lasts
/// (a change of client or organization starts a new one).
#[derive(Clone)]
struct Current {
    settings: Arc<ImsSettings>,
    generation: u64,
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
struct Trust {
    client: ClientId,
    org: OrgId,
    /// The caches' generation the settings were read in.
    generation: u64,
}

impl Trust {
    fn of(current: &Current) -> Result<Trust, AuthError> {
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

/// The client a `client_id` claim names if it is `integration` or one of
/// `extra`, compared exactly: no case folding, no trimming; a missing claim
/// is refused.
fn client_allowed<'a>(
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
struct Seen {
    /// Its SHA-256.
    digest: Digest,
    /// The configured client its `client_id` claim names.
    client: ClientId,
    /// Its expiry by its claims.
    claims_expiry: OffsetDateTime,
    /// Its `created_at`.
    issued_at: OffsetDateTime,
}

/// Why an admin may not use the Web API at `now`, if they may not.
fn usable(admin: &AdminUser, now: OffsetDateTime) -> Result<(), &'static str> {
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

/// The refusal of an invalidated record.
fn invalidated(row: &WebApiToken) -> TokenRejection {
    match &row.status {
        TokenStatus::Invalidated { reason, .. } => TokenRejection::Invalidated(reason.to_string()),
        _ => TokenRejection::Invalidated("invalidated".into()),
    }
}

/// A claim's value fit for a log line: printable ASCII, at most 64
/// characters.
fn printable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn internal(doing: &'static str) -> impl Fn(Error) -> AuthError {
    move |err| {
        tracing::error!("Web API authentication failed {doing}: {err}");
        AuthError::Internal(err.code().to_owned())
    }
}

#[cfg(test)]
mod tests {
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
