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
//! let web = AdminImsWeb::new(Arc::new(ims), "/admin/ims");
//! let app: Router = Router::new()
//!     .route("/admin", get(dashboard))
//!     .route_layer(web.require_admin())
//!     .nest("/admin/ims", web.routes())
//!     .layer(web.session_layer(web.session_store()));
//! # }
//! ```
//!
//! [`session_store`](AdminImsWeb::session_store) is a
//! [`BoundedSessionStore`]: sessions in memory within byte budgets, pending
//! sign-ins expiring with their state. Never use tower-sessions'
//! `MemoryStore` outside tests: it keeps every session an anonymous visitor
//! starts, for ever. A fleet of hosts needs a shared `SessionStore` instead.
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

use crate::service::LOG_TARGET;
use crate::{AdminIms, AdminSession, CallbackQuery, MSG_REAUTH_REQUIRED, MSG_UNABLE, SessionState};

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

/// The adapter: the service plus where its routes are mounted.
#[derive(Clone)]
pub struct AdminImsWeb {
    ims: Arc<AdminIms>,
    prefix: Arc<str>,
    secure_cookie: bool,
    after_logout: Arc<str>,
}

impl fmt::Debug for AdminImsWeb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminImsWeb")
            .field("prefix", &self.prefix)
            .field("secure_cookie", &self.secure_cookie)
            .field("after_logout", &self.after_logout)
            .finish_non_exhaustive()
    }
}

/// The signed-in admin: an extractor for handlers behind
/// [`RequireAdminLayer`], or on routers that carry the [`AdminImsWeb`] as an
/// `Extension` (then it checks the session itself). Without either it
/// answers 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedInAdmin(pub AdminUserId);

impl AdminImsWeb {
    /// The adapter for `ims`, whose routes are mounted at `mount_prefix`
    /// (the same prefix as the callbacks in
    /// [`AdminImsConfig`](crate::AdminImsConfig)). Cookies are `Secure`
    /// by default.
    pub fn new(ims: Arc<AdminIms>, mount_prefix: &str) -> Self {
        let trimmed = mount_prefix.trim_matches('/');
        let prefix = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        AdminImsWeb {
            ims,
            prefix: Arc::from(prefix),
            secure_cookie: true,
            after_logout: Arc::from("/"),
        }
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

    /// The routes, to `nest` under the mount prefix: `GET /login[?return_to=]`,
    /// `GET /callback`, `GET /reauth[?return_to=]`, `GET /reauth/callback`,
    /// `POST /logout`.
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/reauth", get(reauth))
            .route("/reauth/callback", get(reauth_callback))
            .route("/logout", post(logout))
            .with_state(self.clone())
    }

    /// The tower-sessions layer with the cookie the login flow needs:
    /// `SameSite=Lax` (Strict would drop the session on the redirect back
    /// from IMS), `HttpOnly`, `Secure` as configured, path `/`.
    pub fn session_layer<Store: SessionStore>(&self, store: Store) -> SessionManagerLayer<Store> {
        SessionManagerLayer::new(store)
            .with_name(SESSION_COOKIE)
            .with_same_site(SameSite::Lax)
            .with_http_only(true)
            .with_secure(self.secure_cookie)
            .with_path("/")
    }

    /// The session store for [`session_layer`](Self::session_layer): a
    /// [`BoundedSessionStore`] with the default budgets, its pending
    /// sessions expiring after the service's
    /// [`state_ttl`](crate::AdminImsConfig::state_ttl), on the service's
    /// clock. Clones share the sessions.
    pub fn session_store(&self) -> BoundedSessionStore {
        let limits = SessionLimits::default().with_pending_ttl(self.ims.config().state_ttl);
        BoundedSessionStore::new(limits, self.ims.services.clock.clone())
    }

    /// A layer that lets only signed-in admins through (pages are redirected
    /// to sign-in, fetch/XHR requests get 401).
    pub fn require_admin(&self) -> RequireAdminLayer {
        RequireAdminLayer { web: self.clone() }
    }

    /// The "Sign in with Adobe ID" fragment for the host's login page.
    pub fn sign_in_button(&self) -> String {
        format!(
            "<a class=\"admin-ims-sign-in\" href=\"{}\" role=\"button\">Sign in with Adobe ID</a>",
            escape(&self.login_path())
        )
    }

    /// The guard before a sensitive action: consumes the session's
    /// re-authentication proof, or answers 403 with "Please perform the
    /// AdobeIms reAuth and try again." (JSON or HTML by the request's
    /// `Accept`).
    pub async fn require_reauth(
        &self,
        session: &Session,
        headers: &HeaderMap,
    ) -> Result<(), Response> {
        let mut data = load(session).await.map_err(|_| internal_error())?;
        let had_proof = data.reauth_proof.is_some();
        let result = self.ims.require_reauth(&mut data);
        // Single use: the proof is gone from the store before the action
        // runs, whatever status the host's handler answers with (a 5xx
        // answer is not saved by the session layer).
        if had_proof {
            persist(session, &data)
                .await
                .map_err(|_| internal_error())?;
        }
        result.map_err(|_| {
            if wants_json(headers) {
                json_error(StatusCode::FORBIDDEN, MSG_REAUTH_REQUIRED)
            } else {
                error_page(
                    StatusCode::FORBIDDEN,
                    MSG_REAUTH_REQUIRED,
                    &self.reauth_path(),
                )
            }
        })
    }

    /// Checks the request's session; the admin, or the refusal to answer.
    async fn authorize(
        &self,
        parts_uri: &str,
        headers: &HeaderMap,
        session: Option<&Session>,
    ) -> Result<AdminUserId, Response> {
        let Some(session) = session else {
            tracing::error!(target: LOG_TARGET, event = "session_layer_missing", "no tower-sessions Session on the request: add AdminImsWeb::session_layer");
            return Err(internal_error());
        };
        let mut data = load(session).await.map_err(|_| internal_error())?;
        let before = serde_fingerprint(&data);
        let state = self.ims.check_session(&mut data).await;
        if serde_fingerprint(&data) != before {
            // An ended session leaves the store now.
            persist(session, &data)
                .await
                .map_err(|_| internal_error())?;
        }
        match state {
            SessionState::Valid(admin) => Ok(admin),
            _ => Err(self.sign_in_required(parts_uri, headers)),
        }
    }

    fn sign_in_required(&self, uri: &str, headers: &HeaderMap) -> Response {
        if wants_json(headers) {
            return json_error(StatusCode::UNAUTHORIZED, MSG_SIGN_IN);
        }
        let mut target = self.login_path();
        if let Some(path) = crate::sanitize_return_path(uri) {
            target.push_str("?return_to=");
            target.extend(url::form_urlencoded::byte_serialize(path.as_bytes()));
        }
        redirect(StatusCode::FOUND, &target)
    }
}

/// A cheap change detector for the session data.
fn serde_fingerprint(
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
        Err(err) => error_page(status_of(&err), err.user_message(), &web.login_path()),
    }
}

async fn callback(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    complete(web, session, query, Flow::Login).await
}

/// Completes a sign-in or a re-authentication from IMS's callback.
async fn complete(
    web: AdminImsWeb,
    session: Session,
    query: Option<String>,
    flow: Flow,
) -> Response {
    let query = CallbackQuery::parse(query.as_deref().unwrap_or_default());
    let Ok(mut data) = load(&session).await else {
        return internal_error();
    };
    let had_data = !data.is_empty();
    let claimed = match flow {
        Flow::Login => web.ims.claim_login(&mut data, &query),
        Flow::Reauth => web.ims.claim_reauth(&mut data, &query),
    };
    // Single use: the state is spent in the store before IMS is asked, so
    // neither a failure nor a 5xx answer (which the session layer does not
    // save) lets the same callback in twice.
    if had_data && persist(&session, &data).await.is_err() {
        return internal_error();
    }
    let result = match (claimed, flow) {
        (Err(err), _) => Err(err),
        (Ok(claimed), Flow::Login) => web
            .ims
            .finish_login(&mut data, claimed)
            .await
            .map(|success| success.redirect_to),
        (Ok(claimed), Flow::Reauth) => web
            .ims
            .finish_reauth(&mut data, claimed)
            .await
            .map(|success| success.redirect_to),
    };
    let redirect_to = match result {
        Ok(redirect_to) => redirect_to,
        Err(err) => {
            let back = match flow {
                Flow::Login => web.login_path(),
                Flow::Reauth => web.reauth_path(),
            };
            return error_page(status_of(&err), err.user_message(), &back);
        }
    };
    // Session fixation: a signed-in session gets a new id.
    if matches!(flow, Flow::Login)
        && let Err(err) = session.cycle_id().await
    {
        tracing::error!(target: LOG_TARGET, event = "session_store_failed", error = %err, "could not re-key the session");
        return internal_error();
    }
    if persist(&session, &data).await.is_err() {
        return internal_error();
    }
    redirect(StatusCode::SEE_OTHER, &redirect_to)
}

/// The status of a refusal: 4xx for what the browser, the user or their
/// account caused, 502/503 when IMS failed, 500 for the host's own failures.
fn status_of(err: &crate::LoginError) -> StatusCode {
    StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn reauth(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    begin(web, session, query, Flow::Reauth).await
}

async fn reauth_callback(
    State(web): State<AdminImsWeb>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    complete(web, session, query, Flow::Reauth).await
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
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(admin) = parts.extensions.get::<SignedInAdmin>() {
            return Ok(*admin);
        }
        let Some(web) = parts.extensions.get::<AdminImsWeb>().cloned() else {
            tracing::error!(target: LOG_TARGET, event = "adapter_missing", "SignedInAdmin needs RequireAdminLayer or an Extension(AdminImsWeb)");
            return Err(internal_error());
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
                Err(response) => Ok(response),
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

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small page with a user message (escaped) and a link to try again.
fn error_page(status: StatusCode, message: &str, retry: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in with Adobe ID</title></head>\
<body><main><p class=\"admin-ims-error\" role=\"alert\">{}</p><p><a href=\"{}\">Sign in with Adobe ID</a></p></main></body></html>\n",
        escape(message),
        escape(retry)
    );
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
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
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
