//! Discovery (`/ims/.well-known/openid-configuration`), JWKS (`/ims/keys`) and certificates by
//! `x5u` name (`/keys/prod/<x5u>`, `/keys/nonprod/<x5u>`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ImsError, json_response};
use crate::state::AppState;

/// `GET /ims/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(state): State<AppState>) -> Response {
    let body = json!({
        "issuer": state.base,
        "authorization_endpoint": state.url("/ims/authorize/v2"),
        "token_endpoint": state.url("/ims/token/v3"),
        "userinfo_endpoint": state.url("/ims/userinfo/v2"),
        "revocation_endpoint": state.url("/ims/revoke"),
        "end_session_endpoint": state.url("/ims/logout/v1"),
        "jwks_uri": state.url("/ims/keys"),
        "response_types_supported": ["code", "token", "id_token", "id_token token", "code id_token"],
        "response_modes_supported": ["query", "fragment"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "implicit_grant", "refresh_token"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "claims_supported": ["sub", "email", "email_verified", "name", "given_name", "family_name", "nonce"],
    });
    json_response(StatusCode::OK, &body)
}

/// `GET /ims/keys`.
pub(crate) async fn jwks(State(state): State<AppState>) -> Response {
    let body = state.keys().jwks();
    json_response(StatusCode::OK, &body)
}

/// `GET /keys/prod/<x5u>` and `/keys/nonprod/<x5u>`: the PEM certificate of a published key.
pub(crate) async fn certificate(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ImsError> {
    let Path(name) = name.map_err(|_| ImsError::invalid_request("invalid certificate name"))?;
    if name.contains('/') || name.contains("..") || name.contains('\\') {
        return Err(ImsError::invalid_request("invalid certificate name"));
    }
    let key = state
        .keys()
        .find_cert(&name)
        .ok_or_else(|| ImsError::not_found(format!("no certificate named {name}")))?;
    let mut response = (StatusCode::OK, key.cert_pem.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    Ok(response)
}
