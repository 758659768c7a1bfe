//! The kit's defaults follow the database: on SQLite one process (sessions
//! in memory, no change feed followed); on a shared database (PostgreSQL,
//! MySQL) sessions in the database and the change feed followed — unless
//! the builder says otherwise.

#![allow(clippy::unwrap_used)]

use ims_api::ImsEnvironment;
use ims_kit::{ImsKit, KitError};
use ims_store::EncryptionKey;
use url::Url;

fn base() -> Url {
    Url::parse("http://127.0.0.1:3000/").unwrap()
}

#[tokio::test]
async fn sqlite_keeps_sessions_in_process_and_follows_nothing() {
    let kit = ImsKit::builder(ImsEnvironment::Stage, base())
        .database("sqlite::memory:")
        .build()
        .await
        .unwrap();
    assert!(!kit.session_store().is_shared());
    assert!(!kit.follows_changes());
}

/// A kit on each shared database the environment names (skipped, saying
/// so, when it names none or the backend is not compiled in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_database_shares_sessions_and_follows_the_feed() {
    for var in ["IMS_TEST_POSTGRES_URL", "IMS_TEST_MYSQL_URL"] {
        let Ok(url) = std::env::var(var) else {
            eprintln!("skipped: {var} is not set");
            continue;
        };
        let built = ImsKit::builder(ImsEnvironment::Stage, base())
            .database(&url)
            .encryption_key(EncryptionKey::generate())
            .build()
            .await;
        let kit = match built {
            Err(KitError::Store(ims_api::Error::Misconfigured(why))) => {
                eprintln!("skipped: {var}: {why}");
                continue;
            }
            other => other.unwrap(),
        };
        assert!(kit.session_store().is_shared(), "{var}");
        assert!(kit.follows_changes(), "{var}");

        // The builder overrides both.
        let kit = ImsKit::builder(ImsEnvironment::Stage, base())
            .database(&url)
            .encryption_key(EncryptionKey::generate())
            .follow_changes(false)
            .with_session_store(ims_kit::KitSessionStore::custom(
                tower_sessions::MemoryStore::default(),
            ))
            .build()
            .await
            .unwrap();
        assert!(!kit.session_store().is_shared(), "{var}");
        assert!(!kit.follows_changes(), "{var}");
    }
}
