//! Building, starting and stopping the server: [`Emulator::builder`], [`RunningEmulator`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::control::{ControlHandle, MintTokenRequest};
use crate::error::{EmulatorError, ImsError};
use crate::faults::{ConnHandle, FaultSpec, KillableListener};
use crate::keys::KeyStore;
use crate::middleware::{apply_faults, count_requests};
use crate::params::Params;
use crate::routes::{
    admin, authorize, discovery, jwt_exchange, logout, profile, register, token, token_exchange,
    validate,
};
use crate::seed::Seed;
use crate::state::{AppState, Inner};
use crate::stats::Stats;
use crate::{html, tokens};

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the default seed, authority `ims-na1`, control API on, address `127.0.0.1:0`.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    seed: Seed,
    authority: String,
    control: bool,
    addr: SocketAddr,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            seed: Seed::default_seed(),
            authority: "ims-na1".to_owned(),
            control: true,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        }
    }
}

impl EmulatorBuilder {
    /// The seed (default: [`Seed::default_seed`]).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// The `as` claim of issued tokens and the prefix of key ids (default `ims-na1`).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into();
        self
    }

    /// Whether to serve the `/__emulator/` control API over HTTP (default `true`). The in-process
    /// [`ControlHandle`] works either way.
    pub fn control(mut self, enabled: bool) -> Self {
        self.control = enabled;
        self
    }

    /// The address to bind (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Binds the address and serves in a background task of the current Tokio runtime.
    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        self.seed.check()?;
        for client in &self.seed.clients {
            if let Some(pem) = client
                .technical_account
                .as_ref()
                .and_then(|a| a.public_key_pem.as_deref())
            {
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                    EmulatorError::Seed(format!(
                        "public key of client {} cannot be read: {e}",
                        client.client_id
                    ))
                })?;
            }
        }
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let local = listener.local_addr()?;
        let shown = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        } else {
            local
        };
        let base = format!("http://{shown}");
        let base_url = url::Url::parse(&base).map_err(|e| EmulatorError::Seed(e.to_string()))?;
        let keys = KeyStore::with_fixture_keys(&self.authority)?;
        let state = AppState(Arc::new(Inner::new(base, self.authority, self.seed, keys)));
        let app = router(state.clone(), self.control);
        let (tx, rx) = oneshot::channel::<()>();
        let serve = axum::serve(
            KillableListener::new(listener),
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        let task = tokio::spawn(async move { serve.await });
        tracing::info!(%local, "ims-emulator started");
        Ok(RunningEmulator {
            base_url,
            addr: local,
            control: ControlHandle { state },
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server (gracefully, without blocking).
#[derive(Debug)]
pub struct RunningEmulator {
    base_url: url::Url,
    addr: SocketAddr,
    control: ControlHandle,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// The base URL, e.g. `http://127.0.0.1:43123/` (it replaces Adobe's hosts everywhere).
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// The base URL without trailing slash, e.g. `http://127.0.0.1:43123`.
    pub fn base(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    /// `base` + `path` as a string, e.g. `url("/ims/token/v3")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A clonable handle to the control operations.
    pub fn control(&self) -> ControlHandle {
        self.control.clone()
    }

    /// The active seed.
    pub fn seed(&self) -> &Seed {
        self.control.seed()
    }

    /// See [`ControlHandle::stats`].
    pub fn stats(&self) -> Stats {
        self.control.stats()
    }

    /// See [`ControlHandle::reset_stats`].
    pub fn reset_stats(&self) {
        self.control.reset_stats();
    }

    /// See [`ControlHandle::mint_access_token`].
    pub fn mint_access_token(&self, request: &MintTokenRequest) -> Result<String, EmulatorError> {
        self.control.mint_access_token(request)
    }

    /// See [`ControlHandle::inject_fault`].
    pub fn inject_fault(&self, fault: FaultSpec) -> Result<(), EmulatorError> {
        self.control.inject_fault(fault)
    }

    /// See [`ControlHandle::clear_faults`].
    pub fn clear_faults(&self) {
        self.control.clear_faults();
    }

    /// See [`ControlHandle::rotate_keys`].
    pub fn rotate_keys(&self) -> Result<String, EmulatorError> {
        self.control.rotate_keys()
    }

    /// Stops accepting connections and waits (at most 5 s) for open requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn debug_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&tokens::random_id(12)) {
        response.headers_mut().insert("x-debug-id", v);
    }
    response
}

async fn not_found(request: Request) -> ImsError {
    ImsError::not_found(format!(
        "no such endpoint: {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> ImsError {
    ImsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "method {} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// `/`: a small start page with a sign-in link for trying the emulator in a browser.
async fn index(State(state): State<AppState>) -> Response {
    let callback = state.url("/demo/callback");
    let link = url::Url::parse_with_params(
        &state.url("/ims/authorize/v2"),
        &[
            ("client_id", crate::default_seed::WEB_CLIENT_ID),
            ("redirect_uri", callback.as_str()),
            ("scope", "AdobeID,openid,email,profile,org.read"),
            ("response_type", "code"),
            ("state", "demo"),
        ],
    )
    .map(String::from)
    .unwrap_or_default();
    html::index_page(&state.base, &link)
}

/// `/demo/callback`: shows what a client's redirect URI would receive.
async fn demo_callback(params: Params) -> Response {
    let shown: Vec<(String, String)> = params
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    html::callback_page(&shown)
}

/// Every route, with the stats, fault and debug-id layers.
pub(crate) fn router(state: AppState, control: bool) -> Router {
    let mut app = Router::new()
        .route("/", get(index))
        .route("/demo/callback", get(demo_callback))
        .route(
            "/ims/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/ims/keys", get(discovery::jwks))
        .route("/keys/prod/{x5u}", get(discovery::certificate))
        .route("/keys/nonprod/{x5u}", get(discovery::certificate))
        .route(
            "/ims/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/ims/authorize/v1",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/ims/authorize/v2",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(authorize::SIGN_IN_PATH, get(authorize::sign_in_get))
        .route("/ims/token", post(token::token_unversioned))
        .route("/ims/token/v1", post(token::token_v1))
        .route("/ims/token/v2", post(token::token_v2))
        .route("/ims/token/v3", post(token::token_v3))
        .route("/ims/token/v4", post(token_exchange::token_v4))
        .route("/ims/register", post(register::register))
        .route("/ims/exchange/jwt", post(jwt_exchange::exchange_jwt))
        .route("/ims/exchange/jwt/", post(jwt_exchange::exchange_jwt))
        .route("/ims/exchange/v1/jwt", post(jwt_exchange::exchange_jwt))
        .route(
            "/ims/validate_token/v1",
            get(validate::validate_token).post(validate::validate_token),
        )
        .route("/ims/invalidate_token/v2", post(validate::invalidate_token))
        .route("/ims/revoke", post(validate::revoke))
        .route("/ims/profile/v1", get(profile::profile))
        .route(
            "/ims/userinfo/v1",
            get(profile::userinfo).post(profile::userinfo),
        )
        .route("/ims/userinfo/v2", get(profile::userinfo))
        .route(
            "/ims/admin_profile/v1",
            get(admin::admin_profile).post(admin::admin_profile),
        )
        .route(
            "/ims/admin_organizations/v5",
            get(admin::admin_organizations).post(admin::admin_organizations),
        )
        .route("/ims/organizations/v5", get(profile::organizations))
        .route("/ims/organizations/v6", get(profile::organizations))
        .route("/{org}/membership", get(profile::membership))
        .route("/ims/logout", get(logout::logout_unversioned))
        .route(
            "/ims/logout/v1",
            get(logout::logout_front).post(logout::logout_back),
        );
    if control {
        app = app.merge(crate::control::routes());
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), apply_faults))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn(debug_id))
        .with_state(state)
}
