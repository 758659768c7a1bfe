//! What wakes a subscription, and how a wait fails: below both
//! `subscription` (which waits) and `redis` (which builds Redis wake-ups).

use std::time::Duration;

#[cfg(feature = "redis")]
use futures_util::StreamExt as _;

/// What wakes a subscription besides changes made through its own store.
pub(crate) enum Wake {
    /// The database: PostgreSQL's notifications (with a safety poll), else
    /// polling.
    Database,
    /// Redis pub/sub messages, with a safety poll of the database.
    #[cfg(feature = "redis")]
    Redis(RedisWake),
}

/// A read or connection failed, or took too long.
pub(super) struct Down;

/// `future`, failed as [`Down`] when it errs or outlasts `limit`.
pub(super) async fn within<T, E>(
    limit: Duration,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, Down> {
    match tokio::time::timeout(limit, future).await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(Down),
    }
}

#[cfg(feature = "redis")]
/// A subscription's Redis side: its own pub/sub connection.
pub(crate) struct RedisWake {
    pub(super) client: redis::Client,
    pub(super) channel: String,
    pub(super) stream: Option<redis::aio::PubSubStream>,
}

#[cfg(feature = "redis")]
impl RedisWake {
    /// Subscribes (before the subscription reads the epoch, so that no
    /// change falls between the two).
    pub(super) async fn connect(&mut self, limit: Duration) -> std::result::Result<(), Down> {
        let mut pubsub = within(limit, self.client.get_async_pubsub()).await?;
        within(limit, pubsub.subscribe(&self.channel)).await?;
        self.stream = Some(pubsub.into_on_message());
        Ok(())
    }

    pub(super) fn disconnect(&mut self) {
        self.stream = None;
    }

    /// Waits for a message; `Down` when the connection is gone.
    pub(super) async fn woken(&mut self) -> std::result::Result<(), Down> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Down);
        };
        match stream.next().await {
            Some(_) => Ok(()),
            None => Err(Down),
        }
    }
}
