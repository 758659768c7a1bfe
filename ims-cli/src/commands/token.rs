//! `ims token get|decode|validate|invalidate`.

use ims_api::{
    AccessToken, ClientId, Error, TokenProvider as _, TokenRejection, TokenValidator as _,
    TokenValidity, TokenVerifier as _, from_unix_millis,
};
use ims_core::{LocalVerifier, VerifierConfig, decode_unverified};
use serde_json::{Map, Value, json};

use crate::cli::TokenCommand;
use crate::commands::token_arg;
use crate::exit::CliError;
use crate::output::iso;
use crate::{App, ContextHint as _};

pub(crate) async fn run(app: &App, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Get(args) => get(app, args.context.as_deref(), args.force).await,
        TokenCommand::Decode { token } => decode(app, &token_arg(&token)?),
        TokenCommand::Validate {
            token,
            remote,
            client_id,
        } => {
            let token = token_arg(&token)?;
            match (remote, client_id) {
                (true, Some(client_id)) => validate_remote(app, &token, &client_id).await,
                _ => validate_local(app, &token).await,
            }
        }
        TokenCommand::Invalidate { context, force } => {
            invalidate(app, context.as_deref(), force).await
        }
    }
}

async fn get(app: &App, context: Option<&str>, force: bool) -> Result<(), CliError> {
    let name = app.context_name(context).await?;
    let ctx = app.context(&name).await?;
    let token = app.access_token(&name, &ctx, force).await?;
    if app.out.is_json() {
        app.out.json(&json!({
            "token": token.token.expose_secret(),
            "expires_at": iso(token.expires_at),
        }));
    } else {
        app.out.line(token.token.expose_secret());
    }
    Ok(())
}

/// The claims of a token, plus `expires_at` in ISO 8601 when `created_at`
/// and `expires_in` (milliseconds) allow it.
fn decode(app: &App, token: &str) -> Result<(), CliError> {
    let mut claims = decode_unverified(token)?;
    if let Some(expires_at) = expiry(&claims) {
        claims.insert("expires_at".to_owned(), json!(expires_at));
    }
    if let Some(created) = millis(&claims, "created_at").and_then(from_unix_millis) {
        claims.insert("created_at_iso".to_owned(), json!(iso(created)));
    }
    app.out.json(&Value::Object(claims));
    Ok(())
}

fn millis(claims: &Map<String, Value>, key: &str) -> Option<i64> {
    match claims.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn expiry(claims: &Map<String, Value>) -> Option<String> {
    let created = millis(claims, "created_at")?;
    let lifetime = millis(claims, "expires_in")?;
    from_unix_millis(created.checked_add(lifetime)?).map(iso)
}

async fn validate_local(app: &App, token: &str) -> Result<(), CliError> {
    let verifier = LocalVerifier::new(app.default_env.clone(), VerifierConfig::default())?;
    let verified = verifier
        .verify(&AccessToken::new(token))
        .await
        .map_err(|err| CliError::from(err).with_hint(validate_hint()))?;
    let claims = &verified.claims;
    let expires_at = iso(verified.expires_at());
    app.out.result(
        &format!(
            "valid {} of client {} for {} (key {}), expires {expires_at}",
            claims.token_type.as_str(),
            claims.client_id.as_deref().unwrap_or("?"),
            claims.user_id.as_deref().unwrap_or("?"),
            verified.key_id,
        ),
        &json!({
            "valid": true,
            "expires_at": expires_at,
            "key_id": verified.key_id,
            "claims": claims,
        }),
    );
    Ok(())
}

fn validate_hint() -> String {
    "the token was checked locally against the keys of the IMS given by --ims-url/--env (default prod)"
        .to_owned()
}

async fn validate_remote(app: &App, token: &str, client_id: &str) -> Result<(), CliError> {
    let client_id =
        ClientId::parse(client_id).map_err(|err| CliError::Usage(format!("--client-id: {err}")))?;
    let client = app.client(None)?;
    match client
        .validate(&AccessToken::new(token), &client_id)
        .await?
    {
        TokenValidity::Valid { expires_at, claims } => {
            let expires_at = iso(expires_at);
            app.out.result(
                &format!("valid according to IMS, expires {expires_at}"),
                &json!({"valid": true, "expires_at": expires_at, "claims": claims}),
            );
            Ok(())
        }
        TokenValidity::Invalid { reason } => {
            Err(Error::InvalidToken(TokenRejection::RejectedByIms(reason)).into())
        }
        _ => Err(CliError::Io(
            "IMS gave a validation answer this version does not understand".to_owned(),
        )),
    }
}

async fn invalidate(app: &App, context: Option<&str>, force: bool) -> Result<(), CliError> {
    let name = app.context_name(context).await?;
    app.context(&name).await?;
    app.provider()
        .invalidate(&name, force)
        .await
        .with_context_hint(&name)?;
    let what = if force {
        "access and refresh tokens"
    } else {
        "access token"
    };
    app.out.result(
        &format!("invalidated the {what} of context {name}"),
        &json!({"context": name.as_str(), "invalidated": true, "force": force}),
    );
    Ok(())
}
