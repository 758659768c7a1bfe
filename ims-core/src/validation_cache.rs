//! Remote validation behind a cache: IMS is asked once per token (and
//! client and environment) until the verdict's time to live runs out.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lc_rs::digest::{Context, SHA256};
use ims_api::{
    AccessToken, ClientId, Clock, Error, ImsEnvironment, SystemClock, TokenHash, TokenValidator,
    TokenValidity,
};
use quick_cache::sync::Cache;

/// Sizes and lifetimes of a [`CachedValidator`]'s two caches.
///
/// ```
/// use std::time::Duration;
/// use ims_core::ValidationCacheConfig;
///
/// let config = ValidationCacheConfig::default().with_valid_ttl(Duration::from_secs(60));
/// assert_eq!(config.valid_ttl, Duration::from_secs(60));
/// assert_eq!(config.invalid_ttl, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationCacheConfig {
    /// Most "valid" verdicts kept. Default 10 000.
    pub valid_capacity: u64,
    /// Most "invalid" verdicts kept, in a cache of their own so that a
    /// flood of bad tokens cannot evict good ones. Default 1 000.
    pub invalid_capacity: u64,
    /// How long a "valid" verdict is reused, and never beyond the token's
    /// `expires_at`. Default 5 min: a revoked token is noticed within it.
    pub valid_ttl: Duration,
    /// How long an "invalid" verdict is reused. Default 1 min.
    pub invalid_ttl: Duration,
}

impl Default for ValidationCacheConfig {
    fn default() -> Self {
        ValidationCacheConfig {
            valid_capacity: 10_000,
            invalid_capacity: 1_000,
            valid_ttl: Duration::from_secs(300),
            invalid_ttl: Duration::from_secs(60),
        }
    }
}

impl ValidationCacheConfig {
    /// Sets [`valid_capacity`](Self::valid_capacity).
    pub fn with_valid_capacity(mut self, capacity: u64) -> Self {
        self.valid_capacity = capacity;
        self
    }

    /// Sets [`invalid_capacity`](Self::invalid_capacity).
    pub fn with_invalid_capacity(mut self, capacity: u64) -> Self {
        self.invalid_capacity = capacity;
        self
    }

    /// Sets [`valid_ttl`](Self::valid_ttl).
    pub fn with_valid_ttl(mut self, ttl: Duration) -> Self {
        self.valid_ttl = ttl;
        self
    }

    /// Sets [`invalid_ttl`](Self::invalid_ttl).
    pub fn with_invalid_ttl(mut self, ttl: Duration) -> Self {
        self.invalid_ttl = ttl;
        self
    }
}

/// A cached "valid" verdict and when it stops being reused.
#[derive(Clone)]
struct Verdict {
    validity: TokenValidity,
    expires: Instant,
}

impl Verdict {
    fn fresh(&self, now: Instant) -> bool {
        self.expires > now
    }
}

/// How a flight ended other than with a "valid" verdict, kept in the
/// invalid cache.
#[derive(Clone)]
enum Settled {
    /// An "invalid" verdict, reused until `expires`.
    Invalid {
        validity: TokenValidity,
        expires: Instant,
    },
    /// The inner validator failed at `at`: shared with the callers who were
    /// already waiting for that flight, never with a later one (errors are
    /// not cached).
    Failed { error: Arc<Error>, at: Instant },
}

/// A [`TokenValidator`] that asks the wrapped validator (IMS) at most once
/// per token while its verdict is cached.
///
/// - Keys are the SHA-256 of (client id, token, environment name): the token
///   itself is never stored.
/// - "Valid" and "invalid" verdicts live in separate bounded caches
///   (`quick_cache`, S3-FIFO eviction) with their own TTLs; a valid verdict
///   never outlives the token's `expires_at`.
/// - Single flight: concurrent callers for one uncached token share one call
///   of the inner validator, through `quick_cache`'s placeholder guard on the
///   valid cache. The call runs in a spawned task, so a caller that gives up
///   (timeout, dropped request) neither cancels it nor stalls the others.
/// - Errors (IMS unavailable, …) are returned to every caller waiting for
///   the flight and not cached: the next call asks again.
///
/// Needs a Tokio runtime.
///
/// ```
/// use std::sync::Arc;
/// use ims_api::{AccessToken, ClientId, ImsEnvironment, TokenValidator, TokenValidity};
/// use ims_core::{CachedValidator, ValidationCacheConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut remote = ims_api::mock::MockTokenValidator::new();
/// # remote.expect_validate().times(1).returning(|_, _| {
/// #     Ok(TokenValidity::Invalid { reason: "bad_signature".into() })
/// # });
/// # let remote: Arc<dyn TokenValidator> = Arc::new(remote);
/// // `remote` asks IMS's /ims/validate_token/v1.
/// let cached = CachedValidator::new(remote, &ImsEnvironment::Prod, ValidationCacheConfig::default());
/// let token = AccessToken::new("eyJ...");
/// let client = ClientId::parse("my_client")?;
/// let first = cached.validate(&token, &client).await?;
/// let second = cached.validate(&token, &client).await?; // from the cache
/// assert_eq!(first, second);
/// # Ok(())
/// # }
/// ```
pub struct CachedValidator {
    inner: Arc<dyn TokenValidator>,
    environment: String,
    clock: Arc<dyn Clock>,
    config: ValidationCacheConfig,
    valid: Arc<Cache<TokenHash, Verdict>>,
    invalid: Arc<Cache<TokenHash, Settled>>,
}

impl fmt::Debug for CachedValidator {
    /// Configuration and entry counts; never keys or tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedValidator")
            .field("environment", &self.environment)
            .field("config", &self.config)
            .field("valid_entries", &self.valid.len())
            .field("invalid_entries", &self.invalid.len())
            .finish_non_exhaustive()
    }
}

impl CachedValidator {
    /// Caches the verdicts of `inner`, which validates tokens of `env`.
    pub fn new(
        inner: Arc<dyn TokenValidator>,
        env: &ImsEnvironment,
        config: ValidationCacheConfig,
    ) -> Self {
        CachedValidator::with_clock(inner, env, config, Arc::new(SystemClock))
    }

    /// Like [`new`](Self::new), reading the time (to cap TTLs at a token's
    /// expiry) from `clock`. The verdicts' own lifetimes run on the
    /// monotonic clock.
    pub fn with_clock(
        inner: Arc<dyn TokenValidator>,
        env: &ImsEnvironment,
        config: ValidationCacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let capacity = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        let valid = Arc::new(Cache::new(capacity(config.valid_capacity)));
        let invalid = Arc::new(Cache::new(capacity(config.invalid_capacity)));
        CachedValidator {
            inner,
            environment: env.name(),
            clock,
            config,
            valid,
            invalid,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ValidationCacheConfig {
        &self.config
    }

    /// The cache key: SHA-256 over the length-prefixed client id, token and
    /// environment name.
    fn key(&self, token: &AccessToken, client_id: &ClientId) -> TokenHash {
        let mut hasher = Context::new(&SHA256);
        hasher.update(b"ims-core validation cache v1\0");
        for part in [
            client_id.as_str(),
            token.expose_secret(),
            self.environment.as_str(),
        ] {
            hasher.update(&(part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(hasher.finish().as_ref());
        TokenHash::from_digest(digest)
    }

    /// How long a "valid" verdict may be reused: the configured TTL, cut at
    /// the token's expiry.
    fn valid_ttl(&self, validity: &TokenValidity) -> Duration {
        valid_ttl(&self.config, self.clock.as_ref(), validity)
    }

    /// The cached verdict, if any.
    fn cached(&self, key: &TokenHash) -> Option<TokenValidity> {
        let now = Instant::now();
        if let Some(hit) = self.valid.get(key) {
            if hit.fresh(now) && self.valid_ttl(&hit.validity) > Duration::ZERO {
                return Some(hit.validity);
            }
            // Expired (or the clock jumped past the token's expiry): ask
            // again, unless a fresh verdict replaced it meanwhile.
            let clock = self.clock.as_ref();
            let config = &self.config;
            self.valid.remove_if(key, |v| {
                !v.fresh(now) || valid_ttl(config, clock, &v.validity) == Duration::ZERO
            });
        }
        match self.invalid.get(key) {
            Some(Settled::Invalid { validity, expires }) if expires > now => Some(validity),
            _ => None,
        }
    }
}

/// One caller's part in the single flight for a key: it waits on the valid
/// cache's placeholder, or holds it and asks the inner validator.
struct Flight {
    key: TokenHash,
    token: AccessToken,
    client_id: ClientId,
    /// When this caller began to wait: a failure after it is this flight's.
    joined: Instant,
    inner: Arc<dyn TokenValidator>,
    clock: Arc<dyn Clock>,
    config: ValidationCacheConfig,
    valid: Arc<Cache<TokenHash, Verdict>>,
    invalid: Arc<Cache<TokenHash, Settled>>,
}

impl Flight {
    async fn run(self) -> ims_api::Result<TokenValidity> {
        loop {
            let guard = match self.valid.get_value_or_guard_async(&self.key).await {
                Ok(verdict) => {
                    let now = Instant::now();
                    if verdict.fresh(now)
                        && valid_ttl(&self.config, self.clock.as_ref(), &verdict.validity)
                            > Duration::ZERO
                    {
                        crate::metrics::flight_coalesced();
                        return Ok(verdict.validity);
                    }
                    self.valid.remove_if(&self.key, |v| !v.fresh(now));
                    continue;
                }
                Err(guard) => guard,
            };
            // The guard passes from a flight that stored no valid verdict to
            // the next waiter: that flight may have settled the key.
            match self.invalid.get(&self.key) {
                Some(Settled::Invalid { validity, expires }) if expires > Instant::now() => {
                    return Ok(validity);
                }
                Some(Settled::Failed { error, at }) if at >= self.joined => {
                    crate::metrics::flight_coalesced();
                    return Err(error.duplicate());
                }
                _ => {}
            }
            return match self.inner.validate(&self.token, &self.client_id).await {
                Ok(validity @ TokenValidity::Valid { .. }) => {
                    let ttl = valid_ttl(&self.config, self.clock.as_ref(), &validity);
                    let verdict = Verdict {
                        validity: validity.clone(),
                        expires: Instant::now() + ttl,
                    };
                    // Refused only when the guard went stale (a clear):
                    // the caller has its answer either way.
                    let _ = guard.insert(verdict);
                    Ok(validity)
                }
                Ok(validity) => {
                    let settled = Settled::Invalid {
                        validity: validity.clone(),
                        expires: Instant::now() + self.config.invalid_ttl,
                    };
                    self.invalid.insert(self.key.clone(), settled);
                    drop(guard);
                    Ok(validity)
                }
                Err(error) => {
                    let settled = Settled::Failed {
                        error: Arc::new(error.duplicate()),
                        at: Instant::now(),
                    };
                    self.invalid.insert(self.key.clone(), settled);
                    drop(guard);
                    Err(error)
                }
            };
        }
    }
}

fn valid_ttl(
    config: &ValidationCacheConfig,
    clock: &dyn Clock,
    validity: &TokenValidity,
) -> Duration {
    match validity {
        TokenValidity::Valid { expires_at, .. } => {
            let left = *expires_at - clock.now();
            let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
            left.min(config.valid_ttl)
        }
        _ => Duration::ZERO,
    }
}

#[async_trait]
impl TokenValidator for CachedValidator {
    async fn validate(
        &self,
        token: &AccessToken,
        client_id: &ClientId,
    ) -> ims_api::Result<TokenValidity> {
        let key = self.key(token, client_id);
        if let Some(validity) = self.cached(&key) {
            return Ok(validity);
        }
        let flight = Flight {
            key,
            token: token.clone(),
            client_id: client_id.clone(),
            joined: Instant::now(),
            inner: Arc::clone(&self.inner),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            valid: Arc::clone(&self.valid),
            invalid: Arc::clone(&self.invalid),
        };
        // The flight runs in its own task: see the type's docs.
        match tokio::spawn(flight.run()).await {
            Ok(outcome) => outcome,
            Err(join) => Err(Error::Unavailable {
                detail: format!("the token validation task failed: {join}"),
                retry_after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use ims_api::{ManualClock, TokenRejection};
    use time::OffsetDateTime;

    /// Counts calls; a token containing "bad" is invalid, "down" fails,
    /// anything else is valid until `expires_at`.
    struct Counting {
        calls: AtomicUsize,
        delay: Duration,
        expires_at: OffsetDateTime,
    }

    impl Counting {
        fn new(delay: Duration, expires_at: OffsetDateTime) -> Arc<Self> {
            Arc::new(Counting {
                calls: AtomicUsize::new(0),
                delay,
                expires_at,
            })
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl TokenValidator for Counting {
        async fn validate(
            &self,
            token: &AccessToken,
            _client_id: &ClientId,
        ) -> ims_api::Result<TokenValidity> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            let token = token.expose_secret();
            if token.contains("down") {
                Err(Error::Unavailable {
                    detail: "IMS is down".into(),
                    retry_after: Some(Duration::from_secs(1)),
                })
            } else if token.contains("bad") {
                Ok(TokenValidity::Invalid {
                    reason: "bad_signature".into(),
                })
            } else {
                Ok(TokenValidity::Valid {
                    expires_at: self.expires_at,
                    claims: None,
                })
            }
        }
    }

    fn in_a_day() -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::from_secs(86_400)
    }

    fn client() -> ClientId {
        ClientId::parse("my_client").unwrap()
    }

    fn cached(inner: Arc<Counting>, config: ValidationCacheConfig) -> Arc<CachedValidator> {
        Arc::new(CachedValidator::new(inner, &ImsEnvironment::Prod, config))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_concurrent_callers_make_one_inner_call() {
        let inner = Counting::new(Duration::from_millis(200), in_a_day());
        let cache = cached(Arc::clone(&inner), ValidationCacheConfig::default());
        let token = AccessToken::new("token-a");
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let cache = Arc::clone(&cache);
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                cache.validate(&token, &client()).await
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap().unwrap().is_valid());
        }
        assert_eq!(inner.calls(), 1);
        // And the verdict is cached.
        assert!(cache.validate(&token, &client()).await.unwrap().is_valid());
        assert_eq!(inner.calls(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_of_an_invalid_token_share_one_call() {
        let inner = Counting::new(Duration::from_millis(100), in_a_day());
        let cache = cached(Arc::clone(&inner), ValidationCacheConfig::default());
        let token = AccessToken::new("bad-token");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = Arc::clone(&cache);
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                cache.validate(&token, &client()).await
            }));
        }
        for task in tasks {
            assert!(!task.await.unwrap().unwrap().is_valid());
        }
        assert_eq!(inner.calls(), 1);
        assert!(!cache.validate(&token, &client()).await.unwrap().is_valid());
        assert_eq!(inner.calls(), 1);
    }

    #[tokio::test]
    async fn valid_verdicts_are_served_until_their_ttl() {
        let inner = Counting::new(Duration::ZERO, in_a_day());
        let config = ValidationCacheConfig::default().with_valid_ttl(Duration::from_millis(300));
        let cache = cached(Arc::clone(&inner), config);
        let token = AccessToken::new("token-b");
        for _ in 0..5 {
            assert!(cache.validate(&token, &client()).await.unwrap().is_valid());
        }
        assert_eq!(inner.calls(), 1);
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(cache.validate(&token, &client()).await.unwrap().is_valid());
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test]
    async fn invalid_verdicts_have_their_own_ttl() {
        let inner = Counting::new(Duration::ZERO, in_a_day());
        let config = ValidationCacheConfig::default()
            .with_valid_ttl(Duration::from_secs(3600))
            .with_invalid_ttl(Duration::from_millis(200));
        let cache = cached(Arc::clone(&inner), config);
        let bad = AccessToken::new("bad-1");
        let good = AccessToken::new("good-1");
        cache.validate(&bad, &client()).await.unwrap();
        cache.validate(&good, &client()).await.unwrap();
        cache.validate(&bad, &client()).await.unwrap();
        assert_eq!(inner.calls(), 2);
        tokio::time::sleep(Duration::from_millis(350)).await;
        cache.validate(&bad, &client()).await.unwrap();
        cache.validate(&good, &client()).await.unwrap();
        assert_eq!(inner.calls(), 3, "only the invalid verdict expired");
    }

    #[tokio::test]
    async fn a_flood_of_invalid_tokens_does_not_evict_valid_ones() {
        let inner = Counting::new(Duration::ZERO, in_a_day());
        let config = ValidationCacheConfig::default()
            .with_valid_capacity(10)
            .with_invalid_capacity(10);
        let cache = cached(Arc::clone(&inner), config);
        let good = AccessToken::new("good-2");
        cache.validate(&good, &client()).await.unwrap();
        for i in 0..500 {
            let bad = AccessToken::new(format!("bad-{i}"));
            cache.validate(&bad, &client()).await.unwrap();
        }
        assert!(cache.invalid.len() <= 10, "the invalid cache is bounded");
        assert_eq!(cache.valid.len(), 1);
        let before = inner.calls();
        assert!(cache.validate(&good, &client()).await.unwrap().is_valid());
        assert_eq!(inner.calls(), before, "the valid verdict is still cached");
    }

    #[tokio::test]
    async fn a_valid_verdict_never_outlives_the_token() {
        let expires_at = OffsetDateTime::now_utc() + Duration::from_millis(300);
        let inner = Counting::new(Duration::ZERO, expires_at);
        let config = ValidationCacheConfig::default().with_valid_ttl(Duration::from_secs(3600));
        let cache = cached(Arc::clone(&inner), config);
        let token = AccessToken::new("token-c");
        cache.validate(&token, &client()).await.unwrap();
        cache.validate(&token, &client()).await.unwrap();
        assert_eq!(inner.calls(), 1);
        tokio::time::sleep(Duration::from_millis(450)).await;
        cache.validate(&token, &client()).await.unwrap();
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test]
    async fn a_clock_past_the_expiry_bypasses_the_cached_verdict() {
        let now = OffsetDateTime::now_utc();
        let clock = Arc::new(ManualClock::new(now));
        let inner = Counting::new(Duration::ZERO, now + Duration::from_secs(600));
        let cache = CachedValidator::with_clock(
            Arc::clone(&inner) as Arc<dyn TokenValidator>,
            &ImsEnvironment::Prod,
            ValidationCacheConfig::default(),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let token = AccessToken::new("token-d");
        cache.validate(&token, &client()).await.unwrap();
        cache.validate(&token, &client()).await.unwrap();
        assert_eq!(inner.calls(), 1);
        clock.advance(Duration::from_secs(601));
        cache.validate(&token, &client()).await.unwrap();
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let inner = Counting::new(Duration::ZERO, in_a_day());
        let cache = cached(Arc::clone(&inner), ValidationCacheConfig::default());
        let token = AccessToken::new("down-token");
        for expected in 1..=3 {
            let err = cache.validate(&token, &client()).await.unwrap_err();
            assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
            assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
            assert_eq!(inner.calls(), expected);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_on_a_failing_flight_share_its_error_and_one_call() {
        // IMS down: fifty callers of one token must not queue fifty calls.
        let inner = Counting::new(Duration::from_millis(200), in_a_day());
        let cache = cached(Arc::clone(&inner), ValidationCacheConfig::default());
        let token = AccessToken::new("down-token-shared");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = Arc::clone(&cache);
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                cache.validate(&token, &client()).await
            }));
        }
        for task in tasks {
            let err = task.await.unwrap().unwrap_err();
            assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        }
        assert_eq!(inner.calls(), 1);
        // Not cached: the next caller asks again.
        assert!(cache.validate(&token, &client()).await.is_err());
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_giving_up_neither_cancels_nor_stalls_the_flight() {
        let inner = Counting::new(Duration::from_millis(300), in_a_day());
        let cache = cached(Arc::clone(&inner), ValidationCacheConfig::default());
        let token = AccessToken::new("token-e");
        let impatient =
            tokio::time::timeout(Duration::from_millis(50), cache.validate(&token, &client()))
                .await;
        assert!(impatient.is_err(), "the first caller timed out");
        let patient =
            tokio::time::timeout(Duration::from_secs(5), cache.validate(&token, &client()))
                .await
                .expect("the second caller is not stalled")
                .unwrap();
        assert!(patient.is_valid());
        assert_eq!(inner.calls(), 1);
    }

    #[tokio::test]
    async fn keys_depend_on_client_and_environment_and_hide_the_token() {
        let inner = Counting::new(Duration::ZERO, in_a_day());
        let prod = CachedValidator::new(
            Arc::clone(&inner) as Arc<dyn TokenValidator>,
            &ImsEnvironment::Prod,
            ValidationCacheConfig::default(),
        );
        let stage = CachedValidator::new(
            Arc::clone(&inner) as Arc<dyn TokenValidator>,
            &ImsEnvironment::Stage,
            ValidationCacheConfig::default(),
        );
        let token = AccessToken::new("secret-token-value");
        let other = ClientId::parse("other_client").unwrap();
        let key = prod.key(&token, &client());
        assert_ne!(key, prod.key(&token, &other));
        assert_ne!(key, stage.key(&token, &client()));
        assert_eq!(key, prod.key(&token, &client()));
        assert!(!key.as_str().contains("secret"));

        prod.validate(&token, &client()).await.unwrap();
        prod.validate(&token, &other).await.unwrap();
        stage.validate(&token, &client()).await.unwrap();
        assert_eq!(inner.calls(), 3);

        let shown = format!("{prod:?}");
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(!shown.contains(key.as_str()), "{shown}");
        assert!(shown.contains("valid_entries"), "{shown}");
    }

    #[test]
    fn duplicated_errors_keep_their_kind() {
        let err = Error::InvalidToken(TokenRejection::BadSignature);
        assert!(matches!(
            &err.duplicate(),
            Error::InvalidToken(TokenRejection::BadSignature)
        ));
        let err = Error::storage("db", std::io::Error::other("x"));
        assert_eq!(err.duplicate().code(), "storage");
    }
}
