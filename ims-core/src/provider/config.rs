//! Settings of the token provider.

use std::time::Duration;

/// How a [`ContextTokenProvider`](crate::ContextTokenProvider) decides and
/// waits.
///
/// ```
/// use std::time::Duration;
/// use ims_core::ProviderConfig;
///
/// let config = ProviderConfig::default().with_margin(Duration::from_secs(300));
/// assert_eq!(config.margin, Duration::from_secs(300));
/// assert_eq!(config.lease_ttl, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// A cached access token is used while it has more than this left; a new
    /// token with less is returned but not stored (aio: 10 minutes).
    pub margin: Duration,
    /// How long a lease lets its holder obtain a token before others may
    /// take over (a crashed holder blocks a context at most this long).
    pub lease_ttl: Duration,
    /// How often a caller waiting for another holder re-reads the cache.
    pub poll_interval: Duration,
    /// How long a caller waits for other holders before giving up with
    /// [`Error::Unavailable`](ims_api::Error::Unavailable).
    pub wait_timeout: Duration,
    /// Whether a cached access token is verified locally (signature against
    /// the IMS key set, type, environment, expiry) before it is handed out;
    /// one that fails is replaced by a refreshed or new one. Default on;
    /// applies where the provider has a verifier (always with
    /// [`with_clients`](crate::ContextTokenProvider::with_clients), else
    /// [`with_verifier`](crate::ContextTokenProvider::with_verifier)). aio
    /// checks the expiry only.
    pub verify_cached: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            margin: Duration::from_secs(10 * 60),
            lease_ttl: Duration::from_secs(60),
            poll_interval: Duration::from_millis(200),
            wait_timeout: Duration::from_secs(90),
            verify_cached: true,
        }
    }
}

impl ProviderConfig {
    /// Sets [`margin`](Self::margin).
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Sets [`lease_ttl`](Self::lease_ttl).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets [`poll_interval`](Self::poll_interval).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets [`verify_cached`](Self::verify_cached).
    pub fn with_verify_cached(mut self, verify: bool) -> Self {
        self.verify_cached = verify;
        self
    }

    /// Sets [`wait_timeout`](Self::wait_timeout).
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }
}
