//! SQLite specifics: the file, concurrent writers, connection errors, and
//! redaction.
#![cfg(feature = "sqlite")]

mod support;

use std::sync::Arc;

use ims_api::{
    AdminUserDirectory, AdminUserId, Error, NewAdminUser, Password, WebApiTokenRepository,
};
use ims_store::{Backend, EncryptionKey, Store, StoreOptions};
use support::{TestDb, options};

#[tokio::test]
async fn the_database_file_is_created_private() {
    let db = TestDb::sqlite().await.unwrap();
    let store = Store::connect(&db.url, options(None, None)).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let metadata = std::fs::metadata(path).unwrap();
    assert!(metadata.is_file());
    store
        .admin_users()
        .create(&NewAdminUser::new(
            "wal",
            "wal@example.com",
            "W",
            "L",
            Password::new("x"),
        ))
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        // A write went through the write-ahead log: the WAL and its index
        // hold row data too, and must be as private as the file.
        for suffix in ["-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    store.close().await;
    // Reconnecting keeps the data and the migrations.
    let again = Store::connect(&db.url, options(None, None)).await.unwrap();
    assert_eq!(again.admin_users().list().await.unwrap().len(), 1);
    again.close().await;
    db.finish().await;
}

// A hundred concurrent writers: `a_hundred_concurrent_writers_lose_no_row`
// in the conformance suite, run against every backend.

#[tokio::test]
async fn in_memory_databases_work_and_are_private_to_the_store() {
    let one = Store::connect("sqlite::memory:", options(None, None))
        .await
        .unwrap();
    let two = Store::connect("sqlite::memory:", options(None, None))
        .await
        .unwrap();
    one.admin_users()
        .create(&NewAdminUser::new(
            "a",
            "a@example.com",
            "A",
            "A",
            Password::new("x"),
        ))
        .await
        .unwrap();
    assert_eq!(one.admin_users().list().await.unwrap().len(), 1);
    assert!(two.admin_users().list().await.unwrap().is_empty());
    assert!(
        one.admin_users()
            .find_by_id(AdminUserId(1))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn unknown_schemes_and_bad_urls_are_clear_errors() {
    let err = Store::connect("redis://localhost", StoreOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
    assert!(err.to_string().contains("sqlite:"), "{err}");

    let err = Store::connect(
        "sqlite:///nonexistent-dir-ims-store/x/y.db",
        StoreOptions::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
}

#[tokio::test]
async fn a_wrong_key_from_the_environment_is_a_clear_error() {
    let err = EncryptionKey::from_env("IMS_STORE_TEST_KEY_THAT_IS_NOT_SET").unwrap_err();
    let err: Error = err.into();
    assert!(matches!(err, Error::Misconfigured(_)));
    assert!(
        err.to_string()
            .contains("IMS_STORE_TEST_KEY_THAT_IS_NOT_SET")
    );
}

#[tokio::test]
async fn debug_output_shows_no_key() {
    let key = EncryptionKey::generate();
    let encoded = key.expose_base64();
    let options = StoreOptions::new().with_encryption_key(key.clone());
    assert!(!format!("{options:?}").contains(&encoded));
    let store = Store::connect("sqlite::memory:", options).await.unwrap();
    let shown = format!(
        "{store:?} {:?} {:?} {:?} {:?} {:?} {key:?}",
        store.admin_users(),
        store.webapi_tokens(),
        store.user_profiles(),
        store.settings(),
        store.token_cache()
    );
    assert!(!shown.contains(&encoded), "{shown}");
    assert!(shown.contains("[REDACTED]"));
    assert!(store.has_encryption_key());
    let _shared: Arc<dyn AdminUserDirectory> = Arc::new(store.admin_users());
    let _shared: Arc<dyn WebApiTokenRepository> = Arc::new(store.webapi_tokens());
}
