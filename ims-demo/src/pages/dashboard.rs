//! The dashboard: who is signed in, how, and — for an Adobe ID session —
//! when IMS last confirmed the token and when it expires.

use admin_ims::AdminSession;
use admin_ims::axum::SignedInAdmin;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use ims_api::UserProfileRepository;
use tower_sessions::Session;

use super::{Nav, PageError, escape, page, when};
use crate::password_login::SignInKind;
use crate::wiring::AppState;

/// `GET /admin`.
pub(crate) async fn show(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Extension(kind): Extension<SignInKind>,
    session: Session,
) -> Result<Response, PageError> {
    let nav = Nav::load(&state, admin, kind).await?;
    let user = &nav.user;
    let mut rows = vec![
        (
            "Name",
            escape(&format!("{} {}", user.first_name, user.last_name)),
        ),
        ("E-mail", escape(&user.email)),
        ("User name", escape(&user.username)),
        ("Role", escape(user.role.as_deref().unwrap_or("none"))),
    ];
    match kind {
        SignInKind::AdobeId => {
            // admin-ims's session: the last time IMS confirmed the token.
            let last_check = session
                .get::<AdminSession>(admin_ims::axum::SESSION_KEY)
                .await
                .ok()
                .flatten()
                .and_then(|s| s.last_check());
            // The adobe_user_profile record admin-ims keeps: the expiry.
            let expires = state
                .store
                .user_profiles()
                .find_by_admin(admin)
                .await
                .map_err(PageError::storage)?
                .and_then(|p| p.access_token_expires_at);
            let every = state.ims().config().revalidate_after.as_secs();
            rows.push(("Signed in with", "Adobe ID".to_owned()));
            rows.push((
                "IMS token last checked",
                format!(
                    "<span id=\"last-check\">{}</span> <span class=\"muted\">(re-checked at IMS every {every} s)</span>",
                    when(last_check)
                ),
            ));
            rows.push((
                "IMS token expires",
                format!("<span id=\"token-expiry\">{}</span>", when(expires)),
            ));
        }
        SignInKind::Password => {
            rows.push((
                "Signed in with",
                "a password (the Adobe IMS integration is disabled)".to_owned(),
            ));
        }
    }
    let mut body = String::from("<dl id=\"whoami\">");
    for (label, value) in rows {
        body.push_str(&format!("<dt>{label}</dt><dd>{value}</dd>"));
    }
    body.push_str("</dl>");
    body.push_str(
        "<h2>What you can do here</h2><ul>\
<li><a href=\"/admin/users\">Admin users</a> — list them, and create one (needs re-authentication).</li>\
<li><a href=\"/admin/webapi-tokens\">Web API tokens</a> — the IMS tokens seen on <code>/rest/V1/*</code>, and revoking them.</li>\
</ul>",
    );
    Ok(page("Dashboard", Some(&nav), &body).into_response())
}
