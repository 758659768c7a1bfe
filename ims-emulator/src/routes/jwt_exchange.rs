//! `POST /ims/exchange/jwt` (also `/ims/exchange/jwt/` and `/ims/exchange/v1/jwt`): the legacy
//! service-account flow. The assertion is verified against the technical account's registered
//! public key.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};

use crate::error::{ImsError, token_response};
use crate::params::Params;
use crate::routes::{find_client, secrets_equal};
use crate::seed::GRANT_JWT_BEARER;
use crate::state::AppState;
use crate::tokens::{ACCESS_TOKEN_TTL_MS, TokenKind, TokenSpec, now_ms};

/// Allowed clock skew for `exp`/`iat`, seconds.
const SKEW_S: u64 = 30;

fn bad(error: &'static str, description: impl Into<String>) -> ImsError {
    ImsError::bad(error, description)
}

pub(crate) async fn exchange_jwt(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| bad("invalid_client", "missing required parameter: client_id"))?;
    let client = find_client(&state, client_id)?;
    let secret = params
        .get("client_secret")
        .ok_or_else(|| bad("bad_request", "missing required parameter: client_secret"))?;
    match &client.client_secret {
        Some(expected) if secrets_equal(secret, expected) => {}
        _ => {
            return Err(ImsError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "invalid client secret",
            ));
        }
    }
    let account = client
        .technical_account
        .as_ref()
        .filter(|a| a.public_key_pem.is_some() && client.allows_grant(GRANT_JWT_BEARER))
        .ok_or_else(|| bad("invalid_client", "the client is not a JWT service account"))?;
    let assertion = params
        .get("jwt_token")
        .ok_or_else(|| bad("invalid_token", "missing required parameter: jwt_token"))?;

    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| bad("invalid_token", "the JWT cannot be decoded"))?;
    if header.alg != Algorithm::RS256 {
        return Err(bad("invalid_token", "the JWT must be signed with RS256"));
    }
    let pem = account.public_key_pem.as_deref().unwrap_or_default();
    let key = DecodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|_| ImsError::internal("the technical account's public key cannot be read"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = SKEW_S;
    validation.validate_exp = true;
    validation.validate_aud = false;
    validation.required_spec_claims = ["exp".to_owned()].into_iter().collect::<HashSet<_>>();
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::InvalidSignature => {
                    bad("invalid_signature", "the JWT signature is not valid")
                }
                ErrorKind::ExpiredSignature => bad("invalid_token", "the JWT has expired"),
                ErrorKind::MissingRequiredClaim(c) => {
                    bad("invalid_token", format!("the JWT has no {c} claim"))
                }
                _ => bad("invalid_token", "the JWT cannot be decoded"),
            });
        }
    };
    let now_s = now_ms() / 1000;
    if let Some(iat) = claims.get("iat").and_then(Value::as_u64)
        && iat > now_s.saturating_add(SKEW_S)
    {
        return Err(bad(
            "invalid_token",
            "the JWT was issued in the future (iat)",
        ));
    }
    let expected_aud = state.url(&format!("/c/{}", client.client_id));
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == expected_aud,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&expected_aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad(
            "invalid_client",
            format!("the JWT audience (aud) must be {expected_aud}"),
        ));
    }
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !client
        .org_id
        .as_deref()
        .is_some_and(|o| o.eq_ignore_ascii_case(iss))
    {
        return Err(bad(
            "invalid_token",
            "the JWT issuer (iss) is not the technical account's organization",
        ));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sub != account.id {
        return Err(bad(
            "invalid_token",
            "the JWT subject (sub) is not the client's technical account",
        ));
    }
    let prefix = state.url("/s/");
    let mut meta_scopes = Vec::new();
    for (name, value) in &claims {
        if let Some(scope) = name.strip_prefix(&prefix)
            && value == &Value::Bool(true)
        {
            meta_scopes.push(scope.to_owned());
        }
    }
    if meta_scopes.is_empty() || meta_scopes.iter().any(|m| !account.meta_scopes.contains(m)) {
        return Err(bad(
            "invalid_scope",
            "The metascopes in the JWT are not a subset of the metascopes in the binding.",
        ));
    }
    if let Some(jti) = claims.get("jti") {
        let jti = jti
            .as_str()
            .ok_or_else(|| bad("invalid_jti", "jti must be a string"))?;
        let exp_s = claims.get("exp").and_then(Value::as_u64).unwrap_or(now_s);
        let fresh = state.store().record_jti(
            jti,
            exp_s.saturating_add(SKEW_S).saturating_mul(1000),
            now_ms(),
        );
        if !fresh {
            return Err(bad("invalid_jti", "the JWT id (jti) has already been used"));
        }
    }
    let minted = state
        .mint(&TokenSpec {
            kind: TokenKind::Access,
            client_id: client.client_id.clone(),
            user_id: account.id.clone(),
            scope: meta_scopes,
            created_at_ms: now_ms(),
            expires_in_ms: ACCESS_TOKEN_TTL_MS,
            extra: Vec::new(),
        })
        .map_err(ImsError::internal)?;
    Ok(token_response(&json!({
        "token_type": "bearer",
        "access_token": minted.token,
        "expires_in": ACCESS_TOKEN_TTL_MS - 1,
    })))
}
