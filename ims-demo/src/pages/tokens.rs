//! Web API tokens: the `admin_adobe_ims_webapi` rows, and revoking an
//! admin's tokens through webapi-ims (which logs them out at IMS too).

use std::collections::HashMap;

use admin_ims::axum::SignedInAdmin;
use axum::extract::{Extension, Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use ims_api::{AdminUserDirectory, AdminUserId, Page, TokenStatus, WebApiTokenRepository};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Nav, PageError, escape, notice, page, when};
use crate::password_login::SignInKind;
use crate::wiring::AppState;

/// `GET /admin/webapi-tokens`'s query: the outcome of a revocation.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    revoked: Option<u64>,
    admin: Option<i64>,
}

/// `GET /admin/webapi-tokens`.
pub(crate) async fn list(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Extension(kind): Extension<SignInKind>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let nav = Nav::load(&state, admin, kind).await?;
    let rows = state
        .store
        .webapi_tokens()
        .list(Page::first(100))
        .await
        .map_err(PageError::storage)?;
    let users: HashMap<AdminUserId, String> = state
        .store
        .admin_users()
        .list()
        .await
        .map_err(PageError::storage)?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let name = |id: AdminUserId| {
        users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("admin #{}", id.0))
    };
    let mut body = String::new();
    if let (Some(count), Some(id)) = (query.revoked, query.admin) {
        body.push_str(&notice(&format!(
            "Revoked {count} token(s) of {}.",
            name(AdminUserId(id))
        )));
    }
    body.push_str(
        "<p class=\"hint\">Every IMS access token accepted on <code>/rest/V1/*</code> is recorded by its SHA-256; \
the token itself is kept only encrypted, so that revoking can log it out at IMS.</p>",
    );
    if rows.is_empty() {
        body.push_str("<p id=\"no-tokens\">No token has been used on the Web API yet.</p>");
    } else {
        let now = OffsetDateTime::now_utc();
        body.push_str(
            "<table id=\"tokens\"><thead><tr><th>Token hash</th><th>Admin</th><th>Last check</th><th>Expires</th><th>Status</th><th></th></tr></thead><tbody>",
        );
        for row in &rows {
            let (status, class) = match &row.status {
                TokenStatus::Invalidated { .. } => ("revoked", "status-revoked"),
                _ if row.access_token_expires_at <= now => ("expired", "muted"),
                _ => ("valid", "status-valid"),
            };
            let revoke = if row.is_invalidated() {
                String::new()
            } else {
                format!(
                    "<form method=\"post\" action=\"/admin/webapi-tokens/revoke\">\
<input type=\"hidden\" name=\"admin_user_id\" value=\"{}\">\
<button type=\"submit\" class=\"secondary revoke\">Revoke this admin's tokens</button></form>",
                    row.admin_user_id.0
                )
            };
            body.push_str(&format!(
                "<tr data-admin=\"{}\"><td><code>{}…</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{status}</td><td>{revoke}</td></tr>",
                escape(&name(row.admin_user_id)),
                escape(row.access_token_hash.prefix(8)),
                escape(&name(row.admin_user_id)),
                when(Some(row.last_check_time)),
                when(Some(row.access_token_expires_at)),
            ));
        }
        body.push_str("</tbody></table>");
    }
    Ok(page("Web API tokens", Some(&nav), &body).into_response())
}

/// `POST /admin/webapi-tokens/revoke`'s form.
#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    admin_user_id: i64,
}

/// `POST /admin/webapi-tokens/revoke`: every token of one admin.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    let target = AdminUserId(form.admin_user_id);
    let report = state
        .webapi
        .revoke_admin_tokens(target)
        .await
        .map_err(PageError::storage)?;
    tracing::info!(
        admin_id = admin.0,
        target = target.0,
        invalidated = report.invalidated,
        logged_out_at_ims = report.logged_out_at_ims,
        "Web API tokens revoked"
    );
    Ok(Redirect::to(&format!(
        "/admin/webapi-tokens?revoked={}&admin={}",
        report.invalidated, target.0
    ))
    .into_response())
}
