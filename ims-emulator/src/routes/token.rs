//! `POST /ims/token`, `/v1`, `/v2`, `/v3`: authorization code (with PKCE), refresh token,
//! client credentials and (v2, v3) the cluster access-token exchange, with `expires_in` in each
//! version's unit.

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::error::{ImsError, token_response};
use crate::params::Params;
use crate::routes::cluster_exchange::cluster_exchange;
use crate::routes::token_version::Version;
use crate::routes::{authenticate_client, secrets_equal};
use crate::seed::{GRANT_CLUSTER_EXCHANGE, SeedClient, same_org};
use crate::state::{AppState, Inner};
use crate::tokens::{
    ACCESS_TOKEN_TTL_MS, ID_TOKEN_TTL_S, REFRESH_TOKEN_TTL_MS, TokenKind, TokenSpec, now_ms,
    split_scopes,
};

pub(crate) async fn token_unversioned(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    token(&state, Version::Unversioned, &params)
}
pub(crate) async fn token_v1(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    token(&state, Version::V1, &params)
}
pub(crate) async fn token_v2(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    token(&state, Version::V2, &params)
}
pub(crate) async fn token_v3(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ImsError> {
    token(&state, Version::V3, &params)
}

fn invalid_grant(description: impl Into<String>) -> ImsError {
    ImsError::bad("invalid_grant", description)
}

fn token(state: &Inner, version: Version, params: &Params) -> Result<Response, ImsError> {
    let grant = params.require("grant_type")?;
    let known = match grant {
        "authorization_code" | "refresh_token" => true,
        "client_credentials" | GRANT_CLUSTER_EXCHANGE => !version.is_legacy(),
        _ => false,
    };
    if !known {
        return Err(ImsError::bad(
            "unsupported_grant_type",
            format!("grant_type {grant} is not supported on this endpoint"),
        ));
    }
    let client = authenticate_client(state, params)?;
    if !client.allows_grant(grant) {
        return Err(ImsError::bad(
            "unauthorized_client",
            format!("client {} may not use grant_type {grant}", client.client_id),
        ));
    }
    let body = match grant {
        "authorization_code" => authorization_code(state, version, &client, params)?,
        "refresh_token" => refresh(state, version, &client, params)?,
        GRANT_CLUSTER_EXCHANGE => cluster_exchange(state, version, &client, params)?,
        _ => client_credentials(state, version, &client, params)?,
    };
    Ok(token_response(&body))
}

/// PKCE check (RFC 7636).
fn pkce_ok(challenge: &str, method: &str, verifier: &str) -> bool {
    match method {
        "S256" => {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            secrets_equal(&computed, challenge)
        }
        _ => secrets_equal(verifier, challenge),
    }
}

fn authorization_code(
    state: &Inner,
    version: Version,
    client: &SeedClient,
    params: &Params,
) -> Result<Value, ImsError> {
    let code = params.require("code")?;
    // Signature and expiry; whether it was used is the code table's business (below).
    let verified = crate::tokens::verify(&state.keys(), code, now_ms()).map_err(|p| {
        invalid_grant(format!(
            "the authorization code is not valid: {}",
            p.description
        ))
    })?;
    if verified.kind != TokenKind::Code.type_claim() {
        return Err(invalid_grant("the code is not an authorization code"));
    }
    let grant = {
        let mut store = state.store();
        let Some(grant) = store.codes.get_mut(&verified.id) else {
            return Err(invalid_grant("unknown authorization code"));
        };
        if grant.used {
            let issued = grant.issued.clone();
            for id in issued {
                store.revoke(&id, true);
            }
            return Err(invalid_grant(
                "the authorization code has already been used",
            ));
        }
        grant.used = true;
        let grant = grant.clone();
        // A used code no longer validates either.
        store.revoke(&verified.id, false);
        grant
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if let Some(uri) = params.get("redirect_uri")
        && uri != grant.redirect_uri
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some((challenge, method)), Some(verifier)) => {
            if !pkce_ok(challenge, method, verifier) {
                return Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        (None, _) => {}
    }
    let (body, issued) = issue_user_tokens(
        state,
        version,
        client,
        &UserGrant {
            user_id: &grant.user_id,
            scope: &grant.scope,
            session: grant.session_id.as_deref(),
            nonce: grant.nonce.as_deref(),
            existing_refresh: None,
        },
    )?;
    if let Some(g) = state.store().codes.get_mut(&verified.id) {
        g.issued = issued;
    }
    Ok(body)
}

fn refresh(
    state: &Inner,
    version: Version,
    client: &SeedClient,
    params: &Params,
) -> Result<Value, ImsError> {
    let token = params.require("refresh_token")?;
    let verified = state
        .verify(token)
        .map_err(|p| invalid_grant(format!("the refresh token is not valid: {}", p.description)))?;
    if verified.kind != TokenKind::Refresh.type_claim() {
        return Err(invalid_grant("the token is not a refresh token"));
    }
    if verified.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let scope = match params.get("scope") {
        Some(asked) => {
            let asked = split_scopes(asked);
            if let Some(extra) = asked.iter().find(|s| !verified.has_scope(s)) {
                return Err(ImsError::bad(
                    "invalid_scope",
                    format!("scope {extra} was not granted to the refresh token"),
                ));
            }
            asked
        }
        None => verified.scope.clone(),
    };
    let session = state.store().session_of(&verified.id);
    let (body, _) = issue_user_tokens(
        state,
        version,
        client,
        &UserGrant {
            user_id: &verified.user_id,
            scope: &scope,
            session: session.as_deref(),
            nonce: None,
            existing_refresh: Some((token, &verified.id)),
        },
    )?;
    Ok(body)
}

fn client_credentials(
    state: &Inner,
    version: Version,
    client: &SeedClient,
    params: &Params,
) -> Result<Value, ImsError> {
    let Some(account) = &client.technical_account else {
        return Err(ImsError::bad(
            "unauthorized_client",
            "the client has no technical account",
        ));
    };
    let scope = split_scopes(params.get("scope").unwrap_or_default());
    if scope.is_empty() {
        return Err(ImsError::bad("invalid_scope", "scope is required"));
    }
    if let Some(bad) = scope.iter().find(|s| !client.allows_scope(s)) {
        return Err(ImsError::bad(
            "invalid_scope",
            format!("scope {bad} is not allowed for this client"),
        ));
    }
    if let Some(org) = params.get("org_id")
        && !client.org_id.as_deref().is_some_and(|o| same_org(o, org))
    {
        return Err(ImsError::invalid_request(format!(
            "org_id {org} is not the client's organization"
        )));
    }
    let minted = state
        .mint(&TokenSpec {
            kind: TokenKind::Access,
            client_id: client.client_id.clone(),
            user_id: account.id.clone(),
            scope,
            created_at_ms: now_ms(),
            expires_in_ms: ACCESS_TOKEN_TTL_MS,
            extra: Vec::new(),
        })
        .map_err(ImsError::internal)?;
    // ims-go reads the technical account's id from `userId` (its `TokenResponse.UserID`).
    Ok(json!({
        "access_token": minted.token,
        "token_type": "bearer",
        "expires_in": version.expires_in(ACCESS_TOKEN_TTL_MS),
        "userId": account.id,
    }))
}

/// What a user grant (code or refresh) stands for.
#[derive(Debug)]
struct UserGrant<'a> {
    user_id: &'a str,
    scope: &'a [String],
    /// The browser session the tokens belong to (logout revokes them together).
    session: Option<&'a str>,
    /// The authorize request's nonce, echoed in the ID token.
    nonce: Option<&'a str>,
    /// The refresh token (and its id) of a refresh grant.
    existing_refresh: Option<(&'a str, &'a str)>,
}

/// Issues access (+ refresh, + ID) tokens for a user; returns the body and the issued ids.
fn issue_user_tokens(
    state: &Inner,
    version: Version,
    client: &SeedClient,
    grant: &UserGrant<'_>,
) -> Result<(Value, Vec<String>), ImsError> {
    let UserGrant {
        user_id,
        scope,
        session,
        nonce,
        existing_refresh,
    } = *grant;
    let now = now_ms();
    let gives_refresh = client.allows_grant("refresh_token")
        && (version.is_legacy() || scope.iter().any(|s| s == "offline_access"));
    let mut issued = Vec::new();
    let refresh: Option<(String, String)> = match (gives_refresh, existing_refresh) {
        (false, _) => None,
        (true, Some((token, id))) => Some((token.to_owned(), id.to_owned())),
        (true, None) => {
            let minted = state
                .mint(&TokenSpec {
                    kind: TokenKind::Refresh,
                    client_id: client.client_id.clone(),
                    user_id: user_id.to_owned(),
                    scope: scope.to_vec(),
                    created_at_ms: now,
                    expires_in_ms: REFRESH_TOKEN_TTL_MS,
                    extra: Vec::new(),
                })
                .map_err(ImsError::internal)?;
            issued.push(minted.id.clone());
            Some((minted.token, minted.id))
        }
    };
    let mut extra = Vec::new();
    if let Some((_, rtid)) = &refresh {
        extra.push(("rtid", Value::from(rtid.clone())));
    }
    let access = state
        .mint(&TokenSpec {
            kind: TokenKind::Access,
            client_id: client.client_id.clone(),
            user_id: user_id.to_owned(),
            scope: scope.to_vec(),
            created_at_ms: now,
            expires_in_ms: ACCESS_TOKEN_TTL_MS,
            extra,
        })
        .map_err(ImsError::internal)?;
    issued.push(access.id.clone());
    {
        let mut store = state.store();
        if let Some((_, rtid)) = &refresh {
            store.link_parent(rtid, &access.id);
        } else if let Some((_, parent)) = existing_refresh {
            store.link_parent(parent, &access.id);
        }
        if let Some(session) = session {
            for id in &issued {
                store.link_session(session, id);
            }
        }
    }
    let mut body = Map::new();
    body.insert("access_token".into(), access.token.into());
    if let Some((token, _)) = refresh {
        body.insert("refresh_token".into(), token.into());
    }
    body.insert("token_type".into(), "bearer".into());
    body.insert(
        "expires_in".into(),
        version.expires_in(ACCESS_TOKEN_TTL_MS).into(),
    );
    let user = state.seed.user(user_id);
    if scope.iter().any(|s| s == "openid") {
        let now_s = now / 1000;
        let mut claims = Map::new();
        claims.insert("iss".into(), state.url("/ims").into());
        claims.insert("sub".into(), user_id.into());
        claims.insert("aud".into(), client.client_id.clone().into());
        claims.insert("iat".into(), now_s.into());
        claims.insert("exp".into(), (now_s + ID_TOKEN_TTL_S).into());
        claims.insert("as".into(), state.authority.clone().into());
        claims.insert("type".into(), "id_token".into());
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        if let Some(user) = user {
            claims.insert("email".into(), user.email.clone().into());
            claims.insert("email_verified".into(), user.email_verified.into());
            claims.insert("name".into(), user.display_name().into());
            claims.insert("given_name".into(), user.first_name.clone().into());
            claims.insert("family_name".into(), user.last_name.clone().into());
        }
        let id_token =
            crate::tokens::mint_id_token(&state.keys(), &claims).map_err(ImsError::internal)?;
        body.insert("id_token".into(), id_token.into());
    }
    if version.is_legacy()
        && let Some(user) = user
    {
        body.insert("sub".into(), user.user_id.clone().into());
        body.insert("name".into(), user.display_name().into());
        body.insert("given_name".into(), user.first_name.clone().into());
        body.insert("family_name".into(), user.last_name.clone().into());
        body.insert("email".into(), user.email.clone().into());
        body.insert(
            "email_verified".into(),
            user.email_verified.to_string().into(),
        );
    }
    Ok((Value::Object(body), issued))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(Version::V3.expires_in(ACCESS_TOKEN_TTL_MS), 86_399);
        assert_eq!(Version::V1.expires_in(ACCESS_TOKEN_TTL_MS), 86_399_985);
    }

    #[test]
    fn pkce() {
        // Computed independently: base64url(sha256(verifier)).
        let verifier = "dBjftJeZ4CVP-mJ92IZBcZ3AWCVkNq4tJsr0G5rXBsw";
        assert!(pkce_ok(
            "RUUcoEWCJ_Autss3T0Kz5vxGU3AWmn-k5fuo1Zc77xc",
            "S256",
            verifier
        ));
        assert!(!pkce_ok(
            "RUUcoEWCJ_Autss3T0Kz5vxGU3AWmn-k5fuo1Zc77xc",
            "S256",
            "nope"
        ));
        assert!(pkce_ok("abc", "plain", "abc"));
    }
}
