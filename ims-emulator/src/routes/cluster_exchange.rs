//! `grant_type=cluster_at_exchange` on `/ims/token/v2` and `/v3`: ims-go's `ClusterExchange`,
//! which trades a user's access token for one in another organization's context.
//!
//! ims-go sends `client_id` in the query, `client_secret`, `user_token`, exactly one of
//! `user_id` and `owning_org_id`, `scope` (comma-joined) and `resource` (repeatable) in the body,
//! and reads `access_token` and `expires_in` (seconds).

use serde_json::{Value, json};

use crate::error::ImsError;
use crate::params::Params;
use crate::routes::subject_token::{exchange_scopes, mint_exchanged, user_access_token};
use crate::routes::token_version::Version;
use crate::seed::{SeedClient, same_org};
use crate::state::Inner;
use crate::tokens::ACCESS_TOKEN_TTL_MS;

/// The exchange; the client is authenticated and allowed the grant already.
///
/// - `owning_org_id`: the token's user must be a member of that org (else 400 `invalid_grant`).
/// - `user_id`: the account to switch to must be the token's own: the emulator's seed links no
///   accounts across organizations, so any other id is refused (400 `invalid_grant`).
/// - both, or neither → 400 `invalid_request`.
pub(crate) fn cluster_exchange(
    state: &Inner,
    version: Version,
    client: &SeedClient,
    params: &Params,
) -> Result<Value, ImsError> {
    let subject = user_access_token(state, params, "user_token")?;
    let target_user = match (params.get("user_id"), params.get("owning_org_id")) {
        (Some(_), Some(_)) => {
            return Err(ImsError::invalid_request(
                "user_id and owning_org_id are mutually exclusive",
            ));
        }
        (None, None) => {
            return Err(ImsError::invalid_request(
                "one of user_id and owning_org_id is required",
            ));
        }
        (Some(user_id), None) => {
            if user_id != subject.user_id {
                return Err(ImsError::bad(
                    "invalid_grant",
                    format!("user {user_id} is not an account of the user_token's user"),
                ));
            }
            subject.user_id.clone()
        }
        (None, Some(org)) => {
            let member = state
                .seed
                .orgs
                .iter()
                .any(|o| same_org(&o.id, org) && o.members.contains(&subject.user_id));
            if !member {
                return Err(ImsError::bad(
                    "invalid_grant",
                    format!("the user_token's user has no account in organization {org}"),
                ));
            }
            subject.user_id.clone()
        }
    };
    let scope = exchange_scopes(client, &subject, params)?;
    let token = mint_exchanged(state, client, &subject, &target_user, scope)?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": version.expires_in(ACCESS_TOKEN_TTL_MS),
    }))
}
