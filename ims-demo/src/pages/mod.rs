//! The admin pages: small server-rendered HTML, everything escaped, one
//! shared stylesheet, no front-end build.

pub(crate) mod dashboard;
pub(crate) mod outcome;
pub(crate) mod tokens;
pub(crate) mod users;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use ims_api::{AdminUser, AdminUserDirectory, AdminUserId};
use time::OffsetDateTime;

pub(crate) use admin_ims::axum::escape;

use crate::password_login::SignInKind;
use crate::wiring::AppState;

/// The stylesheet of every page.
const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d1d1f;background:#f5f5f7}\
header{background:#1d1d1f;color:#fff;padding:.6rem 1.5rem;display:flex;align-items:center;gap:1.5rem;flex-wrap:wrap}\
header .brand{font-weight:600;margin-right:auto}\
header a{color:#fff;text-decoration:none;opacity:.85}header a:hover{opacity:1;text-decoration:underline}\
header form{margin:0}header button{background:transparent;color:#fff;border:1px solid #fff6;padding:.2rem .7rem}\
main{max-width:60rem;margin:2rem auto;padding:0 1.5rem}\
.card{background:#fff;border-radius:10px;padding:1.5rem 1.75rem;box-shadow:0 1px 3px #0002;margin-bottom:1.5rem}\
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e5e5ea;vertical-align:top}\
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#6e6e73}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1.5rem;margin:0}dt{color:#6e6e73}dd{margin:0}\
label{display:block;font-weight:500;margin-bottom:.8rem}\
input,select{display:block;width:100%;max-width:26rem;margin-top:.25rem;padding:.45rem .6rem;font:inherit;border:1px solid #c7c7cc;border-radius:6px}\
button,.admin-ims-sign-in,.button{display:inline-block;font:inherit;font-weight:500;padding:.5rem 1.1rem;border-radius:6px;border:0;background:#eb1000;color:#fff;cursor:pointer;text-decoration:none}\
button.secondary{background:#e5e5ea;color:#1d1d1f}\
.actions{margin:1.2rem 0 0}\
.alert{padding:.7rem 1rem;border-radius:6px;background:#fde8e7;color:#8a1000;margin-bottom:1rem}\
.notice{padding:.7rem 1rem;border-radius:6px;background:#e6f4ea;color:#0b5a1f;margin-bottom:1rem}\
.hint{color:#6e6e73;font-size:.9rem}code{background:#f0f0f3;padding:.05rem .3rem;border-radius:4px}\
.muted{color:#6e6e73}.status-valid{color:#0b7a2a}.status-revoked{color:#8a1000}\
";

/// The signed-in admin, for the header.
#[derive(Debug)]
pub(crate) struct Nav {
    pub(crate) user: AdminUser,
    pub(crate) kind: SignInKind,
    pub(crate) logout_action: String,
}

impl Nav {
    /// The header of `admin`, or an error page if the user is gone.
    pub(crate) async fn load(
        state: &AppState,
        admin: AdminUserId,
        kind: SignInKind,
    ) -> Result<Nav, PageError> {
        let user = state
            .store
            .admin_users()
            .find_by_id(admin)
            .await
            .map_err(PageError::storage)?
            .ok_or_else(|| PageError::new("Your admin user no longer exists."))?;
        let logout_action = match kind {
            SignInKind::AdobeId => state.web.logout_path(),
            SignInKind::Password => "/admin/logout".to_owned(),
        };
        Ok(Nav {
            user,
            kind,
            logout_action,
        })
    }
}

/// A whole page.
pub(crate) fn page(title: &str, nav: Option<&Nav>, body: &str) -> Html<String> {
    let header = match nav {
        Some(nav) => format!(
            "<header><span class=\"brand\">ims-demo admin</span>\
<a href=\"/admin\">Dashboard</a><a href=\"/admin/users\">Admin users</a>\
<a href=\"/admin/webapi-tokens\">Web API tokens</a>\
<span class=\"muted\">{}</span>\
<form method=\"post\" action=\"{}\"><button type=\"submit\" id=\"sign-out\">Sign out</button></form></header>",
            escape(&nav.user.email),
            escape(&nav.logout_action)
        ),
        None => "<header><span class=\"brand\">ims-demo admin</span></header>".to_owned(),
    };
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · ims-demo</title><style>{CSS}</style></head>\
<body>{header}<main><div class=\"card\"><h1>{}</h1>{body}</div></main></body></html>\n",
        escape(title),
        escape(title)
    ))
}

/// An error message box (escaped).
pub(crate) fn alert(message: &str) -> String {
    format!("<p class=\"alert\" role=\"alert\">{}</p>", escape(message))
}

/// A success message box (escaped).
pub(crate) fn notice(message: &str) -> String {
    format!(
        "<p class=\"notice\" role=\"status\">{}</p>",
        escape(message)
    )
}

/// A time for people, in UTC.
pub(crate) fn when(at: Option<OffsetDateTime>) -> String {
    match at {
        Some(at) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        None => "—".to_owned(),
    }
}

/// An error page with a readable message (never a stack trace).
pub(crate) fn error_page(message: &str) -> Response {
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        page(
            "Something went wrong",
            None,
            &format!(
                "{}<p><a href=\"/admin\">Back to the dashboard</a></p>",
                alert(message)
            ),
        ),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The 404 page.
pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Page not found",
            None,
            "<p>There is no page here.</p><p><a href=\"/admin\">Go to the admin</a></p>",
        ),
    )
        .into_response()
}

/// A handler's failure: logged in full, shown as a short message.
#[derive(Debug)]
pub(crate) struct PageError {
    message: String,
}

impl PageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        PageError {
            message: message.into(),
        }
    }

    pub(crate) fn storage(error: ims_api::Error) -> Self {
        tracing::error!("storage: {error}");
        PageError::new("The database could not be read or written. Please try again.")
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_titles_and_messages() {
        let html = page("<x>", None, &alert("<script>")).0;
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;x&gt;"));
    }

    #[test]
    fn times_are_shown_in_utc() {
        let at = time::macros::datetime!(2026-11-21 13:05:09 UTC);
        assert_eq!(when(Some(at)), "2026-11-21 13:05:09 UTC");
        assert_eq!(when(None), "—");
    }
}
