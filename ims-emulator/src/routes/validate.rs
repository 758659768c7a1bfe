//! `/ims/validate_token/v1` (POST and GET), `/ims/invalidate_token/v2` and `/ims/revoke`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ImsError, json_response};
use crate::params::Params;
use crate::routes::{authenticate_client, find_client};
use crate::state::AppState;
use crate::tokens::TokenKind;

const TOKEN_TYPES: &[&str] = &[
    "access_token",
    "refresh_token",
    "authorization_code",
    "device_token",
];

/// `POST`/`GET /ims/validate_token/v1`: `{"valid":true,"expires_at":ms,"token":{claims}}` or
/// `{"valid":false,"reason":"..."}` (both 200).
///
/// A token is valid only for the client it was issued to: asked for another
/// client, the answer is `{"valid":false,"reason":"invalid_client_id"}`.
/// IMS's published contract does not say what it answers then; the emulator
/// takes the strict reading so that a host which validates a token for its
/// own client id sees a foreign token refused in every test (hosts must not
/// rely on it, and check the token's `client_id` claim themselves).
pub(crate) async fn validate_token(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let client_id = params
        .get("client_id")
        .or_else(|| {
            params
                .headers
                .get("x-ims-clientid")
                .and_then(|v| v.to_str().ok())
        })
        .ok_or_else(|| ImsError::invalid_request("missing required parameter: client_id"))?;
    find_client(&state, client_id)?;
    let kind = params.get("type").unwrap_or("access_token");
    if !TOKEN_TYPES.contains(&kind) {
        return Err(ImsError::invalid_request(format!(
            "unknown token type {kind}"
        )));
    }
    let token = params
        .get("token")
        .or_else(|| params.bearer())
        .ok_or_else(|| ImsError::invalid_request("missing required parameter: token"))?;
    let body = match state.verify(token) {
        Ok(v) if v.client_id != client_id => json!({
            "valid": false,
            "reason": "invalid_client_id",
            "description": "the token was not issued to this client",
        }),
        Ok(v) if v.kind != kind => json!({
            "valid": false,
            "reason": "invalid_token_type",
            "description": format!("the token is a {}, not a {kind}", v.kind),
        }),
        Ok(v) => json!({
            "valid": true,
            "expires_at": v.expires_at_ms,
            "token": v.claims,
        }),
        Err(p) => json!({ "valid": false, "reason": p.reason, "description": p.description }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /ims/invalidate_token/v2`: `token_type`, `token`, client auth, optional `cascading=all`.
pub(crate) async fn invalidate_token(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let client = authenticate_client(&state, &params)?;
    let kind = params
        .get("token_type")
        .or_else(|| params.get("type"))
        .unwrap_or("access_token");
    if !matches!(
        kind,
        "access_token" | "refresh_token" | "device_token" | "service_token"
    ) {
        return Err(ImsError::invalid_request(format!(
            "unknown token_type {kind}"
        )));
    }
    let token = params
        .get("token")
        .or_else(|| params.bearer())
        .ok_or_else(|| ImsError::invalid_request("missing required parameter: token"))?;
    let cascade = match params.get("cascading") {
        None => false,
        Some("all") => true,
        Some(other) => {
            return Err(ImsError::invalid_request(format!(
                "cascading {other} is not supported"
            )));
        }
    };
    // Signature and shape must hold; expired or already revoked tokens are invalidated silently.
    let verified = match crate::tokens::verify(&state.keys(), token, 0) {
        Ok(v) => v,
        Err(p) => return Err(ImsError::bad("invalid_token", p.description)),
    };
    if verified.client_id != client.client_id {
        return Err(ImsError::bad(
            "invalid_token",
            "the token was not issued to this client",
        ));
    }
    if verified.kind != kind && kind != "service_token" {
        return Err(ImsError::bad(
            "invalid_token",
            format!("the token is a {}, not a {kind}", verified.kind),
        ));
    }
    // A refresh token always takes its access tokens along when cascading.
    state.store().revoke(
        &verified.id,
        cascade && verified.kind == TokenKind::Refresh.type_claim(),
    );
    Ok(StatusCode::OK.into_response())
}

/// `POST /ims/revoke` (RFC 7009): `token`, client auth. Always 200 for tokens that cannot be
/// revoked (unknown, foreign, malformed), as the RFC asks.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let client = authenticate_client(&state, &params)?;
    let token = params.require("token")?;
    if let Ok(v) = crate::tokens::verify(&state.keys(), token, 0)
        && v.client_id == client.client_id
    {
        let cascade = v.kind == TokenKind::Refresh.type_claim();
        state.store().revoke(&v.id, cascade);
    }
    Ok(StatusCode::OK.into_response())
}
