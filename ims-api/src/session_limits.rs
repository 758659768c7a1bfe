//! The budgets of an admin session store: see [`SessionLimits`].

use std::time::Duration;

/// The budgets of an admin session store: admin-ims's in-memory
/// `BoundedSessionStore` (one process) and ims-store's `SqlSessionStore`
/// (shared by every instance on its database, which should all use the same
/// limits) take the same ones.
///
/// A store tells **pending** sessions (sign-ins in flight, nobody signed in:
/// all an anonymous visitor can make) from **established** ones (a
/// signed-in admin, or host data) and keeps each class within its own
/// budget, so that a flood of anonymous sign-in starts never evicts a
/// signed-in admin. Plain data: the stores do the weighing.
///
/// ```
/// use std::time::Duration;
/// use ims_api::SessionLimits;
///
/// let limits = SessionLimits::default().with_pending_ttl(Duration::from_secs(300));
/// assert_eq!(limits.pending_bytes, 8 << 20);
/// assert_eq!(limits.established_bytes, 32 << 20);
/// assert_eq!(limits.pending_ttl, Duration::from_secs(300));
/// assert_eq!(limits.max_session_bytes, 64 << 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    /// Bytes all pending sessions (sign-ins in flight, nobody signed in)
    /// may weigh together (default 8 MiB: some 15,000 sign-ins in flight
    /// with short return paths, 3,500 with the longest).
    pub pending_bytes: usize,
    /// Bytes all established sessions (a signed-in admin, or host data) may
    /// weigh together (default 32 MiB).
    pub established_bytes: usize,
    /// How long a pending session lives after its last write (default
    /// 600 s, admin-ims's default state TTL: give it the sign-in's
    /// `AdminImsConfig::state_ttl`).
    pub pending_ttl: Duration,
    /// The most one session may weigh (default 64 KiB); a bigger one is
    /// refused with an error.
    pub max_session_bytes: usize,
}

impl SessionLimits {
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

    /// With this lifetime for pending sessions (use the sign-in's
    /// `AdminImsConfig::state_ttl`: a state is useless afterwards).
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

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            pending_bytes: 8 << 20,
            established_bytes: 32 << 20,
            pending_ttl: Duration::from_secs(600),
            max_session_bytes: 64 << 10,
        }
    }
}
