//! HTTP handlers, one module per IMS area.

pub(crate) mod admin;
pub(crate) mod authorize;
pub(crate) mod cluster_exchange;
pub(crate) mod discovery;
pub(crate) mod jwt_exchange;
pub(crate) mod logout;
pub(crate) mod profile;
pub(crate) mod register;
pub(crate) mod subject_token;
pub(crate) mod token;
pub(crate) mod token_exchange;
pub(crate) mod token_version;
pub(crate) mod validate;

use std::borrow::Cow;

use axum::http::StatusCode;

use crate::error::ImsError;
use crate::params::Params;
use crate::seed::SeedClient;
use crate::state::Inner;

/// Constant-time string comparison (the workspace's one:
/// [`ims_api::constant_time_eq`]).
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    ims_api::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// Authenticates the client by `client_secret_basic` or `client_secret_post`. Confidential
/// clients must present their secret; public clients (no secret in the seed) only their id.
/// Unknown client → 400 `invalid_client`; wrong or missing secret → 401 `invalid_client`.
pub(crate) fn authenticate_client<'a>(
    state: &'a Inner,
    params: &Params,
) -> Result<Cow<'a, SeedClient>, ImsError> {
    let body_id = params.get("client_id");
    let (client_id, secret) = match params.basic_credentials()? {
        Some((id, secret)) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(ImsError::invalid_request(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            (id, Some(secret))
        }
        None => (
            params.require("client_id")?.to_owned(),
            params.get("client_secret").map(str::to_owned),
        ),
    };
    let client = find_client(state, &client_id)?;
    if let Some(expected) = &client.client_secret {
        match secret {
            Some(given) if secrets_equal(&given, expected) => {}
            Some(_) => {
                return Err(ImsError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "invalid client secret",
                ));
            }
            None => {
                return Err(ImsError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client_secret is required",
                ));
            }
        }
    }
    Ok(client)
}

/// The client (seed or registered), or 400 `invalid_client`.
pub(crate) fn find_client<'a>(
    state: &'a Inner,
    client_id: &str,
) -> Result<Cow<'a, SeedClient>, ImsError> {
    state
        .client(client_id)
        .ok_or_else(|| ImsError::bad("invalid_client", format!("unknown client_id {client_id}")))
}
