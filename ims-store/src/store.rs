//! The connected store: a pool, the encryption key, the clock, and the
//! repositories handed out from it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ims_api::{Clock, Error, Result, SystemClock};
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::admin_users::SqlAdminUserDirectory;
use crate::changes::SqlChangeFeed;
use crate::context::{PasswordHashCost, StoreContext};
use crate::crypto::{EncryptionKey, Sealer};
use crate::db::{Backend, Pool};
use crate::hashing::{HashLimiter, PasswordHashStats};
use crate::settings::SqlSettingsStore;
use crate::token_cache::SqlTokenCache;
use crate::user_profiles::SqlUserProfileRepository;
use crate::webapi_tokens::SqlWebApiTokenRepository;

/// The table in which the store records its applied migrations (its own, so
/// that it never mixes with a host's own sqlx migrations in one database).
pub const MIGRATIONS_TABLE: &str = "_ims_store_migrations";

/// How to connect: the encryption key, pool size, SQLite busy timeout, the
/// clock (for lease expiry) and the password-hash cost.
///
/// ```
/// use std::time::Duration;
/// use ims_store::{EncryptionKey, StoreOptions};
///
/// let options = StoreOptions::new()
///     .with_encryption_key(EncryptionKey::generate())
///     .with_max_connections(8)
///     .with_busy_timeout(Duration::from_secs(5));
/// assert!(!format!("{options:?}").contains(&EncryptionKey::generate().expose_base64()));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct StoreOptions {
    encryption_key: Option<EncryptionKey>,
    max_connections: Option<u32>,
    busy_timeout: Duration,
    acquire_timeout: Duration,
    clock: Arc<dyn Clock>,
    password_hash_cost: PasswordHashCost,
    password_hash_concurrency: Option<usize>,
    password_hash_wait: Duration,
}

/// How long a password hash waits for its turn by default.
pub const DEFAULT_PASSWORD_HASH_WAIT: Duration = Duration::from_secs(3);

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            encryption_key: None,
            max_connections: None,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            password_hash_cost: PasswordHashCost::default(),
            password_hash_concurrency: None,
            password_hash_wait: DEFAULT_PASSWORD_HASH_WAIT,
        }
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("encryption_key", &self.encryption_key)
            .field("max_connections", &self.max_connections)
            .field("busy_timeout", &self.busy_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("password_hash_cost", &self.password_hash_cost)
            .field("password_hash_concurrency", &self.password_hash_concurrency)
            .field("password_hash_wait", &self.password_hash_wait)
            .finish_non_exhaustive()
    }
}

impl StoreOptions {
    /// Defaults: no key, backend-chosen pool size, 5 s busy timeout, the
    /// system clock, the recommended password-hash cost.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key that encrypts secrets at rest. Without one, saving a client
    /// secret or a token is a `Misconfigured` error.
    pub fn with_encryption_key(mut self, key: EncryptionKey) -> Self {
        self.encryption_key = Some(key);
        self
    }

    /// The largest number of pooled connections (default: 10 for servers,
    /// 8 for a SQLite file, 1 for an in-memory SQLite database).
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// How long SQLite waits on a locked database before reporting it busy
    /// (the store then retries a few times more).
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How long a call waits for a pooled connection.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The clock that times token-cache leases (default: the system clock).
    /// Instances sharing a database should have roughly synchronised clocks.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The argon2id cost of new password hashes.
    pub fn with_password_hash_cost(mut self, cost: PasswordHashCost) -> Self {
        self.password_hash_cost = cost;
        self
    }

    /// How many argon2 hashes or verifications may run at once (default:
    /// one per available core; at least 1). Each takes the cost's memory
    /// (19 MiB by default) and one core while it runs; the others queue.
    pub fn with_password_hash_concurrency(mut self, concurrency: usize) -> Self {
        self.password_hash_concurrency = Some(concurrency.max(1));
        self
    }

    /// How long a hash waits in that queue before the call fails with
    /// [`PasswordHashBusy`](crate::PasswordHashBusy) (default
    /// [`DEFAULT_PASSWORD_HASH_WAIT`]).
    pub fn with_password_hash_wait(mut self, wait: Duration) -> Self {
        self.password_hash_wait = wait;
        self
    }
}

/// A connected store: the pool, the encryption key, and the repositories.
/// Cheap to clone; every repository it hands out shares the pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ims_api::Result<()> {
/// use ims_store::{Backend, Store, StoreOptions};
///
/// let store = Store::connect("sqlite::memory:", StoreOptions::new()).await?;
/// assert_eq!(store.backend(), Backend::Sqlite);
/// assert_eq!(format!("{store:?}"), "Store { backend: Sqlite, encryption_key: None, .. }");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreContext>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Store {
    /// Connects to the database the URL names — `sqlite:` (a file, created
    /// if missing with mode 0600 on unix, or `sqlite::memory:`),
    /// `postgres:`/`postgresql:`, `mysql:`/`mariadb:` — and runs the
    /// embedded migrations.
    ///
    /// SQLite connections use WAL, a busy timeout and foreign keys. A scheme
    /// whose backend feature is not compiled in is a `Misconfigured` error.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            Error::Misconfigured(
                "the database URL must start with sqlite:, postgres:, postgresql:, mysql: or mariadb:"
                    .to_owned(),
            )
        })?;
        let pool = connect_pool(backend, url, &options).await?;
        if let Err(err) = migrate(backend, &pool).await {
            pool.close().await;
            return Err(err);
        }
        Ok(Store {
            inner: Arc::new(StoreContext {
                pool,
                sealer: Sealer::new(options.encryption_key),
                clock: options.clock,
                password_hash_cost: options.password_hash_cost,
                hasher: HashLimiter::new(
                    options
                        .password_hash_concurrency
                        .unwrap_or_else(HashLimiter::default_concurrency),
                    options.password_hash_wait,
                ),
                committed: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.pool.backend()
    }

    /// Whether an encryption key is configured.
    pub fn has_encryption_key(&self) -> bool {
        self.inner.sealer.has_key()
    }

    /// The `admin_user` directory ([`ims_api::AdminUserDirectory`]).
    pub fn admin_users(&self) -> SqlAdminUserDirectory {
        SqlAdminUserDirectory::new(Arc::clone(&self.inner))
    }

    /// The `admin_adobe_ims_webapi` table ([`ims_api::WebApiTokenRepository`]).
    pub fn webapi_tokens(&self) -> SqlWebApiTokenRepository {
        SqlWebApiTokenRepository::new(Arc::clone(&self.inner))
    }

    /// The `adobe_user_profile` table ([`ims_api::UserProfileRepository`]).
    pub fn user_profiles(&self) -> SqlUserProfileRepository {
        SqlUserProfileRepository::new(Arc::clone(&self.inner))
    }

    /// The IMS settings ([`ims_api::ImsSettingsStore`]).
    pub fn settings(&self) -> SqlSettingsStore {
        SqlSettingsStore::new(Arc::clone(&self.inner))
    }

    /// The shared token cache of the token provider ([`ims_api::TokenCache`]).
    pub fn token_cache(&self) -> SqlTokenCache {
        SqlTokenCache::new(Arc::clone(&self.inner))
    }

    /// The fleet's change feed on this store's database
    /// ([`ims_api::ChangeFeed`]): PostgreSQL LISTEN/NOTIFY, else polling of
    /// the change log's epoch (see [`SqlChangeFeed`]).
    pub fn change_feed(&self) -> SqlChangeFeed {
        SqlChangeFeed::new(Arc::clone(&self.inner))
    }

    /// The admin sessions (`ims_admin_session`), a tower-sessions store
    /// shared by every instance on the database, telling pending sessions
    /// from established ones with `rule` (for admin-ims's sessions,
    /// `PendingRule::new(admin_ims::axum::is_pending_session)`; there is no
    /// default: see [`PendingRule`](crate::PendingRule)), with the default
    /// limits ([`SqlSessionStore::with_limits`](crate::SqlSessionStore::with_limits)
    /// changes them). Feature `sessions`.
    #[cfg(feature = "sessions")]
    pub fn sessions(&self, rule: crate::PendingRule) -> crate::SqlSessionStore {
        crate::SqlSessionStore::new(Arc::clone(&self.inner), rule)
    }

    /// Counters of the store's password hashing (the concurrency bound, how
    /// many ran, how many gave up waiting, the most that ran at once).
    pub fn password_hash_stats(&self) -> PasswordHashStats {
        self.inner.hasher.stats()
    }

    /// Closes the pool (waits for connections in use to come back).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// How often connecting runs the migrations again after a failure: instances
/// starting together race on a fresh database (SQLite's migrator takes no
/// lock, and MySQL's can lose the race on the migrations table); the loser's
/// next run finds the migration applied.
const MIGRATION_ATTEMPTS: u32 = 5;

/// Runs the embedded migrations, retrying a race with another instance.
async fn migrate(backend: Backend, pool: &Pool) -> Result<()> {
    let migrator = migrator(backend);
    let mut attempt = 1;
    loop {
        let migrated: std::result::Result<(), sqlx::migrate::MigrateError> = match *pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(ref pool) => migrator.run(pool).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(ref pool) => migrator.run(pool).await,
            #[cfg(feature = "mysql")]
            Pool::MySql(ref pool) => migrate_mysql(&migrator, pool).await,
        };
        match migrated {
            Ok(()) => return Ok(()),
            Err(err) if attempt >= MIGRATION_ATTEMPTS || !is_race(&err) => {
                return Err(Error::storage("failed to run the store's migrations", err));
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
        }
    }
}

/// sqlx's own MySQL migration lock asks `GET_LOCK(name, -1)` and ignores the
/// answer, which MariaDB takes as "don't wait": instances then migrate at the
/// same time. Take a server lock named after the database, with a real
/// timeout, on the connection that migrates.
#[cfg(feature = "mysql")]
async fn migrate_mysql(
    migrator: &Migrator,
    pool: &sqlx::MySqlPool,
) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT GET_LOCK(CONCAT('ims_store_migrate:', LEFT(SHA1(DATABASE()), 40)), 60)")
        .execute(&mut *conn)
        .await?;
    // `run_direct` is sqlx's own way around `Acquire` not being general
    // enough for a `Send` future over `&mut MySqlConnection`.
    let migrated = migrator.run_direct(None, &mut *conn, false).await;
    let released = sqlx::query(
        "SELECT RELEASE_LOCK(CONCAT('ims_store_migrate:', LEFT(SHA1(DATABASE()), 40)))",
    )
    .execute(&mut *conn)
    .await;
    migrated?;
    released.map(|_| ()).map_err(Into::into)
}

/// Errors another instance migrating at the same time can cause: a
/// duplicate migration row, a table that already exists, a busy database.
fn is_race(err: &sqlx::migrate::MigrateError) -> bool {
    use sqlx::migrate::MigrateError;
    matches!(
        err,
        MigrateError::Execute(sqlx::Error::Database(_))
            | MigrateError::ExecuteMigration(sqlx::Error::Database(_), _)
            | MigrateError::Dirty(_)
    )
}

/// The embedded migrations of a backend: version, description, SQL.
fn migrations(backend: Backend) -> Vec<(i64, &'static str, &'static str)> {
    macro_rules! per_backend_sql {
        ($file:literal) => {
            match backend {
                Backend::Sqlite => include_str!(concat!("../migrations/sqlite/", $file)),
                Backend::Postgres => include_str!(concat!("../migrations/postgres/", $file)),
                Backend::MySql => include_str!(concat!("../migrations/mysql/", $file)),
            }
        };
    }
    vec![
        (1, "ims store", per_backend_sql!("0001_ims_store.sql")),
        (2, "webapi trust", per_backend_sql!("0002_webapi_trust.sql")),
        (3, "sessions", per_backend_sql!("0003_sessions.sql")),
        (4, "changes", per_backend_sql!("0004_changes.sql")),
        (
            5,
            "webapi first sight",
            per_backend_sql!("0005_first_sight.sql"),
        ),
    ]
}

/// The embedded migrations of a backend.
fn migrator(backend: Backend) -> Migrator {
    let mut migrator = Migrator::with_migrations(
        migrations(backend)
            .into_iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

fn not_compiled(backend: Backend) -> Error {
    Error::Misconfigured(format!(
        "the database URL names {backend:?}, but ims-store was built without its `{}` feature",
        backend.feature()
    ))
}

fn connect_error(err: sqlx::Error) -> Error {
    Error::storage("failed to connect to the database", err)
}

async fn connect_pool(backend: Backend, url: &str, options: &StoreOptions) -> Result<Pool> {
    match backend {
        Backend::Sqlite => {
            #[cfg(feature = "sqlite")]
            return connect_sqlite(url, options).await;
        }
        Backend::Postgres => {
            #[cfg(feature = "postgres")]
            return sqlx::postgres::PgPoolOptions::new()
                .max_connections(options.max_connections.unwrap_or(10))
                .acquire_timeout(options.acquire_timeout)
                .connect(url)
                .await
                .map(Pool::Postgres)
                .map_err(connect_error);
        }
        Backend::MySql => {
            #[cfg(feature = "mysql")]
            return {
                use std::str::FromStr as _;
                // sqlx knows only the `mysql:` scheme.
                let url = match url.split_once(':') {
                    Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
                        format!("mysql:{rest}")
                    }
                    _ => url.to_owned(),
                };
                let connect =
                    sqlx::mysql::MySqlConnectOptions::from_str(&url).map_err(connect_error)?;
                sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(options.max_connections.unwrap_or(10))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map(Pool::MySql)
                    .map_err(connect_error)
            };
        }
    }
    #[allow(unreachable_code)]
    Err(not_compiled(backend))
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Pool> {
    use std::str::FromStr as _;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    let connect = SqliteConnectOptions::from_str(url)
        .map_err(connect_error)?
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    let in_memory = is_in_memory(url);
    let pool_options = SqlitePoolOptions::new().acquire_timeout(options.acquire_timeout);
    let (connect, pool_options) = if in_memory {
        // One connection that never closes: the database lives as long as it.
        (
            connect,
            pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
        )
    } else {
        create_private_file(connect.get_filename())?;
        (
            connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal),
            pool_options.max_connections(options.max_connections.unwrap_or(8)),
        )
    };
    pool_options
        .connect_with(connect)
        .await
        .map(Pool::Sqlite)
        .map_err(connect_error)
}

#[cfg(feature = "sqlite")]
fn is_in_memory(url: &str) -> bool {
    let rest = url.split_once(':').map_or("", |(_, rest)| rest);
    rest.starts_with(":memory:") || rest.starts_with("//:memory:") || rest.contains("mode=memory")
}

/// Creates the database file if missing, readable and writable by its
/// owner only (it holds password hashes and encrypted secrets).
#[cfg(feature = "sqlite")]
fn create_private_file(path: &std::path::Path) -> Result<()> {
    if path.as_os_str().is_empty() || path.exists() {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(Error::storage(
            "failed to create the SQLite database file",
            err,
        )),
    }
}
