//! Redis pub/sub wake-ups for the change feed (feature `redis`).
//!
//! The SQL change log stays the record: Redis only carries "the log moved"
//! faster than polling would. A message lost on the way delays a change to
//! the next safety poll of the database; it never loses it.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{Change, ChangeFeed, ChangeSubscription, Error, Result};
use tokio::sync::watch;

use super::SqlChangeFeed;
use super::wake::{RedisWake, Wake};

/// The channel wake-ups go to unless told otherwise.
pub const DEFAULT_REDIS_CHANNEL: &str = "ims_store_changes";

/// How long one Redis publish may take before it is given up (the change is
/// in the log; subscribers see it at their next safety poll).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

/// A [`SqlChangeFeed`] woken through Redis pub/sub, for hosts that run
/// Redis: every change committed through the store (its repositories' and
/// [`publish`](ChangeFeed::publish)'s) is followed by a `PUBLISH` on a
/// channel, and subscriptions read the SQL log when a message arrives — and
/// every [safety interval](SqlChangeFeed::with_safety_interval) anyway, so a
/// lost message only delays a change.
///
/// A subscription reports [`FeedEvent::Lost`](ims_api::FeedEvent::Lost)
/// when its Redis connection drops (or the database fails), and
/// [`FeedEvent::Resumed`](ims_api::FeedEvent::Resumed) once it has
/// subscribed again. The publishing side never fails a mutation: a `PUBLISH`
/// that fails is dropped, and the connection is made again for the next.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ims_api::Result<()> {
/// use ims_api::{ChangeFeed, FeedEvent};
/// use ims_store::{RedisChangeFeed, Store, StoreOptions};
///
/// let store = Store::connect("postgres://app@db/app", StoreOptions::new()).await?;
/// let feed = RedisChangeFeed::connect(store.change_feed(), "redis://127.0.0.1:6379")?;
/// let mut events = feed.subscribe().await?;
/// assert_eq!(events.next().await, FeedEvent::Resumed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisChangeFeed {
    sql: SqlChangeFeed,
    client: redis::Client,
    channel: String,
}

impl fmt::Debug for RedisChangeFeed {
    // The URL may hold a password: only the channel is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisChangeFeed")
            .field("sql", &self.sql)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisChangeFeed {
    /// Wakes `feed`'s subscriptions through Redis at `url`
    /// (`redis://host:port/db`), on [`DEFAULT_REDIS_CHANNEL`], and starts
    /// publishing the store's committed changes there (a task on the
    /// current Tokio runtime, which ends with the store).
    ///
    /// # Errors
    ///
    /// `Misconfigured` for a URL the client refuses, or when called outside
    /// a Tokio runtime. An unreachable server is no error: subscriptions
    /// report it as lost.
    pub fn connect(feed: SqlChangeFeed, url: &str) -> Result<RedisChangeFeed> {
        Self::connect_on(feed, url, DEFAULT_REDIS_CHANNEL)
    }

    /// [`connect`](Self::connect), on a channel of one's own (fleets on
    /// different databases sharing one Redis stay apart; sharing a channel
    /// only costs spurious epoch reads).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_on(feed: SqlChangeFeed, url: &str, channel: &str) -> Result<RedisChangeFeed> {
        // The client's error may quote the URL, password included: not kept.
        let client = redis::Client::open(url)
            .map_err(|_| Error::Misconfigured("the Redis URL is not valid".to_owned()))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Misconfigured("the Redis change feed needs a Tokio runtime".to_owned())
        })?;
        runtime.spawn(publish_commits(
            client.clone(),
            channel.to_owned(),
            feed.inner().committed.subscribe(),
        ));
        Ok(RedisChangeFeed {
            sql: feed,
            client,
            channel: channel.to_owned(),
        })
    }

    /// The channel wake-ups go to.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

#[async_trait]
impl ChangeFeed for RedisChangeFeed {
    async fn publish(&self, change: Change) -> Result<()> {
        // Logged in SQL; the commit wakes the publisher task.
        self.sql.publish(change).await
    }

    async fn subscribe(&self) -> Result<Box<dyn ChangeSubscription>> {
        Ok(Box::new(self.sql.subscription(Wake::Redis(RedisWake {
            client: self.client.clone(),
            channel: self.channel.clone(),
            stream: None,
        }))))
    }
}

/// `PUBLISH`es after each change committed through the store, until the
/// store is gone. Bursts coalesce into one message.
async fn publish_commits(
    client: redis::Client,
    channel: String,
    mut committed: watch::Receiver<u64>,
) {
    let mut connection: Option<redis::aio::MultiplexedConnection> = None;
    while committed.changed().await.is_ok() {
        let count = *committed.borrow_and_update();
        if connection.is_none() {
            connection =
                tokio::time::timeout(PUBLISH_TIMEOUT, client.get_multiplexed_async_connection())
                    .await
                    .ok()
                    .and_then(|connected| connected.ok());
        }
        if let Some(open) = connection.as_mut() {
            let published: std::result::Result<redis::RedisResult<i64>, _> = tokio::time::timeout(
                PUBLISH_TIMEOUT,
                redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(count)
                    .query_async(open),
            )
            .await;
            if !matches!(published, Ok(Ok(_))) {
                connection = None;
            }
        }
    }
}
