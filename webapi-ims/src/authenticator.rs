//! The framework-neutral authenticator.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use ims_api::{
    AccessToken, AdminUserDirectory, AdminUserId, ClientId, Clock, Error, ImsSettings,
    ImsSettingsStore, InvalidationReason, ProfileReader, TokenHash, TokenRejection, TokenRevoker,
    TokenStatus, TokenValidator, TokenValidity, TokenVerifier, WebApiToken, WebApiTokenRepository,
    from_unix_millis, to_unix_millis,
};
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::flight::Flights;
use crate::header::bearer_bytes;
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

/// A token hash as bytes: the key of the in-memory caches (32 bytes instead
/// of a 64-character string keeps a million entries small).
type Key = [u8; 32];

/// What the hot cache remembers of an accepted token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HotEntry {
    admin: i64,
    expires_at_ms: i64,
    last_check_ms: i64,
}

impl HotEntry {
    fn expires_at(&self) -> OffsetDateTime {
        from_unix_millis(self.expires_at_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn last_check(&self) -> OffsetDateTime {
        from_unix_millis(self.last_check_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

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
    hot: Cache<Key, HotEntry>,
    refused: Cache<Key, TokenRejection>,
    settings: RwLock<Option<(Instant, Arc<ImsSettings>)>>,
    first_sight: Flights<Key, Shared>,
    recheck: Flights<Key, Shared>,
}

impl fmt::Debug for WebApiAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApiAuthenticator")
            .field("config", &self.config)
            .field("hot_cache_entries", &self.hot.entry_count())
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

fn key_of(token: &AccessToken) -> Key {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

fn key_of_hash(hash: &TokenHash) -> Option<Key> {
    let hex = hash.as_str().as_bytes();
    let mut key = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        *key.get_mut(i)? = u8::from_str_radix(text, 16).ok()?;
    }
    Some(key)
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl WebApiAuthenticator {
    /// An authenticator over the host's services.
    pub fn new(services: WebApiServices, config: WebApiConfig) -> Self {
        let hot = Cache::builder()
            .max_capacity(config.hot_cache_capacity)
            .time_to_live(config.hot_cache_ttl)
            .build();
        let refused = Cache::builder()
            .max_capacity(config.negative_cache_capacity)
            .time_to_live(config.negative_cache_ttl)
            .build();
        WebApiAuthenticator {
            services,
            config,
            hot,
            refused,
            settings: RwLock::new(None),
            first_sight: Flights::new(),
            recheck: Flights::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &WebApiConfig {
        &self.config
    }

    /// Authenticates a request from its `Authorization` header values (raw
    /// bytes, every occurrence).
    ///
    /// A known token costs a SHA-256 and a cache lookup: its characters were
    /// checked, and the token verified, when it was first seen.
    pub async fn authenticate(&self, authorization: &[&[u8]]) -> Result<Authenticated, AuthError> {
        let raw = bearer_bytes(authorization)?;
        let key: Key = Sha256::digest(raw).into();
        let settings = self.settings().await?;
        if !settings.enabled {
            return Err(AuthError::Disabled);
        }
        if let Some(entry) = self.hot.get(&key) {
            return self.admit(key, raw, entry, &settings).await;
        }
        let token = parse_bearer(authorization)?;
        self.cold(key, &token, &settings).await
    }

    /// Authenticates an already extracted bearer token.
    pub async fn authenticate_token(
        &self,
        token: &AccessToken,
    ) -> Result<Authenticated, AuthError> {
        let settings = self.settings().await?;
        if !settings.enabled {
            return Err(AuthError::Disabled);
        }
        let key = key_of(token);
        match self.hot.get(&key) {
            Some(entry) => {
                self.admit(key, token.expose_secret().as_bytes(), entry, &settings)
                    .await
            }
            None => self.cold(key, token, &settings).await,
        }
    }

    /// A token not in the hot cache: refused recently, or loaded (once for
    /// concurrent callers).
    async fn cold(
        &self,
        key: Key,
        token: &AccessToken,
        settings: &ImsSettings,
    ) -> Result<Authenticated, AuthError> {
        if let Some(reason) = self.refused.get(&key) {
            return Err(AuthError::InvalidToken(reason));
        }
        let entry = self
            .first_sight
            .run(&key, || self.load(key, token, settings))
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
        let now_ms = to_unix_millis(now);
        if entry.expires_at_ms <= now_ms {
            self.hot.invalidate(&key);
            let rejection = TokenRejection::Expired {
                expired_at: entry.expires_at(),
            };
            return Err(self.refuse(key, rejection).await);
        }
        if now_ms - entry.last_check_ms < duration_ms(self.config.revalidate_after) {
            return Ok(self.authenticated(key, entry, false));
        }
        let token = AccessToken::new(String::from_utf8_lossy(raw));
        match self
            .recheck
            .run(&key, || self.revalidate(key, &token, entry, settings))
            .await
        {
            Ok(updated) => Ok(self.authenticated(key, updated, false)),
            Err(AuthError::Unavailable { retry_after })
                if now_ms - entry.last_check_ms < duration_ms(self.config.outage_grace) =>
            {
                tracing::warn!(
                    admin_user_id = entry.admin,
                    retry_after_s = retry_after.as_secs(),
                    "IMS unavailable: token accepted within the outage grace window"
                );
                Ok(self.authenticated(key, entry, true))
            }
            Err(err) => Err(err),
        }
    }

    fn authenticated(&self, key: Key, entry: HotEntry, degraded: bool) -> Authenticated {
        Authenticated {
            admin_user_id: AdminUserId(entry.admin),
            token_digest: key,
            expires_at: entry.expires_at(),
            last_check: entry.last_check(),
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
        let hash = TokenHash::from_digest(key);
        let row = self
            .services
            .tokens
            .find_by_hash(&hash)
            .await
            .map_err(internal("reading the Web API token record"))?;
        let claims_expiry = to_unix_millis(verified.expires_at());
        let entry = match row {
            Some(row) => {
                if let TokenStatus::Invalidated { reason, .. } = &row.status {
                    let rejection = TokenRejection::Invalidated(reason.to_string());
                    return Err(self.refuse(key, rejection).await);
                }
                HotEntry {
                    admin: row.admin_user_id.0,
                    expires_at_ms: claims_expiry.min(to_unix_millis(row.access_token_expires_at)),
                    last_check_ms: to_unix_millis(row.last_check_time),
                }
            }
            None => {
                let client_id = token_client(verified.claims.client_id.as_deref(), settings)?;
                self.first_sight_of(key, token, &client_id, claims_expiry)
                    .await?
            }
        };
        self.hot.insert(key, entry);
        Ok(entry)
    }

    /// A new token: IMS validates it, its profile names the admin, a row is
    /// saved.
    async fn first_sight_of(
        &self,
        key: Key,
        token: &AccessToken,
        client_id: &ClientId,
        claims_expiry: i64,
    ) -> Shared {
        let expires_at = match self
            .ims(self.services.validator.validate(token, client_id))
            .await
        {
            Ok(TokenValidity::Valid { expires_at, .. }) => {
                to_unix_millis(expires_at).min(claims_expiry)
            }
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
        let expires = from_unix_millis(expires_at).unwrap_or(now);
        let mut row = WebApiToken::validated(admin.id, TokenHash::from_digest(key), expires, now);
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
        Ok(HotEntry {
            admin: admin.id.0,
            expires_at_ms: expires_at,
            last_check_ms: to_unix_millis(now),
        })
    }

    /// A known token whose last check is old: IMS is asked again.
    async fn revalidate(
        &self,
        key: Key,
        token: &AccessToken,
        entry: HotEntry,
        settings: &ImsSettings,
    ) -> Shared {
        let hash = TokenHash::from_digest(key);
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
                let expires_at_ms = to_unix_millis(expires_at).min(entry.expires_at_ms);
                let expires = from_unix_millis(expires_at_ms).unwrap_or(expires_at);
                if let Err(err) = self.services.tokens.record_check(&hash, now, expires).await {
                    tracing::warn!("could not record a Web API token check: {err}");
                }
                let updated = HotEntry {
                    expires_at_ms,
                    last_check_ms: to_unix_millis(now),
                    ..entry
                };
                self.hot.insert(key, updated);
                Ok(updated)
            }
            Ok(TokenValidity::Invalid { reason }) => {
                self.hot.invalidate(&key);
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
        self.refused.insert(key, rejection.clone());
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
    async fn settings(&self) -> Result<Arc<ImsSettings>, AuthError> {
        if let Some((at, settings)) = self
            .settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && at.elapsed() < self.config.settings_ttl
        {
            return Ok(settings.clone());
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
            .unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), settings.clone()));
        Ok(settings)
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
        for row in &rows {
            if let Some(key) = key_of_hash(&row.access_token_hash) {
                self.hot.invalidate(&key);
                self.refused
                    .insert(key, TokenRejection::Invalidated("revoked".into()));
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_keys_round_trip() {
        let key = key_of(&AccessToken::new("abc"));
        let hash = TokenHash::from_digest(key);
        assert_eq!(key_of_hash(&hash), Some(key));
    }
}
