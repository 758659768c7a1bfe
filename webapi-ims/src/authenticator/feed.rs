//! Following the fleet's change feed: what each [`FeedEvent`] does to the
//! authenticator's caches, and the task that applies them as they come.
//!
//! An authenticator that follows no feed trusts its hot cache for
//! `hot_cache_ttl` and its settings for `settings_ttl`, so a change made on
//! another instance is seen only when they expire. Following the feed
//! makes such a change reach this instance as soon as the event does; when
//! the feed is lost it re-reads what it trusts every `unfollowed_reread`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ims_api::{Change, ChangeFeed, FeedEvent};
use tokio::task::JoinHandle;

use super::WebApiAuthenticator;

/// The first wait before subscribing again after a failed subscription.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between subscription attempts.
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Why [`WebApiAuthenticator::follow_changes`] could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// It was called outside a Tokio runtime, which the follower's task
    /// needs.
    #[error("following the change feed needs a Tokio runtime")]
    NoRuntime,
}

impl WebApiAuthenticator {
    /// Applies one event of the fleet's change feed (see
    /// [`ims_api::ChangeFeed`]) to the caches; [`follow_changes`](Self::follow_changes)
    /// calls it for every event. Never does I/O and never calls IMS:
    /// whatever becomes stale is read again from the host's storage on its
    /// next request.
    ///
    /// - `Changed(Admin(id))`: that admin's accepted tokens are read again
    ///   (their record and the admin) on their next request — not refused:
    ///   the change may be an unlock.
    /// - `Changed(Settings)`: the settings are read again on the next
    ///   request (a new client or organization then clears the caches, as
    ///   without a feed).
    /// - `Lost`: until the next `Resumed`, no accepted token and no
    ///   settings are trusted longer than [`WebApiConfig::unfollowed_reread`](crate::WebApiConfig::unfollowed_reread)
    ///   after they were read.
    /// - `Resumed`: every accepted token and the settings become stale at
    ///   once (O(1); nothing is dropped, so no IMS call follows), then the
    ///   feed is trusted again.
    /// - A change or an event this version does not know: everything
    ///   becomes stale, as at `Resumed`, but a lost feed stays lost (an
    ///   unknown event does not say the feed is live).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use webapi_ims::{WebApiAuthenticator, WebApiConfig};
    /// use webapi_ims::ims_api::{AdminUserId, Change, FeedEvent};
    ///
    /// # fn example(auth: Arc<WebApiAuthenticator>) {
    /// // A host that reads the feed itself hands each event over:
    /// auth.apply(&FeedEvent::Resumed);
    /// auth.apply(&FeedEvent::Changed(Change::Admin(AdminUserId(7))));
    /// # }
    /// ```
    pub fn apply(&self, event: &FeedEvent) {
        match event {
            FeedEvent::Changed(Change::Admin(admin)) => {
                let staled = self.memory.stale_admin(admin.0);
                tracing::debug!(
                    admin_user_id = admin.0,
                    tokens = staled,
                    "change feed: an admin changed, their Web API tokens are read again"
                );
            }
            FeedEvent::Changed(Change::Settings) => {
                self.stale_settings();
                tracing::debug!("change feed: the IMS settings changed, they are read again");
            }
            FeedEvent::Lost => {
                self.memory.lose_feed();
                tracing::warn!(
                    reread_ms = self.config.unfollowed_reread.as_millis(),
                    "change feed lost: Web API tokens and settings are read again at every interval"
                );
            }
            FeedEvent::Resumed => {
                self.memory.stale_all(true);
                self.stale_settings();
                tracing::info!("change feed live: every cached Web API token is read again once");
            }
            unknown => {
                self.memory.stale_all(false);
                self.stale_settings();
                tracing::info!(
                    "change feed: an event this version does not know ({unknown:?}): \
                     every cached Web API token is read again once"
                );
            }
        }
    }

    /// Follows the fleet's change feed: subscribes to `feed` in a spawned
    /// task and [`apply`](Self::apply)s every event, until the returned
    /// [`ChangeFollower`] is stopped or dropped. A subscription that cannot
    /// be made is treated as `Lost` and tried again, with a backoff from
    /// 100 ms to 5 s; once made, a subscription reports its own losses.
    ///
    /// The authenticator is in the lost state from this call until the
    /// feed's first `Resumed` (a subscription starts lost), and again
    /// after the follower stops: it never trusts what it cannot hear about.
    /// Follow one feed at a time.
    ///
    /// Every instance of a fleet that shares one database must follow its
    /// feed: an instance that does not keeps today's behaviour, where a
    /// change made elsewhere is seen only after `hot_cache_ttl` (tokens) or
    /// `settings_ttl` (the settings).
    ///
    /// # Errors
    ///
    /// [`FollowError::NoRuntime`] outside a Tokio runtime.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use webapi_ims::{WebApiAuthenticator, WebApiConfig};
    /// use webapi_ims::ims_api::ChangeFeed;
    ///
    /// # async fn example(auth: Arc<WebApiAuthenticator>, feed: Arc<dyn ChangeFeed>) {
    /// // At start-up, with the store's feed (ims-store: `Store::change_feed()`).
    /// let follower = auth.follow_changes(feed).expect("inside a Tokio runtime");
    /// // … serve requests; keep `follower` alive as long as `auth` serves.
    /// follower.stop();
    /// # }
    /// ```
    pub fn follow_changes(
        self: &Arc<Self>,
        feed: Arc<dyn ChangeFeed>,
    ) -> Result<ChangeFollower, FollowError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| FollowError::NoRuntime)?;
        self.memory.lose_feed();
        let auth = Arc::downgrade(self);
        let task = runtime.spawn(follow(auth.clone(), feed));
        Ok(ChangeFollower {
            task: Some(task),
            auth,
        })
    }
}

/// Subscribes (again and again until it works) and applies every event
/// while the authenticator lives.
async fn follow(auth: Weak<WebApiAuthenticator>, feed: Arc<dyn ChangeFeed>) {
    let mut retry = FIRST_RETRY;
    let mut subscription = loop {
        match feed.subscribe().await {
            Ok(subscription) => break subscription,
            Err(err) => {
                let Some(alive) = auth.upgrade() else { return };
                alive.apply(&FeedEvent::Lost);
                drop(alive);
                tracing::warn!(
                    retry_ms = retry.as_millis(),
                    "could not subscribe to the change feed: {err}"
                );
                tokio::time::sleep(retry).await;
                retry = retry.saturating_mul(2).min(LAST_RETRY);
            }
        }
    };
    // A subscription never ends: a broken connection is an event (`Lost`),
    // and so is its return (`Resumed`).
    loop {
        let event = subscription.next().await;
        let Some(auth) = auth.upgrade() else { return };
        auth.apply(&event);
    }
}

/// The task that follows a change feed (see
/// [`WebApiAuthenticator::follow_changes`]). Stopping it, or dropping it,
/// ends the task and leaves the authenticator in the lost state.
#[derive(Debug)]
#[must_use = "dropping the follower stops following the feed"]
pub struct ChangeFollower {
    task: Option<JoinHandle<()>>,
    auth: Weak<WebApiAuthenticator>,
}

impl ChangeFollower {
    /// Stops following: the task ends, and the authenticator no longer
    /// trusts anything longer than `unfollowed_reread`.
    pub fn stop(self) {
        drop(self);
    }

    /// Whether the task still runs (it ends only when stopped, or when the
    /// authenticator is gone).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }
}

impl Drop for ChangeFollower {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(auth) = self.auth.upgrade() {
            auth.memory.lose_feed();
        }
    }
}
