//! Where every crate of the toolkit is wired into the host — the one module
//! to read and copy:
//!
//! | crate | wired in by |
//! |---|---|
//! | `ims-store` | [`open_store`]: the database, migrations, the encryption key |
//! | `ims-core` | [`connect_ims`]: `ImsClient` (every IMS endpoint) and `LocalVerifier` |
//! | `ims-emulator` | [`connect_ims`]: started in-process when no IMS is configured |
//! | `admin-ims` | [`admin_ims()`]: the service over the client and the store; [`admin_sessions`]: the sessions, shared in the database for a fleet; `router`: its routes, session layer and guard |
//! | `webapi-ims` | [`webapi_authenticator`]: the authenticator; `router`: `/rest/V1/me` authenticated by the `BearerAdmin` extractor |
//!
//! Everything else in this crate is pages.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use admin_ims::axum::AdminImsWeb;
use admin_ims::{AdminIms, AdminImsConfig, AdminImsServices, EnableRequest};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use ims_api::SessionLimits;
use ims_api::{
    AdminUserDirectory, ChangeFeed, ClientId, ClientSecret, ImsEnvironment, NewAdminUser,
    SystemClock,
};
use ims_core::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, RunningEmulator, Seed, SeedUser, default_seed};
use ims_store::{
    Backend, EncryptionKey, PendingRule, RedisChangeFeed, SessionSweep, Store, StoreOptions,
};
use url::Url;
use webapi_ims::{ChangeFollower, WebApiAuthenticator, WebApiConfig, WebApiServices};

pub(crate) use crate::admins::random_password;
pub use crate::admins::{ADMIN_ROLE, ROLES, is_known_role};
use crate::cli::{CommonArgs, ServeArgs, SessionPlace, parse_yes_no};
use crate::health::Health;
use crate::sessions::DemoSessionStore;
pub(crate) use crate::state::AppState;
use crate::{pages, password_login, rest};

/// Where admin-ims's routes are mounted (its callbacks live below).
pub const IMS_MOUNT: &str = "/admin/ims";

/// The environment variable holding the store's encryption key (base64).
pub const KEY_ENV: &str = "IMS_DEMO_KEY";

/// A second emulator user, also a member of the emulator's organization,
/// whom the demo's "create admin user" page can make an admin.
pub const COLLEAGUE_EMAIL: &str = "colleague@example.com";
/// The colleague's password on the emulator's sign-in page.
pub const COLLEAGUE_PASSWORD: &str = "colleague-password";

/// Why the demo could not start or a command failed: one readable line.
#[derive(Debug)]
pub struct DemoError(String);

impl DemoError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        DemoError(message.into())
    }
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

fn err(context: &str) -> impl FnOnce(ims_api::Error) -> DemoError + '_ {
    move |error| DemoError(format!("{context}: {error}"))
}

// ---------------------------------------------------------------- ims-store

/// Opens (creating and migrating) the database, with the encryption key from
/// `IMS_DEMO_KEY` or, for a SQLite file, from a key file beside it.
///
/// A real host keeps the key elsewhere (a secret manager): the key file
/// beside the database is a labelled convenience of this demo only.
pub async fn open_store(database: &str) -> Result<Store, DemoError> {
    if ims_store::Backend::from_url(database).is_none() {
        return Err(DemoError(format!(
            "--database {}: expected sqlite:<file>, postgres://… or mysql://…",
            shown_database(database)
        )));
    }
    let key = encryption_key(database)?;
    Store::connect(database, StoreOptions::new().with_encryption_key(key))
        .await
        .map_err(err("could not open the database"))
}

fn encryption_key(database: &str) -> Result<EncryptionKey, DemoError> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        return EncryptionKey::from_base64(&text)
            .map_err(|e| DemoError(format!("{KEY_ENV} is not a valid key: {e}")));
    }
    match sqlite_file(database) {
        Some(file) => key_file(&key_path(&file)),
        None if database.contains(":memory:") => Ok(EncryptionKey::generate()),
        None => Err(DemoError(format!(
            "set {KEY_ENV} to a base64 32-byte key for this database (e.g. `openssl rand -base64 32`)"
        ))),
    }
}

/// The database URL without its password, for printing.
pub fn shown_database(database: &str) -> String {
    match Url::parse(database) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => database.to_owned(),
    }
}

/// The file of a `sqlite:` URL, if it names one.
fn sqlite_file(database: &str) -> Option<PathBuf> {
    let rest = database.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// `ims-demo.db` → `ims-demo.key` in the same directory.
fn key_path(database_file: &Path) -> PathBuf {
    database_file.with_extension("key")
}

fn key_file(path: &Path) -> Result<EncryptionKey, DemoError> {
    let show = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => EncryptionKey::from_base64(&text)
            .map_err(|e| DemoError(format!("the key file {show} is not a valid key: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = EncryptionKey::generate();
            write_private(path, &key.expose_base64())
                .map_err(|e| DemoError(format!("could not write the key file {show}: {e}")))?;
            tracing::warn!(
                "created the demo encryption key {show} beside the database; a real host keeps its key elsewhere ({KEY_ENV})"
            );
            Ok(key)
        }
        Err(e) => Err(DemoError(format!(
            "could not read the key file {show}: {e}"
        ))),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

// ---------------------------------------------------- ims-core, ims-emulator

/// The IMS the demo talks to: a real one, or the emulator it started.
#[derive(Debug)]
pub struct ConnectedIms {
    /// The client for every IMS endpoint.
    pub client: Arc<ImsClient>,
    /// The environment (base URL, authority).
    pub environment: ImsEnvironment,
    /// The emulator, when the demo started one (stopped when dropped).
    pub emulator: Option<RunningEmulator>,
}

/// Connects to `ims_url`, or starts the emulator on a free port when there
/// is none (without its test-control API).
pub async fn connect_ims(ims_url: Option<&str>) -> Result<ConnectedIms, DemoError> {
    connect_ims_with(ims_url, false).await
}

/// [`connect_ims`], with the emulator's `/__emulator/` test-control API
/// served when `emulator_control` is set (`--emulator-control`).
pub async fn connect_ims_with(
    ims_url: Option<&str>,
    emulator_control: bool,
) -> Result<ConnectedIms, DemoError> {
    let (environment, emulator) = match ims_url {
        Some(url) => {
            let env =
                ImsEnvironment::custom(url).map_err(|e| DemoError(format!("--ims-url: {e}")))?;
            (env, None)
        }
        None => {
            let emulator = Emulator::builder()
                .seed(demo_seed())
                .control(emulator_control)
                .start()
                .await
                .map_err(|e| DemoError(format!("could not start the IMS emulator: {e}")))?;
            let env = ImsEnvironment::custom(emulator.base())
                .map_err(|e| DemoError(format!("the emulator's URL: {e}")))?;
            (env, Some(emulator))
        }
    };
    let client = ImsClient::new(environment.clone()).map_err(err("the IMS client"))?;
    Ok(ConnectedIms {
        client: Arc::new(client),
        environment,
        emulator,
    })
}

/// The emulator's default seed plus [`COLLEAGUE_EMAIL`], a second member of
/// its organization.
pub fn demo_seed() -> Seed {
    let mut seed = Seed::default_seed();
    let user_id = "9999AAAA8888BBBB7777CCCC@AdobeID".to_owned();
    seed.users.push(SeedUser {
        user_id: user_id.clone(),
        email: COLLEAGUE_EMAIL.to_owned(),
        first_name: "Casey".to_owned(),
        last_name: "Colleague".to_owned(),
        password: COLLEAGUE_PASSWORD.to_owned(),
        account_type: "ent".to_owned(),
        country_code: "US".to_owned(),
        email_verified: true,
    });
    if let Some(org) = seed
        .orgs
        .iter_mut()
        .find(|org| org.id == default_seed::ORG_ID)
    {
        org.members.push(user_id);
    }
    seed
}

// ---------------------------------------------------------------- admin-ims

/// The admin sign-in service: IMS through `ims-core`, users, settings and
/// profiles through `ims-store`. Callbacks live under `public_base` +
/// [`IMS_MOUNT`].
pub fn admin_ims(
    store: &Store,
    ims: &ConnectedIms,
    public_base: &Url,
) -> Result<AdminIms, DemoError> {
    // The IMS client is also the probe `enable` sends (one transport).
    let services = AdminImsServices::new(
        ims.client.clone(),
        Arc::new(store.admin_users()),
        Arc::new(store.settings()),
        Arc::new(SystemClock),
    )
    .with_user_profiles(Arc::new(store.user_profiles()))
    .with_mailer(Arc::new(crate::mailer::LogMailer));
    let mut config = AdminImsConfig::new(public_base.clone(), IMS_MOUNT)
        .map_err(|e| DemoError(format!("the public URL: {e}")))?;
    config.home_path = "/admin".to_owned();
    Ok(AdminIms::new(services, config))
}

/// How the shared session store tells pending sessions (sign-ins in flight,
/// all an anonymous visitor can make) from established ones: admin-ims's
/// own rule, the one its in-memory store classifies with.
pub fn admin_session_rule() -> PendingRule {
    PendingRule::new(admin_ims::axum::is_pending_session)
}

/// How often expired sessions are deleted from the database.
pub const SESSION_SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// The admin sessions: in the database ([`Store::sessions`]) for
/// PostgreSQL and MySQL — every instance on the database accepts a session
/// any of them made, a restart keeps them, a logout ends them everywhere —
/// or in this process for SQLite, unless `place` says otherwise (a SQLite
/// file can hold them too, at the cost of one synchronous write per
/// anonymous sign-in start; an in-memory database always keeps them in
/// memory). Either way bounded: pending sign-ins within their own budget,
/// expiring with the sign-in's state (`state_ttl`).
///
/// A shared store comes with its sweep of expired rows, running until the
/// [`SessionSweep`] is dropped.
pub fn admin_sessions(
    store: &Store,
    web: &AdminImsWeb,
    database: &str,
    place: SessionPlace,
) -> (DemoSessionStore, Option<SessionSweep>) {
    let sqlite = store.backend() == Backend::Sqlite;
    let in_memory = sqlite && (database.contains(":memory:") || database.contains("mode=memory"));
    let shared = match place {
        SessionPlace::Auto => !sqlite,
        SessionPlace::Database => !in_memory,
        SessionPlace::Memory => false,
    };
    if !shared {
        return (DemoSessionStore::Memory(web.session_store()), None);
    }
    let limits = SessionLimits::default().with_pending_ttl(web.service().config().state_ttl);
    let sessions = store.sessions(admin_session_rule()).with_limits(limits);
    let sweep = sessions.spawn_sweep(SESSION_SWEEP_PERIOD);
    (DemoSessionStore::Shared(sessions), Some(sweep))
}

// --------------------------------------------------------------- webapi-ims

/// The Web API authenticator: local verification and IMS calls through
/// `ims-core`, the `admin_adobe_ims_webapi` record through `ims-store`. Tokens
/// are kept (encrypted) so that revoking an admin's tokens logs them out at
/// IMS too.
///
/// Only tokens issued to the integration's client id are accepted, plus
/// those of `extra_client_ids` (`--webapi-client-id`); each is trimmed and
/// must be a well-formed client id. The token's admin must be active, not
/// locked, hold a role with permissions and belong to the configured
/// organization.
///
/// Its IMS client gives up a second before the authenticator's
/// `ims_deadline` (as [`token_verifier`]'s key fetches do): a client still
/// retrying when the authenticator stops waiting would lose IMS's
/// `Retry-After`, and the 503 would carry the configured one instead.
pub fn webapi_authenticator(
    store: &Store,
    ims: &ConnectedIms,
    verifier: Arc<LocalVerifier>,
    extra_client_ids: &[String],
) -> Result<WebApiAuthenticator, DemoError> {
    let extra = extra_client_ids
        .iter()
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .map(|id| {
            ClientId::parse(id).map_err(|e| {
                DemoError(format!(
                    "--webapi-client-id / IMS_DEMO_WEBAPI_CLIENT_IDS: {e}"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = WebApiConfig::default().with_allowed_client_ids(extra);
    config.store_tokens = true;
    let client = Arc::new(
        ImsClient::with_policy(ims.environment.clone(), policy_within(config.ims_deadline))
            .map_err(err("the Web API's IMS client"))?,
    );
    let services = WebApiServices::new(
        client,
        verifier,
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    );
    Ok(WebApiAuthenticator::new(services, config))
}

/// The Web API's token verifier for `ims`: its key fetches give up a
/// second before the authenticator's default `ims_deadline`, as its IMS
/// client's calls do. Shared with `/readyz`, which asks whether it holds
/// IMS's keys.
pub fn token_verifier(ims: &ConnectedIms) -> Result<Arc<LocalVerifier>, DemoError> {
    let mut config = VerifierConfig::default();
    config.http = policy_within(WebApiConfig::default().ims_deadline);
    let verifier =
        LocalVerifier::new(ims.environment.clone(), config).map_err(err("the token verifier"))?;
    Ok(Arc::new(verifier))
}

/// Makes the Web API follow the fleet's change feed on the store's database
/// (woken through Redis when `redis_url` is given), so that a revocation,
/// a disabled integration or a locked admin on another instance — or by an
/// operator command — is seen within the feed's delay instead of the hot
/// cache's 30 s. Keep the follower as long as the server runs: without it
/// the authenticator re-reads every record on a short interval.
pub fn follow_changes(
    store: &Store,
    webapi: &Arc<WebApiAuthenticator>,
    redis_url: Option<&str>,
) -> Result<ChangeFollower, DemoError> {
    let sql = store.change_feed();
    let feed: Arc<dyn ChangeFeed> = match redis_url {
        Some(url) => Arc::new(
            RedisChangeFeed::connect(sql, url).map_err(err("--redis-url / IMS_DEMO_REDIS_URL"))?,
        ),
        None => Arc::new(sql),
    };
    webapi
        .follow_changes(feed)
        .map_err(|e| DemoError(format!("cannot follow the change feed: {e}")))
}

/// The default HTTP policy, its deadline (and each attempt) cut to end a
/// second before `deadline` (at least half of it).
fn policy_within(deadline: Duration) -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    let within = deadline
        .saturating_sub(Duration::from_secs(1))
        .max(deadline / 2);
    policy.deadline = policy.deadline.min(within);
    policy.attempt_timeout = policy.attempt_timeout.min(policy.deadline);
    policy.connect_timeout = policy.connect_timeout.min(policy.deadline);
    policy
}

// ------------------------------------------------------------------ the app

/// The whole application: pages behind the admin guard, the sign-in pages,
/// admin-ims's routes, the REST API (`BearerAdmin` authenticates), the session layer
/// around everything and a request log.
pub(crate) fn router(state: AppState, sessions: DemoSessionStore, health: Health) -> Router {
    let secure = state.web.clone();
    let pages = Router::new()
        .route("/admin", get(pages::dashboard::show))
        .route("/admin/users", get(pages::users::list))
        .route(
            "/admin/users/new",
            get(pages::users::new_form).post(pages::users::create),
        )
        .route("/admin/webapi-tokens", get(pages::tokens::list))
        .route("/admin/webapi-tokens/revoke", post(pages::tokens::revoke))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            password_login::require_admin,
        ));
    // `rest::me` authenticates with its `BearerAdmin` extractor.
    let rest = Router::new()
        .route("/rest/V1/me", get(rest::me))
        .route("/rest/V1/integration/admin/token", post(rest::admin_token));
    Router::new()
        .route("/", get(|| async { Redirect::to("/admin") }))
        .route(
            "/admin/login",
            get(password_login::sign_in_page).post(password_login::sign_in),
        )
        .route("/admin/logout", post(password_login::sign_out))
        .merge(pages)
        .merge(rest)
        .merge(secure.routes())
        .fallback(pages::not_found)
        .with_state(state)
        // Bounded and expiring: anonymous sign-in starts cannot grow it.
        .layer(secure.session_layer_with_store(sessions))
        // The operator's endpoints: no session, no token.
        .merge(health.routes())
        .layer(middleware::from_fn(log_request))
}

/// One line per request: method, path (never the query: it can hold codes
/// and states), status, latency. Never a header.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "ims_demo::http",
        "{method} {path} {} {:.1?}",
        response.status().as_u16(),
        started.elapsed()
    );
    response
}

/// A running demo (tests and `serve`): its addresses and its store.
#[derive(Debug)]
pub struct RunningDemo {
    /// The bound address.
    pub addr: SocketAddr,
    /// The admin's URL (`…/admin`).
    pub admin_url: String,
    /// The emulator's base URL, when the demo started one.
    pub emulator_url: Option<String>,
    /// The store.
    pub store: Store,
    /// Whether admin sessions live in the database (shared by instances,
    /// kept across restarts).
    pub shared_sessions: bool,
    server: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _sweep: Option<SessionSweep>,
    _follower: ChangeFollower,
    _ims: ConnectedIms,
}

impl RunningDemo {
    /// Stops the server and the emulator.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Binds, connects IMS, opens the store, configures the integration and
/// starts serving in the background.
pub async fn start(common: &CommonArgs, serve: &ServeArgs) -> Result<RunningDemo, DemoError> {
    // The port first: a taken port fails before anything else happens.
    let listener = match tokio::net::TcpListener::bind(serve.addr).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(DemoError(format!(
                "address {} is in use; pass --addr 127.0.0.1:0 or another port",
                serve.addr
            )));
        }
        Err(e) => return Err(DemoError(format!("cannot listen on {}: {e}", serve.addr))),
    };
    let addr = listener
        .local_addr()
        .map_err(|e| DemoError(format!("cannot read the bound address: {e}")))?;
    let public_base = public_base(common.public_url.as_deref(), addr)?;

    // Before the authenticator: it registers its counters once, built.
    let metrics = crate::metrics::install();
    let store = open_store(&common.database).await?;
    let ims = connect_ims_with(common.ims_url.as_deref(), serve.emulator_control).await?;
    let admin = admin_ims(&store, &ims, &public_base)?;
    if let Some(warning) =
        crate::settings_origin::settings_origin_warning(&store, common.ims_url.as_deref()).await
    {
        tracing::warn!("{warning}");
    }
    configure_integration(&store, &admin, &ims, serve).await?;
    let verifier = token_verifier(&ims)?;
    let webapi = Arc::new(webapi_authenticator(
        &store,
        &ims,
        Arc::clone(&verifier),
        &serve.webapi_client_ids,
    )?);
    let follower = follow_changes(&store, &webapi, serve.redis_url.as_deref())?;

    // Signed-out visitors and every sign-in outcome land on the demo's own
    // sign-in page (`?return_to=`, `?ims_error=<kind>`).
    let web = AdminImsWeb::new(Arc::new(admin))
        .with_host_page("/admin/login")
        .with_secure_cookie(public_base.scheme() == "https")
        .with_after_logout("/admin/login");
    let (sessions, sweep) = admin_sessions(&store, &web, &common.database, serve.sessions);
    let shared_sessions = sessions.is_shared();
    let state = AppState {
        store: store.clone(),
        web,
        webapi,
        emulator_hint: ims.emulator.is_some(),
    };
    let health = Health::new(store.clone(), ims.client.clone(), verifier, metrics);
    let app = router(state, sessions, health);
    let limits = serve.limits.limits();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        // Not `axum::serve`: it has no connection cap and no timeouts
        // (see `server`).
        crate::server::serve(listener, app, limits, async move {
            let _ = rx.await;
        })
        .await;
    });
    let mut admin_url = public_base.clone();
    admin_url.set_path("/admin");
    Ok(RunningDemo {
        addr,
        admin_url: admin_url.to_string(),
        emulator_url: ims.emulator.as_ref().map(|e| e.base().to_owned()),
        store,
        shared_sessions,
        server,
        shutdown: Some(tx),
        _sweep: sweep,
        _follower: follower,
        _ims: ims,
    })
}

fn public_base(public_url: Option<&str>, addr: SocketAddr) -> Result<Url, DemoError> {
    let text = public_url.map_or_else(|| format!("http://{addr}/"), str::to_owned);
    let url = Url::parse(&text).map_err(|e| DemoError(format!("--public-url {text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DemoError(format!(
            "--public-url {text:?}: expected http(s)"
        )));
    }
    Ok(url)
}

/// With the emulator: enable against it (its port changes per run) and make
/// sure its member user is an admin. With a real IMS: enable with the given
/// credentials, or keep what `admin:adobe-ims:enable` saved.
async fn configure_integration(
    store: &Store,
    admin: &AdminIms,
    ims: &ConnectedIms,
    serve: &ServeArgs,
) -> Result<(), DemoError> {
    if ims.emulator.is_some() {
        ensure_admin(store, default_seed::MEMBER_EMAIL, "member", "Mia", "Member").await?;
        if serve.password_only {
            admin
                .disable()
                .await
                .map_err(err("disabling the integration"))?;
            return Ok(());
        }
        let request = EnableRequest::new(
            default_seed::ORG_ID,
            default_seed::WEB_CLIENT_ID,
            ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
            true,
        );
        admin.enable(request).await.map_err(|e| {
            DemoError(format!(
                "enabling the integration against the emulator: {e}"
            ))
        })?;
        return Ok(());
    }
    match (
        &serve.client_id,
        &serve.client_secret,
        &serve.organization_id,
    ) {
        (Some(client_id), Some(secret), Some(org)) => {
            let confirmed = serve.two_factor.as_deref().and_then(parse_yes_no);
            if confirmed != Some(true) {
                return Err(DemoError::new(
                    "2FA is required when enabling the Admin Adobe IMS Module: pass --2fa yes to confirm that your organization enforces it",
                ));
            }
            let request = EnableRequest::new(org, client_id, secret.clone(), true);
            admin
                .enable(request)
                .await
                .map_err(|e| DemoError(e.to_string()))?;
        }
        (None, None, None) => {}
        _ => {
            return Err(DemoError::new(
                "give all of --client-id, --client-secret and --organization-id (or IMS_CLIENT_ID, IMS_CLIENT_SECRET, IMS_ORG_ID), or none",
            ));
        }
    }
    Ok(())
}

/// Creates the admin user for an emulator user unless one with that e-mail
/// address exists. Its password is random: it signs in with Adobe ID.
async fn ensure_admin(
    store: &Store,
    email: &str,
    username: &str,
    first: &str,
    last: &str,
) -> Result<(), DemoError> {
    let admins = store.admin_users();
    if admins
        .find_by_email(email)
        .await
        .map_err(err("reading admin users"))?
        .is_some()
    {
        return Ok(());
    }
    let user =
        NewAdminUser::new(username, email, first, last, random_password()).with_role(ADMIN_ROLE);
    admins
        .create(&user)
        .await
        .map_err(err("creating the emulator member's admin user"))?;
    Ok(())
}

/// `cargo run -p ims-demo`: starts, prints where to go, serves until Ctrl-C.
pub async fn serve(common: CommonArgs, serve: ServeArgs) -> Result<(), DemoError> {
    let demo = start(&common, &serve).await?;
    println!("ims-demo is running (Ctrl-C stops it)");
    println!("  Admin: {}", demo.admin_url);
    match &demo.emulator_url {
        Some(url) => {
            println!("  IMS emulator: {url}");
            if serve.password_only {
                println!(
                    "  Integration disabled (--password-only): sign in with a user made by admin:user:create"
                );
            } else {
                println!(
                    "  Sign in with Adobe ID as {} / {}",
                    default_seed::MEMBER_EMAIL,
                    default_seed::MEMBER_PASSWORD
                );
            }
        }
        None => println!("  IMS: {}", common.ims_url.as_deref().unwrap_or_default()),
    }
    println!("  Database: {}", shown_database(&common.database));
    if demo.shared_sessions {
        println!("  Sessions: in the database (shared by instances on it, kept across restarts)");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| DemoError(format!("waiting for Ctrl-C: {e}")))?;
    println!("ims-demo: stopping");
    demo.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_files() {
        assert_eq!(
            sqlite_file("sqlite:ims-demo.db"),
            Some(PathBuf::from("ims-demo.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x/e2e.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/e2e.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://localhost/x"), None);
        assert_eq!(
            key_path(Path::new("/tmp/x/e2e.db")),
            PathBuf::from("/tmp/x/e2e.key")
        );
    }

    #[test]
    fn printed_database_urls_hide_passwords() {
        assert_eq!(
            shown_database("postgres://app:s3cret@db.example/ims"),
            "postgres://app:***@db.example/ims"
        );
        assert_eq!(shown_database("sqlite:ims-demo.db"), "sqlite:ims-demo.db");
    }

    #[test]
    fn random_passwords_are_magentos() {
        let password = random_password();
        assert_eq!(password.expose_secret().len(), 100);
        assert!(
            password
                .expose_secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        );
    }

    #[test]
    fn the_seed_has_the_colleague_in_the_org() {
        let seed = demo_seed();
        let colleague = seed.user_by_email(COLLEAGUE_EMAIL).unwrap();
        let org = seed.org(default_seed::ORG_ID).unwrap();
        assert!(org.members.contains(&colleague.user_id));
        seed.check().unwrap();
    }
}
