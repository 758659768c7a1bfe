//! Password sign-in while the integration is off, and the guard of the
//! admin pages that accepts either kind of session.
//!
//! admin-ims decides whether password sign-in is allowed
//! ([`AdminIms::refuse_password_login`](admin_ims::AdminIms::refuse_password_login));
//! `ims-store` signs the user in with Magento's lockout
//! ([`SqlAdminUserDirectory::sign_in_with_password`](ims_store::SqlAdminUserDirectory::sign_in_with_password)),
//! within its bound on concurrent password hashing (busy: 503 with
//! `Retry-After`).

use admin_ims::axum::SignedInAdmin;
use admin_ims::{AdminSession, MSG_MORE_PERMISSIONS, MSG_SIGN_IN_WITH_ADOBE_ID};
use axum::extract::{Form, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use ims_api::{AdminUser, AdminUserDirectory, AdminUserId, LockoutPolicy, Password};
use ims_store::PasswordSignIn;
use serde::Deserialize;
use time::OffsetDateTime;
use tower::{Layer as _, ServiceExt as _};
use tower_sessions::Session;

use crate::pages::{self, escape};
use crate::state::AppState;
pub(crate) use crate::state::SignInKind;

/// The session key of a password sign-in (admin-ims keeps its own).
const PASSWORD_KEY: &str = "demo_password_admin";

/// The admin signed in with a password, while that is allowed and the user
/// may still sign in.
pub(crate) async fn password_admin(state: &AppState, session: &Session) -> Option<AdminUser> {
    let id = session.get::<i64>(PASSWORD_KEY).await.ok().flatten()?;
    if state.ims().refuse_password_login().await.is_err() {
        // The integration was enabled meanwhile: password sessions end.
        let _ = session.remove::<i64>(PASSWORD_KEY).await;
        return None;
    }
    let user = state
        .store
        .admin_users()
        .find_by_id(AdminUserId(id))
        .await
        .ok()
        .flatten()?;
    let usable =
        user.is_active && !user.is_locked(OffsetDateTime::now_utc()) && user.has_permissions();
    usable.then_some(user)
}

/// The guard of the admin pages: a password session while the integration
/// is off; otherwise admin-ims's own guard
/// ([`AdminImsWeb::require_admin`](admin_ims::axum::AdminImsWeb::require_admin)).
pub(crate) async fn require_admin(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(user) = password_admin(&state, &session).await {
        request.extensions_mut().insert(SignedInAdmin(user.id));
        request.extensions_mut().insert(SignInKind::Password);
        return next.run(request).await;
    }
    if !state.ims_enabled().await {
        let target = sign_in_target(request.uri().path());
        return Redirect::to(&target).into_response();
    }
    request.extensions_mut().insert(SignInKind::AdobeId);
    match state.web.require_admin().layer(next).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn sign_in_target(path: &str) -> String {
    match admin_ims::sanitize_return_path(path) {
        Some(path) => format!(
            "/admin/login?return_to={}",
            url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
        ),
        None => "/admin/login".to_owned(),
    }
}

/// `GET /admin/login`'s query.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    return_to: Option<String>,
    /// An admin-ims outcome's kind (`LoginOutcome::kind`).
    ims_error: Option<String>,
    /// `reauth` when the outcome ended a re-authentication.
    flow: Option<String>,
}

/// `GET /admin/login`: "Sign in with Adobe ID" while the integration is on,
/// the password form while it is off.
pub(crate) async fn sign_in_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SignInQuery>,
) -> Response {
    // Already signed in: to the dashboard. (An Adobe ID session counts only
    // while the integration is on; otherwise /admin would send us back here.)
    // admin-ims sends every sign-in outcome here (`?ims_error=<kind>`):
    // shown in the demo's own style, with the outcome's status.
    if let Some((outcome, status)) = query
        .ims_error
        .as_deref()
        .and_then(pages::outcome::ims_outcome)
    {
        let reauth = query.flow.as_deref() == Some("reauth");
        let mut body = outcome;
        if reauth && ims_signed_in(&session).await {
            body.push_str("<p class=\"actions\"><a class=\"button\" href=\"/admin\">Back to the dashboard</a></p>");
            return with_status(pages::page("Sign in", None, &body).into_response(), status);
        }
        return with_status(
            render_sign_in_after(&state, query.return_to.as_deref(), &body).await,
            status,
        );
    }
    let signed_in = password_admin(&state, &session).await.is_some()
        || (ims_signed_in(&session).await && state.ims_enabled().await);
    if signed_in {
        return Redirect::to("/admin").into_response();
    }
    render_sign_in(&state, query.return_to.as_deref(), None, "").await
}

async fn ims_signed_in(session: &Session) -> bool {
    session
        .get::<AdminSession>(admin_ims::axum::SESSION_KEY)
        .await
        .ok()
        .flatten()
        .is_some_and(|s| s.is_signed_in())
}

async fn render_sign_in(
    state: &AppState,
    return_to: Option<&str>,
    error: Option<&str>,
    username: &str,
) -> Response {
    let before = error.map(pages::alert).unwrap_or_default();
    render_sign_in_with(state, return_to, &before, username).await
}

/// The sign-in page under an admin-ims outcome's box.
async fn render_sign_in_after(
    state: &AppState,
    return_to: Option<&str>,
    outcome: &str,
) -> Response {
    render_sign_in_with(state, return_to, outcome, "").await
}

async fn render_sign_in_with(
    state: &AppState,
    return_to: Option<&str>,
    before: &str,
    username: &str,
) -> Response {
    let mut body = before.to_owned();
    if state.ims_enabled().await {
        body.push_str("<p>This admin signs its users in with their Adobe ID.</p>");
        body.push_str(&format!(
            "<p class=\"actions\">{}</p>",
            state.web.sign_in_button_to(return_to)
        ));
        if state.emulator_hint {
            body.push_str(&format!(
                "<p class=\"hint\">Demo: on the emulator's page, sign in as <code>{}</code> with the password <code>{}</code>.</p>",
                escape(ims_emulator::default_seed::MEMBER_EMAIL),
                escape(ims_emulator::default_seed::MEMBER_PASSWORD)
            ));
        }
    } else {
        let return_to = return_to
            .and_then(admin_ims::sanitize_return_path)
            .unwrap_or_default();
        body.push_str(&format!(
            "<form method=\"post\" action=\"/admin/login\" class=\"stack\">\
<input type=\"hidden\" name=\"return_to\" value=\"{}\">\
<label>User name or e-mail<input name=\"username\" value=\"{}\" autocomplete=\"username\" required autofocus></label>\
<label>Password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
<p class=\"actions\"><button type=\"submit\">Sign in</button></p></form>\
<p class=\"hint\">The Adobe IMS integration is disabled: admins sign in with a password (create one with <code>ims-demo admin:user:create</code>).</p>",
            escape(&return_to),
            escape(username),
        ));
    }
    pages::page("Sign in", None, &body).into_response()
}

/// `POST /admin/login`'s form.
#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

const MSG_WRONG: &str = "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.";

/// `POST /admin/login`: refused with "Please sign in with Adobe ID" while
/// the integration is on; otherwise the password is checked and failures
/// count towards Magento's lockout.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let return_to = Some(form.return_to.as_str()).filter(|s| !s.is_empty());
    if state.ims().refuse_password_login().await.is_err() {
        return with_status(
            render_sign_in(&state, return_to, Some(MSG_SIGN_IN_WITH_ADOBE_ID), "").await,
            axum::http::StatusCode::FORBIDDEN,
        );
    }
    let admins = state.store.admin_users();
    let password = Password::new(form.password);
    let refused = |message: &'static str| {
        let state = state.clone();
        let username = form.username.clone();
        async move {
            with_status(
                render_sign_in(&state, return_to, Some(message), &username).await,
                axum::http::StatusCode::UNAUTHORIZED,
            )
        }
    };
    // ims-store resolves the login (user name or e-mail), refuses a locked
    // or inactive user before hashing, and counts a wrong password against
    // the user it resolved to.
    let outcome = admins
        .sign_in_with_password(&form.username, &password, &LockoutPolicy::default())
        .await;
    let user = match outcome {
        Ok(PasswordSignIn::SignedIn(user)) => user,
        Ok(PasswordSignIn::Busy { retry_after }) => {
            return busy(&state, return_to, &form.username, retry_after).await;
        }
        Ok(refusal) => {
            tracing::info!(outcome = refusal_kind(&refusal), "password sign-in refused");
            return refused(MSG_WRONG).await;
        }
        Err(e) => {
            tracing::error!("password sign-in: {e}");
            return pages::error_page("The sign-in could not be checked. Please try again.")
                .into_response();
        }
    };
    if !user.has_permissions() {
        return refused(MSG_MORE_PERMISSIONS).await;
    }
    if session.cycle_id().await.is_err() || session.insert(PASSWORD_KEY, user.id.0).await.is_err() {
        return pages::error_page("The session could not be saved. Please try again.")
            .into_response();
    }
    tracing::info!(admin_id = user.id.0, "admin signed in with a password");
    let target = return_to
        .and_then(admin_ims::sanitize_return_path)
        .unwrap_or_else(|| "/admin".to_owned());
    Redirect::to(&target).into_response()
}

/// What a refusal was, for the log (never the login or the password).
fn refusal_kind(outcome: &PasswordSignIn) -> &'static str {
    match outcome {
        PasswordSignIn::UnknownLogin => "unknown login",
        PasswordSignIn::WrongPassword { .. } => "wrong password",
        PasswordSignIn::Locked { .. } => "locked",
        PasswordSignIn::Inactive { .. } => "inactive",
        _ => "other",
    }
}

const MSG_BUSY: &str =
    "Too many sign-ins are being checked right now. Please try again in a moment.";

/// 503 with `Retry-After`: password hashing is at its bound.
async fn busy(
    state: &AppState,
    return_to: Option<&str>,
    username: &str,
    retry_after: std::time::Duration,
) -> Response {
    let mut response = with_status(
        render_sign_in(state, return_to, Some(MSG_BUSY), username).await,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after.as_secs().max(1)),
    );
    response
}

fn with_status(mut response: Response, status: axum::http::StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// `POST /admin/logout`: ends a password session (Adobe ID sessions sign out
/// through admin-ims's `POST /admin/ims/logout`).
pub(crate) async fn sign_out(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        tracing::error!("could not end the session: {e}");
    }
    Redirect::to("/admin/login").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_keeps_local_paths_only() {
        assert_eq!(
            sign_in_target("/admin/users"),
            "/admin/login?return_to=%2Fadmin%2Fusers"
        );
        assert_eq!(sign_in_target("//evil.example"), "/admin/login");
    }
}
