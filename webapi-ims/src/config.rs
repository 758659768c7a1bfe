//! The authenticator's settings.

use std::time::Duration;

use ims_api::ClientId;

/// How the Web API authenticator behaves. The defaults follow Magento where it
/// has a rule (re-validation every 600 s) and are conservative elsewhere.
///
/// ```
/// use std::time::Duration;
/// use webapi_ims::WebApiConfig;
///
/// let mut config = WebApiConfig::default();
/// config.revalidate_after = Duration::from_secs(300);
/// assert_eq!(config.outage_grace, Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebApiConfig {
    /// Validate a known token with IMS again once its last check is this old
    /// (Magento: 600 s).
    pub revalidate_after: Duration,
    /// While IMS is unreachable, a token validated within this window keeps
    /// working; older ones are answered 503.
    pub outage_grace: Duration,
    /// The longest a request waits for IMS before the outage rules apply.
    pub ims_deadline: Duration,
    /// How long `Retry-After` tells clients to wait during an outage.
    pub retry_after: Duration,
    /// Tokens kept in the in-memory hot cache (least recently used go first).
    pub hot_cache_capacity: u64,
    /// How long a hot-cache entry is trusted before the repository row is read
    /// again (so a revocation made by another instance is seen; at once,
    /// on an instance that follows the fleet's change feed).
    pub hot_cache_ttl: Duration,
    /// Refused tokens remembered in memory, so a replayed bad token makes no
    /// IMS call.
    pub negative_cache_capacity: u64,
    /// How long a refusal is remembered.
    pub negative_cache_ttl: Duration,
    /// How long the integration's settings (enabled, client id) are cached.
    pub settings_ttl: Duration,
    /// While the authenticator follows a change feed that is lost (and
    /// before its first `Resumed`), the longest a hot-cache entry or the
    /// settings are trusted before they are read again from the host's
    /// storage (never from IMS). Unused when no feed is followed
    /// ([`WebApiAuthenticator::follow_changes`](crate::WebApiAuthenticator::follow_changes)).
    pub unfollowed_reread: Duration,
    /// Keep the token itself in the record (the store encrypts it), which
    /// lets "revoke all tokens of an admin" log each one out at IMS, as
    /// Magento's `FlushUserTokens` does. On by default; off, revocation
    /// marks the rows invalidated only (IMS keeps honouring the tokens
    /// elsewhere until they expire).
    pub store_tokens: bool,
    /// Client ids whose tokens are accepted besides the integration's own
    /// (the settings' `client_id`, always accepted). Empty by default: only
    /// tokens issued to the integration pass. A token's `client_id` claim
    /// must equal one of them exactly (no case folding, no trimming); a
    /// token without the claim is refused. Whatever the token's client,
    /// IMS is asked to validate it for the integration's client id.
    pub allowed_client_ids: Vec<ClientId>,
    /// How long an instance's lease on a new token's first sight lasts
    /// when the record is shared with other instances (see
    /// `WebApiTokenRepository::begin_first_sight`): while it holds, other
    /// instances wait for its record instead of asking IMS themselves. The
    /// leader extends it before each of its IMS calls (validation, profile,
    /// membership), so it should cover one call: `ims_deadline` and a
    /// margin (default 6 s). A leader that dies holds up the token's first
    /// sight elsewhere until it expires; the next request then takes over.
    pub first_sight_lease: Duration,
    /// How often an instance following another's first sight looks for its
    /// record (it never waits longer than `ims_deadline` in all).
    pub first_sight_poll: Duration,
}

impl Default for WebApiConfig {
    fn default() -> Self {
        WebApiConfig {
            revalidate_after: Duration::from_secs(600),
            outage_grace: Duration::from_secs(3600),
            ims_deadline: Duration::from_secs(5),
            retry_after: Duration::from_secs(30),
            hot_cache_capacity: 1_000_000,
            hot_cache_ttl: Duration::from_secs(30),
            negative_cache_capacity: 100_000,
            negative_cache_ttl: Duration::from_secs(60),
            settings_ttl: Duration::from_secs(5),
            unfollowed_reread: Duration::from_millis(250),
            store_tokens: true,
            allowed_client_ids: Vec::new(),
            first_sight_lease: Duration::from_secs(6),
            first_sight_poll: Duration::from_millis(25),
        }
    }
}

impl WebApiConfig {
    /// Sets [`allowed_client_ids`](Self::allowed_client_ids): the clients
    /// whose tokens are accepted besides the integration's own.
    ///
    /// ```
    /// use ims_api::ClientId;
    /// use webapi_ims::WebApiConfig;
    ///
    /// let config = WebApiConfig::default()
    ///     .with_allowed_client_ids([ClientId::parse("partner_app").unwrap()]);
    /// assert_eq!(config.allowed_client_ids.len(), 1);
    /// ```
    pub fn with_allowed_client_ids(mut self, ids: impl IntoIterator<Item = ClientId>) -> Self {
        self.allowed_client_ids = ids.into_iter().collect();
        self
    }
}
