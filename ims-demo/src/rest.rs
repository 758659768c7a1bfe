//! The REST API: `GET /rest/V1/me`, authenticated by webapi-ims's
//! `BearerAdmin` extractor, and Magento's password-based admin token route,
//! refused while IMS is on.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ims_api::ImsSettingsStore;
use serde_json::json;
use webapi_ims::axum::BearerAdmin;

use crate::wiring::AppState;

/// Why this demo has no password tokens.
pub(crate) const NO_PASSWORD_TOKENS: &str = "This demo does not issue password-based admin tokens: enable the Adobe IMS integration and use an IMS access token.";

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// `GET /rest/V1/me`: the admin the bearer token maps to, as the
/// authenticator knows them — kept with the token's hot entry and read
/// again with it (a change of the admin reported by the change feed
/// included), so that this handler queries nothing.
///
/// The extractor authenticates (the authenticator is in the state): the
/// demo has one token route, and without a route layer and a request
/// extension a warm request costs half the instructions. An API of many
/// routes puts them behind `ImsAuthLayer` instead, so that none is left
/// open by a handler that forgets the extractor.
pub(crate) async fn me(BearerAdmin(auth): BearerAdmin) -> Response {
    let user = &auth.admin;
    let me = Me {
        id: user.id.0,
        email: &user.email,
        firstname: &user.first_name,
        lastname: &user.last_name,
    };
    // Into a `Vec` sized for the answer: `Json`'s `BytesMut` writer takes
    // each of the serializer's small writes through a checked
    // `put_slice`: about 4 % of the request's instructions (callgrind).
    let mut body = Vec::with_capacity(64 + me.email.len() + me.firstname.len() + me.lastname.len());
    match serde_json::to_writer(&mut body, &me) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("GET /rest/V1/me: cannot serialize the admin: {e}");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
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
