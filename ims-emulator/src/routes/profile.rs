//! Bearer endpoints: `/ims/profile/v1`, `/ims/userinfo/v1` and `/v2`, `/ims/organizations/v5`
//! and `/v6`, and org membership at `/<orgId>@AdobeOrg/membership`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ImsError, json_response};
use crate::params::Params;
use crate::seed::{SeedOrg, SeedUser, same_org};
use crate::state::{AppState, Inner};
use crate::tokens::{TokenKind, Verified};

/// The bearer access token, verified (401 `invalid_token` otherwise).
pub(crate) fn bearer_token(state: &Inner, params: &Params) -> Result<Verified, ImsError> {
    let token = params.bearer().ok_or_else(|| {
        ImsError::unauthorized_token("an Authorization: Bearer access token is required")
    })?;
    verify_access_token(state, token)
}

/// An access token, verified (401 `invalid_token` otherwise).
fn verify_access_token(state: &Inner, token: &str) -> Result<Verified, ImsError> {
    let verified = state
        .verify(token)
        .map_err(|p| ImsError::unauthorized_token(p.description))?;
    if verified.kind != TokenKind::Access.type_claim() {
        return Err(ImsError::unauthorized_token(
            "the bearer token is not an access token",
        ));
    }
    Ok(verified)
}

fn roles(state: &Inner, member: &str) -> Vec<Value> {
    state
        .seed
        .orgs_of(member)
        .map(|o| {
            json!({
                "principal": member,
                "organization": o.id,
                "named_role": "user",
                "target": o.id,
                "target_type": "TRG_ORG",
            })
        })
        .collect()
}

/// A user's profile, as `/ims/profile/v1` (and `/ims/admin_profile/v1`) answer it.
pub(crate) fn user_profile(state: &Inner, user: &SeedUser) -> Value {
    json!({
        "userId": user.user_id,
        "authId": user.user_id,
        "email": user.email,
        "emailVerified": user.email_verified.to_string(),
        "name": user.display_name(),
        "displayName": user.display_name(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "countryCode": user.country_code,
        "account_type": user.account_type,
        "preferred_languages": ["en-us"],
        "roles": roles(state, &user.user_id),
    })
}

/// `GET /ims/profile/v1`.
pub(crate) async fn profile(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let token = bearer_token(&state, &params)?;
    let body = if let Some(user) = state.seed.user(&token.user_id) {
        user_profile(&state, user)
    } else if let Some(client) = state.seed.client_by_technical_account(&token.user_id) {
        let account = client.technical_account.as_ref();
        json!({
            "userId": token.user_id,
            "authId": token.user_id,
            "email": account.map(|a| a.email.clone()).unwrap_or_default(),
            "emailVerified": "true",
            "name": client.name,
            "displayName": client.name,
            "account_type": "technicalAccount",
            "roles": roles(&state, &token.user_id),
        })
    } else {
        return Err(ImsError::unauthorized_token(
            "the token's user no longer exists",
        ));
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /ims/userinfo/v2`, and `GET`/`POST /ims/userinfo/v1` (OpenID Connect user info, ims-go's
/// `GetUserInfo`). The token comes as `Authorization: Bearer`; a `POST` may send it as the form
/// field `access_token` instead (RFC 6750 §2.2), never both.
pub(crate) async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    params: Params,
) -> Result<Response, ImsError> {
    let token = match (method == Method::POST, params.body_value("access_token")) {
        (true, Some(form_token)) => {
            if params.bearer().is_some() {
                return Err(ImsError::invalid_request(
                    "send the access token either as Bearer or as access_token, not both",
                ));
            }
            verify_access_token(&state, form_token)?
        }
        _ => bearer_token(&state, &params)?,
    };
    let user = state
        .seed
        .user(&token.user_id)
        .ok_or_else(|| ImsError::unauthorized_token("the token does not belong to a user"))?;
    let body = json!({
        "sub": user.user_id,
        "account_type": user.account_type,
        "email_verified": user.email_verified,
        "address": { "country": user.country_code },
        "name": user.display_name(),
        "given_name": user.first_name,
        "family_name": user.last_name,
        "email": user.email,
    });
    Ok(json_response(StatusCode::OK, &body))
}

pub(crate) fn org_json(org: &SeedOrg) -> Value {
    let (ident, auth_src) = org
        .id
        .rsplit_once('@')
        .unwrap_or((org.id.as_str(), "AdobeOrg"));
    json!({
        "orgName": org.name,
        "orgRef": { "ident": ident, "authSrc": auth_src },
        "orgType": org.org_type,
        "countryCode": org.country_code,
        "groups": [],
    })
}

/// `GET /ims/organizations/v5` and `/v6`.
pub(crate) async fn organizations(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let token = bearer_token(&state, &params)?;
    let orgs: Vec<Value> = state.seed.orgs_of(&token.user_id).map(org_json).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(orgs)))
}

/// `GET /<orgId>@AdobeOrg/membership`: body `true` or `false`.
pub(crate) async fn membership(
    State(state): State<AppState>,
    org: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Response, ImsError> {
    let Path(org) = org.map_err(|_| ImsError::invalid_request("invalid organization id"))?;
    if !org.to_ascii_lowercase().ends_with("@adobeorg") {
        return Err(ImsError::not_found(format!(
            "no such resource: /{org}/membership"
        )));
    }
    let token = bearer_token(&state, &params)?;
    let member = state
        .seed
        .orgs
        .iter()
        .any(|o| same_org(&o.id, &org) && o.members.contains(&token.user_id));
    Ok(json_response(StatusCode::OK, &Value::Bool(member)))
}
