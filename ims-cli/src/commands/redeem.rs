//! The end of `ims login`, shared by the browser's sign-in and
//! `--manual`'s: below both.

use ims_api::{AuthorizationCode, ClientCredentials, CodeExchange, ContextName, TokenGrants as _};
use ims_core::{ImsClient, PkcePair};
use serde_json::json;
use url::Url;

use crate::exit::CliError;
use crate::output::iso;
use crate::{App, ContextHint as _};

/// The end of both sign-ins (the browser's and `--manual`'s): the code
/// redeemed with this run's PKCE verifier, the tokens stored in the
/// context, and the outcome printed (one JSON object with `--json`).
pub(crate) async fn redeem_and_store(
    app: &App,
    client: &ImsClient,
    name: &ContextName,
    credentials: ClientCredentials,
    code: String,
    redirect: Url,
    pkce: &PkcePair,
) -> Result<(), CliError> {
    let exchange = CodeExchange::new(credentials, AuthorizationCode::new(code))
        .with_redirect_uri(redirect)
        .with_code_verifier(pkce.verifier.clone());
    let response = client
        .exchange_code(&exchange)
        .await
        .with_context_hint(name)?;
    let has_refresh = response.refresh_token.is_some();
    let access = app.provider().store_response(name, response).await?;
    if !has_refresh {
        app.out.note(
            "IMS gave no refresh token (add offline_access to the context's scopes): sign in again when the access token expires",
        );
    }
    let expires_at = iso(access.expires_at);
    // With --json, one JSON object per line: the URL's (if printed), then this.
    app.out.line(&if app.out.is_json() {
        json!({"context": name.as_str(), "expires_at": expires_at, "refresh_token": has_refresh})
            .to_string()
    } else {
        format!("signed in: context {name} has an access token until {expires_at}")
    });
    Ok(())
}
