//! SQLite specifics: the file, concurrent writers, connection errors, and
//! redaction.
#![cfg(feature = "sqlite")]

mod support;

use std::sync::Arc;

use ims_api::{
    AdminUserDirectory, AdminUserId, Error, LockoutPolicy, NewAdminUser, Password, WebApiToken,
    WebApiTokenRepository,
};
use ims_store::{Backend, EncryptionKey, Store, StoreOptions};
use support::{TestDb, options};
use time::macros::datetime;

#[tokio::test]
async fn the_database_file_is_created_private() {
    let db = TestDb::sqlite().await.unwrap();
    let store = Store::connect(&db.url, options(None, None)).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let metadata = std::fs::metadata(path).unwrap();
    assert!(metadata.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }
    store.close().await;
    // Reconnecting keeps the data and the migrations.
    let again = Store::connect(&db.url, options(None, None)).await.unwrap();
    assert!(again.admin_users().list().await.unwrap().is_empty());
    again.close().await;
    db.finish().await;
}

/// 100 writers at once on one file: every write lands, and none of them
/// sees "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_writers_all_succeed() {
    let db = TestDb::sqlite().await.unwrap();
    let store = db.store().await;
    let first = store
        .admin_users()
        .create(&NewAdminUser::new(
            "owner",
            "owner@example.com",
            "O",
            "W",
            Password::new("x"),
        ))
        .await
        .unwrap();
    let now = datetime!(2026-06-01 12:00 UTC);
    let policy = LockoutPolicy {
        max_failures: 0,
        lock_duration: std::time::Duration::from_secs(60),
    };
    let writers: Vec<_> = (0..100u8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let admins = store.admin_users();
                let user = NewAdminUser::new(
                    format!("user{n}"),
                    format!("user{n}@example.com"),
                    "F",
                    "L",
                    Password::new("x"),
                );
                let created = admins.create(&user).await?;
                let token = WebApiToken::validated(
                    created.id,
                    ims_api::TokenHash::from_digest([n; 32]),
                    now,
                    now,
                );
                store.webapi_tokens().save(&token).await?;
                admins.record_login_failure(first.id, &policy, now).await?;
                Ok::<_, Error>(created.id)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for writer in writers {
        match writer.await.unwrap() {
            Ok(id) => ids.push(id),
            Err(err) => {
                let text = format!("{err} {:?}", std::error::Error::source(&err));
                assert!(!text.contains("database is locked"), "{text}");
                panic!("a writer failed: {text}");
            }
        }
    }
    assert_eq!(ids.len(), 100);
    let users = store.admin_users().list().await.unwrap();
    assert_eq!(users.len(), 101);
    let tokens = store
        .webapi_tokens()
        .list(ims_api::Page::first(1000))
        .await
        .unwrap();
    assert_eq!(tokens.len(), 100);
    let owner = store
        .admin_users()
        .find_by_id(first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.login_failures.count, 100);
    store.close().await;
    db.finish().await;
}

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
