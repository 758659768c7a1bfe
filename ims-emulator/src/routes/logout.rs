//! `/ims/logout/v1`: front channel (`GET`, redirect) and back channel (`POST`, client auth).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ImsError;
use crate::html;
use crate::params::Params;
use crate::routes::authenticate_client;
use crate::routes::authorize::SESSION_COOKIE;
use crate::state::{AppState, Inner};

fn end_cookie_session(state: &Inner, params: &Params) {
    for value in params.headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, id)) = pair.trim().split_once('=')
                && name == SESSION_COOKIE
            {
                state.store().end_session(id);
            }
        }
    }
}

/// `GET /ims/logout/v1?client_id&redirect_uri&access_token`.
pub(crate) async fn logout_front(State(state): State<AppState>, params: Params) -> Response {
    if let Some(uri) = params.get("redirect_uri") {
        let allowed = params
            .get("client_id")
            .and_then(|id| state.seed.client(id))
            .is_some_and(|c| c.redirect_allowed(uri));
        if !allowed {
            return html::error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "redirect_uri is not registered for this client_id",
            );
        }
    }
    if let Some(token) = params.get("access_token")
        && let Ok(v) = crate::tokens::verify(&state.keys(), token, 0)
    {
        state.store().logout_token(&v.id);
    }
    end_cookie_session(&state, &params);
    let mut response = match params.get("redirect_uri") {
        Some(uri) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(uri) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        None => html::message_page("Signed out", "You have been signed out of ims-emulator."),
    };
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /ims/logout/v1` with `access_token`, `client_id`, `client_secret`: 200, empty body.
pub(crate) async fn logout_back(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let client = authenticate_client(&state, &params)?;
    let token = params
        .get("access_token")
        .or_else(|| params.bearer())
        .ok_or_else(|| ImsError::invalid_request("missing required parameter: access_token"))?;
    let verified = crate::tokens::verify(&state.keys(), token, 0)
        .map_err(|p| ImsError::bad("invalid_token", p.description))?;
    if verified.client_id != client.client_id {
        return Err(ImsError::bad(
            "invalid_token",
            "the token was not issued to this client",
        ));
    }
    state.store().logout_token(&verified.id);
    Ok(StatusCode::OK.into_response())
}
