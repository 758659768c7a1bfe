//! The one session store type the demo's session layer takes, whichever the
//! database: [`wiring::admin_sessions`](crate::wiring::admin_sessions)
//! chooses.

use admin_ims::axum::BoundedSessionStore;
use async_trait::async_trait;
use ims_store::SqlSessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// Where the admin sessions live.
#[derive(Debug, Clone)]
pub enum DemoSessionStore {
    /// In the database, shared by every instance on it and kept across
    /// restarts (PostgreSQL, MySQL, a SQLite file).
    Shared(SqlSessionStore),
    /// In this process (an in-memory SQLite database: nothing outlives the
    /// process anyway).
    Memory(BoundedSessionStore),
}

impl DemoSessionStore {
    /// Whether sessions are in the database.
    pub fn is_shared(&self) -> bool {
        matches!(self, DemoSessionStore::Shared(_))
    }
}

#[async_trait]
impl SessionStore for DemoSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DemoSessionStore::Shared(store) => store.create(record).await,
            DemoSessionStore::Memory(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DemoSessionStore::Shared(store) => store.save(record).await,
            DemoSessionStore::Memory(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DemoSessionStore::Shared(store) => store.load(id).await,
            DemoSessionStore::Memory(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DemoSessionStore::Shared(store) => store.delete(id).await,
            DemoSessionStore::Memory(store) => store.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DemoSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DemoSessionStore::Shared(store) => store.delete_expired().await,
            DemoSessionStore::Memory(store) => store.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use admin_ims::axum::{SESSION_KEY, SessionLimits};
    use ims_api::SystemClock;
    use serde_json::json;

    use super::*;
    use crate::wiring::admin_session_rule;

    /// The shared store the demo wires tells pending sessions as admin-ims's
    /// in-memory store does: the demo hands it admin-ims's rule.
    #[tokio::test]
    async fn the_shared_store_is_given_admin_ims_rule() {
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let samples = [
            json!({ SESSION_KEY: { "pending": [{ "state": "s" }] } }),
            json!({ SESSION_KEY: { "pending": [], "signed_in": null } }),
            json!({ SESSION_KEY: { "signed_in": { "admin_id": 1 } } }),
            json!({ SESSION_KEY: { "pending": [] }, "host": 1 }),
            json!({ "password_admin": 7 }),
            json!({}),
        ];
        let rule = admin_session_rule();
        for sample in samples {
            let memory = BoundedSessionStore::new(SessionLimits::default(), Arc::new(SystemClock));
            let mut record = Record {
                id: Id::default(),
                data: serde_json::from_value(sample.clone()).unwrap(),
                expiry_date: expiry,
            };
            memory.create(&mut record).await.unwrap();
            let by_admin_ims = memory.stats().pending_sessions == 1;
            assert_eq!(rule.is_pending(&record), by_admin_ims, "{sample}");
        }
    }
}
