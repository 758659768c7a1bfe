//! A subscription to the change log: connects, reads the epoch, waits for
//! a wake-up (a timer, a PostgreSQL notification, a Redis message, a change
//! committed through the same store), reads the log when the epoch moved,
//! and reports a failing connection as `Lost` and its return as `Resumed`.
//!
//! Everything happens inside [`ChangeSubscription::next`]: nothing runs
//! while nobody asks for events, and dropping the subscription closes its
//! connections. State changes only after a read completed, so a `next`
//! cancelled half-way loses nothing.

// Built without a server backend, the listener and connection machinery is
// idle (the wake-up choice, `&mut` readers that only SQLite's pool reads).
#![cfg_attr(not(feature = "postgres"), allow(dead_code))]
#![cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(clippy::needless_pass_by_ref_mut)
)]

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{ChangeSubscription, FeedEvent};
use tokio::sync::watch;
use tokio::time::Instant;

use super::FeedOptions;
use super::log::{READ_EPOCH, decode, read_log};
use super::wake::{Down, Wake, within};
use crate::context::StoreContext;
use crate::db::{Backend, Pool};

/// More changes than this behind: drop everything instead of reading them.
const MAX_BATCH: i64 = 1000;

/// A log row: epoch, kind, admin user id.
type LogRow = (i64, String, Option<i64>);

/// How the subscription reads the log.
enum Reader {
    /// Through the store's pool (SQLite: another connection may be another
    /// in-memory database).
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// Through a connection of its own, so that a dropped one is noticed.
    #[cfg(feature = "mysql")]
    MySql {
        options: Arc<sqlx::mysql::MySqlConnectOptions>,
        conn: Option<sqlx::MySqlConnection>,
    },
    /// Through its listener's connection, which also receives the
    /// notifications.
    #[cfg(feature = "postgres")]
    Postgres {
        pool: sqlx::PgPool,
        listener: Option<sqlx::postgres::PgListener>,
    },
}

pub(crate) struct SqlSubscription {
    inner: Arc<StoreContext>,
    options: FeedOptions,
    reader: Reader,
    wake: Wake,
    /// Bumped when a change commits through this store.
    local: watch::Receiver<u64>,
    /// The last epoch read; `None` before the first read.
    last: Option<i64>,
    live: bool,
    /// Whether it tried to connect before (the first try does not wait).
    tried: bool,
    backoff: Duration,
    pending: VecDeque<FeedEvent>,
    next_prune: Instant,
    /// The poll (or safety-poll) period: periodic, whenever `next` is
    /// called, so a change waits at most one period.
    ticker: tokio::time::Interval,
}

impl fmt::Debug for SqlSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSubscription")
            .field("backend", &self.inner.pool.backend())
            .field("live", &self.live)
            .field("last_epoch", &self.last)
            .finish_non_exhaustive()
    }
}

/// Evaluates `$read` with `$executor` bound to `$reader`'s connection (the
/// pool on SQLite, the reader's own connection elsewhere): one query text,
/// each backend's executor type. [`Down`] when the reader has no connection.
macro_rules! on_reader {
    ($reader:expr, $executor:ident => $read:expr) => {
        match $reader {
            #[cfg(feature = "sqlite")]
            Reader::Sqlite(ref pool) => {
                let $executor = pool;
                $read
            }
            #[cfg(feature = "mysql")]
            Reader::MySql { ref mut conn, .. } => match conn {
                Some($executor) => $read,
                None => Err(Down),
            },
            #[cfg(feature = "postgres")]
            Reader::Postgres {
                ref mut listener, ..
            } => match listener {
                Some($executor) => $read,
                None => Err(Down),
            },
        }
    };
}

impl SqlSubscription {
    pub(crate) fn new(inner: Arc<StoreContext>, options: FeedOptions, wake: Wake) -> Self {
        let reader = match inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(ref pool) => Reader::Sqlite(pool.clone()),
            #[cfg(feature = "mysql")]
            Pool::MySql(ref pool) => Reader::MySql {
                options: pool.connect_options(),
                conn: None,
            },
            #[cfg(feature = "postgres")]
            Pool::Postgres(ref pool) => Reader::Postgres {
                pool: pool.clone(),
                listener: None,
            },
        };
        let local = inner.committed.subscribe();
        let notified = match wake {
            Wake::Database => options.listen && inner.pool.backend() == Backend::Postgres,
            #[cfg(feature = "redis")]
            Wake::Redis(_) => true,
        };
        let period = if notified {
            options.safety_interval
        } else {
            options.poll_interval
        };
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let backoff = options.poll_interval.min(options.max_backoff);
        SqlSubscription {
            inner,
            options,
            reader,
            wake,
            local,
            last: None,
            live: false,
            tried: false,
            backoff,
            pending: VecDeque::new(),
            next_prune: Instant::now() + options.prune_interval,
            ticker,
        }
    }

    /// Whether the database itself wakes this subscription (PostgreSQL's
    /// notifications).
    fn listens(&self) -> bool {
        matches!(self.wake, Wake::Database)
            && self.options.listen
            && self.inner.pool.backend() == Backend::Postgres
    }

    /// Connects (a connection of its own, the listener, Redis) and reads
    /// the epoch: from here on, every change is seen.
    async fn connect(&mut self) -> Result<(), Down> {
        #[cfg(any(feature = "mysql", feature = "postgres", feature = "redis"))]
        let limit = self.options.timeout;
        #[cfg(feature = "postgres")]
        let listens = self.listens();
        match self.reader {
            #[cfg(feature = "sqlite")]
            Reader::Sqlite(_) => {}
            #[cfg(feature = "mysql")]
            Reader::MySql {
                ref options,
                ref mut conn,
            } => {
                use sqlx::ConnectOptions as _;
                *conn = Some(within(limit, options.connect()).await?);
            }
            #[cfg(feature = "postgres")]
            Reader::Postgres {
                ref pool,
                ref mut listener,
            } => {
                // A pool of its own, of one connection: the listener then
                // neither takes a connection from the store's pool nor holds
                // up its `close`.
                let own = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(limit)
                    .connect_lazy_with((*pool.connect_options()).clone());
                let mut new = within(limit, sqlx::postgres::PgListener::connect_with(&own)).await?;
                // A lost connection is ours to report, not to hide.
                new.eager_reconnect(false);
                if listens {
                    let channel: String = within(
                        limit,
                        sqlx::query_scalar(super::log::PG_CHANNEL).fetch_one(&mut new),
                    )
                    .await?;
                    within(limit, new.listen(&channel)).await?;
                }
                *listener = Some(new);
            }
        }
        #[cfg(feature = "redis")]
        if let Wake::Redis(ref mut wake) = self.wake {
            wake.connect(limit).await?;
        }
        // Listening before this read: a change committed after it is
        // notified, one before it is within the epoch read.
        let epoch = self.read_epoch().await?;
        self.last = Some(epoch);
        Ok(())
    }

    fn disconnect(&mut self) {
        match self.reader {
            #[cfg(feature = "sqlite")]
            Reader::Sqlite(_) => {}
            #[cfg(feature = "mysql")]
            Reader::MySql { ref mut conn, .. } => *conn = None,
            #[cfg(feature = "postgres")]
            Reader::Postgres {
                ref mut listener, ..
            } => *listener = None,
        }
        #[cfg(feature = "redis")]
        if let Wake::Redis(ref mut wake) = self.wake {
            wake.disconnect();
        }
    }

    async fn read_epoch(&mut self) -> Result<i64, Down> {
        let limit = self.options.timeout;
        on_reader!(self.reader, executor => {
            let read = sqlx::query_scalar::<_, i64>(READ_EPOCH).fetch_one(executor);
            within(limit, read).await
        })
    }

    async fn read_log(&mut self, after: i64, upto: i64) -> Result<Vec<LogRow>, Down> {
        let limit = self.options.timeout;
        let text = read_log(self.inner.pool.backend());
        on_reader!(self.reader, executor => {
            let read = sqlx::query_as::<_, LogRow>(text)
                .bind(after)
                .bind(upto)
                .fetch_all(executor);
            within(limit, read).await
        })
    }

    /// Waits for a reason to read the epoch: the poll interval, or a
    /// notification (with the safety interval as the longest wait), or a
    /// change committed through this store.
    async fn wait(&mut self) -> Result<(), Down> {
        #[cfg(feature = "postgres")]
        let listens = self.listens();
        let ticker = &mut self.ticker;
        let local = &mut self.local;
        let local_change = async move {
            if local.changed().await.is_err() {
                // The store is gone (it cannot be while we hold it): wait.
                std::future::pending::<()>().await;
            }
        };
        #[cfg(feature = "postgres")]
        if listens
            && let Reader::Postgres {
                ref mut listener, ..
            } = self.reader
        {
            let Some(listener) = listener else {
                return Err(Down);
            };
            return tokio::select! {
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => {
                        // Several commits, one read.
                        while listener.next_buffered().is_some() {}
                        Ok(())
                    }
                    Ok(None) | Err(_) => Err(Down),
                },
                () = local_change => Ok(()),
                _ = ticker.tick() => Ok(()),
            };
        }
        #[cfg(feature = "redis")]
        if let Wake::Redis(ref mut wake) = self.wake {
            return tokio::select! {
                woken = wake.woken() => woken,
                () = local_change => Ok(()),
                _ = ticker.tick() => Ok(()),
            };
        }
        tokio::select! {
            () = local_change => {},
            _ = ticker.tick() => {},
        }
        Ok(())
    }

    /// Reads the epoch and, when it moved, the log: queues what changed, or
    /// `Resumed` when changes are missing (pruned, too many, unknown).
    async fn poll(&mut self) -> Result<(), Down> {
        let current = self.read_epoch().await?;
        let Some(last) = self.last else {
            self.last = Some(current);
            return Ok(());
        };
        if current == last {
            return Ok(());
        }
        if current < last || current - last > MAX_BATCH {
            // A restored database, or too far behind: start over.
            self.last = Some(current);
            self.pending.push_back(FeedEvent::Resumed);
            return Ok(());
        }
        let rows = self.read_log(last, current).await?;
        let complete = i64::try_from(rows.len()).is_ok_and(|n| n == current - last)
            && rows
                .iter()
                .zip(last + 1..)
                .all(|((epoch, _, _), expected)| *epoch == expected);
        let changes: Option<Vec<_>> = complete
            .then(|| {
                rows.iter()
                    .map(|(_, kind, admin)| decode(kind, *admin))
                    .collect()
            })
            .flatten();
        match changes {
            Some(changes) => self
                .pending
                .extend(changes.into_iter().map(FeedEvent::Changed)),
            None => self.pending.push_back(FeedEvent::Resumed),
        }
        self.last = Some(current);
        Ok(())
    }

    /// Prunes the log when it is time (failures are left to the next read
    /// to report).
    async fn prune_when_due(&mut self) {
        if Instant::now() < self.next_prune {
            return;
        }
        self.next_prune = Instant::now() + self.options.prune_interval;
        let _ = tokio::time::timeout(
            self.options.timeout,
            super::prune(&self.inner, self.options.retention),
        )
        .await;
    }

    fn lost(&mut self) {
        self.live = false;
        self.disconnect();
        self.pending.push_back(FeedEvent::Lost);
    }
}

#[async_trait]
impl ChangeSubscription for SqlSubscription {
    async fn next(&mut self) -> FeedEvent {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            if self.live {
                let polled = match self.wait().await {
                    Ok(()) => {
                        self.prune_when_due().await;
                        self.poll().await
                    }
                    Err(Down) => Err(Down),
                };
                if polled.is_err() {
                    self.lost();
                }
            } else {
                if self.tried {
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(self.options.max_backoff);
                }
                self.tried = true;
                match self.connect().await {
                    Ok(()) => {
                        self.live = true;
                        self.backoff = self.options.poll_interval.min(self.options.max_backoff);
                        self.pending.push_back(FeedEvent::Resumed);
                    }
                    Err(Down) => self.disconnect(),
                }
            }
        }
    }
}
