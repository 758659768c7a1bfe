//! `POST /ims/token/v4`: the on-behalf-of token exchange (RFC 8693) as ims-go's `OBOExchange`
//! sends it: `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `client_id`,
//! `client_secret`, `subject_token`, `subject_token_type` and `requested_token_type` (both
//! `urn:ietf:params:oauth:token-type:access_token`), `scope` (comma-joined), `resource`
//! (repeatable). The answer is a new access token for the same user, issued to the calling
//! client, `expires_in` in seconds.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::error::{ImsError, token_response};
use crate::params::Params;
use crate::routes::authenticate_client;
use crate::routes::subject_token::{exchange_scopes, mint_exchanged, user_access_token};
use crate::routes::token_version::Version;
use crate::seed::GRANT_TOKEN_EXCHANGE;
use crate::state::AppState;
use crate::tokens::ACCESS_TOKEN_TTL_MS;

/// The one token type this exchange takes and gives.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `POST /ims/token/v4`.
///
/// Refusals: another `grant_type` → 400 `unsupported_grant_type`; client authentication as on
/// the other token endpoints; a client without the exchange grant → 400 `unauthorized_client`;
/// a missing or other `subject_token_type`, another `requested_token_type` → 400
/// `invalid_request`; a subject token that is forged, expired, revoked, not an access token or a
/// technical account's → 400 `invalid_grant`; a scope the client may not ask for or the subject
/// token was not granted → 400 `invalid_scope`.
pub(crate) async fn token_v4(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let grant = params.require("grant_type")?;
    if grant != GRANT_TOKEN_EXCHANGE {
        return Err(ImsError::bad(
            "unsupported_grant_type",
            format!("grant_type {grant} is not supported on this endpoint"),
        ));
    }
    let client = authenticate_client(&state, &params)?;
    if !client.allows_grant(GRANT_TOKEN_EXCHANGE) {
        return Err(ImsError::bad(
            "unauthorized_client",
            format!(
                "client {} may not exchange tokens on behalf of a user",
                client.client_id
            ),
        ));
    }
    let subject_type = params.require("subject_token_type")?;
    if subject_type != ACCESS_TOKEN_TYPE {
        return Err(ImsError::invalid_request(format!(
            "subject_token_type {subject_type} is not supported: only access tokens are exchanged"
        )));
    }
    if let Some(requested) = params.get("requested_token_type")
        && requested != ACCESS_TOKEN_TYPE
    {
        return Err(ImsError::invalid_request(format!(
            "requested_token_type {requested} is not supported"
        )));
    }
    let subject = user_access_token(&state, &params, "subject_token")?;
    let scope = exchange_scopes(&client, &subject, &params)?;
    let user_id = subject.user_id.clone();
    let token = mint_exchanged(&state, &client, &subject, &user_id, scope)?;
    Ok(token_response(&json!({
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "bearer",
        "expires_in": Version::V3.expires_in(ACCESS_TOKEN_TTL_MS),
    })))
}
