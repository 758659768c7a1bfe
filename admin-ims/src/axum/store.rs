//! A bounded, expiring in-memory session store for tower-sessions: see
//! [`BoundedSessionStore`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ims_api::{Clock, SessionLimits};
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

use super::SESSION_KEY;
use crate::service::{LOG_TARGET, to_time};

/// What one stored session costs beyond its serialised data: the map slots,
/// the expiry index and the allocations' headers (a generous upper bound).
pub const ENTRY_OVERHEAD: usize = 256;

/// What a [`BoundedSessionStore`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionStoreStats {
    /// Pending sessions.
    pub pending_sessions: usize,
    /// Their weight in bytes (at most [`SessionLimits::pending_bytes`]).
    pub pending_bytes: usize,
    /// Established sessions.
    pub established_sessions: usize,
    /// Their weight in bytes (at most [`SessionLimits::established_bytes`]).
    pub established_bytes: usize,
    /// Sessions evicted to make room since the store was made.
    pub evicted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Pending = 0,
    Established = 1,
}

struct Entry {
    class: Class,
    expires_at: OffsetDateTime,
    seq: u64,
    data: Box<[u8]>,
}

impl Entry {
    fn weight(&self) -> usize {
        self.data.len().saturating_add(ENTRY_OVERHEAD)
    }
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Id, Entry>,
    /// Per class, the sessions by expiry (then age).
    by_expiry: [BTreeMap<(OffsetDateTime, u64), Id>; 2],
    bytes: [usize; 2],
    seq: u64,
    evicted: u64,
}

impl Inner {
    fn remove(&mut self, id: &Id) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        let class = entry.class as usize;
        self.by_expiry[class].remove(&(entry.expires_at, entry.seq));
        self.bytes[class] = self.bytes[class].saturating_sub(entry.weight());
        Some(entry)
    }

    /// Drops every session expired at `now`; how many.
    fn sweep(&mut self, now: OffsetDateTime) -> usize {
        let mut swept = 0;
        for class in [Class::Pending, Class::Established] {
            while let Some((&(expires_at, _), &id)) =
                self.by_expiry[class as usize].first_key_value()
            {
                if expires_at > now {
                    break;
                }
                self.remove(&id);
                swept += 1;
            }
        }
        swept
    }

    /// Evicts `class`'s sessions closest to expiry until `weight` more fits
    /// in `budget`.
    fn make_room(&mut self, class: Class, weight: usize, budget: usize) {
        while self.bytes[class as usize].saturating_add(weight) > budget {
            let Some((_, &id)) = self.by_expiry[class as usize].first_key_value() else {
                break;
            };
            self.remove(&id);
            self.evicted = self.evicted.saturating_add(1);
        }
    }

    fn insert(&mut self, id: Id, entry: Entry) {
        let class = entry.class as usize;
        self.by_expiry[class].insert((entry.expires_at, entry.seq), id);
        self.bytes[class] = self.bytes[class].saturating_add(entry.weight());
        self.entries.insert(id, entry);
    }
}

/// A tower-sessions store in memory with a byte budget for pending
/// sign-ins and another for established sessions, and expiry honoured on
/// load and swept on write.
///
/// tower-sessions' `MemoryStore` keeps every session it is given until the
/// process ends: each cookieless `GET <prefix>/login` adds one, so anonymous
/// requests grow memory without bound. [`BoundedSessionStore`] bounds it by
/// design:
///
/// - Every session is weighed in bytes: its serialised data plus a fixed
///   [`ENTRY_OVERHEAD`] for the store's own bookkeeping, an upper bound of
///   what an entry costs in memory.
/// - Two budgets: **pending** sessions (nothing but sign-ins in flight: what
///   an anonymous visitor can create) and **established** ones (a signed-in
///   admin, or anything the host keeps). A flood of anonymous sign-in starts
///   fills and recycles the pending budget only; it never evicts a signed-in
///   admin.
///   Keep host data out of anonymous visitors' sessions: any key but the
///   admin login's makes a session established.
/// - When a budget is full, its sessions closest to expiry make room (for
///   pending sessions, the oldest sign-ins).
/// - Pending sessions expire after [`SessionLimits::pending_ttl`] (the
///   sign-in's state TTL: the state is useless afterwards); established ones
///   at the expiry tower-sessions gives them. Expiry is honoured on load, and
///   expired sessions are swept on every write.
///
/// The trade-off: while a flood outpaces the pending budget, a real sign-in
/// started before it may have been evicted by the time IMS sends the browser
/// back; the admin sees "Invalid state" and signs in again. Signed-in admins
/// are not affected. The store lives in one process: a fleet of hosts needs a
/// shared store (a database-backed `SessionStore`), with the same budgets.
///
/// Clones share the sessions.
///
/// ```
/// use std::sync::Arc;
/// use admin_ims::axum::{BoundedSessionStore, SessionLimits};
/// use ims_api::SystemClock;
///
/// let store = BoundedSessionStore::new(SessionLimits::default(), Arc::new(SystemClock));
/// assert_eq!(store.stats().pending_sessions, 0);
/// ```
#[derive(Clone)]
pub struct BoundedSessionStore {
    limits: SessionLimits,
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for BoundedSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSessionStore")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Whether a session is **pending**: it holds nothing but admin-ims's part
/// ([`SESSION_KEY`]) and nobody is signed in there — sign-ins in flight, all
/// an anonymous visitor can make. An empty session is pending too; any other
/// key makes a session established.
///
/// The one rule of admin-ims's sessions: [`BoundedSessionStore`] classifies
/// with it, and a shared store takes it from the host (ims-store's
/// `SqlSessionStore`: `store.sessions(PendingRule::new(is_pending_session))`).
///
/// ```
/// use admin_ims::axum::{SESSION_KEY, is_pending_session};
/// use tower_sessions::session::{Id, Record};
///
/// let session = |data: serde_json::Value| Record {
///     id: Id::default(),
///     data: serde_json::from_value(data).unwrap(),
///     expiry_date: time::OffsetDateTime::UNIX_EPOCH,
/// };
/// let started = session(serde_json::json!({ SESSION_KEY: { "pending": [] } }));
/// assert!(is_pending_session(&started));
/// let signed_in = session(serde_json::json!({ SESSION_KEY: { "signed_in": { "admin_id": 1 } } }));
/// assert!(!is_pending_session(&signed_in));
/// let host_data = session(serde_json::json!({ SESSION_KEY: { "pending": [] }, "cart": 3 }));
/// assert!(!is_pending_session(&host_data));
/// ```
pub fn is_pending_session(record: &Record) -> bool {
    record.data.iter().all(|(key, value)| {
        key == SESSION_KEY
            && value
                .get("signed_in")
                .is_none_or(serde_json::Value::is_null)
    })
}

impl BoundedSessionStore {
    /// An empty store with these budgets, reading the time from `clock`.
    pub fn new(limits: SessionLimits, clock: Arc<dyn Clock>) -> Self {
        BoundedSessionStore {
            limits,
            clock,
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// The budgets.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the store holds now.
    pub fn stats(&self) -> SessionStoreStats {
        let inner = self.lock();
        let count = |class: Class| inner.by_expiry[class as usize].len();
        SessionStoreStats {
            pending_sessions: count(Class::Pending),
            pending_bytes: inner.bytes[Class::Pending as usize],
            established_sessions: count(Class::Established),
            established_bytes: inner.bytes[Class::Established as usize],
            evicted: inner.evicted,
        }
    }

    /// Drops the expired sessions now (writes do it too); how many.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        self.lock().sweep(now)
    }

    /// Stores `record` under `id`, or drops it when it has expired. With
    /// `update_only`, only a session the store still holds is written: one
    /// deleted (logout, re-keying, an ended session), expired or evicted
    /// meanwhile stays gone.
    fn put(&self, id: Id, record: &Record, update_only: bool) -> session_store::Result<()> {
        let now = self.clock.now();
        let (class, budget, expires_at) = if is_pending_session(record) {
            let ttl_end = now.saturating_add(to_time(self.limits.pending_ttl));
            (
                Class::Pending,
                self.limits.pending_bytes,
                record.expiry_date.min(ttl_end),
            )
        } else {
            (
                Class::Established,
                self.limits.established_bytes,
                record.expiry_date,
            )
        };
        let data = serde_json::to_vec(&record.data)
            .map_err(|err| session_store::Error::Encode(err.to_string()))?
            .into_boxed_slice();
        let mut inner = self.lock();
        let held = inner
            .entries
            .get(&id)
            .is_some_and(|entry| entry.expires_at > now);
        if update_only && !held {
            return Ok(());
        }
        inner.remove(&id);
        inner.sweep(now);
        if expires_at <= now {
            return Ok(());
        }
        let weight = data.len().saturating_add(ENTRY_OVERHEAD);
        if weight > self.limits.max_session_bytes.min(budget) {
            tracing::error!(target: LOG_TARGET, event = "session_too_large", bytes = weight, "a session is larger than the session store allows");
            return Err(session_store::Error::Backend(format!(
                "a session of {weight} bytes is larger than the store allows"
            )));
        }
        let before = inner.evicted;
        inner.make_room(class, weight, budget);
        if inner.evicted != before && class == Class::Established {
            tracing::warn!(target: LOG_TARGET, event = "session_evicted", evicted = inner.evicted - before, "the established sessions' budget is full: the sessions closest to expiry were dropped");
        }
        inner.seq = inner.seq.wrapping_add(1);
        let seq = inner.seq;
        inner.insert(
            id,
            Entry {
                class,
                expires_at,
                seq,
                data,
            },
        );
        Ok(())
    }
}

#[async_trait]
impl SessionStore for BoundedSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        {
            let inner = self.lock();
            while inner.entries.contains_key(&record.id) {
                record.id = Id::default();
            }
        }
        // A colliding id created meanwhile is overwritten: ids are 128
        // random bits, and the lock is not held across the encoding.
        self.put(record.id, record, false)
    }

    /// Updates a session the store holds. A save for an id it does not hold
    /// is dropped: tower-sessions creates new sessions with `create`, so such
    /// a save comes from a request that loaded the session before it was
    /// deleted (a logout, a sign-in's re-keying, an ended session) and would
    /// bring it back.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.put(record.id, record, true)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get(id) else {
            return Ok(None);
        };
        if entry.expires_at <= now {
            inner.remove(id);
            return Ok(None);
        }
        let data = serde_json::from_slice(&entry.data)
            .map_err(|err| session_store::Error::Decode(err.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: entry.expires_at,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().remove(id);
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for BoundedSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.sweep();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ims_api::ManualClock;
    use serde_json::json;
    use std::time::Duration;

    fn record(data: serde_json::Value, expiry: OffsetDateTime) -> Record {
        Record {
            id: Id::default(),
            data: serde_json::from_value(data).unwrap(),
            expiry_date: expiry,
        }
    }

    fn pending(return_to: &str, expiry: OffsetDateTime) -> Record {
        record(
            json!({ SESSION_KEY: { "pending": [{ "purpose": "Login", "state": "s".repeat(43),
                "verifier": "v".repeat(43), "return_to": return_to,
                "expires_at": "2026-01-01T00:10:00Z" }] } }),
            expiry,
        )
    }

    fn signed_in(expiry: OffsetDateTime) -> Record {
        record(
            json!({ SESSION_KEY: { "signed_in": { "admin_id": 1, "email": "a@example.com",
                "access_token": "t".repeat(1_500), "last_check": "2026-01-01T00:00:00Z" } } }),
            expiry,
        )
    }

    fn store(limits: SessionLimits) -> (BoundedSessionStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        (BoundedSessionStore::new(limits, clock.clone()), clock)
    }

    /// A request that loaded a signed-in session before a logout (or a
    /// sign-in's re-keying, or an ended session) deleted it saves it when it
    /// ends: tower-sessions calls `save` with the old id and the old data.
    /// A stolen cookie kept busy would outlive the victim's logout.
    #[tokio::test]
    async fn a_late_save_does_not_bring_back_a_deleted_session() {
        let (store, clock) = store(SessionLimits::default());
        let far = clock.now() + time::Duration::weeks(2);
        let mut admin = signed_in(far);
        store.create(&mut admin).await.unwrap();
        let loaded_before_logout = store.load(&admin.id).await.unwrap().unwrap();
        store.delete(&admin.id).await.unwrap();
        store.save(&loaded_before_logout).await.unwrap();
        assert!(
            store.load(&admin.id).await.unwrap().is_none(),
            "resurrected"
        );
        // Nor an expired or evicted one, nor an id never created.
        let mut short = signed_in(clock.now() + time::Duration::seconds(10));
        store.create(&mut short).await.unwrap();
        clock.advance(Duration::from_secs(10));
        store.sweep();
        short.expiry_date = far;
        store.save(&short).await.unwrap();
        assert!(store.load(&short.id).await.unwrap().is_none(), "expired");
        let made_up = signed_in(far);
        store.save(&made_up).await.unwrap();
        assert!(store.load(&made_up.id).await.unwrap().is_none(), "made up");
        // An existing session is updated as before.
        let mut kept = pending("/a", far);
        store.create(&mut kept).await.unwrap();
        let upgraded = Record {
            id: kept.id,
            ..signed_in(far)
        };
        store.save(&upgraded).await.unwrap();
        assert_eq!(
            store.load(&kept.id).await.unwrap().unwrap().data,
            upgraded.data
        );
        assert_eq!(store.stats().established_sessions, 1);
    }

    #[tokio::test]
    async fn a_hundred_thousand_pending_sessions_stay_within_the_budget() {
        let (store, clock) = store(SessionLimits::default());
        let far = clock.now() + time::Duration::weeks(2);
        let mut admin = signed_in(far);
        store.create(&mut admin).await.unwrap();
        let long = format!("/{}", "A".repeat(2_000));
        for i in 0..100_000 {
            let mut record = pending(if i % 2 == 0 { &long } else { "/admin" }, far);
            store.create(&mut record).await.unwrap();
            let stats = store.stats();
            assert!(stats.pending_bytes <= 8 << 20, "{i}: {stats:?}");
        }
        let stats = store.stats();
        assert!(stats.pending_sessions > 1_000, "{stats:?}");
        assert_eq!(stats.established_sessions, 1, "the admin was never evicted");
        assert!(store.load(&admin.id).await.unwrap().is_some());
        // The bookkeeping agrees with the entries.
        let inner = store.lock();
        let weight: usize = inner
            .entries
            .values()
            .filter(|e| e.class == Class::Pending)
            .map(Entry::weight)
            .sum();
        assert_eq!(weight, stats.pending_bytes);
        assert_eq!(inner.entries.len(), stats.pending_sessions + 1);
    }

    #[tokio::test]
    async fn pending_sessions_expire_at_the_pending_ttl_and_are_swept() {
        let (store, clock) = store(SessionLimits::default());
        let far = clock.now() + time::Duration::weeks(2);
        let mut first = pending("/a", far);
        store.create(&mut first).await.unwrap();
        let mut admin = signed_in(far);
        store.create(&mut admin).await.unwrap();
        clock.advance(Duration::from_secs(599));
        assert!(store.load(&first.id).await.unwrap().is_some());
        clock.advance(Duration::from_secs(1));
        assert!(
            store.load(&first.id).await.unwrap().is_none(),
            "expired on load"
        );
        let mut others = Vec::new();
        for _ in 0..10 {
            let mut record = pending("/b", far);
            store.create(&mut record).await.unwrap();
            others.push(record.id);
        }
        clock.advance(Duration::from_secs(601));
        assert_eq!(store.sweep(), 10);
        assert_eq!(store.stats().pending_sessions, 0);
        assert!(store.load(&admin.id).await.unwrap().is_some());
        // An established session keeps the expiry it was given.
        clock.advance(Duration::from_secs(14 * 24 * 3600));
        assert!(store.load(&admin.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn sessions_change_class_and_oversized_ones_are_refused() {
        let limits = SessionLimits::default()
            .with_pending_bytes(4_000)
            .with_established_bytes(4 * (1_700 + ENTRY_OVERHEAD));
        let (store, clock) = store(limits);
        let far = clock.now() + time::Duration::weeks(2);
        let mut record = pending("/a", far);
        store.create(&mut record).await.unwrap();
        assert_eq!(store.stats().pending_sessions, 1);
        let mut upgraded = signed_in(far);
        upgraded.id = record.id;
        store.save(&upgraded).await.unwrap();
        let stats = store.stats();
        assert_eq!((stats.pending_sessions, stats.established_sessions), (0, 1));
        assert_eq!(stats.pending_bytes, 0);
        // Host data makes a session established.
        let mut host = record_with_host_data(far);
        store.create(&mut host).await.unwrap();
        assert_eq!(store.stats().established_sessions, 2);
        // Too big for the pending budget.
        let mut huge = pending(&"x".repeat(5_000), far);
        assert!(store.create(&mut huge).await.is_err());
        // Already expired: not kept.
        let mut old = pending("/a", clock.now());
        store.create(&mut old).await.unwrap();
        assert!(store.load(&old.id).await.unwrap().is_none());
        store.delete(&upgraded.id).await.unwrap();
        assert_eq!(store.stats().established_sessions, 1);
    }

    fn record_with_host_data(expiry: OffsetDateTime) -> Record {
        record(json!({ "password_admin": 7 }), expiry)
    }
}
