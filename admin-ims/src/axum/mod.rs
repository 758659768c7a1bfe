//! The axum adapter (feature `axum`): routes for sign-in, callback,
//! re-authentication and logout, a layer and an extractor that require a
//! signed-in admin, the tower-sessions cookie settings, and the "Sign in
//! with Adobe ID" fragment.
//!
//! ```no_run
//! # async fn demo(ims: admin_ims::AdminIms) {
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use admin_ims::axum::{AdminImsWeb, SignedInAdmin};
//!
//! async fn dashboard(SignedInAdmin(admin): SignedInAdmin) -> String {
//!     format!("hello admin {admin}")
//! }
//!
//! // The mount prefix comes from the service's configuration.
//! let web = AdminImsWeb::new(Arc::new(ims));
//! let app: Router = Router::new()
//!     .route("/admin", get(dashboard))
//!     .route_layer(web.require_admin())
//!     .merge(web.routes())
//!     .layer(web.session_layer());
//! # }
//! ```
//!
//! [`session_layer`](AdminImsWeb::session_layer) keeps sessions in a
//! [`BoundedSessionStore`]: in memory within byte budgets, pending sign-ins
//! expiring with their state. Never use tower-sessions' `MemoryStore`
//! outside tests: it keeps every session an anonymous visitor starts, for
//! ever. A fleet of hosts needs a shared `SessionStore` instead
//! ([`session_layer_with_store`](AdminImsWeb::session_layer_with_store)).
//!
//! ## Every page is the host's
//!
//! A callback never answers with a page: it redirects (303), so the code and
//! state leave the address bar. A failed sign-in or re-authentication goes
//! to the host's page ([`with_host_page`](AdminImsWeb::with_host_page)) with
//! `?ims_error=<kind>` ([`LoginOutcome::kind`]), or, by default, to the
//! adapter's own `<prefix>/outcome?kind=<kind>`, rendered by the
//! [`OutcomeRenderer`] (a minimal escaped page unless the host gives its
//! own) with the outcome's status: 4xx when the user, the browser or the
//! account caused it (Cancel at IMS, a bad state, an outsider), 5xx only
//! when IMS or the host failed.
//!
//! The session layer must wrap everything (it is added last); add
//! [`require_admin`](AdminImsWeb::require_admin) with `route_layer`, so unknown
//! paths still answer 404.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ims_api::AdminUserId;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Session, SessionManagerLayer, SessionStore};

use crate::{
    AdminIms, AdminSession, CallbackFlow, CallbackQuery, LOG_TARGET, LoginOutcome,
    MSG_REAUTH_REQUIRED, MSG_UNABLE, SessionState,
};

mod store;

pub use ims_api::SessionLimits;
pub use store::{BoundedSessionStore, ENTRY_OVERHEAD, SessionStoreStats, is_pending_session};

/// The key under which the [`AdminSession`] is kept in the tower-sessions
/// session.
pub const SESSION_KEY: &str = "admin_ims";

/// The session cookie's default name.
pub const SESSION_COOKIE: &str = "admin_ims_session";

/// The message for requests refused for want of a signed-in admin.
const MSG_SIGN_IN: &str = "Please sign in with Adobe ID";

/// The query parameter that carries an outcome's kind to the host's page.
pub const OUTCOME_PARAM: &str = "ims_error";

/// A page for a [`LoginOutcome`]: what an [`OutcomeRenderer`] renders.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OutcomePage<'a> {
    /// What happened.
    pub outcome: LoginOutcome,
    /// Which flow it ended, when known.
    pub flow: CallbackFlow,
    /// Where "try again" goes (the sign-in or re-authentication route).
    pub retry_path: &'a str,
    /// The headline to show ([`LoginMessages::headline`](crate::LoginMessages::headline)).
    pub headline: &'a str,
    /// The message to show, as the service's
    /// [`messages`](crate::AdminImsConfig::messages) word it: Magento's
    /// generic text by default, the detailed one when configured.
    pub message: &'a str,
}

/// Renders admin-ims's outcome pages in the host's style: the HTML body
/// (the adapter sets the status, [`LoginOutcome::http_status`], and
/// `Cache-Control: no-store`). Escape what you show
/// ([`escape`]). Any `Fn(&OutcomePage) -> String` is one.
///
/// ```
/// use admin_ims::axum::{AdminImsWeb, OutcomePage, escape};
/// # fn demo(web: AdminImsWeb) -> AdminImsWeb {
/// web.with_renderer(|page: &OutcomePage<'_>| {
///     format!("<h1>{}</h1><p>{}</p>", escape(page.headline), escape(page.message))
/// })
/// # }
/// ```
pub trait OutcomeRenderer: Send + Sync + 'static {
    /// The page's HTML.
    fn render(&self, page: &OutcomePage<'_>) -> String;
}

impl<F> OutcomeRenderer for F
where
    F: Fn(&OutcomePage<'_>) -> String + Send + Sync + 'static,
{
    fn render(&self, page: &OutcomePage<'_>) -> String {
        self(page)
    }
}

/// The default outcome page: the message (escaped), a link to try again,
/// minimal inline style.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct DefaultOutcomePage;

impl OutcomeRenderer for DefaultOutcomePage {
    fn render(&self, page: &OutcomePage<'_>) -> String {
        let link = match page.flow {
            CallbackFlow::Reauth => "Confirm with Adobe ID again",
            _ => "Sign in with Adobe ID",
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign in with Adobe ID</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
.admin-ims-error{{border-left:4px solid #c9252d;padding:.5rem 1rem;background:#fdf2f2}}</style></head>\
<body><main><div class=\"admin-ims-error\" role=\"alert\" data-kind=\"{}\"><h1>{}</h1><p>{}</p></div>\
<p><a href=\"{}\">{}</a></p></main></body></html>\n",
            page.outcome.kind(),
            escape(page.headline),
            escape(page.message),
            attribute(page.retry_path),
            link
        )
    }
}

/// The adapter: the service, where its routes are mounted (the service's
/// [`mount_prefix`](crate::AdminImsConfig::mount_prefix)), the session
/// store and how outcomes are shown.
#[derive(Clone)]
pub struct AdminImsWeb {
    ims: Arc<AdminIms>,
    prefix: Arc<str>,
    secure_cookie: bool,
    after_logout: Arc<str>,
    host_page: Option<Arc<str>>,
    renderer: Arc<dyn OutcomeRenderer>,
    store: BoundedSessionStore,
}

impl fmt::Debug for AdminImsWeb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminImsWeb")
            .field("prefix", &self.prefix)
            .field("secure_cookie", &self.secure_cookie)
            .field("after_logout", &self.after_logout)
            .field("host_page", &self.host_page)
            .finish_non_exhaustive()
    }
}

/// Why [`SignedInAdmin`] or [`RequireAdminLayer`] refused a request; its
/// `IntoResponse` is the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedInAdminRejection {
    /// A page request without a signed-in admin: 302 to `location` (the
    /// sign-in route, or the host's page, with `return_to`).
    SignInRequired {
        /// Where to sign in.
        location: String,
    },
    /// A fetch/XHR request without a signed-in admin: 401 with
    /// `{"message":"Please sign in with Adobe ID"}`.
    Unauthorized,
    /// No tower-sessions `Session` on the request (the session layer is
    /// missing): 500.
    SessionLayerMissing,
    /// Neither [`RequireAdminLayer`] nor an `Extension(AdminImsWeb)` on the
    /// route: 500.
    AdapterMissing,
    /// The session store failed: 500.
    SessionStore,
}

impl IntoResponse for SignedInAdminRejection {
    fn into_response(self) -> Response {
        match self {
            SignedInAdminRejection::SignInRequired { location } => {
                redirect(StatusCode::FOUND, &location)
            }
            SignedInAdminRejection::Unauthorized => {
                json_error(StatusCode::UNAUTHORIZED, MSG_SIGN_IN)
            }
            SignedInAdminRejection::SessionLayerMissing
            | SignedInAdminRejection::AdapterMissing
            | SignedInAdminRejection::SessionStore => internal_error(),
        }
    }
}

/// Why [`AdminImsWeb::require_reauth`] refused a sensitive action; its
/// `IntoResponse` is the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReauthRejection {
    /// No fresh, unused re-authentication: 403 with "Please perform the
    /// AdobeIms reAuth and try again." — JSON for fetch/XHR requests, else
    /// a page linking to `reauth_path`.
    Required {
        /// Whether the request wants JSON.
        json: bool,
        /// The re-authentication route.
        reauth_path: String,
    },
    /// The session store failed: 500.
    SessionStore,
}

impl IntoResponse for ReauthRejection {
    fn into_response(self) -> Response {
        match self {
            ReauthRejection::Required { json: true, .. } => {
                json_error(StatusCode::FORBIDDEN, MSG_REAUTH_REQUIRED)
            }
            ReauthRejection::Required {
                json: false,
                reauth_path,
            } => html_page(
                StatusCode::FORBIDDEN,
                DefaultOutcomePage.render(&OutcomePage {
                    outcome: LoginOutcome::ReauthRequired,
                    flow: CallbackFlow::Reauth,
                    retry_path: &reauth_path,
                    headline: crate::MSG_ERROR_SIGNING_IN,
                    message: MSG_REAUTH_REQUIRED,
                }),
            ),
            ReauthRejection::SessionStore => internal_error(),
        }
    }
}

/// The signed-in admin: an extractor for handlers behind
/// [`RequireAdminLayer`], or on routers that carry the [`AdminImsWeb`] as an
/// `Extension` (then it checks the session itself). Without either it
/// answers 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedInAdmin(pub AdminUserId);

impl AdminImsWeb {
    /// The adapter for `ims`, its routes under the service's
    /// [`mount_prefix`](crate::AdminImsConfig::mount_prefix) (where its
    /// callbacks are), its sessions in a [`BoundedSessionStore`] with the
    /// default budgets, pending sign-ins expiring after the service's
    /// [`state_ttl`](crate::AdminImsConfig::state_ttl). Cookies are `Secure`
    /// by default.
    pub fn new(ims: Arc<AdminIms>) -> Self {
        let prefix = ims.config().mount_prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("/{prefix}")
        };
        let limits = SessionLimits::default().with_pending_ttl(ims.config().state_ttl);
        let store = BoundedSessionStore::new(limits, ims.services.clock.clone());
        AdminImsWeb {
            ims,
            prefix: Arc::from(prefix),
            secure_cookie: true,
            after_logout: Arc::from("/"),
            host_page: None,
            renderer: Arc::new(DefaultOutcomePage),
            store,
        }
    }

    /// The host's sign-in page (a path inside the host, such as
    /// `/admin/login`): signed-out page requests are sent there with
    /// `?return_to=`, and failed sign-ins and re-authentications with
    /// `?ims_error=<kind>` ([`OUTCOME_PARAM`], [`LoginOutcome::from_kind`];
    /// `&flow=reauth` for a re-authentication). The page shows
    /// [`sign_in_button_to`](Self::sign_in_button_to).
    pub fn with_host_page(mut self, path: &str) -> Self {
        if let Some(path) = crate::sanitize_return_path(path) {
            self.host_page = Some(Arc::from(path));
        }
        self
    }

    /// How the adapter's own outcome page (`<prefix>/outcome`) is rendered
    /// (default [`DefaultOutcomePage`]).
    pub fn with_renderer(mut self, renderer: impl OutcomeRenderer) -> Self {
        self.renderer = Arc::new(renderer);
        self
    }

    /// Whether the session cookie is `Secure` (default `true`; turn off only
    /// for plain-HTTP development).
    pub fn with_secure_cookie(mut self, secure: bool) -> Self {
        self.secure_cookie = secure;
        self
    }

    /// Where logout sends the browser (a path inside the host; default `/`).
    pub fn with_after_logout(mut self, path: &str) -> Self {
        if let Some(path) = crate::sanitize_return_path(path) {
            self.after_logout = Arc::from(path);
        }
        self
    }

    /// The service.
    pub fn service(&self) -> &Arc<AdminIms> {
        &self.ims
    }

    /// The sign-in route's path (`<prefix>/login`).
    pub fn login_path(&self) -> String {
        format!("{}/login", self.prefix)
    }

    /// The logout route's path (`<prefix>/logout`, POST).
    pub fn logout_path(&self) -> String {
        format!("{}/logout", self.prefix)
    }

    /// The re-authentication route's path (`<prefix>/reauth`).
    pub fn reauth_path(&self) -> String {
        format!("{}/reauth", self.prefix)
    }

    /// The outcome page's path (`<prefix>/outcome`).
    pub fn outcome_path(&self) -> String {
        format!("{}/outcome", self.prefix)
    }

    /// The routes, already under the mount prefix (`.merge` them):
    /// `GET /login[?return_to=]`, `GET /reauth[?return_to=]`,
    /// `GET /callback` and `GET /reauth/callback` (one handler: the pending
    /// authorization the state names decides the flow),
    /// `GET /outcome?kind=`, `POST /logout`.
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/reauth", get(reauth))
            .route("/reauth/callback", get(callback))
            .route("/outcome", get(outcome))
            .route("/logout", post(logout))
            .with_state(self.clone());
        if self.prefix.is_empty() {
            routes
        } else {
            Router::new().nest(&self.prefix, routes)
        }
    }

    /// The tower-sessions layer over the adapter's
    /// [`session_store`](Self::session_store), with the cookie the login
    /// flow needs: `SameSite=Lax` (Strict would drop the session on the
    /// redirect back from IMS), `HttpOnly`, `Secure` as configured, path `/`.
    pub fn session_layer(&self) -> SessionManagerLayer<BoundedSessionStore> {
        self.session_layer_with_store(self.store.clone())
    }

    /// [`session_layer`](Self::session_layer) over another store (a shared
    /// one for a fleet, such as `ims-store`'s).
    pub fn session_layer_with_store<Store: SessionStore>(
        &self,
        store: Store,
    ) -> SessionManagerLayer<Store> {
        SessionManagerLayer::new(store)
            .with_name(SESSION_COOKIE)
            .with_same_site(SameSite::Lax)
            .with_http_only(true)
            .with_secure(self.secure_cookie)
            .with_path("/")
    }

    /// The adapter's session store (what
    /// [`session_layer`](Self::session_layer) uses): a
    /// [`BoundedSessionStore`] on the service's clock. Clones share the
    /// sessions.
    pub fn session_store(&self) -> BoundedSessionStore {
        self.store.clone()
    }

    /// A layer that lets only signed-in admins through (pages are redirected
    /// to sign-in, fetch/XHR requests get 401).
    pub fn require_admin(&self) -> RequireAdminLayer {
        RequireAdminLayer { web: self.clone() }
    }

    /// The "Sign in with Adobe ID" fragment for the host's login page.
    pub fn sign_in_button(&self) -> String {
        self.sign_in_button_to(None)
    }

    /// The "Sign in with Adobe ID" fragment, coming back to `return_to`
    /// after sign-in (kept only if it is a path inside the host).
    pub fn sign_in_button_to(&self, return_to: Option<&str>) -> String {
        format!(
            "<a class=\"admin-ims-sign-in\" href=\"{}\" role=\"button\">Sign in with Adobe ID</a>",
            attribute(&with_return_to(self.login_path(), return_to))
        )
    }

    /// Where the browser goes after a sign-in or re-authentication failed:
    /// the host's page with `?ims_error=<kind>`, or the adapter's outcome
    /// page.
    pub fn outcome_location(&self, outcome: LoginOutcome, flow: CallbackFlow) -> String {
        let (base, param) = match &self.host_page {
            Some(page) => (page.to_string(), OUTCOME_PARAM),
            None => (self.outcome_path(), "kind"),
        };
        let mut location = base;
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str(param);
        location.push('=');
        location.push_str(outcome.kind());
        if flow == CallbackFlow::Reauth {
            location.push_str("&flow=reauth");
        }
        location
    }

    /// The guard before a sensitive action: consumes the session's
    /// re-authentication proof, or answers 403 with "Please perform the
    /// AdobeIms reAuth and try again." (JSON or HTML by the request's
    /// `Accept`).
    pub async fn require_reauth(
        &self,
        session: &Session,
        headers: &HeaderMap,
    ) -> Result<(), ReauthRejection> {
        let mut data = load(session)
            .await
            .map_err(|_| ReauthRejection::SessionStore)?;
        let had_proof = data.reauth_proof.is_some();
        let result = self.ims.require_reauth(&mut data);
        // Single use: the proof is gone from the store before the action
        // runs, whatever status the host's handler answers with (a 5xx
        // answer is not saved by the session layer).
        if had_proof {
            persist(session, &data)
                .await
                .map_err(|_| ReauthRejection::SessionStore)?;
        }
        result.map_err(|_| ReauthRejection::Required {
            json: wants_json(headers),
            reauth_path: self.reauth_path(),
        })
    }

    /// Checks the request's session; the admin, or the refusal to answer.
    async fn authorize(
        &self,
        parts_uri: &str,
        headers: &HeaderMap,
        session: Option<&Session>,
    ) -> Result<AdminUserId, SignedInAdminRejection> {
        let Some(session) = session else {
            tracing::error!(target: LOG_TARGET, event = "session_layer_missing", "no tower-sessions Session on the request: add AdminImsWeb::session_layer");
            return Err(SignedInAdminRejection::SessionLayerMissing);
        };
        let mut data = load(session)
            .await
            .map_err(|_| SignedInAdminRejection::SessionStore)?;
        let before = session_change_marker(&data);
        let state = self.ims.check_session(&mut data).await;
        if session_change_marker(&data) != before {
            // An ended session leaves the store now.
            persist(session, &data)
                .await
                .map_err(|_| SignedInAdminRejection::SessionStore)?;
        }
        match state {
            SessionState::Valid(admin) => Ok(admin),
            _ => Err(self.sign_in_required(parts_uri, headers)),
        }
    }

    fn sign_in_required(&self, uri: &str, headers: &HeaderMap) -> SignedInAdminRejection {
        if wants_json(headers) {
            return SignedInAdminRejection::Unauthorized;
        }
        let page = match &self.host_page {
            Some(page) => page.to_string(),
            None => self.login_path(),
        };
        SignedInAdminRejection::SignInRequired {
            location: with_return_to(page, Some(uri)),
        }
    }
}

/// `path` with `?return_to=` when `return_to` is a path inside the host.
fn with_return_to(mut path: String, return_to: Option<&str>) -> String {
    if let Some(target) = return_to.and_then(crate::sanitize_return_path) {
        path.push_str("?return_to=");
        path.extend(url::form_urlencoded::byte_serialize(target.as_bytes()));
    }
    path
}

/// What a session check may change in the session data (the admin, the
/// time of the last check, the pending sign-ins, the re-authentication
/// proof): compared before and after to write the session back only when
/// it changed.
fn session_change_marker(
    data: &AdminSession,
) -> (
    Option<AdminUserId>,
    Option<time::OffsetDateTime>,
    usize,
    bool,
) {
    (
        data.admin_id(),
        data.last_check(),
        data.pending_count(),
        data.reauth_proof.is_some(),
    )
}

async fn load(session: &Session) -> Result<AdminSession, tower_sessions::session::Error> {
    match session.get::<AdminSession>(SESSION_KEY).await {
        Ok(data) => Ok(data.unwrap_or_default()),
        Err(err) => {
            tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not read the session");
            Err(err)
        }
    }
}

/// Puts `data` in the session for the session layer to save with the
/// answer; an empty `data` is not stored at all (an anonymous request that
/// changed nothing leaves no session behind).
async fn stash(
    session: &Session,
    data: &AdminSession,
) -> Result<(), tower_sessions::session::Error> {
    let result = if data.is_empty() {
        session.remove_value(SESSION_KEY).await.map(drop)
    } else {
        session.insert(SESSION_KEY, data).await
    };
    result.inspect_err(|err| {
        tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not write the session");
    })
}

/// Writes `data` to the session store now, before the answer is made: what
/// must be spent (a state, a proof, an ended session) stays spent whatever
/// the answer's status. An empty `data` removes the admin login's part; a
/// session left with nothing is deleted from the store.
async fn persist(
    session: &Session,
    data: &AdminSession,
) -> Result<(), tower_sessions::session::Error> {
    let result = async {
        if data.is_empty() {
            if session.remove_value(SESSION_KEY).await?.is_none() {
                return Ok(());
            }
            if session.is_empty().await {
                return session.flush().await;
            }
        } else {
            session.insert(SESSION_KEY, data).await?;
        }
        session.save().await
    }
    .await;
    result.inspect_err(|err| {
        tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not write the session");
    })
}

fn query_param(raw: Option<&str>, name: &str) -> Option<String> {
    let raw = raw?;
    if raw.len() > crate::MAX_CALLBACK_QUERY_LEN {
        return None;
    }
    url::form_urlencoded::parse(raw.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Which browser flow a route begins or completes.
#[derive(Debug, Clone, Copy)]
enum Flow {
    Login,
    Reauth,
}

async fn login(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    begin(web, session, query, Flow::Login).await
}

/// Starts a sign-in or a re-authentication: the session gets a pending
/// state, the browser goes to IMS.
async fn begin(web: AdminImsWeb, session: Session, query: Option<String>, flow: Flow) -> Response {
    let Ok(mut data) = load(&session).await else {
        return internal_error();
    };
    let return_to = query_param(query.as_deref(), "return_to");
    let result = match flow {
        Flow::Login => web.ims.begin_login(&mut data, return_to.as_deref()).await,
        Flow::Reauth => web.ims.begin_reauth(&mut data, return_to.as_deref()).await,
    };
    if stash(&session, &data).await.is_err() {
        return internal_error();
    }
    match result {
        Ok(url) => redirect(StatusCode::FOUND, url.as_str()),
        Err(err) => {
            let flow = match flow {
                Flow::Login => CallbackFlow::Login,
                Flow::Reauth => CallbackFlow::Reauth,
            };
            redirect(
                StatusCode::SEE_OTHER,
                &web.outcome_location(err.outcome(), flow),
            )
        }
    }
}

/// Completes a sign-in or a re-authentication from IMS's callback (both
/// callback routes): the pending authorization the state names decides
/// which. Always a redirect (303), so the code leaves the address bar: to
/// the return path, or to the outcome page.
async fn callback(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let query = CallbackQuery::parse(query.as_deref().unwrap_or_default());
    let Ok(mut data) = load(&session).await else {
        return internal_error();
    };
    let had_data = !data.is_empty();
    let claimed = web.ims.claim_callback(&mut data, &query);
    // Single use: the state is spent in the store before IMS is asked, so
    // neither a failure nor a 5xx answer (which the session layer does not
    // save) lets the same callback in twice.
    if had_data && persist(&session, &data).await.is_err() {
        return internal_error();
    }
    let flow = match &claimed {
        Ok(claimed) => claimed.flow(),
        Err(_) if data.is_signed_in() => CallbackFlow::Reauth,
        Err(_) => CallbackFlow::Login,
    };
    let result = match claimed {
        Ok(claimed) => web.ims.finish_callback(&mut data, claimed).await,
        Err(err) => Err(err),
    };
    let success = match result {
        Ok(success) => success,
        Err(err) => {
            return redirect(
                StatusCode::SEE_OTHER,
                &web.outcome_location(err.outcome(), flow),
            );
        }
    };
    // Session fixation: a signed-in session gets a new id.
    if success.rekey_session
        && let Err(err) = session.cycle_id().await
    {
        tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not re-key the session");
        return internal_error();
    }
    if persist(&session, &data).await.is_err() {
        return internal_error();
    }
    redirect(StatusCode::SEE_OTHER, &success.redirect_to)
}

async fn reauth(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    begin(web, session, query, Flow::Reauth).await
}

/// `GET <prefix>/outcome?kind=<kind>[&flow=reauth]`: the outcome page, by
/// the renderer, with the outcome's status; an unknown kind is 404.
async fn outcome(State(web): State<AdminImsWeb>, RawQuery(query): RawQuery) -> Response {
    let kind = query_param(query.as_deref(), "kind");
    let Some(outcome) = kind.as_deref().and_then(LoginOutcome::from_kind) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (flow, retry_path) = if query_param(query.as_deref(), "flow").as_deref() == Some("reauth") {
        (CallbackFlow::Reauth, web.reauth_path())
    } else {
        (CallbackFlow::Login, web.login_path())
    };
    let status =
        StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let messages = &web.ims.config().messages;
    let message = messages.user_message(outcome);
    let html = web.renderer.render(&OutcomePage {
        outcome,
        flow,
        retry_path: &retry_path,
        headline: messages.headline(),
        message: &message,
    });
    html_page(status, html)
}

async fn logout(State(web): State<AdminImsWeb>, session: Session) -> Response {
    let mut data = load(&session).await.unwrap_or_default();
    web.ims.logout(&mut data).await;
    if let Err(err) = session.flush().await {
        tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not destroy the session");
    }
    redirect(StatusCode::SEE_OTHER, &web.after_logout)
}

fn original_uri(parts_uri: &axum::http::Uri, original: Option<&OriginalUri>) -> String {
    let uri = original.map(|o| &o.0).unwrap_or(parts_uri);
    uri.path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned())
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedInAdmin {
    type Rejection = SignedInAdminRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(admin) = parts.extensions.get::<SignedInAdmin>() {
            return Ok(*admin);
        }
        let Some(web) = parts.extensions.get::<AdminImsWeb>().cloned() else {
            tracing::error!(target: LOG_TARGET, event = "adapter_missing", "SignedInAdmin needs RequireAdminLayer or an Extension(AdminImsWeb)");
            return Err(SignedInAdminRejection::AdapterMissing);
        };
        let uri = original_uri(&parts.uri, parts.extensions.get::<OriginalUri>());
        let session = parts.extensions.get::<Session>().cloned();
        let admin = web
            .authorize(&uri, &parts.headers, session.as_ref())
            .await?;
        parts.extensions.insert(SignedInAdmin(admin));
        Ok(SignedInAdmin(admin))
    }
}

/// Lets only signed-in admins through: see [`AdminImsWeb::require_admin`].
#[derive(Debug, Clone)]
pub struct RequireAdminLayer {
    web: AdminImsWeb,
}

impl<S> tower::Layer<S> for RequireAdminLayer {
    type Service = RequireAdmin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAdmin {
            inner,
            web: self.web.clone(),
        }
    }
}

/// The service [`RequireAdminLayer`] makes.
#[derive(Debug, Clone)]
pub struct RequireAdmin<S> {
    inner: S,
    web: AdminImsWeb,
}

impl<S, B> tower::Service<Request<B>> for RequireAdmin<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is not ready; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let web = self.web.clone();
        Box::pin(async move {
            let uri = original_uri(request.uri(), request.extensions().get::<OriginalUri>());
            let session = request.extensions().get::<Session>().cloned();
            match web
                .authorize(&uri, request.headers(), session.as_ref())
                .await
            {
                Ok(admin) => {
                    request.extensions_mut().insert(SignedInAdmin(admin));
                    request.extensions_mut().insert(web);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// Whether the request is a fetch/XHR call that wants a status, not a page.
fn wants_json(headers: &HeaderMap) -> bool {
    let xhr = headers
        .get("x-requested-with")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"));
    let json = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"));
    xhr || json
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => internal_error(),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut body = String::from("{\"message\":\"");
    for c in message.chars() {
        match c {
            '"' => body.push_str("\\\""),
            '\\' => body.push_str("\\\\"),
            c if c.is_control() => body.push(' '),
            c => body.push(c),
        }
    }
    body.push_str("\"}");
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Escapes text for HTML element content and quoted attribute values: the
/// `html-escape` crate's `encode_safe` (`& < > " ' /`), kept as this
/// crate's one documented entry point.
///
/// ```
/// assert_eq!(admin_ims::axum::escape("<a href='x'>"), "&lt;a href=&#x27;x&#x27;&gt;");
/// ```
pub fn escape(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

/// Escapes a double-quoted attribute value (a path: `/` stays readable).
fn attribute(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// An HTML page answer, never cached.
fn html_page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn internal_error() -> Response {
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, MSG_UNABLE).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;&#x2F;a&gt;"
        );
    }

    #[test]
    fn every_outcome_kind_round_trips_and_only_failures_of_ims_or_host_are_5xx() {
        for outcome in LoginOutcome::ALL {
            assert_eq!(LoginOutcome::from_kind(outcome.kind()), Some(*outcome));
            let server_side = matches!(
                outcome,
                LoginOutcome::ImsFailed | LoginOutcome::ImsUnavailable | LoginOutcome::Internal
            );
            assert_eq!(outcome.http_status() >= 500, server_side, "{outcome:?}");
        }
    }

    #[tokio::test]
    async fn extractor_rejections_are_typed_values() {
        use axum::extract::FromRequestParts as _;
        let (mut parts, ()) = Request::builder()
            .uri("/admin")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let rejection = SignedInAdmin::from_request_parts(&mut parts, &())
            .await
            .err();
        assert_eq!(rejection, Some(SignedInAdminRejection::AdapterMissing));
        let status = |r: SignedInAdminRejection| r.into_response().status();
        assert_eq!(
            status(SignedInAdminRejection::AdapterMissing),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(SignedInAdminRejection::Unauthorized),
            StatusCode::UNAUTHORIZED
        );
        let sign_in = SignedInAdminRejection::SignInRequired {
            location: "/admin/login?return_to=%2Fadmin".into(),
        }
        .into_response();
        assert_eq!(sign_in.status(), StatusCode::FOUND);
        assert_eq!(
            sign_in.headers()[header::LOCATION],
            "/admin/login?return_to=%2Fadmin"
        );
        let reauth = ReauthRejection::Required {
            json: true,
            reauth_path: "/admin/ims/reauth".into(),
        }
        .into_response();
        assert_eq!(reauth.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn the_default_page_escapes_and_names_the_kind() {
        let html = DefaultOutcomePage.render(&OutcomePage {
            outcome: LoginOutcome::NoAccess,
            flow: CallbackFlow::Login,
            retry_path: "/x\"><script>",
            headline: "Error <signing> in",
            message: "You don't have access",
        });
        assert!(html.contains("data-kind=\"no_access\""));
        assert!(html.contains("You don&#x27;t have access"));
        assert!(html.contains("Error &lt;signing&gt; in"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn detects_fetch_requests() {
        let mut headers = HeaderMap::new();
        assert!(!wants_json(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, application/json;q=0.9"),
        );
        assert!(wants_json(&headers));
        let mut xhr = HeaderMap::new();
        xhr.insert(
            "x-requested-with",
            HeaderValue::from_static("xmlhttprequest"),
        );
        assert!(wants_json(&xhr));
    }

    #[test]
    fn query_params_are_read_safely() {
        assert_eq!(
            query_param(Some("return_to=%2Fadmin&x=1"), "return_to").as_deref(),
            Some("/admin")
        );
        assert_eq!(query_param(None, "return_to"), None);
        assert_eq!(query_param(Some(&"a".repeat(20_000)), "a"), None);
    }
}
