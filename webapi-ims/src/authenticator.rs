//! The framework-neutral authenticator.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::digest::{SHA256, digest};
use ims_api::{
    AccessToken, AdminUserDirectory, AdminUserId, ClientId, Clock, Error, ImsSettings,
    ImsSettingsStore, InvalidationReason, ProfileReader, TokenHash, TokenRejection, TokenRevoker,
    TokenStatus, TokenValidator, TokenValidity, TokenVerifier, WebApiToken, WebApiTokenRepository,
};
use time::OffsetDateTime;

use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::flight::Flights;
use crate::header::bearer_bytes;
use crate::memory::{Digest, HotEntry, Memory};
use crate::{AuthError, Authenticated, WebApiConfig, parse_bearer};

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
    /// The settings and the instant until which they are used unread.
    settings: RwLock<Option<(OffsetDateTime, Arc<ImsSettings>)>>,
    first_sight: Flights<Key, Shared>,
    recheck: Flights<Key, Shared>,
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
        WebApiAuthenticator {
            services,
            memory: Memory::new(&config),
            config,
            fingerprints,
            settings: RwLock::new(None),
            first_sight: Flights::new(),
            recheck: Flights::new(),
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
            Some(entry) if now < entry.stale_at => self.admit(key, raw, entry, &settings).await,
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
        if !self.cached_enabled(now)? {
            return Some(Err(AuthError::Disabled));
        }
        let key = match self.key_of(raw) {
            Ok(key) => key,
            Err(err) => return Some(Err(err)),
        };
        let entry = self.memory.fresh(&key, now)?;
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
            Some(entry) if now < entry.stale_at => {
                self.admit(key, token.expose_secret().as_bytes(), entry, &settings)
                    .await
            }
            known => self.cold(key, token, known, &settings).await,
        }
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
        settings: &ImsSettings,
    ) -> Result<Authenticated, AuthError> {
        if let Some(reason) = self.memory.refusal(&key, self.services.clock.now()) {
            return Err(AuthError::InvalidToken(reason));
        }
        let entry = self
            .first_sight
            .run(&key, || async {
                match stale {
                    Some(entry) => self.reread(key, token, entry, settings).await,
                    None => self.load(key, token, settings).await,
                }
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
        settings: &ImsSettings,
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
            .run(&key, || self.revalidate(key, &token, entry, settings))
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

    /// A token not in the hot cache: local verification, then its record,
    /// or its first sight.
    async fn load(&self, key: Key, token: &AccessToken, settings: &ImsSettings) -> Shared {
        let verified = match self.ims(self.services.verifier.verify(token)).await {
            Ok(verified) => verified,
            Err(err) => return Err(self.refuse_error(key, err).await),
        };
        let digest = digest_of(token);
        let row = self
            .services
            .tokens
            .find_by_hash(&TokenHash::from_digest(digest))
            .await
            .map_err(internal("reading the Web API token record"))?;
        let claims_expiry = verified.expires_at();
        match row {
            Some(row) => {
                if let TokenStatus::Invalidated { reason, .. } = &row.status {
                    let rejection = TokenRejection::Invalidated(reason.to_string());
                    return Err(self.refuse(key, rejection).await);
                }
                Ok(self.memory.accept(
                    key,
                    row.admin_user_id.0,
                    claims_expiry.min(row.access_token_expires_at),
                    row.last_check_time,
                    digest,
                    self.services.clock.now(),
                ))
            }
            None => {
                let client_id = token_client(verified.claims.client_id.as_deref(), settings)?;
                self.first_sight_of(key, digest, token, &client_id, claims_expiry)
                    .await
            }
        }
    }

    /// A known token whose entry is stale: its record is read again, so an
    /// invalidation (or a newer check) by another instance is seen. No
    /// local verification: the token was verified when first seen.
    async fn reread(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &ImsSettings,
    ) -> Shared {
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
        if let TokenStatus::Invalidated { reason, .. } = &row.status {
            self.memory.forget(&key);
            let rejection = TokenRejection::Invalidated(reason.to_string());
            return Err(self.refuse(key, rejection).await);
        }
        Ok(self.memory.accept(
            key,
            row.admin_user_id.0,
            entry.expires_at.min(row.access_token_expires_at),
            entry.last_check.max(row.last_check_time),
            entry.digest,
            self.services.clock.now(),
        ))
    }

    /// A new token: IMS validates it, its profile names the admin, a row is
    /// saved.
    async fn first_sight_of(
        &self,
        key: Key,
        digest: Digest,
        token: &AccessToken,
        client_id: &ClientId,
        claims_expiry: OffsetDateTime,
    ) -> Shared {
        let expires_at = match self
            .ims(self.services.validator.validate(token, client_id))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => expires_at.min(claims_expiry),
            Ok(TokenValidity::Invalid { reason }) => {
                return Err(self
                    .refuse(key, TokenRejection::RejectedByIms(reason))
                    .await);
            }
            Ok(_) => return Err(AuthError::Internal("unknown validation verdict".into())),
            Err(err) => return Err(self.refuse_error(key, err).await),
        };
        let profile = match self
            .ims(self.services.profiles.profile(token, client_id))
            .await
        {
            Ok(profile) => profile,
            Err(err) => return Err(self.refuse_error(key, err).await),
        };
        let Some(email) = profile.email.filter(|email| !email.trim().is_empty()) else {
            tracing::info!("Web API token refused: its IMS profile has no e-mail");
            return Err(self.refuse(key, TokenRejection::UnknownUser).await);
        };
        let admin = self
            .services
            .admins
            .find_by_email(email.trim())
            .await
            .map_err(internal("looking up the admin user"))?;
        let Some(admin) = admin.filter(|admin| admin.is_active) else {
            tracing::info!("Web API token refused: no active admin user has its e-mail");
            return Err(self.refuse(key, TokenRejection::UnknownUser).await);
        };
        let now = self.services.clock.now();
        let mut row =
            WebApiToken::validated(admin.id, TokenHash::from_digest(digest), expires_at, now);
        if self.config.store_tokens {
            row = row.with_access_token(token.clone());
        }
        self.services
            .tokens
            .save(&row)
            .await
            .map_err(internal("saving the Web API token record"))?;
        tracing::info!(
            admin_user_id = admin.id.0,
            "Web API token accepted on first sight"
        );
        Ok(self
            .memory
            .accept(key, admin.id.0, expires_at, now, digest, now))
    }

    /// A known token whose last check is old: IMS is asked again.
    async fn revalidate(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &ImsSettings,
    ) -> Shared {
        let hash = TokenHash::from_digest(entry.digest);
        let client_id = match settings.client_id.clone() {
            Some(client_id) => client_id,
            None => {
                let verified = self
                    .ims(self.services.verifier.verify(token))
                    .await
                    .map_err(|err| self.map_error(err))?;
                token_client(verified.claims.client_id.as_deref(), settings)?
            }
        };
        let now = self.services.clock.now();
        match self
            .ims(self.services.validator.validate(token, &client_id))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => {
                let expires = expires_at.min(entry.expires_at);
                if let Err(err) = self.services.tokens.record_check(&hash, now, expires).await {
                    tracing::warn!("could not record a Web API token check: {err}");
                }
                Ok(self
                    .memory
                    .accept(key, entry.admin, expires, now, entry.digest, now))
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

    /// Remembers a refusal and returns it as an error.
    async fn refuse(&self, key: Key, rejection: TokenRejection) -> AuthError {
        self.memory
            .refuse(key, rejection.clone(), self.services.clock.now());
        tracing::debug!("Web API token refused: {rejection}");
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
    async fn settings(&self, now: OffsetDateTime) -> Result<Arc<ImsSettings>, AuthError> {
        if let Some(settings) = self.cached_settings(now) {
            return Ok(settings);
        }
        let settings = Arc::new(
            self.services
                .settings
                .load()
                .await
                .map_err(internal("loading the IMS settings"))?,
        );
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some((
            now.saturating_add(
                self.config
                    .settings_ttl
                    .try_into()
                    .unwrap_or(time::Duration::MAX),
            ),
            settings.clone(),
        ));
        Ok(settings)
    }

    /// The settings in memory, unless `settings_ttl` old at `now`.
    fn cached_settings(&self, now: OffsetDateTime) -> Option<Arc<ImsSettings>> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(until, _)| now < *until)
            .map(|(_, settings)| settings.clone())
    }

    /// Whether the cached settings enable the integration, if they are
    /// still fresh at `now`: the warm path's question, answered under the
    /// read lock without touching the settings' reference count.
    fn cached_enabled(&self, now: OffsetDateTime) -> Option<bool> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(until, _)| now < *until)
            .map(|(_, settings)| settings.enabled)
    }

    /// Forgets the cached settings, so a change (enable, disable) applies to
    /// the next request.
    pub async fn reload_settings(&self) {
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
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

    /// Deletes the records of tokens that expired; for a scheduled job.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        self.services
            .tokens
            .purge_expired(self.services.clock.now())
            .await
    }
}

/// The client id to validate a token for: its own `client_id` claim, else
/// the integration's.
fn token_client(claim: Option<&str>, settings: &ImsSettings) -> Result<ClientId, AuthError> {
    if let Some(client_id) = claim.and_then(|c| ClientId::parse(c).ok()) {
        return Ok(client_id);
    }
    settings.client_id.clone().ok_or_else(|| {
        tracing::error!("the IMS integration is enabled without a client id");
        AuthError::Internal("misconfigured".into())
    })
}

fn internal(doing: &'static str) -> impl Fn(Error) -> AuthError {
    move |err| {
        tracing::error!("Web API authentication failed {doing}: {err}");
        AuthError::Internal(err.code().to_owned())
    }
}
