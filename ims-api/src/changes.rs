//! The change feed: how the instances of a fleet tell each other what
//! they may have cached has changed (see [`ChangeFeed`]).

use std::fmt;

use async_trait::async_trait;

use crate::{AdminUserId, Result};

/// Something changed that other instances may have cached.
///
/// Consumers must treat a variant they do not know as "anything may have
/// changed" (drop every cache): the enum is `#[non_exhaustive]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Change {
    /// The integration's settings changed: enabled, disabled, client id,
    /// organization or credentials.
    Settings,
    /// Something about one admin user changed: locked, unlocked,
    /// activated, deactivated, role, e-mail address, deleted, or their Web
    /// API tokens revoked.
    Admin(AdminUserId),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Settings => f.write_str("settings"),
            Change::Admin(id) => write!(f, "admin {}", id.0),
        }
    }
}

/// What a [`ChangeSubscription`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedEvent {
    /// A change, delivered after the data that changed is readable.
    Changed(Change),
    /// The feed lost contact (connection dropped, poll failing): changes
    /// may be missed until [`Resumed`](Self::Resumed). The consumer stops
    /// trusting its caches beyond a short re-read interval.
    Lost,
    /// The feed is live (again). What happened before is not known: the
    /// consumer drops or re-reads everything it cached, then trusts the
    /// feed. Also the first event of a healthy subscription.
    Resumed,
}

/// A live subscription to a [`ChangeFeed`].
#[async_trait]
pub trait ChangeSubscription: Send + fmt::Debug {
    /// Waits for the next event. A subscription never ends on its own: a
    /// broken connection is reported as [`FeedEvent::Lost`], and
    /// [`FeedEvent::Resumed`] follows once it is re-established.
    async fn next(&mut self) -> FeedEvent;
}

/// The change feed: how the instances of a fleet that share one database
/// tell each other that something they may have cached has changed.
///
/// An instance caches what it decided (a token accepted, the settings, an
/// admin found usable) so that a request costs no database read. On its
/// own that makes a change made on another instance — a revocation, the
/// integration disabled, an admin locked — reach this one only when its
/// cache expires. A [`ChangeFeed`] carries those changes to every instance
/// as they happen, so caches can be long and still never stale for more
/// than the feed's delay.
///
/// The contract has two halves:
///
/// - [`ChangeFeed::publish`] announces a [`Change`]. Stores that record
///   changes together with the data (`ims-store` does, in the same
///   transaction) announce their own; `publish` is for changes a host
///   makes elsewhere.
/// - [`ChangeFeed::subscribe`] yields [`FeedEvent`]s. A subscription starts
///   *lost*: until its first [`FeedEvent::Resumed`] the consumer must not
///   trust its caches beyond a short re-read interval. After a
///   [`FeedEvent::Lost`] the same holds until the next `Resumed`, and at
///   `Resumed` the consumer drops (or re-reads) everything it cached,
///   because what happened while the feed was down is not known.
///
/// ```
/// use ims_api::{AdminUserId, Change, FeedEvent};
///
/// // What a consumer does with each event.
/// fn apply(event: &FeedEvent) -> &'static str {
///     match event {
///         FeedEvent::Changed(Change::Admin(_)) => "forget what was decided for that admin",
///         FeedEvent::Changed(Change::Settings) => "reload the settings",
///         FeedEvent::Changed(_) => "unknown change: drop everything",
///         FeedEvent::Lost => "re-read records on every request until resumed",
///         FeedEvent::Resumed => "drop everything cached, then trust the feed",
///         _ => "unknown event: drop everything",
///     }
/// }
/// assert_eq!(
///     apply(&FeedEvent::Changed(Change::Admin(AdminUserId(7)))),
///     "forget what was decided for that admin"
/// );
/// ```
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Announces a change to every subscriber, this instance's included.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`](crate::Error) or
    /// [`Error::Unavailable`](crate::Error) when the feed cannot record it.
    async fn publish(&self, change: Change) -> Result<()>;

    /// Starts a subscription. It begins lost and reports
    /// [`FeedEvent::Resumed`] once it is live.
    ///
    /// # Errors
    ///
    /// When the feed is misconfigured; a feed that is merely unreachable
    /// returns a subscription that reports [`FeedEvent::Lost`].
    async fn subscribe(&self) -> Result<Box<dyn ChangeSubscription>>;
}
