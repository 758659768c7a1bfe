//! The REST API: `GET /rest/V1/me` behind webapi-ims's `ImsAuthLayer`, and
//! Magento's password-based admin token route, refused while IMS is on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ims_api::ImsSettingsStore;
use serde_json::json;
use webapi_ims::axum::TokenAdmin;

use crate::wiring::AppState;

/// Why this demo has no password tokens.
pub(crate) const NO_PASSWORD_TOKENS: &str = "This demo does not issue password-based admin tokens: enable the Adobe IMS integration and use an IMS access token.";

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// `GET /rest/V1/me`: the admin the bearer token maps to, as the layer
/// knows them — kept with the token's hot entry and read again with it (a
/// change of the admin reported by the change feed included), so that this
/// handler queries nothing.
pub(crate) async fn me(TokenAdmin(auth): TokenAdmin) -> Response {
    let user = &auth.admin;
    Json(Me {
        id: user.id.0,
        email: &user.email,
        firstname: &user.first_name,
        lastname: &user.last_name,
    })
    .into_response()
}

/// The body of `GET /rest/V1/me`, serialized straight from the admin the
/// layer keeps (a `json!` value would copy every field into a map first).
#[derive(serde::Serialize)]
struct Me<'a> {
    id: i64,
    email: &'a str,
    firstname: &'a str,
    lastname: &'a str,
}

/// `POST /rest/V1/integration/admin/token`: Magento's refusal while the
/// integration is enabled (webapi-ims's guard); this demo issues no password
/// tokens otherwise either.
pub(crate) async fn admin_token(State(state): State<AppState>) -> Response {
    let settings = match state.store.settings().load().await {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!("POST /rest/V1/integration/admin/token: {e}");
            return message(StatusCode::SERVICE_UNAVAILABLE, "Please try again later.");
        }
    };
    match webapi_ims::guard_password_admin_token(&settings) {
        Err(refused) => message(StatusCode::UNAUTHORIZED, &refused.to_string()),
        Ok(()) => message(StatusCode::NOT_IMPLEMENTED, NO_PASSWORD_TOKENS),
    }
}
