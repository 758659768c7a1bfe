//! The shared token cache of the token provider: `ims_token_cache`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{
    AccessToken, ContextName, ContextTokens, ExpiringToken, RefreshToken, Result, TokenCache,
};

use crate::context::StoreContext;
use crate::crypto::aad;
use crate::db::{Sql, Value, millis};

const TABLE: &str = "ims_token_cache";

static LOAD: Sql = Sql::new(
    "SELECT access_token, access_token_expires_at, refresh_token, refresh_token_expires_at \
     FROM ims_token_cache WHERE context_name = $1",
);
static STORE: Sql = Sql::with_mysql(
    "INSERT INTO ims_token_cache (context_name, access_token, access_token_expires_at, \
     refresh_token, refresh_token_expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (context_name) DO UPDATE SET access_token = excluded.access_token, \
     access_token_expires_at = excluded.access_token_expires_at, \
     refresh_token = excluded.refresh_token, \
     refresh_token_expires_at = excluded.refresh_token_expires_at, \
     updated_at = excluded.updated_at",
    "INSERT INTO ims_token_cache (context_name, access_token, access_token_expires_at, \
     refresh_token, refresh_token_expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE access_token = VALUES(access_token), \
     access_token_expires_at = VALUES(access_token_expires_at), \
     refresh_token = VALUES(refresh_token), \
     refresh_token_expires_at = VALUES(refresh_token_expires_at), \
     updated_at = VALUES(updated_at)",
);
static CLEAR: Sql = Sql::new(
    "UPDATE ims_token_cache SET access_token = NULL, access_token_expires_at = NULL, \
     refresh_token = NULL, refresh_token_expires_at = NULL, updated_at = $1 \
     WHERE context_name = $2",
);
static ENSURE_ROW: Sql = Sql::with_mysql(
    "INSERT INTO ims_token_cache (context_name, updated_at) VALUES ($1, $2) \
     ON CONFLICT (context_name) DO NOTHING",
    "INSERT INTO ims_token_cache (context_name, updated_at) VALUES (?, ?) \
     ON DUPLICATE KEY UPDATE context_name = context_name",
);
static TAKE_LEASE: Sql = Sql::new(
    "UPDATE ims_token_cache SET lease_holder = $1, lease_expires_at = $2 \
     WHERE context_name = $3 AND (lease_holder IS NULL OR lease_holder = $4 \
     OR lease_expires_at IS NULL OR lease_expires_at <= $5)",
);
static RELEASE_LEASE: Sql = Sql::new(
    "UPDATE ims_token_cache SET lease_holder = NULL, lease_expires_at = NULL \
     WHERE context_name = $1 AND lease_holder = $2",
);

/// The token provider's cache in a SQL table shared by every instance on the
/// database, as a [`TokenCache`]. Cheap to clone.
///
/// Tokens are encrypted at rest; storing a token without a configured key is
/// a `Misconfigured` error (a fleet sharing tokens needs the key anyway).
/// The lease is taken with one conditional `UPDATE`, so two instances never
/// both hold it; its expiry is timed by the store's clock.
#[derive(Clone)]
pub struct SqlTokenCache {
    inner: Arc<StoreContext>,
}

impl fmt::Debug for SqlTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlTokenCache")
            .field("store", &self.inner)
            .finish()
    }
}

impl SqlTokenCache {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlTokenCache { inner }
    }
}

#[async_trait]
impl TokenCache for SqlTokenCache {
    async fn load(&self, context: &ContextName) -> Result<ContextTokens> {
        let Some(row) = self
            .inner
            .pool
            .fetch_optional(
                "load a context's cached tokens",
                &LOAD,
                &[Value::text(context.as_str())],
            )
            .await?
        else {
            return Ok(ContextTokens::default());
        };
        let sealer = &self.inner.sealer;
        let name = context.as_str();
        let access = sealer.open(
            "a cached access token",
            row.opt_bytes(0)?,
            &aad(TABLE, "access_token", name),
        )?;
        let refresh = sealer.open(
            "a cached refresh token",
            row.opt_bytes(2)?,
            &aad(TABLE, "refresh_token", name),
        )?;
        let mut tokens = ContextTokens::default();
        if let (Some(token), Some(expires_at)) = (access, row.opt_time(1)?) {
            tokens.access_token = Some(ExpiringToken::new(AccessToken::new(token), expires_at));
        }
        if let (Some(token), Some(expires_at)) = (refresh, row.opt_time(3)?) {
            tokens.refresh_token = Some(ExpiringToken::new(RefreshToken::new(token), expires_at));
        }
        Ok(tokens)
    }

    async fn store(&self, context: &ContextName, tokens: &ContextTokens) -> Result<()> {
        let sealer = &self.inner.sealer;
        let name = context.as_str();
        let access = tokens.access_token.as_ref();
        let refresh = tokens.refresh_token.as_ref();
        let sealed_access = sealer.seal(
            "a cached access token",
            access.map(|t| t.token.expose_secret()),
            &aad(TABLE, "access_token", name),
        )?;
        let sealed_refresh = sealer.seal(
            "a cached refresh token",
            refresh.map(|t| t.token.expose_secret()),
            &aad(TABLE, "refresh_token", name),
        )?;
        let now = self.inner.clock.now();
        self.inner
            .pool
            .execute(
                "store a context's tokens",
                &STORE,
                &[
                    Value::text(name),
                    Value::Bytes(sealed_access),
                    Value::opt_time(access.map(|t| t.expires_at)),
                    Value::Bytes(sealed_refresh),
                    Value::opt_time(refresh.map(|t| t.expires_at)),
                    Value::time(now),
                ],
            )
            .await?;
        Ok(())
    }

    async fn clear(&self, context: &ContextName) -> Result<()> {
        let now = self.inner.clock.now();
        self.inner
            .pool
            .execute(
                "clear a context's cached tokens",
                &CLEAR,
                &[Value::time(now), Value::text(context.as_str())],
            )
            .await?;
        Ok(())
    }

    async fn try_lease(&self, context: &ContextName, holder: &str, ttl: Duration) -> Result<bool> {
        const WHAT: &str = "take a context's token lease";
        let now = self.inner.clock.now();
        let until =
            now.saturating_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX));
        let name = context.as_str();
        let pool = &self.inner.pool;
        pool.execute(WHAT, &ENSURE_ROW, &[Value::text(name), Value::time(now)])
            .await?;
        let taken = pool
            .execute(
                WHAT,
                &TAKE_LEASE,
                &[
                    Value::text(holder),
                    Value::Int(millis(until)),
                    Value::text(name),
                    Value::text(holder),
                    Value::time(now),
                ],
            )
            .await?;
        Ok(taken == 1)
    }

    async fn release_lease(&self, context: &ContextName, holder: &str) -> Result<()> {
        self.inner
            .pool
            .execute(
                "release a context's token lease",
                &RELEASE_LEASE,
                &[Value::text(context.as_str()), Value::text(holder)],
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_well_formed() {
        use super::*;
        crate::db::assert_statements_well_formed(&[
            &LOAD,
            &STORE,
            &CLEAR,
            &ENSURE_ROW,
            &TAKE_LEASE,
            &RELEASE_LEASE,
        ]);
    }
}
