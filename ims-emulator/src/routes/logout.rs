//! `/ims/logout/v1`: front channel (`GET`, redirect) and back channel (`POST`, client auth);
//! `GET /ims/logout`, the unversioned front channel Magento's `AdobeIms` calls.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ImsError;
use crate::html;
use crate::params::Params;
use crate::routes::authenticate_client;
use crate::routes::authorize::SESSION_COOKIE;
use crate::state::{AppState, Inner};

/// The `Set-Cookie` that clears the emulator's session cookie.
fn clear_cookie(response: &mut Response) {
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

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

/// Whether the `client_id` parameter names another client than the one the (readable)
/// `access_token` was issued to. The redirect URI is checked against the named client, and
/// anyone can register a client with any redirect URI: a logout of one client's token must not
/// be sent to another client's URI.
fn names_another_client(params: &Params, token: Option<&crate::tokens::Verified>) -> bool {
    match (params.get("client_id"), token) {
        (Some(named), Some(token)) => named != token.client_id,
        _ => false,
    }
}

/// `GET /ims/logout/v1?client_id&redirect_uri&access_token`.
pub(crate) async fn logout_front(State(state): State<AppState>, params: Params) -> Response {
    let token = params
        .get("access_token")
        .and_then(|t| crate::tokens::verify(&state.keys(), t, 0).ok());
    if names_another_client(&params, token.as_ref()) {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the access_token was not issued to client_id",
        );
    }
    if let Some(uri) = params.get("redirect_uri") {
        let allowed = params
            .get("client_id")
            .and_then(|id| state.client(id))
            .is_some_and(|c| c.redirect_allowed(uri));
        if !allowed {
            return html::error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "redirect_uri is not registered for this client_id",
            );
        }
    }
    if let Some(v) = &token {
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
    clear_cookie(&mut response);
    response
}

/// `redirect_uri=self`: what Magento sends when it has no page to return to (it says IMS gives
/// no success answer without a `redirect_uri`).
const REDIRECT_SELF: &str = "self";

/// `GET /ims/logout?access_token&redirect_uri` (and an optional `client_id`), as Magento's
/// `AdobeIms` `LogOut` sends it and expects a 302.
///
/// - `redirect_uri` is required: without one, a 400 error page and nothing happens.
/// - `redirect_uri=self`: 302 to the emulator's start page.
/// - A `client_id` that is not the client the `access_token` was issued to: a 400 error page and
///   nothing happens (the URI would be checked against another client's registration).
/// - Any other `redirect_uri` must be registered for the client: `client_id` if given, else the
///   client the `access_token` was issued to. An unregistered one, or one that cannot be checked
///   (no client known), gets a 400 error page and nothing happens: never an open redirect.
/// - Then the token (expired ones too) is revoked with every token of its browser session, the
///   session of the cookie ends and the cookie is cleared, and the answer is the 302. A forged
///   or unreadable `access_token` revokes nothing but does not stop the logout.
pub(crate) async fn logout_unversioned(State(state): State<AppState>, params: Params) -> Response {
    let bad = |description: &str| {
        html::error_page(StatusCode::BAD_REQUEST, "invalid_request", description)
    };
    let Some(uri) = params.get("redirect_uri") else {
        return bad("missing required parameter: redirect_uri");
    };
    let token = params
        .get("access_token")
        .and_then(|t| crate::tokens::verify(&state.keys(), t, 0).ok());
    if names_another_client(&params, token.as_ref()) {
        return bad("the access_token was not issued to client_id");
    }
    let target = if uri == REDIRECT_SELF {
        state.url("/")
    } else {
        let client_id = params
            .get("client_id")
            .or_else(|| token.as_ref().map(|t| t.client_id.as_str()));
        let allowed = client_id
            .and_then(|id| state.client(id))
            .is_some_and(|c| c.redirect_allowed(uri));
        if !allowed {
            return bad("redirect_uri is not registered for the client of this logout");
        }
        uri.to_owned()
    };
    let Ok(location) = HeaderValue::from_str(&target) else {
        return bad("redirect_uri cannot be sent as a Location header");
    };
    if let Some(token) = &token {
        state.store().logout_token(&token.id);
    }
    end_cookie_session(&state, &params);
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    clear_cookie(&mut response);
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
