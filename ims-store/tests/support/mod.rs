//! Databases for the integration tests: a fresh SQLite file, or a fresh
//! PostgreSQL schema / MySQL database on the servers named by
//! `IMS_TEST_POSTGRES_URL` / `IMS_TEST_MYSQL_URL` (skipped, loudly, when
//! unset). Each test gets its own, so runs sharing a server never collide.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ims_api::{Clock, ManualClock};
use ims_store::{Backend, EncryptionKey, PasswordHashCost, Store, StoreOptions};
use sqlx::{AssertSqlSafe, Row as _};

pub const POSTGRES_ENV: &str = "IMS_TEST_POSTGRES_URL";
pub const MYSQL_ENV: &str = "IMS_TEST_MYSQL_URL";

/// A name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Says why a test did not run, past libtest's output capture.
pub fn skip(test: &str, var: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "skipping {test}: set {var} to run it against that database"
    );
}

/// Options for tests: cheap password hashes, the given key and clock.
pub fn options(key: Option<&EncryptionKey>, clock: Option<Arc<dyn Clock>>) -> StoreOptions {
    let mut options =
        StoreOptions::new().with_password_hash_cost(PasswordHashCost::insecure_for_tests());
    if let Some(key) = key {
        options = options.with_encryption_key(key.clone());
    }
    if let Some(clock) = clock {
        options = options.with_clock(clock);
    }
    options
}

enum Cleanup {
    Dir(PathBuf),
    PgSchema { admin_url: String, schema: String },
    MySqlDatabase { admin_url: String, database: String },
}

/// One test's database.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub key: EncryptionKey,
    pub clock: Arc<ManualClock>,
    cleanup: Cleanup,
}

impl TestDb {
    fn new(url: String, backend: Backend, cleanup: Cleanup) -> TestDb {
        TestDb {
            url,
            backend,
            key: EncryptionKey::generate(),
            clock: Arc::new(ManualClock::new(
                time::macros::datetime!(2026-06-01 12:00 UTC),
            )),
            cleanup,
        }
    }

    /// A fresh SQLite file in a fresh directory.
    pub async fn sqlite() -> Option<TestDb> {
        let dir = std::env::temp_dir().join(unique("ims_store_test"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("store.db").display());
        Some(TestDb::new(url, Backend::Sqlite, Cleanup::Dir(dir)))
    }

    /// Skips: built without PostgreSQL.
    #[cfg(not(feature = "postgres"))]
    pub async fn postgres(test: &str) -> Option<TestDb> {
        skip(test, "the `postgres` feature and IMS_TEST_POSTGRES_URL");
        None
    }

    /// A fresh schema on `IMS_TEST_POSTGRES_URL`.
    #[cfg(feature = "postgres")]
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            skip(test, POSTGRES_ENV);
            return None;
        };
        let schema = unique("ims_store_t");
        let pool = sqlx::PgPool::connect(&admin_url).await.unwrap();
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options[search_path]={schema}");
        Some(TestDb::new(
            url,
            Backend::Postgres,
            Cleanup::PgSchema { admin_url, schema },
        ))
    }

    /// Skips: built without MySQL.
    #[cfg(not(feature = "mysql"))]
    pub async fn mysql(test: &str) -> Option<TestDb> {
        skip(test, "the `mysql` feature and IMS_TEST_MYSQL_URL");
        None
    }

    /// A fresh database on the server of `IMS_TEST_MYSQL_URL`.
    #[cfg(feature = "mysql")]
    pub async fn mysql(test: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(MYSQL_ENV) else {
            skip(test, MYSQL_ENV);
            return None;
        };
        let database = unique("ims_store_t");
        let pool = sqlx::MySqlPool::connect(&admin_url).await.unwrap();
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let base = admin_url.split('?').next().unwrap();
        let server = &base[..base.rfind('/').unwrap()];
        let url = format!("{server}/{database}");
        Some(TestDb::new(
            url,
            Backend::MySql,
            Cleanup::MySqlDatabase {
                admin_url,
                database,
            },
        ))
    }

    /// A store with this database's key and manual clock.
    pub async fn store(&self) -> Store {
        let clock: Arc<dyn Clock> = self.clock.clone();
        Store::connect(&self.url, options(Some(&self.key), Some(clock)))
            .await
            .unwrap()
    }

    /// A store with another (or no) key.
    pub async fn store_with_key(&self, key: Option<&EncryptionKey>) -> Store {
        Store::connect(&self.url, options(key, None)).await.unwrap()
    }

    /// The first column of the first row of a query, read past the store.
    /// Test-only SQL: the values in it are hex digits and integers.
    pub async fn raw_bytes(&self, sql: String) -> Option<Vec<u8>> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                let row = sqlx::query(AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let value = row.try_get(0).unwrap();
                pool.close().await;
                value
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                let row = sqlx::query(AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let value = row.try_get(0).unwrap();
                pool.close().await;
                value
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let pool = sqlx::MySqlPool::connect(&self.url).await.unwrap();
                let row = sqlx::query(AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let value = row.try_get(0).unwrap();
                pool.close().await;
                value
            }
            other => panic!("{other:?} is not compiled in"),
        }
    }

    /// Drops what the test created (not reached when the test panics: the
    /// leftovers are named `ims_store_t_*` / `ims_store_test_*`).
    pub async fn finish(self) {
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            #[cfg(feature = "postgres")]
            Cleanup::PgSchema { admin_url, schema } => {
                let pool = sqlx::PgPool::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            #[cfg(feature = "mysql")]
            Cleanup::MySqlDatabase {
                admin_url,
                database,
            } => {
                let pool = sqlx::MySqlPool::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE {database}")))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}
