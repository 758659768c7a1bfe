//! ims-go's admin endpoints: `/ims/admin_profile/v1` and `/ims/admin_organizations/v5`, a
//! service reading a user's profile or organizations with its own service token.
//!
//! ims-go sends a `POST` with `Authorization: Bearer <service token>`, `X-IMS-ClientId:
//! <client id>` and the form fields `guid` and `auth_src`. The emulator also takes a `GET` with
//! the same parameters in the query.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::error::{ImsError, json_response};
use crate::params::Params;
use crate::routes::profile::{bearer_token, org_json, user_profile};
use crate::seed::SeedUser;
use crate::state::{AppState, Inner};

/// The user an admin call is about, after every check:
///
/// - the Bearer token: a valid access token (401 `invalid_token` otherwise) of a technical
///   account, i.e. a service token from client credentials (a user's token → 403
///   `access_denied`);
/// - `X-IMS-ClientId`: required, and the service token's client (400 `invalid_client`);
/// - `guid` and `auth_src`: required (400 `invalid_request`); the user is `<guid>@<auth_src>`
///   (a `guid` with its `@<auth_src>` already is taken as it is, if the suffix agrees);
/// - the user must exist and share an organization with the service's technical account: any
///   other user is 404 `user_not_found`, so a service learns nothing about users outside its
///   organizations.
fn subject_user<'a>(state: &'a Inner, params: &Params) -> Result<&'a SeedUser, ImsError> {
    let service = bearer_token(state, params)?;
    if state
        .seed
        .client_by_technical_account(&service.user_id)
        .is_none()
    {
        return Err(ImsError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            "admin endpoints take a service token (client credentials), not a user's token",
        ));
    }
    let header_client = params
        .headers
        .get("x-ims-clientid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ImsError::invalid_request("the X-IMS-ClientId header is required"))?;
    if header_client != service.client_id {
        return Err(ImsError::bad(
            "invalid_client",
            "X-IMS-ClientId is not the client the service token was issued to",
        ));
    }
    let guid = params.require("guid")?;
    let auth_src = params.require("auth_src")?;
    let user_id = match guid.split_once('@') {
        Some((_, suffix)) if suffix.eq_ignore_ascii_case(auth_src) => guid.to_owned(),
        Some(_) => {
            return Err(ImsError::invalid_request(
                "guid names another auth_src than the auth_src parameter",
            ));
        }
        None => format!("{guid}@{auth_src}"),
    };
    let not_found = || {
        ImsError::new(
            StatusCode::NOT_FOUND,
            "user_not_found",
            format!("no user {user_id} in the service's organizations"),
        )
    };
    let user = state.seed.user(&user_id).ok_or_else(not_found)?;
    let shares_org = state
        .seed
        .orgs_of(&service.user_id)
        .any(|o| o.members.iter().any(|m| m == &user.user_id));
    if !shares_org {
        return Err(not_found());
    }
    Ok(user)
}

/// `POST`/`GET /ims/admin_profile/v1`: the user's profile, as `/ims/profile/v1` gives it.
pub(crate) async fn admin_profile(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let user = subject_user(&state, &params)?;
    Ok(json_response(StatusCode::OK, &user_profile(&state, user)))
}

/// `POST`/`GET /ims/admin_organizations/v5`: the user's organizations, as
/// `/ims/organizations/v5` gives them.
pub(crate) async fn admin_organizations(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let user = subject_user(&state, &params)?;
    let orgs: Vec<Value> = state.seed.orgs_of(&user.user_id).map(org_json).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(orgs)))
}
