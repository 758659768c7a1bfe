//! Shared, durable, bounded admin sessions: `ims_admin_session`, a
//! tower-sessions [`SessionStore`] over the store's pool (feature
//! `sessions`). See [`SqlSessionStore`].

mod pending;
mod sweep;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_lc_rs::digest;
use ims_api::{Error, SessionLimits};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, ExpiredDeletion, SessionStore};

use crate::context::StoreContext;
use crate::crypto::aad;
use crate::db::{Sql, Value, unique_violation};

pub use pending::PendingRule;
pub use sweep::SessionSweep;

const TABLE: &str = "ims_admin_session";

/// What one stored session costs beyond its (encrypted) data: the row's
/// other columns, its primary key and its index entries (a generous upper
/// bound, the same figure admin-ims's in-memory store uses).
pub const SESSION_ROW_OVERHEAD: usize = 256;

/// The tracing target of the store's few events (an established session
/// evicted, a failed sweep). They never carry a session id.
pub const SESSION_LOG_TARGET: &str = "ims_store::sessions";

/// A store checks a class's budget once it has written this fraction
/// (1/64th) of it since it last checked: instances may overshoot a budget by
/// that much each, until their next write.
const CHECK_SLACK: usize = 64;

/// How many fresh ids `create` tries before giving up (a collision of 128
/// random bits is never expected; a second one means something is wrong).
const CREATE_ATTEMPTS: u32 = 4;

static INSERT: Sql = Sql::new(
    "INSERT INTO ims_admin_session (id_hash, data, weight, pending, expiry_date, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)",
);
// Only a row that is still there (and not expired) is written: a save racing
// a delete (a logout on another instance) never brings the session back.
static UPDATE: Sql = Sql::new(
    "UPDATE ims_admin_session SET data = $1, weight = $2, pending = $3, expiry_date = $4, \
     updated_at = $5 WHERE id_hash = $6 AND expiry_date > $7",
);
static LOAD: Sql = Sql::new(
    "SELECT data, expiry_date FROM ims_admin_session WHERE id_hash = $1 AND expiry_date > $2",
);
static DELETE: Sql = Sql::new("DELETE FROM ims_admin_session WHERE id_hash = $1");
static DELETE_EXPIRED: Sql = Sql::new("DELETE FROM ims_admin_session WHERE expiry_date <= $1");
// What a class weighs, but the session just written.
static CLASS_WEIGHT: Sql = Sql::with_mysql(
    "SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT) FROM ims_admin_session \
     WHERE pending = $1 AND id_hash <> $2",
    "SELECT CAST(COALESCE(SUM(weight), 0) AS SIGNED) FROM ims_admin_session \
     WHERE pending = ? AND id_hash <> ?",
);
// A class's sessions closest to expiry (oldest first), but the one just
// written: the ones that make room.
static OLDEST: Sql = Sql::new(
    "SELECT expiry_date, id_hash, weight FROM ims_admin_session \
     WHERE pending = $1 AND id_hash <> $2 ORDER BY expiry_date, id_hash LIMIT 128",
);
static EVICT: Sql = Sql::new(
    "DELETE FROM ims_admin_session WHERE pending = $1 AND id_hash <> $2 \
     AND (expiry_date < $3 OR (expiry_date = $4 AND id_hash <= $5))",
);
static USAGE: Sql = Sql::with_mysql(
    "SELECT COUNT(*), CAST(COALESCE(SUM(weight), 0) AS BIGINT) FROM ims_admin_session \
     WHERE pending = $1 AND expiry_date > $2",
    "SELECT COUNT(*), CAST(COALESCE(SUM(weight), 0) AS SIGNED) FROM ims_admin_session \
     WHERE pending = ? AND expiry_date > ?",
);

/// What a [`SqlSessionStore`] holds now (unexpired sessions, every
/// instance's), and what this instance evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SqlSessionStats {
    /// Pending sessions.
    pub pending_sessions: u64,
    /// Their weight in bytes.
    pub pending_bytes: u64,
    /// Established sessions.
    pub established_sessions: u64,
    /// Their weight in bytes.
    pub established_bytes: u64,
    /// Sessions this store (and its clones) evicted to make room.
    pub evicted: u64,
}

/// Admin sessions in the store's database, shared by every instance on it,
/// as a tower-sessions [`SessionStore`]: a session made through one
/// instance is accepted by the others and survives restarts. Feature
/// `sessions`; from [`Store::sessions`](crate::Store::sessions). Cheap to
/// clone.
///
/// Bounded like admin-ims's in-memory `BoundedSessionStore`, fleet-wide:
///
/// - Every session is weighed: its stored data plus
///   [`SESSION_ROW_OVERHEAD`].
/// - **Pending** sessions (what an anonymous visitor can make: see
///   [`PendingRule`]) share one budget ([`SessionLimits::pending_bytes`],
///   8 MiB); **established** ones another (32 MiB). A write that overfills
///   its class's budget evicts that class's sessions closest to expiry
///   (never the one written): a flood of anonymous sign-in starts recycles
///   pending sessions and never evicts a signed-in admin. A store weighs a
///   class (a sum over its index) each time it has written 1/64th of the
///   budget since it last did, not on every write: each instance may
///   overshoot a budget by that much (1.6 %) until its next check.
/// - Pending sessions expire [`SessionLimits::pending_ttl`] after their
///   last write; established ones at the expiry tower-sessions gives them.
///   An expired row is never loaded nor updated; [`SqlSessionStore::sweep`]
///   (or [`SqlSessionStore::spawn_sweep`]) deletes them.
/// - **No resurrection**: `create` inserts (a new id; an id already taken
///   gets another), `save` only updates a row that is still there. A request
///   that loaded the session before a logout, a sign-in's re-keying or an
///   ended session — on this instance or another — cannot bring it back.
///
/// Session data holds tokens, states and PKCE verifiers: it is encrypted
/// with the store's [`EncryptionKey`](crate::EncryptionKey) (AES-256-GCM,
/// bound to the row), and writing a session without a key is an error. Rows
/// are keyed by the SHA-256 of the session id: the database never holds a
/// cookie that would sign someone in. Ids never appear in logs, errors or
/// `Debug`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use ims_store::ims_api::SessionLimits;
/// use ims_store::{EncryptionKey, PendingRule, Store, StoreOptions};
/// use ims_store::tower_sessions_core::{SessionStore, session::{Id, Record}};
///
/// let options = StoreOptions::new().with_encryption_key(EncryptionKey::generate());
/// let store = Store::connect("sqlite::memory:", options).await?;
/// // admin-ims's sessions take `PendingRule::new(admin_ims::axum::is_pending_session)`;
/// // this host's anonymous visitors have no "user" yet.
/// let rule = PendingRule::new(|record: &Record| !record.data.contains_key("user"));
/// let sessions = store
///     .sessions(rule)
///     .with_limits(SessionLimits::default().with_pending_ttl(Duration::from_secs(600)));
///
/// let mut record = Record {
///     id: Id::default(),
///     data: [("cart".to_owned(), serde_json::json!(3))].into(),
///     expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
/// };
/// sessions.create(&mut record).await?;
/// let loaded = sessions.load(&record.id).await?.expect("stored");
/// assert_eq!(loaded.data, record.data);
/// sessions.delete(&record.id).await?;
/// sessions.save(&record).await?; // a late save: the session stays deleted
/// assert!(sessions.load(&record.id).await?.is_none());
/// // In an axum app: `layer(web.session_layer_with_store(sessions.clone()))`, and once:
/// let _sweep = sessions.spawn_sweep(Duration::from_secs(60));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqlSessionStore {
    inner: Arc<StoreContext>,
    limits: SessionLimits,
    rule: PendingRule,
    evicted: Arc<AtomicU64>,
    /// Per class (established, pending): bytes written since this store
    /// last checked the class's budget.
    unchecked: Arc<[AtomicUsize; 2]>,
}

impl fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSessionStore")
            .field("store", &self.inner)
            .field("limits", &self.limits)
            .field("evicted", &self.evicted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Whether a write is a new session's or an existing one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Update,
}

/// What became of a write.
enum Written {
    Stored,
    /// `create` only: the id is taken.
    Collision,
    /// Expired already, or (an update) the session is gone.
    Dropped,
}

/// The row key of a session id: SHA-256 of its 16 bytes, in hex.
fn id_hash(id: &Id) -> String {
    let digest = digest::digest(&digest::SHA256, &id.0.to_le_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest.as_ref() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

fn backend(err: Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqlSessionStore {
    pub(crate) fn new(inner: Arc<StoreContext>, rule: PendingRule) -> Self {
        SqlSessionStore {
            inner,
            limits: SessionLimits::default(),
            rule,
            evicted: Arc::new(AtomicU64::new(0)),
            unchecked: Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]),
        }
    }

    /// With these budgets and pending lifetime (every instance on the
    /// database should use the same).
    pub fn with_limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// With another rule for pending sessions than the one
    /// [`Store::sessions`](crate::Store::sessions) was given.
    pub fn with_pending_rule(mut self, rule: PendingRule) -> Self {
        self.rule = rule;
        self
    }

    /// The budgets.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// Deletes the expired sessions now (of every instance); how many.
    pub async fn sweep(&self) -> ims_api::Result<u64> {
        let now = self.inner.clock.now();
        self.inner
            .pool
            .execute(
                "delete expired sessions",
                &DELETE_EXPIRED,
                &[Value::time(now)],
            )
            .await
    }

    /// What the database holds now (unexpired sessions) and what this store
    /// evicted. Counts every row: for monitoring and tests, not per request.
    pub async fn stats(&self) -> ims_api::Result<SqlSessionStats> {
        let now = self.inner.clock.now();
        let mut stats = SqlSessionStats {
            evicted: self.evicted.load(Ordering::Relaxed),
            ..SqlSessionStats::default()
        };
        for pending in [true, false] {
            let row = self
                .inner
                .pool
                .fetch_optional(
                    "count the sessions",
                    &USAGE,
                    &[Value::Bool(pending), Value::time(now)],
                )
                .await?;
            let (count, bytes) = match row {
                Some(row) => (row.int(0)?, row.int(1)?),
                None => (0, 0),
            };
            let (count, bytes) = (count.max(0).unsigned_abs(), bytes.max(0).unsigned_abs());
            if pending {
                (stats.pending_sessions, stats.pending_bytes) = (count, bytes);
            } else {
                (stats.established_sessions, stats.established_bytes) = (count, bytes);
            }
        }
        Ok(stats)
    }

    /// Writes `record`: a new row (`create`) or the row still there
    /// (`save`); then makes room in its class's budget.
    async fn put(&self, record: &Record, write: Write) -> session_store::Result<Written> {
        let now = self.inner.clock.now();
        let pending = self.rule.is_pending(record);
        let (budget, expires_at) = if pending {
            let ttl =
                time::Duration::try_from(self.limits.pending_ttl).unwrap_or(time::Duration::MAX);
            (
                self.limits.pending_bytes,
                record.expiry_date.min(now.saturating_add(ttl)),
            )
        } else {
            (self.limits.established_bytes, record.expiry_date)
        };
        let hash = id_hash(&record.id);
        let pool = &self.inner.pool;
        if expires_at <= now {
            // An ended session is not kept; saving one ends the stored one.
            if write == Write::Update {
                pool.execute("delete a session", &DELETE, &[Value::text(hash)])
                    .await
                    .map_err(backend)?;
            }
            return Ok(Written::Dropped);
        }
        let json = serde_json::to_string(&record.data)
            .map_err(|err| session_store::Error::Encode(err.to_string()))?;
        let sealed = self
            .inner
            .sealer
            .seal("a session", Some(&json), &aad(TABLE, "data", &hash))
            .map_err(backend)?
            .unwrap_or_default();
        let weight = sealed.len().saturating_add(SESSION_ROW_OVERHEAD);
        if weight > self.limits.max_session_bytes.min(budget) {
            return Err(session_store::Error::Backend(format!(
                "a session of {weight} bytes is larger than the session store allows"
            )));
        }
        let written = match write {
            Write::Create => {
                let params = [
                    Value::text(hash.clone()),
                    Value::Bytes(Some(sealed)),
                    Value::Int(to_i64(weight)),
                    Value::Bool(pending),
                    Value::time(expires_at),
                    Value::time(now),
                ];
                match pool.execute("create a session", &INSERT, &params).await {
                    Ok(_) => true,
                    Err(err) if unique_violation(&err).is_some() => {
                        return Ok(Written::Collision);
                    }
                    Err(err) => return Err(backend(err)),
                }
            }
            Write::Update => {
                let params = [
                    Value::Bytes(Some(sealed)),
                    Value::Int(to_i64(weight)),
                    Value::Bool(pending),
                    Value::time(expires_at),
                    Value::time(now),
                    Value::text(hash.clone()),
                    Value::time(now),
                ];
                pool.execute("save a session", &UPDATE, &params)
                    .await
                    .map_err(backend)?
                    > 0
            }
        };
        if !written {
            return Ok(Written::Dropped);
        }
        self.make_room(pending, &hash, weight, budget)
            .await
            .map_err(backend)?;
        Ok(Written::Stored)
    }

    /// Evicts the sessions of a class (but `keep`) closest to expiry until
    /// the others and the one written fit the budget — once this store has
    /// written 1/[`CHECK_SLACK`] of the budget since it last looked (at once
    /// when a session is bigger than that): summing a class reads all its
    /// index entries, too much for every write.
    async fn make_room(
        &self,
        pending: bool,
        keep: &str,
        weight: usize,
        budget: usize,
    ) -> ims_api::Result<()> {
        let unchecked = &self.unchecked[usize::from(pending)];
        let slack = budget / CHECK_SLACK;
        let written = unchecked.fetch_add(weight, Ordering::Relaxed) + weight;
        if written <= slack {
            return Ok(());
        }
        unchecked.store(0, Ordering::Relaxed);
        let room = budget.saturating_sub(weight);
        let pool = &self.inner.pool;
        const WHAT: &str = "make room for a session";
        let class = || [Value::Bool(pending), Value::text(keep)];
        let total = match pool.fetch_optional(WHAT, &CLASS_WEIGHT, &class()).await? {
            Some(row) => usize::try_from(row.int(0)?).unwrap_or(0),
            None => 0,
        };
        let mut excess = total.saturating_sub(room);
        let mut evicted = 0;
        while excess > 0 {
            let oldest = pool.fetch_all(WHAT, &OLDEST, &class()).await?;
            let Some(last) = oldest.last() else {
                break;
            };
            let mut cutoff = last;
            for row in &oldest {
                cutoff = row;
                excess = excess.saturating_sub(usize::try_from(row.int(2)?).unwrap_or(0));
                if excess == 0 {
                    break;
                }
            }
            let expiry = cutoff.int(0)?;
            evicted += pool
                .execute(
                    WHAT,
                    &EVICT,
                    &[
                        Value::Bool(pending),
                        Value::text(keep),
                        Value::Int(expiry),
                        Value::Int(expiry),
                        Value::Text(cutoff.text(1)?),
                    ],
                )
                .await?;
        }
        self.evicted.fetch_add(evicted, Ordering::Relaxed);
        if !pending && evicted > 0 {
            tracing::warn!(target: SESSION_LOG_TARGET, event = "session_evicted", evicted, "the established sessions' budget is full: the sessions closest to expiry were dropped");
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    /// Inserts a new session; an id already taken (by a live or an expired
    /// row) gets a fresh one, as tower-sessions asks.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            match self.put(record, Write::Create).await? {
                Written::Collision => record.id = Id::default(),
                Written::Stored | Written::Dropped => return Ok(()),
            }
        }
        Err(session_store::Error::Backend(
            "could not find a free session id".to_owned(),
        ))
    }

    /// Updates a session the database still holds (and has not expired). A
    /// save for any other id is dropped: tower-sessions creates sessions
    /// with `create`, so such a save comes from a request that loaded the
    /// session before it was deleted, and would bring it back.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.put(record, Write::Update).await.map(drop)
    }

    /// The session, unless it is missing or expired (swept or not).
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.inner.clock.now();
        let hash = id_hash(id);
        let Some(row) = self
            .inner
            .pool
            .fetch_optional(
                "load a session",
                &LOAD,
                &[Value::text(hash.clone()), Value::time(now)],
            )
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let stored = row.opt_bytes(0).map_err(backend)?;
        let json = self
            .inner
            .sealer
            .open("a session", stored, &aad(TABLE, "data", &hash))
            .map_err(|err| session_store::Error::Decode(err.to_string()))?
            .unwrap_or_default();
        let data: HashMap<String, serde_json::Value> = serde_json::from_str(&json)
            .map_err(|err| session_store::Error::Decode(err.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: row.time(1).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner
            .pool
            .execute("delete a session", &DELETE, &[Value::text(id_hash(id))])
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.sweep().await.map(drop).map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_well_formed() {
        crate::db::assert_statements_well_formed(&[
            &INSERT,
            &UPDATE,
            &LOAD,
            &DELETE,
            &DELETE_EXPIRED,
            &CLASS_WEIGHT,
            &OLDEST,
            &EVICT,
            &USAGE,
        ]);
    }

    #[test]
    fn rows_are_keyed_by_a_hash_of_the_id() {
        let id = Id(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let hash = id_hash(&id);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&id.to_string()));
        assert_eq!(hash, id_hash(&id));
        assert_ne!(hash, id_hash(&Id(id.0 + 1)));
    }
}
