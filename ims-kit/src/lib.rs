//! # ims-kit
//!
//! Admin sign-in with Adobe ID ([`admin_ims`]) and Web API bearer
//! authentication ([`webapi_ims`]) wired over [`ims_core`] (the IMS client,
//! local JWT verification) and [`ims_store`] (admins, settings, the token
//! record, sessions, the change feed) by one builder — every piece still
//! swappable for the host's own through a `with_*` method.
//!
//! admin-ims and webapi-ims depend on contracts only ([`ims_api`]); this
//! crate sits above them and picks the implementations.
//!
//! ```no_run
//! use axum::Router;
//! use axum::routing::get;
//! use ims_api::ImsEnvironment;
//! use ims_kit::ImsKit;
//! use url::Url;
//!
//! # async fn dashboard() -> &'static str { "" }
//! # async fn me() -> &'static str { "" }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let base = Url::parse("https://shop.example/")?;
//! let kit = ImsKit::builder(ImsEnvironment::Prod, base)
//!     .database("sqlite::memory:")
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .merge(Router::new().route("/admin", get(dashboard)).route_layer(kit.require_admin()))
//!     .merge(Router::new().route("/rest/V1/me", get(me)).route_layer(kit.webapi_layer()))
//!     .merge(kit.admin_routes())
//!     .layer(kit.session_layer());
//! # Ok(()) }
//! ```
//!
//! Keep the [`ImsKit`] alive as long as the app serves: it holds the task
//! that follows the fleet's change feed and the sweep of expired shared
//! sessions.
//!
//! ## Defaults
//!
//! - IMS: one [`ims_core::ImsClient`] for every IMS call
//!   ([`with_ims_client`](ImsKitBuilder::with_ims_client));
//! - local JWT verification on: [`ims_core::LocalVerifier`]
//!   ([`with_verifier`](ImsKitBuilder::with_verifier));
//! - admins, settings, the `admin_adobe_ims_webapi` record and
//!   `adobe_user_profile` from the [`ims_store::Store`];
//! - admin-ims mounted at `/admin/ims`
//!   ([`mount_prefix`](ImsKitBuilder::mount_prefix)), `Secure` cookies
//!   when the base URL is `https`;
//! - sessions (feature `axum`): in process within byte budgets
//!   ([`admin_ims::axum::BoundedSessionStore`]) on SQLite; in the database,
//!   shared by every instance, on PostgreSQL and MySQL;
//! - the change feed: followed when the database is shared (PostgreSQL,
//!   MySQL), so that a revocation on another instance is seen at once
//!   ([`follow_changes`](ImsKitBuilder::follow_changes)).
//!
//! ## Features
//!
//! - `axum` (default): routes, the admin guard, the session layer and the
//!   Web API layer;
//! - `actix`: the Web API middleware for actix-web
//!   ([`ImsKit::webapi_middleware`]);
//! - `sqlite` (default), `postgres`, `mysql`: the databases.

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use admin_ims::{AdminIms, AdminImsConfig};
use ims_api::{
    AdminUserDirectory, AuthorizeUrlBuilder, ChangeFeed, Clock, ImsEnvironment, ImsProbe,
    ImsSettingsStore, OrganizationReader, ProfileReader, SystemClock, TokenGrants, TokenRevoker,
    TokenValidator, TokenVerifier, UserProfileRepository, WebApiTokenRepository,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_store::{Backend, EncryptionKey, Store, StoreOptions};
use url::Url;
use webapi_ims::{ChangeFollower, WebApiAuthenticator, WebApiConfig};

#[cfg(feature = "axum")]
mod axum_parts;
#[cfg(feature = "axum")]
mod sessions;
mod wire;

#[cfg(feature = "axum")]
pub use sessions::KitSessionStore;

pub use admin_ims;
pub use ims_api;
pub use ims_core;
pub use ims_store;
pub use webapi_ims;

/// Where admin-ims's routes are mounted unless
/// [`mount_prefix`](ImsKitBuilder::mount_prefix) says otherwise.
pub const DEFAULT_MOUNT_PREFIX: &str = "/admin/ims";

/// How often expired sessions are deleted from a shared session store.
pub const SESSION_SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Why the kit could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KitError {
    /// Neither [`database`](ImsKitBuilder::database) nor
    /// [`store`](ImsKitBuilder::store) was given.
    #[error("no database: call .database(url) or .store(store)")]
    NoDatabase,
    /// The store has no encryption key, so it could not read the
    /// integration's client secret (only `sqlite::memory:` gets a
    /// generated one).
    #[error(
        "the store has no encryption key: give one with .encryption_key(key) or in .store_options(options)"
    )]
    NoEncryptionKey,
    /// The database could not be opened or migrated.
    #[error("the database: {0}")]
    Store(#[source] ims_api::Error),
    /// The IMS client or the verifier could not be built.
    #[error("the IMS client: {0}")]
    Ims(#[source] ims_api::Error),
    /// The base URL or the mount prefix does not make callback URLs.
    #[error("the admin configuration: {0}")]
    Config(#[source] ims_api::InvalidValue),
    /// The change feed could not be followed.
    #[error("cannot follow the change feed: {0}")]
    Follow(#[source] webapi_ims::FollowError),
}

/// A change to admin-ims's configuration.
type ConfigChange = dyn FnOnce(&mut AdminImsConfig) + Send;

/// Where the database comes from.
enum Database {
    None,
    Url(String),
    Store(Store),
}

/// Whether the Web API follows a change feed.
enum Feed {
    /// The store's own, when its database is shared (not SQLite).
    Auto,
    /// Never.
    Off,
    /// The store's own, whatever the database.
    On,
    /// This one.
    Given(Arc<dyn ChangeFeed>),
}

/// Builds an [`ImsKit`]: start with [`ImsKit::builder`], end with
/// [`build`](Self::build).
///
/// ```
/// # async fn run() -> Result<(), ims_kit::KitError> {
/// use ims_kit::ImsKit;
///
/// let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
/// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
///     .database("sqlite::memory:")
///     .mount_prefix("/backend/ims")
///     .build()
///     .await?;
/// assert!(kit.admin_service().config().callback_url.path().starts_with("/backend/ims/"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
pub struct ImsKitBuilder {
    environment: ImsEnvironment,
    base_url: Url,
    database: Database,
    store_options: Option<StoreOptions>,
    encryption_key: Option<EncryptionKey>,
    mount_prefix: String,
    secure_cookie: Option<bool>,
    admin_config: Option<Box<ConfigChange>>,
    webapi_config: WebApiConfig,
    ims: Option<wire::ImsSide>,
    verifier: Option<Arc<dyn TokenVerifier>>,
    admins: Option<Arc<dyn AdminUserDirectory>>,
    tokens: Option<Arc<dyn WebApiTokenRepository>>,
    settings: Option<Arc<dyn ImsSettingsStore>>,
    user_profiles: Option<Option<Arc<dyn UserProfileRepository>>>,
    clock: Option<Arc<dyn Clock>>,
    feed: Feed,
    #[cfg(feature = "axum")]
    session_store: Option<KitSessionStore>,
}

impl fmt::Debug for ImsKitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImsKitBuilder")
            .field("environment", &self.environment)
            .field("base_url", &self.base_url.as_str())
            .field("mount_prefix", &self.mount_prefix)
            .finish_non_exhaustive()
    }
}

impl ImsKitBuilder {
    /// Opens (creating and migrating) the database at `url`: `sqlite:…`,
    /// `postgres://…` or `mysql://…` (with the matching feature).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(kit.store().backend(), ims_store::Backend::Sqlite);
    /// # });
    /// ```
    pub fn database(mut self, url: &str) -> Self {
        self.database = Database::Url(url.to_owned());
        self
    }

    /// Uses an open store instead of [`database`](Self::database).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let options = ims_store::StoreOptions::new()
    ///     .with_encryption_key(ims_store::EncryptionKey::generate());
    /// let store = ims_store::Store::connect("sqlite::memory:", options).await.unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .store(store)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(kit.store().has_encryption_key());
    /// # });
    /// ```
    pub fn store(mut self, store: Store) -> Self {
        self.database = Database::Store(store);
        self
    }

    /// The options [`database`](Self::database) connects with (pool size,
    /// timeouts, the key…).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let options = ims_store::StoreOptions::new().with_max_connections(4);
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .store_options(options)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store_options = Some(options);
        self
    }

    /// The key that encrypts the client secret and the stored tokens at
    /// rest. Required for any database but `sqlite::memory:` (which gets a
    /// generated one) unless [`store_options`](Self::store_options) has one.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// # let dir = std::env::temp_dir().join(format!("ims-kit-doc-{}.db", std::process::id()));
    /// # let url = format!("sqlite:{}", dir.display());
    /// // In production, from a secret manager: EncryptionKey::from_base64(…).
    /// let key = ims_store::EncryptionKey::generate();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database(&url)
    ///     .encryption_key(key)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # kit.store().close().await;
    /// # let _ = std::fs::remove_file(&dir);
    /// # });
    /// ```
    pub fn encryption_key(mut self, key: EncryptionKey) -> Self {
        self.encryption_key = Some(key);
        self
    }

    /// Where admin-ims's routes and callbacks live (default
    /// [`DEFAULT_MOUNT_PREFIX`]); the redirect URIs registered at IMS are
    /// `<base><prefix>/callback` and `<base><prefix>/reauth/callback`.
    pub fn mount_prefix(mut self, prefix: &str) -> Self {
        self.mount_prefix = prefix.to_owned();
        self
    }

    /// Whether the session cookie is `Secure` (default: when the base URL
    /// is `https`).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// // Plain HTTP on localhost: a `Secure` cookie would never come back.
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .secure_cookie(false)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn secure_cookie(mut self, secure: bool) -> Self {
        self.secure_cookie = Some(secure);
        self
    }

    /// Changes admin-ims's configuration (home path, lifetimes, policies)
    /// after the kit derived it from the base URL and the mount prefix.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_admin_config(|config| config.home_path = "/backend".to_owned())
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(kit.admin_service().config().home_path, "/backend");
    /// # });
    /// ```
    pub fn with_admin_config(
        mut self,
        change: impl FnOnce(&mut AdminImsConfig) + Send + 'static,
    ) -> Self {
        self.admin_config = Some(Box::new(change));
        self
    }

    /// webapi-ims's configuration (default [`WebApiConfig::default`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let mut config = webapi_ims::WebApiConfig::default();
    /// config.store_tokens = true; // so that revoking an admin's tokens logs them out at IMS
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_webapi_config(config)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(kit.authenticator().config().store_tokens);
    /// # });
    /// ```
    pub fn with_webapi_config(mut self, config: WebApiConfig) -> Self {
        self.webapi_config = config;
        self
    }

    /// The IMS side: one implementation of every IMS trait (default: an
    /// [`ImsClient`] for the environment).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// // An IMS client with its own HTTP policy (deadlines, retries).
    /// let environment = ims_api::ImsEnvironment::Stage;
    /// let policy = ims_core::HttpPolicy::default();
    /// let client = ims_core::ImsClient::with_policy(environment.clone(), policy).unwrap();
    /// let kit = ImsKit::builder(environment, base)
    ///     .database("sqlite::memory:")
    ///     .with_ims_client(Arc::new(client))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_ims_client<I>(mut self, ims: Arc<I>) -> Self
    where
        I: AuthorizeUrlBuilder
            + TokenGrants
            + TokenValidator
            + TokenRevoker
            + ProfileReader
            + OrganizationReader
            + ImsProbe
            + 'static,
    {
        self.ims = Some(wire::ImsSide::of(ims));
        self
    }

    /// The Web API's local token checks (default: a [`LocalVerifier`] for
    /// the environment).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let environment = ims_api::ImsEnvironment::Stage;
    /// let config = ims_core::VerifierConfig::default().with_leeway(std::time::Duration::from_secs(5));
    /// let verifier = ims_core::LocalVerifier::new(environment.clone(), config).unwrap();
    /// let kit = ImsKit::builder(environment, base)
    ///     .database("sqlite::memory:")
    ///     .with_verifier(Arc::new(verifier))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The host's admin users (default: the store's `admin_user`).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// // Your own implementation of ims_api::AdminUserDirectory (here another
    /// // store's, for brevity); ims-kit/tests/swap.rs has a complete one.
    /// # let options = ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate());
    /// let users = ims_store::Store::connect("sqlite::memory:", options).await.unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_admin_directory(Arc::new(users.admin_users()))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_admin_directory(mut self, admins: Arc<dyn AdminUserDirectory>) -> Self {
        self.admins = Some(admins);
        self
    }

    /// The `admin_adobe_ims_webapi` record (default: the store's).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// # let options = ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate());
    /// let elsewhere = ims_store::Store::connect("sqlite::memory:", options).await.unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_token_repository(Arc::new(elsewhere.webapi_tokens()))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_token_repository(mut self, tokens: Arc<dyn WebApiTokenRepository>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The integration's settings (default: the store's).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// # let options = ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate());
    /// let elsewhere = ims_store::Store::connect("sqlite::memory:", options).await.unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_settings_store(Arc::new(elsewhere.settings()))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_settings_store(mut self, settings: Arc<dyn ImsSettingsStore>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The `adobe_user_profile` record updated at every sign-in (default:
    /// the store's; `None` keeps none).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// // No adobe_user_profile record.
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_user_profiles(None)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_user_profiles(mut self, profiles: Option<Arc<dyn UserProfileRepository>>) -> Self {
        self.user_profiles = Some(profiles);
        self
    }

    /// The time (default [`SystemClock`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_clock(Arc::new(ims_api::SystemClock))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = kit;
    /// # });
    /// ```
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Whether the Web API follows the store's change feed (default: when
    /// the database is shared, i.e. PostgreSQL or MySQL). Every instance of
    /// a fleet on one database must.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// // Several processes on one SQLite file: follow its change log too.
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .follow_changes(true)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(kit.follows_changes());
    /// # });
    /// ```
    pub fn follow_changes(mut self, follow: bool) -> Self {
        self.feed = if follow { Feed::On } else { Feed::Off };
        self
    }

    /// Follows this change feed instead of the store's (e.g. ims-store's
    /// `RedisChangeFeed` over it).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// # let options = ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate());
    /// let store = ims_store::Store::connect("sqlite::memory:", options).await.unwrap();
    /// // E.g. ims-store's RedisChangeFeed over the store's feed (feature `redis`).
    /// let feed = Arc::new(store.change_feed());
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .store(store)
    ///     .with_change_feed(feed)
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(kit.follows_changes());
    /// # });
    /// ```
    pub fn with_change_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Self {
        self.feed = Feed::Given(feed);
        self
    }

    /// The admin sessions' store (default: see [`ImsKit`]): the bounded
    /// in-memory store, the database's, or the host's own
    /// ([`KitSessionStore::custom`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .with_session_store(ims_kit::KitSessionStore::custom(tower_sessions::MemoryStore::default()))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(!kit.session_store().is_shared());
    /// # });
    /// ```
    #[cfg(feature = "axum")]
    pub fn with_session_store(mut self, store: KitSessionStore) -> Self {
        self.session_store = Some(store);
        self
    }

    /// Opens the store, builds every part and starts following the change
    /// feed when asked (inside a Tokio runtime).
    ///
    /// # Errors
    ///
    /// See [`KitError`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use ims_kit::ImsKit;
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    ///     .database("sqlite::memory:")
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert!(!kit.follows_changes()); // SQLite: one process
    /// # });
    /// ```
    pub async fn build(self) -> Result<ImsKit, KitError> {
        let store = match self.database {
            Database::None => return Err(KitError::NoDatabase),
            Database::Store(store) => store,
            Database::Url(url) => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let mut options = self.store_options.unwrap_or_default();
                if let Some(key) = self.encryption_key {
                    options = options.with_encryption_key(key);
                } else if in_memory {
                    options = options.with_encryption_key(EncryptionKey::generate());
                }
                Store::connect(&url, options)
                    .await
                    .map_err(KitError::Store)?
            }
        };
        if !store.has_encryption_key() {
            return Err(KitError::NoEncryptionKey);
        }
        let ims = match self.ims {
            Some(ims) => ims,
            None => wire::ImsSide::of(Arc::new(
                ImsClient::new(self.environment.clone()).map_err(KitError::Ims)?,
            )),
        };
        let verifier = match self.verifier {
            Some(verifier) => verifier,
            None => Arc::new(
                LocalVerifier::new(self.environment.clone(), VerifierConfig::default())
                    .map_err(KitError::Ims)?,
            ),
        };
        let host = wire::HostSide {
            admins: self.admins.unwrap_or_else(|| Arc::new(store.admin_users())),
            tokens: self
                .tokens
                .unwrap_or_else(|| Arc::new(store.webapi_tokens())),
            settings: self.settings.unwrap_or_else(|| Arc::new(store.settings())),
            user_profiles: self
                .user_profiles
                .unwrap_or_else(|| Some(Arc::new(store.user_profiles()))),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        };
        let secure_cookie = self
            .secure_cookie
            .unwrap_or(self.base_url.scheme() == "https");
        let mut config = wire::admin_config(self.base_url, &self.mount_prefix)?;
        if let Some(change) = self.admin_config {
            change(&mut config);
        }
        let admin = Arc::new(wire::admin_service(&ims, &host, config));
        let authenticator = Arc::new(wire::authenticator(
            &ims,
            verifier,
            &host,
            self.webapi_config,
        ));
        let shared = store.backend() != Backend::Sqlite;
        let feed: Option<Arc<dyn ChangeFeed>> = match self.feed {
            Feed::Off => None,
            Feed::Auto if !shared => None,
            Feed::Auto | Feed::On => Some(Arc::new(store.change_feed())),
            Feed::Given(feed) => Some(feed),
        };
        let follower = feed
            .map(|feed| wire::follow(&authenticator, feed))
            .transpose()?;
        #[cfg(feature = "axum")]
        let web = axum_parts::Web::new(&store, &admin, secure_cookie, self.session_store, shared);
        #[cfg(not(feature = "axum"))]
        let _ = secure_cookie;
        Ok(ImsKit {
            store,
            admin,
            authenticator,
            mount_prefix: self.mount_prefix,
            follower: follower.map(Arc::new),
            #[cfg(feature = "axum")]
            web,
        })
    }
}

/// admin-ims and webapi-ims wired over ims-core and ims-store: see the
/// [crate] documentation. Clones share everything.
#[derive(Clone)]
pub struct ImsKit {
    store: Store,
    admin: Arc<AdminIms>,
    authenticator: Arc<WebApiAuthenticator>,
    mount_prefix: String,
    follower: Option<Arc<ChangeFollower>>,
    #[cfg(feature = "axum")]
    web: axum_parts::Web,
}

impl fmt::Debug for ImsKit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImsKit")
            .field("backend", &self.store.backend())
            .field("mount_prefix", &self.mount_prefix)
            .field("follows_changes", &self.follower.is_some())
            .finish_non_exhaustive()
    }
}

impl ImsKit {
    /// A builder for an IMS `environment` (`ImsEnvironment::Prod`, or the
    /// emulator's `ImsEnvironment::custom(url)`) and the app's public base
    /// URL, from which the redirect URIs derive.
    ///
    /// ```
    /// let base = url::Url::parse("https://shop.example/").unwrap();
    /// let builder = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Prod, base);
    /// # let _ = builder;
    /// ```
    pub fn builder(environment: ImsEnvironment, base_url: Url) -> ImsKitBuilder {
        ImsKitBuilder {
            environment,
            base_url,
            database: Database::None,
            store_options: None,
            encryption_key: None,
            mount_prefix: DEFAULT_MOUNT_PREFIX.to_owned(),
            secure_cookie: None,
            admin_config: None,
            webapi_config: WebApiConfig::default(),
            ims: None,
            verifier: None,
            admins: None,
            tokens: None,
            settings: None,
            user_profiles: None,
            clock: None,
            feed: Feed::Auto,
            #[cfg(feature = "axum")]
            session_store: None,
        }
    }

    /// The store (for the host's own queries, seeding, operator commands).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let admins = kit.store().admin_users(); // seed, list, lock…
    /// # let _ = admins;
    /// # });
    /// ```
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The admin sign-in service (framework-neutral: `begin_login`,
    /// `check_session`, `enable`, …).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let status = kit.admin_service().status().await.unwrap();
    /// assert_eq!(status.to_string(), "Admin Adobe IMS integration is disabled");
    /// # });
    /// ```
    pub fn admin_service(&self) -> &Arc<AdminIms> {
        &self.admin
    }

    /// The Web API authenticator (framework-neutral: `authenticate`,
    /// `revoke_admin_tokens`, …).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let refused = kit.authenticator().authenticate(&[]).await;
    /// assert_eq!(refused.unwrap_err().status(), 401);
    /// # });
    /// ```
    pub fn authenticator(&self) -> &Arc<WebApiAuthenticator> {
        &self.authenticator
    }

    /// Whether the Web API follows a change feed.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// assert!(!kit.follows_changes()); // SQLite, by default
    /// # });
    /// ```
    pub fn follows_changes(&self) -> bool {
        self.follower.is_some()
    }

    /// The actix-web middleware that lets only IMS tokens of active admins
    /// through (feature `actix`); handlers take `webapi_ims::actix::TokenAdmin`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let app = actix_web::App::new().service(
    ///     actix_web::web::scope("/rest").wrap(kit.webapi_middleware()),
    /// );
    /// # let _ = app;
    /// # });
    /// ```
    #[cfg(feature = "actix")]
    pub fn webapi_middleware(&self) -> webapi_ims::actix::ImsAuth {
        wire::webapi_middleware(self.authenticator.clone())
    }
}
