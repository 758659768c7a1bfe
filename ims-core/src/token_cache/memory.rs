//! [`MemoryTokenCache`]: tokens and leases in this process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{Clock, ContextName, ContextTokens, Error, SystemClock, TokenCache};
use time::OffsetDateTime;

/// Tokens kept in memory, with leases that expire after their ttl (by the
/// injected [`Clock`]).
///
/// Several providers sharing one `MemoryTokenCache` behave like instances
/// sharing a database: one of them obtains a token, the others read it.
///
/// ```
/// use std::time::Duration;
/// use ims_api::{ContextName, TokenCache};
/// use ims_core::MemoryTokenCache;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ims_api::Error> {
/// let cache = MemoryTokenCache::new();
/// let ctx = ContextName::parse("svc")?;
/// assert!(cache.try_lease(&ctx, "host-a", Duration::from_secs(30)).await?);
/// assert!(!cache.try_lease(&ctx, "host-b", Duration::from_secs(30)).await?);
/// cache.release_lease(&ctx, "host-a").await?;
/// assert!(cache.try_lease(&ctx, "host-b", Duration::from_secs(30)).await?);
/// # Ok(())
/// # }
/// ```
pub struct MemoryTokenCache {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tokens: HashMap<ContextName, ContextTokens>,
    leases: HashMap<ContextName, (String, OffsetDateTime)>,
}

impl MemoryTokenCache {
    /// An empty cache on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty cache whose leases expire by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryTokenCache {
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The maps stay consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryTokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryTokenCache")
            .field("contexts", &state.tokens.len())
            .field("leases", &state.leases.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenCache for MemoryTokenCache {
    async fn load(&self, context: &ContextName) -> Result<ContextTokens, Error> {
        Ok(self
            .state()
            .tokens
            .get(context)
            .cloned()
            .unwrap_or_default())
    }

    async fn store(&self, context: &ContextName, tokens: &ContextTokens) -> Result<(), Error> {
        let mut state = self.state();
        if tokens.access_token.is_none() && tokens.refresh_token.is_none() {
            state.tokens.remove(context);
        } else {
            state.tokens.insert(context.clone(), tokens.clone());
        }
        Ok(())
    }

    async fn clear(&self, context: &ContextName) -> Result<(), Error> {
        self.state().tokens.remove(context);
        Ok(())
    }

    async fn try_lease(
        &self,
        context: &ContextName,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        let mut state = self.state();
        if let Some((current, expires_at)) = state.leases.get(context)
            && current != holder
            && *expires_at > now
        {
            return Ok(false);
        }
        let expires_at =
            now.saturating_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX));
        state
            .leases
            .insert(context.clone(), (holder.to_owned(), expires_at));
        Ok(true)
    }

    async fn release_lease(&self, context: &ContextName, holder: &str) -> Result<(), Error> {
        let mut state = self.state();
        if state.leases.get(context).is_some_and(|(h, _)| h == holder) {
            state.leases.remove(context);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ims_api::{AccessToken, ExpiringToken, ManualClock};
    use time::macros::datetime;

    #[tokio::test]
    async fn leases_expire_after_their_ttl() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
        let cache = MemoryTokenCache::with_clock(clock.clone());
        let ctx = ContextName::parse("c").unwrap();
        let ttl = Duration::from_secs(30);
        assert!(cache.try_lease(&ctx, "a", ttl).await.unwrap());
        assert!(!cache.try_lease(&ctx, "b", ttl).await.unwrap());
        // The holder may renew.
        assert!(cache.try_lease(&ctx, "a", ttl).await.unwrap());
        // Releasing someone else's lease does nothing.
        cache.release_lease(&ctx, "b").await.unwrap();
        assert!(!cache.try_lease(&ctx, "b", ttl).await.unwrap());
        clock.advance(Duration::from_secs(31));
        assert!(cache.try_lease(&ctx, "b", ttl).await.unwrap());
        assert!(!cache.try_lease(&ctx, "a", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn stores_loads_and_clears() {
        let cache = MemoryTokenCache::new();
        let ctx = ContextName::parse("c").unwrap();
        let tokens = ContextTokens {
            access_token: Some(ExpiringToken::new(
                AccessToken::new("secret-token"),
                datetime!(2030-01-01 0:00 UTC),
            )),
            refresh_token: None,
        };
        cache.store(&ctx, &tokens).await.unwrap();
        let loaded = cache.load(&ctx).await.unwrap();
        assert_eq!(
            loaded.access_token.unwrap().token.expose_secret(),
            "secret-token"
        );
        assert!(!format!("{cache:?}").contains("secret-token"));
        cache.clear(&ctx).await.unwrap();
        assert!(cache.load(&ctx).await.unwrap().access_token.is_none());
    }
}
