//! # ims-store
//!
//! Connect (the migrations run on connect), create an admin user, and find
//! them the way the IMS sign-in does, by e-mail address:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> ims_api::Result<()> {
//! use ims_api::{AdminUserDirectory, NewAdminUser, Password};
//! use ims_store::{EncryptionKey, Store, StoreOptions};
//!
//! let key = EncryptionKey::generate(); // in production: EncryptionKey::from_env("IMS_STORE_KEY")
//! let store = Store::connect("sqlite::memory:", StoreOptions::new().with_encryption_key(key)).await?;
//!
//! let admins = store.admin_users();
//! let jane = admins
//!     .create(&NewAdminUser::new("jane", "Jane@Example.com", "Jane", "Doe", Password::new("s3cret!"))
//!         .with_role("Administrators"))
//!     .await?;
//! let found = admins.find_by_email("jane@example.com").await?;
//! assert_eq!(found.map(|user| user.id), Some(jane.id));
//!
//! // Hand the repositories to admin-ims / webapi-ims as trait objects.
//! let _directory: std::sync::Arc<dyn AdminUserDirectory> = std::sync::Arc::new(admins);
//! let _tokens: std::sync::Arc<dyn ims_api::WebApiTokenRepository> =
//!     std::sync::Arc::new(store.webapi_tokens());
//! # Ok(())
//! # }
//! ```
//!
//! sqlx repositories for the host-side tables of the IMS integration:
//! `admin_user` (a reference table for hosts without their own users),
//! `admin_adobe_ims_webapi`, `adobe_user_profile`, the IMS settings and the
//! shared token store of the token provider. SQLite is embedded by default;
//! PostgreSQL and MySQL/MariaDB serve hosts that run several instances.
//!
//! ## Backends
//!
//! [`Store::connect`] picks the backend from the URL scheme: `sqlite:`
//! (feature `sqlite`, the default), `postgres:`/`postgresql:` (feature
//! `postgres`), `mysql:`/`mariadb:` (feature `mysql`). A scheme whose feature
//! is not compiled in is a `Misconfigured` error. Times are stored as
//! milliseconds since the Unix epoch (`BIGINT`), the same on every backend.
//!
//! ## The change feed
//!
//! The repositories log each change other instances may have cached
//! (settings, an admin's state, an admin's Web API tokens invalidated) in
//! the same transaction as the data, ordered by a one-row epoch.
//! [`Store::change_feed`] serves that log as an [`ims_api::ChangeFeed`]
//! ([`SqlChangeFeed`]): PostgreSQL `LISTEN`/`NOTIFY`, epoch polling on
//! MySQL/MariaDB and SQLite, and with the `redis` feature Redis pub/sub
//! wake-ups (`RedisChangeFeed`).
//!
//! ## Secrets at rest
//!
//! Client secrets and tokens are encrypted with AES-256-GCM under an
//! [`EncryptionKey`] the host supplies (never stored beside the data).
//! Without a key, saving a secret is a `Misconfigured` error: nothing is
//! ever stored in clear. Passwords of `admin_user` are argon2id hashes.
//!
//! ## What this crate must never do
//!
//! - Depend on `admin-ims` or `webapi-ims`: they use this crate only through
//!   `ims-api` traits that the host wires in.
//! - Store a client secret or an access token unencrypted, or keep the
//!   encryption key beside the data.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | SQLite (bundled) |
//! | `postgres` | no | PostgreSQL |
//! | `mysql` | no | MySQL and MariaDB |
//! | `redis` | no | Redis pub/sub wake-ups for the change feed (`RedisChangeFeed`) |
//! | `sessions` | no | `SqlSessionStore`: tower-sessions sessions in the store's database |

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Built without any backend, the store can only refuse to connect.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unused, clippy::never_loop)
)]

mod admin_users;
mod changes;
mod context;
mod crypto;
mod db;
mod first_sight;
mod hashing;
#[cfg(feature = "sessions")]
mod sessions;
mod settings;
mod store;
mod token_cache;
mod user_profiles;
mod webapi_tokens;

pub use admin_users::{PasswordSignIn, SqlAdminUserDirectory};
pub use changes::{
    DEFAULT_POLL_INTERVAL, DEFAULT_RETENTION, DEFAULT_SAFETY_INTERVAL, SqlChangeFeed,
};
#[cfg(feature = "redis")]
pub use changes::{DEFAULT_REDIS_CHANNEL, RedisChangeFeed};
pub use context::PasswordHashCost;
pub use crypto::{EncryptionKey, KeyError};
pub use db::Backend;
pub use hashing::{PasswordHashBusy, PasswordHashStats};
pub use ims_api;
#[cfg(feature = "sessions")]
pub use sessions::{
    PendingRule, SESSION_LOG_TARGET, SESSION_ROW_OVERHEAD, SessionSweep, SqlSessionStats,
    SqlSessionStore,
};
pub use settings::SqlSettingsStore;
pub use store::{DEFAULT_PASSWORD_HASH_WAIT, MIGRATIONS_TABLE, Store, StoreOptions};
pub use token_cache::SqlTokenCache;
/// The tower-sessions core this crate's [`SqlSessionStore`] implements
/// (`SessionStore`, `ExpiredDeletion`, `Record`, `Id`).
#[cfg(feature = "sessions")]
pub use tower_sessions_core;
pub use user_profiles::SqlUserProfileRepository;
pub use webapi_tokens::SqlWebApiTokenRepository;
