//! The bounds of a [`SqlSessionStore`](super::SqlSessionStore) and the rule
//! that tells a pending session from an established one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_sessions_core::session::Record;

/// What one stored session costs beyond its (encrypted) data: the row's
/// other columns, its primary key and its index entries (a generous upper
/// bound, the same figure admin-ims's in-memory store uses).
pub const SESSION_ROW_OVERHEAD: usize = 256;

/// The key under which admin-ims keeps its part of a tower-sessions session
/// (`admin_ims::axum::SESSION_KEY`): what [`PendingRule::admin_ims`] looks
/// at.
pub const ADMIN_IMS_SESSION_KEY: &str = "admin_ims";

/// The budgets of a [`SqlSessionStore`](super::SqlSessionStore), shared by
/// every instance on the database. The defaults are admin-ims's
/// `SessionLimits`' (8 MiB pending, 32 MiB established, 600 s, 64 KiB).
///
/// ```
/// use std::time::Duration;
/// use ims_store::SqlSessionLimits;
///
/// let limits = SqlSessionLimits::default().with_pending_ttl(Duration::from_secs(300));
/// assert_eq!(limits.pending_bytes, 8 << 20);
/// assert_eq!(limits.pending_ttl, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlSessionLimits {
    /// Bytes all pending sessions (sign-ins in flight, nobody signed in)
    /// may weigh together, across the fleet (default 8 MiB).
    pub pending_bytes: usize,
    /// Bytes all established sessions (a signed-in admin, or host data) may
    /// weigh together (default 32 MiB).
    pub established_bytes: usize,
    /// How long a pending session lives after its last write (default 600 s;
    /// use the sign-in's `state_ttl`).
    pub pending_ttl: Duration,
    /// The most one session may weigh (default 64 KiB); a bigger one is
    /// refused with an error.
    pub max_session_bytes: usize,
}

impl SqlSessionLimits {
    /// With this budget for pending sessions.
    pub fn with_pending_bytes(mut self, bytes: usize) -> Self {
        self.pending_bytes = bytes;
        self
    }

    /// With this budget for established sessions.
    pub fn with_established_bytes(mut self, bytes: usize) -> Self {
        self.established_bytes = bytes;
        self
    }

    /// With this lifetime for pending sessions (use admin-ims's
    /// `AdminImsConfig::state_ttl`).
    pub fn with_pending_ttl(mut self, ttl: Duration) -> Self {
        self.pending_ttl = ttl;
        self
    }

    /// With this largest session.
    pub fn with_max_session_bytes(mut self, bytes: usize) -> Self {
        self.max_session_bytes = bytes;
        self
    }
}

impl Default for SqlSessionLimits {
    fn default() -> Self {
        SqlSessionLimits {
            pending_bytes: 8 << 20,
            established_bytes: 32 << 20,
            pending_ttl: Duration::from_secs(600),
            max_session_bytes: 64 << 10,
        }
    }
}

/// Which sessions are **pending**: what an anonymous visitor can make, kept
/// within [`SqlSessionLimits::pending_bytes`] and expiring after
/// [`SqlSessionLimits::pending_ttl`]. Every other session is established.
///
/// The default, [`PendingRule::admin_ims`], is admin-ims's own rule (its
/// `BoundedSessionStore` classifies sessions the same way): a session is
/// pending when it holds nothing but admin-ims's part
/// ([`ADMIN_IMS_SESSION_KEY`]) and nobody is signed in there. Hosts that
/// keep other data in sessions anonymous visitors can start give their own
/// rule with [`PendingRule::new`].
///
/// ```
/// use ims_store::PendingRule;
/// use ims_store::tower_sessions_core::session::{Id, Record};
///
/// let record = Record {
///     id: Id::default(),
///     data: [("admin_ims".to_owned(), serde_json::json!({ "pending": [] }))].into(),
///     expiry_date: time::OffsetDateTime::UNIX_EPOCH,
/// };
/// assert!(PendingRule::admin_ims().is_pending(&record));
/// assert!(!PendingRule::new(|_| false).is_pending(&record));
/// ```
#[derive(Clone)]
pub struct PendingRule(Arc<dyn Fn(&Record) -> bool + Send + Sync>);

impl PendingRule {
    /// A rule of the host's: `pending(record)` says whether the session is
    /// pending. Anything an anonymous visitor can create must be pending, or
    /// a flood of anonymous requests evicts signed-in sessions.
    pub fn new(pending: impl Fn(&Record) -> bool + Send + Sync + 'static) -> Self {
        PendingRule(Arc::new(pending))
    }

    /// admin-ims's rule: every key of the session is admin-ims's
    /// ([`ADMIN_IMS_SESSION_KEY`]), and its `signed_in` is absent or null.
    /// An empty session is pending too.
    pub fn admin_ims() -> Self {
        PendingRule::new(|record| {
            record.data.iter().all(|(key, value)| {
                key == ADMIN_IMS_SESSION_KEY
                    && value
                        .get("signed_in")
                        .is_none_or(serde_json::Value::is_null)
            })
        })
    }

    /// Whether `record` is a pending session.
    pub fn is_pending(&self, record: &Record) -> bool {
        (self.0)(record)
    }
}

impl Default for PendingRule {
    fn default() -> Self {
        PendingRule::admin_ims()
    }
}

impl fmt::Debug for PendingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingRule(..)")
    }
}
