//! What the two token exchanges (on-behalf-of on `/ims/token/v4`, `cluster_at_exchange` on
//! `/v2`/`/v3`) check alike: the user's access token they are given, and the scopes asked for.

use crate::error::ImsError;
use crate::params::Params;
use crate::seed::SeedClient;
use crate::state::Inner;
use crate::tokens::{TokenKind, Verified, split_scopes};

/// The user access token in parameter `name`, verified: signature, expiry, revocation, an
/// access token (not a refresh token or code), and a user's (not a technical account's).
/// Anything else → 400 `invalid_grant`, missing → 400 `invalid_request`.
pub(crate) fn user_access_token(
    state: &Inner,
    params: &Params,
    name: &str,
) -> Result<Verified, ImsError> {
    let token = params.require(name)?;
    let verified = state.verify(token).map_err(|p| {
        ImsError::bad(
            "invalid_grant",
            format!("the {name} is not valid: {}", p.description),
        )
    })?;
    if verified.kind != TokenKind::Access.type_claim() {
        return Err(ImsError::bad(
            "invalid_grant",
            format!("the {name} is not an access token"),
        ));
    }
    if state.seed.user(&verified.user_id).is_none() {
        return Err(ImsError::bad(
            "invalid_grant",
            format!("the {name} does not belong to a user (a service token cannot be exchanged)"),
        ));
    }
    Ok(verified)
}

/// The `scope` of an exchange: required (400 `invalid_scope`), each one allowed for the calling
/// client and granted to the token given (an exchange never widens a user's grant).
pub(crate) fn exchange_scopes(
    client: &SeedClient,
    subject: &Verified,
    params: &Params,
) -> Result<Vec<String>, ImsError> {
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
    if let Some(bad) = scope.iter().find(|s| !subject.has_scope(s)) {
        return Err(ImsError::bad(
            "invalid_scope",
            format!("scope {bad} was not granted to the token being exchanged"),
        ));
    }
    Ok(scope)
}

/// Mints the exchanged access token for `user_id`, issued to `client`, and ties it to the
/// token it was made from: invalidating that one (with cascade) or logging its session out
/// takes this one along.
pub(crate) fn mint_exchanged(
    state: &Inner,
    client: &SeedClient,
    subject: &Verified,
    user_id: &str,
    scope: Vec<String>,
) -> Result<String, ImsError> {
    let minted = state
        .mint(&crate::tokens::TokenSpec {
            kind: TokenKind::Access,
            client_id: client.client_id.clone(),
            user_id: user_id.to_owned(),
            scope,
            created_at_ms: crate::tokens::now_ms(),
            expires_in_ms: crate::tokens::ACCESS_TOKEN_TTL_MS,
            extra: Vec::new(),
        })
        .map_err(ImsError::internal)?;
    let mut store = state.store();
    store.link_parent(&subject.id, &minted.id);
    if let Some(session) = store.session_of(&subject.id) {
        store.link_session(&session, &minted.id);
    }
    Ok(minted.token)
}
