//! The change feed on the store's own database: the change log that the
//! repositories write in the same transaction as the data, and
//! [`SqlChangeFeed`], which reads it.

mod log;
#[cfg(feature = "redis")]
mod redis;
mod subscription;
mod wake;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{Change, ChangeFeed, ChangeSubscription, Result};

use crate::context::StoreContext;
use crate::db::{TxFuture, Value};

pub(crate) use log::record;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_REDIS_CHANNEL, RedisChangeFeed};
use subscription::SqlSubscription;
use wake::Wake;

/// How often subscriptions read the epoch by default (MySQL/MariaDB, SQLite).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often subscriptions woken by notifications (PostgreSQL's
/// LISTEN/NOTIFY, Redis) read the epoch anyway, in case one was lost.
pub const DEFAULT_SAFETY_INTERVAL: Duration = Duration::from_secs(1);
/// How long logged changes are kept by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(60 * 60);

/// The shortest poll interval accepted: a feed never spins.
const MIN_INTERVAL: Duration = Duration::from_millis(5);

/// The timings of a feed and its subscriptions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeedOptions {
    pub(crate) poll_interval: Duration,
    pub(crate) safety_interval: Duration,
    pub(crate) retention: Duration,
    /// How often a subscription prunes the log.
    pub(crate) prune_interval: Duration,
    /// How long one read (or connect) may take before the feed counts as lost.
    pub(crate) timeout: Duration,
    /// The longest pause between attempts to get back.
    pub(crate) max_backoff: Duration,
    /// PostgreSQL: LISTEN for the writers' notifications.
    pub(crate) listen: bool,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            poll_interval: DEFAULT_POLL_INTERVAL,
            safety_interval: DEFAULT_SAFETY_INTERVAL,
            retention: DEFAULT_RETENTION,
            prune_interval: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
            listen: true,
        }
    }
}

/// The fleet's change feed on the store's database
/// ([`ims_api::ChangeFeed`]), from [`Store::change_feed`](crate::Store::change_feed).
/// Cheap to clone.
///
/// The store's repositories log the changes that other instances may have
/// cached — settings saved, an admin user activated, deactivated, locked
/// (also by too many wrong passwords), unlocked, given another role or
/// e-mail address, or deleted, an admin's Web API tokens invalidated — in the same transaction as the data, so a change
/// is delivered only once its data is readable, and never lost to a writer
/// that commits late. [`publish`](ChangeFeed::publish) logs a change made
/// elsewhere.
///
/// A subscription reads the log from where it left off:
///
/// - **PostgreSQL**: woken by `LISTEN`/`NOTIFY` (the writer notifies at
///   commit), and reading the epoch every
///   [safety interval](Self::with_safety_interval) in case a notification
///   was lost.
/// - **MySQL/MariaDB and SQLite**: reads the one-row epoch every
///   [poll interval](Self::with_poll_interval) (100 ms by default) and the
///   log only when it moved.
///
/// Changes made through the same [`Store`](crate::Store) wake its
/// subscriptions at once on every backend. A failing read or a dropped
/// connection is reported once as [`FeedEvent::Lost`](ims_api::FeedEvent::Lost);
/// the subscription retries with backoff and reports
/// [`FeedEvent::Resumed`](ims_api::FeedEvent::Resumed) when it is back. A
/// subscriber that fell behind further than the log's
/// [retention](Self::with_retention) gets `Resumed` instead of the changes
/// it missed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ims_api::Result<()> {
/// use std::time::Duration;
/// use ims_api::{AdminUserDirectory, Change, ChangeFeed, FeedEvent, NewAdminUser, Password};
/// use ims_store::{Store, StoreOptions};
///
/// let store = Store::connect("sqlite::memory:", StoreOptions::new()).await?;
/// let feed = store.change_feed().with_poll_interval(Duration::from_millis(50));
/// let mut events = feed.subscribe().await?;
/// assert_eq!(events.next().await, FeedEvent::Resumed); // live: trust the feed from here
///
/// let admins = store.admin_users();
/// let pat = admins
///     .create(&NewAdminUser::new("pat", "pat@example.com", "Pat", "P", Password::new("pw")))
///     .await?;
/// admins.set_active(pat.id, false).await?;
/// assert_eq!(events.next().await, FeedEvent::Changed(Change::Admin(pat.id)));
///
/// feed.publish(Change::Settings).await?;
/// assert_eq!(events.next().await, FeedEvent::Changed(Change::Settings));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqlChangeFeed {
    inner: Arc<StoreContext>,
    options: FeedOptions,
}

impl fmt::Debug for SqlChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlChangeFeed")
            .field("store", &self.inner)
            .field("poll_interval", &self.options.poll_interval)
            .field("safety_interval", &self.options.safety_interval)
            .field("retention", &self.options.retention)
            .finish_non_exhaustive()
    }
}

impl SqlChangeFeed {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlChangeFeed {
            inner,
            options: FeedOptions::default(),
        }
    }

    /// How often polling subscriptions (MySQL/MariaDB, SQLite) read the
    /// epoch (default [`DEFAULT_POLL_INTERVAL`]; at least 5 ms). A change's
    /// delay is at most about this long, half of it on average.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.options.poll_interval = interval.max(MIN_INTERVAL);
        self
    }

    /// How often subscriptions woken by notifications (PostgreSQL, Redis)
    /// read the epoch anyway (default [`DEFAULT_SAFETY_INTERVAL`]; at least
    /// 5 ms): the longest a lost notification delays a change.
    pub fn with_safety_interval(mut self, interval: Duration) -> Self {
        self.options.safety_interval = interval.max(MIN_INTERVAL);
        self
    }

    /// How long logged changes are kept (default [`DEFAULT_RETENTION`]),
    /// measured on the store's clock. Subscriptions prune older rows every
    /// few minutes; a subscriber that missed pruned rows gets
    /// [`FeedEvent::Resumed`](ims_api::FeedEvent::Resumed).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.options.retention = retention;
        self
    }

    /// Whether PostgreSQL subscriptions `LISTEN` for the writers'
    /// notifications (default `true`). Without, they poll the epoch every
    /// [poll interval](Self::with_poll_interval) like the other backends:
    /// for connections through a pooler that does not keep a session (such
    /// as PgBouncer in transaction mode), where `LISTEN` does not work.
    pub fn with_listen(mut self, listen: bool) -> Self {
        self.options.listen = listen;
        self
    }

    /// Deletes logged changes older than the retention (on the store's
    /// clock) now; how many. Subscriptions also do this every few minutes.
    ///
    /// # Errors
    ///
    /// `Storage` when the database refuses.
    pub async fn prune(&self) -> Result<u64> {
        prune(&self.inner, self.options.retention).await
    }

    /// The subscription this feed's options make, woken by `wake`.
    fn subscription(&self, wake: Wake) -> SqlSubscription {
        SqlSubscription::new(Arc::clone(&self.inner), self.options, wake)
    }

    #[cfg(feature = "redis")]
    fn inner(&self) -> &Arc<StoreContext> {
        &self.inner
    }
}

/// Deletes changes older than `retention` on the store's clock.
pub(crate) async fn prune(inner: &StoreContext, retention: Duration) -> Result<u64> {
    let retention = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
    let cutoff = inner
        .clock
        .now()
        .checked_sub(retention)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    inner
        .pool
        .execute("prune the change log", &log::PRUNE, &[Value::time(cutoff)])
        .await
}

#[async_trait]
impl ChangeFeed for SqlChangeFeed {
    async fn publish(&self, change: Change) -> Result<()> {
        let at = self.inner.clock.now();
        self.inner
            .changing("publish a change", move |tx| -> TxFuture<'_, ()> {
                let change = change.clone();
                Box::pin(async move {
                    record(tx, &change, at).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn subscribe(&self) -> Result<Box<dyn ChangeSubscription>> {
        Ok(Box::new(self.subscription(Wake::Database)))
    }
}

impl StoreContext {
    /// Runs `body` in a transaction (see [`Pool::transaction`](crate::db::Pool::transaction));
    /// when it logged a change and committed, wakes this store's
    /// subscriptions (and a Redis publisher, if one listens).
    pub(crate) async fn changing<T, F>(&self, what: &'static str, body: F) -> Result<T>
    where
        F: for<'t> FnMut(&'t mut crate::db::Tx) -> TxFuture<'t, T> + Send,
        T: Send,
    {
        let (value, changes) = self.pool.transaction(what, body).await?;
        if changes > 0 {
            self.committed
                .send_modify(|count| *count = count.wrapping_add(1));
        }
        Ok(value)
    }
}
