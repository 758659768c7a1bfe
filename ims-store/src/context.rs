//! What every repository of a [`Store`](crate::Store) shares: the pool, the
//! sealer, the clock, the password hasher and the commit signal. Below
//! `store` (which builds it) and the repositories (which use it), so that
//! neither imports the other.

use std::fmt;
use std::sync::Arc;

use ims_api::Clock;

use crate::crypto::Sealer;
use crate::db::Pool;
use crate::hashing::HashLimiter;

/// The cost of the argon2id hashes of `admin_user` passwords.
///
/// The default is OWASP's recommendation for argon2id (19 MiB, 2 passes,
/// 1 lane). Hashes record their own parameters, so changing the cost later
/// still verifies old hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordHashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordHashCost {
    fn default() -> Self {
        PasswordHashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordHashCost {
    /// A custom cost.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        PasswordHashCost {
            memory_kib,
            iterations,
            parallelism,
        }
    }

    /// The cheapest cost argon2 accepts: for tests only, never production.
    pub fn insecure_for_tests() -> Self {
        PasswordHashCost {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// The state a [`Store`](crate::Store) and its repositories share.
pub(crate) struct StoreContext {
    pub(crate) pool: Pool,
    pub(crate) sealer: Sealer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) password_hash_cost: PasswordHashCost,
    pub(crate) hasher: HashLimiter,
    /// Bumped after each committed transaction that logged a change: wakes
    /// this store's change-feed subscriptions (and a Redis publisher).
    pub(crate) committed: tokio::sync::watch::Sender<u64>,
}

impl fmt::Debug for StoreContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.pool.backend())
            .field(
                "encryption_key",
                &self.sealer.has_key().then_some("[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}
