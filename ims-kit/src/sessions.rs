//! The one session store type the kit's session layer takes.

use std::sync::Arc;

use admin_ims::axum::BoundedSessionStore;
use async_trait::async_trait;
use ims_store::SqlSessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Where the admin sessions live: the kit's choice (see
/// [`ImsKit`](crate::ImsKit)) or the host's, given to
/// [`with_session_store`](crate::ImsKitBuilder::with_session_store).
///
/// ```
/// use std::sync::Arc;
/// use tower_sessions::MemoryStore;
///
/// // The host's own store (here tower-sessions' unbounded MemoryStore: do
/// // not use it in production, anonymous visitors can grow it).
/// let store = ims_kit::KitSessionStore::custom(MemoryStore::default());
/// assert!(!store.is_shared());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KitSessionStore {
    /// In this process, within byte budgets (admin-ims's).
    Memory(BoundedSessionStore),
    /// In the database, shared by every instance on it and kept across
    /// restarts (ims-store's).
    Shared(SqlSessionStore),
    /// The host's own.
    Custom(Arc<dyn SessionStore>),
}

impl KitSessionStore {
    /// The host's own session store.
    pub fn custom(store: impl SessionStore) -> Self {
        KitSessionStore::Custom(Arc::new(store))
    }

    /// Whether sessions are in the database.
    pub fn is_shared(&self) -> bool {
        matches!(self, KitSessionStore::Shared(_))
    }
}

#[async_trait]
impl SessionStore for KitSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            KitSessionStore::Memory(store) => store.create(record).await,
            KitSessionStore::Shared(store) => store.create(record).await,
            KitSessionStore::Custom(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            KitSessionStore::Memory(store) => store.save(record).await,
            KitSessionStore::Shared(store) => store.save(record).await,
            KitSessionStore::Custom(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            KitSessionStore::Memory(store) => store.load(id).await,
            KitSessionStore::Shared(store) => store.load(id).await,
            KitSessionStore::Custom(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            KitSessionStore::Memory(store) => store.delete(id).await,
            KitSessionStore::Shared(store) => store.delete(id).await,
            KitSessionStore::Custom(store) => store.delete(id).await,
        }
    }
}
