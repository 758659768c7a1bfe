//! From an [`ImsContext`] back to aio's property names.

use ims_api::{ContextCredentials, Error, ImsContext, ImsEnvironment, PrivateKeySource};
use serde_json::{Map, Value, json};

use super::parse::CLI_BARE_OUTPUT;
use crate::aio_config::tree;

/// Every property a context's credentials or environment are written as;
/// `set` replaces these and keeps any other key.
const MANAGED_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_secrets",
    "technical_account_id",
    "technical_account_email",
    "ims_org_id",
    "meta_scopes",
    "private_key",
    "passphrase",
    "scopes",
    "scope",
    "redirect_uri",
    "env",
    "ims_url",
    CLI_BARE_OUTPUT,
];

/// Writes `context` into its `ims.contexts.<name>` object. Stored tokens are
/// kept only if the client id is unchanged (they belong to that client).
pub(crate) fn write_context(
    map: &mut Map<String, Value>,
    context: &ImsContext,
) -> Result<(), Error> {
    let new_client = match &context.credentials {
        // A `cli` context's default client is not written: its tokens are
        // kept if the file names no client either.
        ContextCredentials::Cli(c) if !c.client_id_configured => None,
        other => Some(other.client_id().as_str()),
    };
    let same_client = tree::get_ci(map, "client_id").and_then(Value::as_str) == new_client;
    for key in MANAGED_KEYS {
        tree::remove_ci(map, key);
    }
    if !same_client {
        tree::remove_ci(map, "access_token");
        tree::remove_ci(map, "refresh_token");
    }
    let mut put = |key: &str, value: Value| tree::insert_ci(map, key, value);
    match &context.credentials {
        ContextCredentials::ServerToServer(c) => {
            put("client_id", json!(c.client_id.as_str()));
            let secrets: Vec<&str> = c.client_secrets.iter().map(|s| s.expose_secret()).collect();
            put("client_secrets", json!(secrets));
            put("scopes", json!(c.scopes.iter().collect::<Vec<_>>()));
            if let Some(org) = &c.org_id {
                put("ims_org_id", json!(org.with_suffix()));
            }
            if let Some(id) = &c.technical_account_id {
                put("technical_account_id", json!(id));
            }
            if let Some(email) = &c.technical_account_email {
                put("technical_account_email", json!(email));
            }
        }
        ContextCredentials::Jwt(c) => {
            put("client_id", json!(c.client_id.as_str()));
            put("client_secret", json!(c.client_secret.expose_secret()));
            put("technical_account_id", json!(c.technical_account_id));
            put("ims_org_id", json!(c.org_id.with_suffix()));
            put("meta_scopes", json!(c.meta_scopes));
            let key = match &c.private_key {
                PrivateKeySource::Inline(pem) => json!(pem.expose_secret()),
                PrivateKeySource::File(path) => json!(path.to_string_lossy()),
                _ => {
                    return Err(Error::Misconfigured(format!(
                        "context \"{}\": this kind of private_key cannot be written to an aio file",
                        context.name
                    )));
                }
            };
            put("private_key", key);
            if let Some(passphrase) = &c.passphrase {
                put("passphrase", json!(passphrase.expose_secret()));
            }
        }
        ContextCredentials::OAuthUser(c) => {
            put("client_id", json!(c.client_id.as_str()));
            if let Some(secret) = &c.client_secret {
                put("client_secret", json!(secret.expose_secret()));
            }
            put("scope", json!(c.scopes.to_string()));
            if let Some(uri) = &c.redirect_uri {
                put("redirect_uri", json!(uri.as_str()));
            }
        }
        ContextCredentials::Cli(c) => {
            put(CLI_BARE_OUTPUT, json!(c.bare_output));
            if c.client_id_configured {
                put("client_id", json!(c.client_id.as_str()));
            }
            if !c.scopes.is_empty() {
                put("scope", json!(c.scopes.to_string()));
            }
        }
        _ => {
            return Err(Error::Misconfigured(format!(
                "context \"{}\": {} contexts cannot be written to an aio file",
                context.name,
                context.credentials.kind()
            )));
        }
    }
    match &context.environment {
        None => {}
        Some(ImsEnvironment::Prod) => put("env", json!("prod")),
        Some(ImsEnvironment::Stage) => put("env", json!("stage")),
        Some(custom) => put("ims_url", json!(custom.base_url().as_str())),
    }
    Ok(())
}
