//! [`ContextTokenProvider`]: aio's `getToken` and `invalidateToken`, with one
//! flight per context in this process and, through the cache's leases,
//! across processes and instances.

mod clients;
mod config;
mod expiry;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{
    AccessToken, AnyToken, ClientCredentials, ClientSecret, Clock, ContextCredentials, ContextName,
    ContextStore, ContextTokens, Error, ExpiringToken, ImsContext, InvalidateRequest,
    JwtServiceAccount, PrivateKeyPem, PrivateKeySource, RefreshRequest, RefreshToken,
    ServerToServer, TokenCache, TokenGrants, TokenProvider, TokenResponse, TokenRevoker,
    TokenVerifier,
};
use rand::RngExt as _;
use tokio::sync::Mutex as AsyncMutex;

pub use clients::ImsClients;
pub use config::ProviderConfig;

use clients::{CachedCheck, Source};

/// How long an opaque (non-JWT) refresh token is assumed to live: IMS refresh
/// tokens last 14 days.
const OPAQUE_REFRESH_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// Gives a valid access token for a named context, as aio's `getToken`:
///
/// 1. the cached access token, while it has more than
///    [`margin`](ProviderConfig::margin) left and passes local verification
///    ([`verify_cached`](ProviderConfig::verify_cached): signature against
///    the IMS key set, fetched once and kept; aio checks the expiry only);
///    a token that fails is replaced as below;
/// 2. else, as the one flight for the context: a refresh with the stored
///    refresh token while it has more than the margin left, sending the
///    context's `scope` (as aio; a refused one is dropped), else the
///    context's flow — client credentials (server-to-server) or the JWT
///    exchange. An OAuth user context or aio's `cli` context without such a
///    refresh token needs `ims login`.
///
/// Concurrent callers in this process share one flight and get the same
/// token. Across processes or instances sharing the [`TokenCache`], the flight
/// is guarded by the cache's lease: the holder obtains and stores the token,
/// the others poll the cache for it (or take over the lease once it expires).
///
/// Needs a Tokio runtime: the flight runs in a spawned task, so a caller that
/// gives up does not strand the callers waiting on it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ims_api::mock::{MockTokenGrants, MockTokenRevoker};
/// use ims_api::{AccessToken, ContextName, SystemClock, TokenProvider, TokenResponse};
/// use ims_core::{AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, MemoryTokenCache, ProviderConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let config = AioConfig::with_env(
///     ConfigPaths::new(dir.path().join("aio")),
///     [
///         ("AIO_IMS_CONTEXTS_SVC_CLIENT__ID", "my-client"),
///         ("AIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS", r#"["my-secret"]"#),
///         ("AIO_IMS_CONTEXTS_SVC_SCOPES", r#"["openid","AdobeID"]"#),
///     ],
/// );
/// let mut grants = MockTokenGrants::new();
/// grants.expect_client_credentials().times(1).returning(|_| {
///     Ok(TokenResponse::new(AccessToken::new("minted"), Duration::from_secs(86_399)))
/// });
/// let provider = ContextTokenProvider::new(
///     Arc::new(AioContextStore::new(config)),
///     Arc::new(MemoryTokenCache::new()),
///     Arc::new(grants),
///     Arc::new(MockTokenRevoker::new()),
///     Arc::new(SystemClock),
///     ProviderConfig::default(),
/// );
/// let svc = ContextName::parse("svc")?;
/// let first = provider.get_token(&svc).await?;
/// let again = provider.get_token(&svc).await?; // cached: no second IMS call
/// assert_eq!(first.token.expose_secret(), again.token.expose_secret());
/// # Ok(())
/// # }
/// ```
pub struct ContextTokenProvider {
    inner: Arc<Inner>,
}

struct Inner {
    contexts: Arc<dyn ContextStore>,
    cache: Arc<dyn TokenCache>,
    source: Source,
    /// What checks cached tokens (see [`ProviderConfig::verify_cached`]).
    check: CachedCheck,
    clock: Arc<dyn Clock>,
    config: ProviderConfig,
    /// This instance's name in leases.
    holder: String,
    flights: Mutex<HashMap<ContextName, Arc<Flight>>>,
}

/// The one flight of a context in this process: the lock its leader holds,
/// and the outcome it leaves for the callers that waited on it.
///
/// This is a per-context lock that orders every write of a context's tokens,
/// not a second single-flight implementation beside quick_cache's guard (the
/// workspace's one, used by webapi-ims, admin-ims and the validation cache):
///
/// - [`store_response`](ContextTokenProvider::store_response) and
///   [`invalidate`](TokenProvider::invalidate) take the same lock as a
///   flight, so no flight runs while the tokens are replaced or invalidated,
///   and a flight's outcome is cleared by them, so no caller that waited is
///   handed a token from before the write. A quick_cache guard coalesces
///   readers but excludes no writer: the lock would still be needed for
///   that, and the guard would only be a second mechanism on top of it.
/// - Sharing the outcome falls out of the lock (waiters queue on it in
///   order; the generation tells them a flight ended while they waited), so
///   there is nothing left to coalesce separately.
/// - The flight runs in a spawned task that owns the lock, so a caller that
///   gives up neither strands the others nor leaves the cache's lease held
///   (other instances would wait out its TTL). quick_cache's guard borrows
///   the cache, so it moves into no such task unless every caller spawns
///   its own; dropped, it hands the flight to a waiter that would then find
///   the lease still held by the cancelled flight.
///
/// Tested by `concurrent_callers_share_one_flight` and
/// `invalidate_waits_for_a_running_flight` in this module's tests.
struct Flight {
    generation: AtomicU64,
    outcome: Arc<AsyncMutex<Option<Outcome>>>,
}

type Outcome = Result<ExpiringToken<AccessToken>, Error>;

impl fmt::Debug for ContextTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flights = self
            .inner
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("ContextTokenProvider")
            .field("config", &self.inner.config)
            .field("holder", &self.inner.holder)
            .field("flights", &flights)
            .finish_non_exhaustive()
    }
}

impl ContextTokenProvider {
    /// A provider over its collaborators: where contexts are configured,
    /// where tokens are kept, how they are obtained and invalidated, and the
    /// clock. Every context's tokens come from `grants` and are invalidated
    /// through `revoker`, whatever environment it names: use this for one IMS
    /// environment or with test doubles, and
    /// [`with_clients`](Self::with_clients) to honour each context's `env` /
    /// `ims_url`.
    pub fn new(
        contexts: Arc<dyn ContextStore>,
        cache: Arc<dyn TokenCache>,
        grants: Arc<dyn TokenGrants>,
        revoker: Arc<dyn TokenRevoker>,
        clock: Arc<dyn Clock>,
        config: ProviderConfig,
    ) -> Self {
        Self::from_source(
            contexts,
            cache,
            Source::Fixed { grants, revoker },
            clock,
            config,
        )
    }

    /// A provider that talks to the IMS each context names (its `env` or
    /// `ims_url`), through one [`ImsClient`](crate::ImsClient) per
    /// environment.
    pub fn with_clients(
        contexts: Arc<dyn ContextStore>,
        cache: Arc<dyn TokenCache>,
        clients: ImsClients,
        clock: Arc<dyn Clock>,
        config: ProviderConfig,
    ) -> Self {
        Self::from_source(
            contexts,
            cache,
            Source::PerEnvironment(clients),
            clock,
            config,
        )
    }

    fn from_source(
        contexts: Arc<dyn ContextStore>,
        cache: Arc<dyn TokenCache>,
        source: Source,
        clock: Arc<dyn Clock>,
        config: ProviderConfig,
    ) -> Self {
        let holder = format!(
            "pid{}-{:016x}",
            std::process::id(),
            rand::rng().random::<u64>()
        );
        let check = match (&source, config.verify_cached) {
            (Source::PerEnvironment(_), true) => CachedCheck::PerEnvironment,
            _ => CachedCheck::None,
        };
        ContextTokenProvider {
            inner: Arc::new(Inner {
                contexts,
                cache,
                source,
                check,
                clock,
                config,
                holder,
                flights: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Verifies every cached access token with `verifier` before handing
    /// it out (unless [`verify_cached`](ProviderConfig::verify_cached) is
    /// off): for a provider made with [`new`](Self::new), whose contexts'
    /// environments it does not tell apart. Set while the provider is
    /// built, before any call.
    pub fn with_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner)
            && inner.config.verify_cached
        {
            inner.check = CachedCheck::Fixed(verifier);
        }
        self
    }

    /// The settings.
    pub fn config(&self) -> &ProviderConfig {
        &self.inner.config
    }

    /// Keeps the tokens of a response obtained outside the provider (a
    /// browser sign-in's code exchange) as the context's tokens, exactly as
    /// the provider keeps its own: expiries from the tokens' claims, the
    /// access token only if it has more than the margin left, the refresh
    /// token so that [`get_token`](TokenProvider::get_token) then refreshes
    /// silently. Unlike the provider's own flights, a failure to store is an
    /// error: the tokens would otherwise be lost. Returns the access token.
    pub async fn store_response(
        &self,
        context: &ContextName,
        response: TokenResponse,
    ) -> Result<ExpiringToken<AccessToken>, Error> {
        let flight = self.flight(context);
        // No flight of this process runs while the tokens are replaced.
        let mut outcome = flight.outcome.clone().lock_owned().await;
        *outcome = None;
        let (access, tokens) = self.inner.to_keep(context, response, None);
        self.inner.cache.store(context, &tokens).await?;
        tracing::info!(context = %context, "stored tokens obtained by sign-in");
        Ok(access)
    }

    fn flight(&self, context: &ContextName) -> Arc<Flight> {
        let mut flights = self
            .inner
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        flights
            .entry(context.clone())
            .or_insert_with(|| {
                Arc::new(Flight {
                    generation: AtomicU64::new(0),
                    outcome: Arc::new(AsyncMutex::new(None)),
                })
            })
            .clone()
    }
}

#[async_trait]
impl TokenProvider for ContextTokenProvider {
    async fn get_token(&self, context: &ContextName) -> Result<ExpiringToken<AccessToken>, Error> {
        let inner = &self.inner;
        if let Some(token) = inner.cached(context).await? {
            crate::metrics::service_token("cache_hit");
            return Ok(token);
        }
        let flight = self.flight(context);
        let seen = flight.generation.load(Ordering::Acquire);
        let mut outcome = flight.outcome.clone().lock_owned().await;
        if flight.generation.load(Ordering::Acquire) != seen {
            // A flight ended while we waited for it: share its outcome.
            match outcome.as_ref() {
                Some(Ok(token)) if token.has_life_left(inner.clock.now(), Duration::ZERO) => {
                    crate::metrics::service_token("coalesced");
                    return Ok(token.clone());
                }
                Some(Err(err)) => return Err(err.duplicate()),
                _ => {}
            }
        }
        if let Some(token) = inner.cached(context).await? {
            crate::metrics::service_token("cache_hit");
            return Ok(token);
        }
        // Lead the flight in a task that owns the lock, so that the flight
        // completes (and releases its lease) even if this caller goes away.
        let leader = Arc::clone(inner);
        let name = context.clone();
        let task = tokio::spawn(async move {
            let result = leader.fly(&name).await;
            crate::metrics::service_token(if result.is_ok() { "fetched" } else { "error" });
            *outcome = Some(match &result {
                Ok(token) => Ok(token.clone()),
                Err(err) => Err(err.duplicate()),
            });
            flight.generation.fetch_add(1, Ordering::Release);
            drop(outcome);
            result
        });
        task.await
            .map_err(|err| Error::storage("the token flight task failed", err))?
    }

    async fn invalidate(&self, context: &ContextName, force: bool) -> Result<(), Error> {
        let inner = &self.inner;
        let flight = self.flight(context);
        // No flight runs while tokens are invalidated; none shares them after.
        let mut outcome = flight.outcome.clone().lock_owned().await;
        *outcome = None;
        let ctx = inner.context(context).await?;
        let tokens = inner.cache.load(context).await?;
        let client = client_credentials(&ctx);
        let request = if force {
            match (&tokens.refresh_token, &tokens.access_token) {
                (Some(refresh), _) => Some(
                    InvalidateRequest::new(client, AnyToken::Refresh(refresh.token.clone()))
                        .cascading(),
                ),
                (None, Some(access)) => Some(InvalidateRequest::new(
                    client,
                    AnyToken::Access(access.token.clone()),
                )),
                (None, None) => None,
            }
        } else {
            tokens.access_token.as_ref().map(|access| {
                InvalidateRequest::new(client, AnyToken::Access(access.token.clone()))
            })
        };
        if let Some(request) = &request {
            let revoker = inner.source.revoker(ctx.environment.as_ref())?;
            match revoker.invalidate(request).await {
                Ok(()) => {}
                // IMS no longer knows the token: it is as good as invalidated.
                Err(Error::Refused(refusal)) => tracing::debug!(
                    context = %context, status = refusal.status, error = %refusal.error,
                    "IMS refused to invalidate an already dead token"
                ),
                // Keep the tokens so the caller can try again.
                Err(err) => return Err(err),
            }
        }
        if force {
            inner.cache.clear(context).await?;
        } else {
            let kept = ContextTokens {
                access_token: None,
                refresh_token: tokens.refresh_token,
            };
            inner.cache.store(context, &kept).await?;
        }
        tracing::info!(
            context = %context, force, invalidated = request.is_some(),
            "context tokens invalidated"
        );
        Ok(())
    }
}

impl Inner {
    /// The cached access token, if it has more than the margin left and,
    /// where the provider verifies cached tokens, passes local verification.
    async fn cached(
        &self,
        context: &ContextName,
    ) -> Result<Option<ExpiringToken<AccessToken>>, Error> {
        let tokens = self.cache.load(context).await?;
        let Some(token) = tokens
            .access_token
            .filter(|t| t.has_life_left(self.clock.now(), self.config.margin))
        else {
            return Ok(None);
        };
        let verifier = match &self.check {
            CachedCheck::None => return Ok(Some(token)),
            CachedCheck::Fixed(_) => self.source.verifier(&self.check, None)?,
            CachedCheck::PerEnvironment => {
                let environment = self
                    .contexts
                    .get(context)
                    .await?
                    .and_then(|ctx| ctx.environment);
                self.source.verifier(&self.check, environment.as_ref())?
            }
        };
        let Some(verifier) = verifier else {
            return Ok(Some(token));
        };
        match verifier.verify(&token.token).await {
            Ok(_) => Ok(Some(token)),
            Err(Error::InvalidToken(reason)) => {
                tracing::warn!(
                    context = %context, reason = %reason,
                    "the cached access token failed local verification; obtaining a new one"
                );
                Ok(None)
            }
            // The key set cannot be had (IMS unreachable): the token is
            // handed out on its expiry alone, as aio does.
            Err(err) => {
                tracing::warn!(
                    context = %context, error = %err,
                    "cannot verify the cached access token locally; using it on its expiry"
                );
                Ok(Some(token))
            }
        }
    }

    async fn context(&self, name: &ContextName) -> Result<ImsContext, Error> {
        self.contexts.get(name).await?.ok_or_else(|| {
            Error::Misconfigured(format!(
                "context \"{name}\" is not configured; set ims.contexts.{name} in the aio config"
            ))
        })
    }

    /// Obtains a token under the cache's lease, or waits for the holder of
    /// the lease to store one.
    async fn fly(&self, context: &ContextName) -> Result<ExpiringToken<AccessToken>, Error> {
        let deadline = tokio::time::Instant::now() + self.config.wait_timeout;
        loop {
            if self
                .cache
                .try_lease(context, &self.holder, self.config.lease_ttl)
                .await?
            {
                let result = self.obtain(context).await;
                if let Err(err) = self.cache.release_lease(context, &self.holder).await {
                    tracing::warn!(context = %context, error = %err, "could not release the token lease");
                }
                return result;
            }
            tracing::debug!(context = %context, "another holder is obtaining a token; waiting");
            tokio::time::sleep(self.config.poll_interval).await;
            if let Some(token) = self.cached(context).await? {
                return Ok(token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Unavailable {
                    detail: format!(
                        "gave up after {:?} waiting for another process to obtain a token for context \"{context}\"",
                        self.config.wait_timeout
                    ),
                    retry_after: None,
                });
            }
        }
    }

    /// Refresh, else the context's flow; stores what it got.
    async fn obtain(&self, name: &ContextName) -> Result<ExpiringToken<AccessToken>, Error> {
        // Another holder may have stored a token just before we got the lease.
        if let Some(token) = self.cached(name).await? {
            return Ok(token);
        }
        let context = self.context(name).await?;
        let grants = self.source.grants(context.environment.as_ref())?;
        let tokens = self.cache.load(name).await?;
        if let Some(refresh) = tokens.refresh_token {
            // As aio: a refresh token is used only while it has more than the
            // margin (10 minutes) left.
            if refresh.has_life_left(self.clock.now(), self.config.margin) {
                let mut request =
                    RefreshRequest::new(client_credentials(&context), refresh.token.clone());
                // As aio, the context's `scope` goes with the refresh.
                request.scopes = refresh_scopes(&context);
                match grants.refresh(&request).await {
                    Ok(response) => {
                        tracing::info!(context = %name, flow = "refresh", "obtained an access token");
                        return self.keep(name, response, Some(refresh)).await;
                    }
                    Err(Error::Refused(refusal)) => {
                        tracing::warn!(
                            context = %name, status = refusal.status, error = %refusal.error,
                            "IMS refused the stored refresh token; dropping it"
                        );
                    }
                    Err(err) => return Err(err),
                }
            } else {
                tracing::debug!(context = %name, "the stored refresh token has expired or has less than the margin left; dropping it");
            }
            self.cache.store(name, &ContextTokens::default()).await?;
        }
        let response = match &context.credentials {
            ContextCredentials::ServerToServer(c) => {
                let mut request =
                    ServerToServer::new(client_credentials(&context), c.scopes.clone());
                if let Some(org) = &c.org_id {
                    request = request.with_org(org.clone());
                }
                grants.client_credentials(&request).await?
            }
            ContextCredentials::Jwt(c) => {
                let private_key = match &c.private_key {
                    PrivateKeySource::Inline(pem) => pem.clone(),
                    PrivateKeySource::File(path) => read_private_key(name, path).await?,
                    _ => {
                        return Err(Error::Misconfigured(format!(
                            "context \"{name}\": unsupported kind of private_key"
                        )));
                    }
                };
                let mut account = JwtServiceAccount::new(
                    client_credentials(&context),
                    c.org_id.clone(),
                    c.technical_account_id.clone(),
                    c.meta_scopes.clone(),
                    private_key,
                );
                if let Some(passphrase) = &c.passphrase {
                    account = account.with_passphrase(passphrase.clone());
                }
                grants.exchange_jwt(&account).await?
            }
            ContextCredentials::OAuthUser(_) => {
                return Err(Error::Misconfigured(format!(
                    "context \"{name}\" is an OAuth user context without a valid refresh token; \
                     run `ims login --context {name}`"
                )));
            }
            ContextCredentials::Cli(_) => {
                return Err(Error::Misconfigured(format!(
                    "context \"{name}\" is aio's cli context and is not signed in (no valid token); \
                     run `ims login --context {name}` (or `aio login`)"
                )));
            }
            other => {
                return Err(Error::Misconfigured(format!(
                    "context \"{name}\": cannot obtain tokens for {} contexts",
                    other.kind()
                )));
            }
        };
        tracing::info!(context = %name, flow = context.credentials.kind(), "obtained an access token");
        self.keep(name, response, None).await
    }

    /// Works out expiries, stores what deserves it, and returns the access
    /// token. A failure to store is logged: the caller still gets a token.
    async fn keep(
        &self,
        name: &ContextName,
        response: TokenResponse,
        previous_refresh: Option<ExpiringToken<RefreshToken>>,
    ) -> Result<ExpiringToken<AccessToken>, Error> {
        let (access, tokens) = self.to_keep(name, response, previous_refresh);
        if let Err(err) = self.cache.store(name, &tokens).await {
            // The caller still gets a working token.
            tracing::warn!(context = %name, error = %err, "could not store the new token");
        }
        Ok(access)
    }

    /// The access token of a response, and the tokens to store for it:
    /// expiries from the tokens' own claims, the access token only if it has
    /// more than the margin left, the new refresh token or else the previous.
    fn to_keep(
        &self,
        name: &ContextName,
        response: TokenResponse,
        previous_refresh: Option<ExpiringToken<RefreshToken>>,
    ) -> (ExpiringToken<AccessToken>, ContextTokens) {
        let now = self.clock.now();
        let in_time = |d: Duration| {
            now.saturating_add(time::Duration::try_from(d).unwrap_or(time::Duration::MAX))
        };
        let access_expiry = expiry::expiry_from_claims(response.access_token.expose_secret())
            .unwrap_or_else(|| in_time(response.expires_in));
        let access = ExpiringToken::new(response.access_token, access_expiry);
        let refresh = match response.refresh_token {
            Some(token) => {
                let expiry = expiry::expiry_from_claims(token.expose_secret())
                    .unwrap_or_else(|| in_time(OPAQUE_REFRESH_LIFETIME));
                Some(ExpiringToken::new(token, expiry))
            }
            None => previous_refresh,
        };
        let store_access = access.has_life_left(now, self.config.margin);
        if !store_access {
            tracing::debug!(context = %name, "the new token has less than the margin left: returned, not stored");
        }
        let tokens = ContextTokens {
            access_token: store_access.then(|| access.clone()),
            refresh_token: refresh,
        };
        (access, tokens)
    }
}

/// The scopes a refresh asks for: a user context's `scope` (empty: the
/// original ones).
fn refresh_scopes(context: &ImsContext) -> ims_api::Scopes {
    match &context.credentials {
        ContextCredentials::OAuthUser(c) => c.scopes.clone(),
        ContextCredentials::Cli(c) => c.scopes.clone(),
        _ => ims_api::Scopes::default(),
    }
}

/// The client of a context, with its (first) secret; a public OAuth client
/// and aio's cli context have an empty secret.
fn client_credentials(context: &ImsContext) -> ClientCredentials {
    let client_id = context.credentials.client_id().clone();
    let secret = match &context.credentials {
        ContextCredentials::ServerToServer(c) => c.client_secrets.first().cloned(),
        ContextCredentials::Jwt(c) => Some(c.client_secret.clone()),
        ContextCredentials::OAuthUser(c) => c.client_secret.clone(),
        _ => None,
    };
    ClientCredentials::new(client_id, secret.unwrap_or_else(|| ClientSecret::new("")))
}

async fn read_private_key(
    name: &ContextName,
    path: &std::path::Path,
) -> Result<PrivateKeyPem, Error> {
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(owned))
        .await
        .map_err(|err| Error::storage("the private key task failed", err))?;
    read.map(PrivateKeyPem::new).map_err(|err| {
        Error::Misconfigured(format!(
            "context \"{name}\": cannot read the private_key file {} ({err})",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests;
