//! The rule that tells a pending session from an established one.

use std::fmt;
use std::sync::Arc;

use tower_sessions_core::session::Record;

/// Which sessions are **pending**: what an anonymous visitor can make, kept
/// within [`SessionLimits::pending_bytes`](ims_api::SessionLimits::pending_bytes)
/// and expiring after
/// [`SessionLimits::pending_ttl`](ims_api::SessionLimits::pending_ttl).
/// Every other session is established.
///
/// The rule belongs to whoever writes the sessions: for admin-ims's,
/// `admin_ims::axum::is_pending_session`
/// (`PendingRule::new(admin_ims::axum::is_pending_session)`); a host that
/// keeps its own data in sessions anonymous visitors can start wraps it
/// with its own keys. This crate cannot depend on admin-ims, keeps no copy
/// of its rule, and has no default: [`Store::sessions`](crate::Store::sessions)
/// takes the rule. Either guess would break the budgets' promise — with
/// every session established, a flood of anonymous sign-in starts fills the
/// established budget and evicts signed-in admins; with every session
/// pending, signed-in admins share the flood's budget (and its
/// `pending_ttl`) and are evicted all the same.
///
/// ```
/// use ims_store::PendingRule;
/// use ims_store::tower_sessions_core::session::{Id, Record};
///
/// // A host's rule: a session is pending until somebody signs in.
/// let rule = PendingRule::new(|record: &Record| !record.data.contains_key("user"));
/// let record = Record {
///     id: Id::default(),
///     data: [("visits".to_owned(), serde_json::json!(1))].into(),
///     expiry_date: time::OffsetDateTime::UNIX_EPOCH,
/// };
/// assert!(rule.is_pending(&record));
/// assert!(!PendingRule::new(|_| false).is_pending(&record));
/// ```
#[derive(Clone)]
pub struct PendingRule(Arc<dyn Fn(&Record) -> bool + Send + Sync>);

impl PendingRule {
    /// A rule: `pending(record)` says whether the session is pending.
    /// Anything an anonymous visitor can create must be pending, or a flood
    /// of anonymous requests evicts signed-in sessions.
    pub fn new(pending: impl Fn(&Record) -> bool + Send + Sync + 'static) -> Self {
        PendingRule(Arc::new(pending))
    }

    /// Whether `record` is a pending session.
    pub fn is_pending(&self, record: &Record) -> bool {
        (self.0)(record)
    }
}

impl fmt::Debug for PendingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingRule(..)")
    }
}
