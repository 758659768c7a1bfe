//! From an `ims.contexts.<name>` object to an [`ImsContext`], detecting the
//! kind as aio's plugins do.
//!
//! The kind is decided by the properties only one kind has, in aio's plugin
//! order:
//!
//! 1. **JWT** if the context has `private_key` or `meta_scopes`; it then
//!    needs `client_id`, `client_secret`, `technical_account_id`,
//!    `ims_org_id`, `meta_scopes` and `private_key` (`passphrase` optional).
//! 2. **server-to-server** if it has `client_secrets` or `scopes`; it then
//!    needs `client_id`, `client_secrets` and `scopes` (`ims_org_id`,
//!    `technical_account_id`, `technical_account_email` optional: IMS does not
//!    need the technical account for client credentials).
//! 3. **OAuth user** if it has `scope` or `redirect_uri`; it then needs
//!    `client_id` (`client_secret`, `scope`, `redirect_uri` optional).
//!
//! A context matching none is an error listing what each kind needs. Lists
//! (`meta_scopes`, `scopes`, `client_secrets`) are arrays or JSON-array
//! strings; a plain string is one item (aio iterated its characters), except
//! that `scopes`/`scope` strings are split on commas and white space, which
//! never occur in a scope name.

use std::path::PathBuf;

use ims_api::{
    ClientId, ClientSecret, ContextCredentials, ContextName, Error, ImsContext, ImsEnvironment,
    JwtContext, OAuthUserContext, OrgId, Passphrase, PrivateKeyPem, PrivateKeySource, Scopes,
    ServerToServerContext,
};
use serde_json::{Map, Value};
use url::Url;

use super::trust::ContextTrust;
use crate::aio_config::tree;
use crate::http::ims_url_is_allowed;

/// Builds the context `name` from its properties; `default_env` is `cli.env`.
pub(crate) fn parse_context(
    name: &ContextName,
    props: &Value,
    default_env: Option<&Value>,
    trust: &ContextTrust,
) -> Result<ImsContext, Error> {
    let Some(map) = props.as_object() else {
        return Err(Error::Misconfigured(format!(
            "context \"{name}\" is not an object of properties; set ims.contexts.{name}.client_id and the properties of its kind"
        )));
    };
    let has = |key: &str| tree::get_ci(map, key).is_some_and(|v| !v.is_null());
    let mut props = Props {
        name,
        map,
        kind: "",
        missing: Vec::new(),
        invalid: Vec::new(),
    };
    let credentials = if has("private_key") || has("meta_scopes") {
        props.kind = "jwt";
        jwt(&mut props)
    } else if has("client_secrets") || has("scopes") {
        props.kind = "server-to-server";
        server_to_server(&mut props)
    } else if has("scope") || has("redirect_uri") {
        props.kind = "oauth-user";
        oauth_user(&mut props)
    } else {
        return Err(Error::Misconfigured(format!(
            "context \"{name}\" has none of the properties of a known kind: server-to-server needs client_id, client_secrets and scopes; \
             jwt needs client_id, client_secret, technical_account_id, ims_org_id, meta_scopes and private_key; \
             oauth-user needs client_id and scope or redirect_uri (set them under ims.contexts.{name})"
        )));
    };
    let environment = environment(&mut props, default_env, trust);
    if !trust.trusted
        && environment
            .as_ref()
            .is_some_and(|env| !matches!(env, ImsEnvironment::Prod | ImsEnvironment::Stage))
        && let Some(ContextCredentials::Jwt(jwt)) = &credentials
        && let PrivateKeySource::File(_) = &jwt.private_key
    {
        let origin = trust
            .origin_of("private_key")
            .map(|o| o.to_string())
            .unwrap_or_default();
        props.invalid.push(format!(
            "private_key is a file path (set in {origin}), which a context that a file of the working directory              defines with its own ims_url may not use, or the user's key would sign for that endpoint; inline the key"
        ));
    }
    props.finish()?;
    match credentials {
        Some(credentials) => {
            let context = ImsContext::new(name.clone(), credentials);
            Ok(match environment {
                Some(env) => context.with_environment(env),
                None => context,
            })
        }
        // Every `None` above records a missing or invalid property, so
        // `finish` has returned the error already; this is defensive.
        None => Err(Error::Misconfigured(format!(
            "context \"{name}\" is incomplete"
        ))),
    }
}

struct Props<'a> {
    name: &'a ContextName,
    map: &'a Map<String, Value>,
    kind: &'static str,
    missing: Vec<&'static str>,
    invalid: Vec<String>,
}

impl Props<'_> {
    fn raw(&self, key: &str) -> Option<&Value> {
        tree::get_ci(self.map, key).filter(|v| !v.is_null())
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.invalid.push(format!("{key} must be a string"));
                None
            }
        }
    }

    fn required_string(&mut self, key: &'static str) -> Option<String> {
        let value = self.string(key);
        if value.is_none() && !self.invalid.iter().any(|i| i.starts_with(key)) {
            self.missing.push(key);
        }
        value
    }

    /// An array, a JSON-array string, or a plain string as one item.
    fn list(&mut self, key: &'static str) -> Option<Vec<String>> {
        let items = match self.raw(key)? {
            Value::Array(items) => items.clone(),
            Value::String(s) if s.trim_start().starts_with('[') => {
                match serde_json::from_str::<Vec<Value>>(s) {
                    Ok(items) => items,
                    Err(_) => {
                        self.invalid
                            .push(format!("{key} is neither an array nor a JSON array string"));
                        return None;
                    }
                }
            }
            Value::String(s) => vec![Value::String(s.clone())],
            _ => {
                self.invalid
                    .push(format!("{key} must be an array or a string"));
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                Value::String(_) => {}
                Value::Number(n) => out.push(n.to_string()),
                _ => {
                    self.invalid.push(format!("{key} must hold strings only"));
                    return None;
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn required_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        let value = self.list(key);
        if value.is_none() && !self.invalid.iter().any(|i| i.starts_with(key)) {
            self.missing.push(key);
        }
        value
    }

    fn scopes(&mut self, key: &'static str) -> Option<Scopes> {
        let items = self.list(key)?;
        let scopes: Scopes = items
            .iter()
            .flat_map(|s| {
                Scopes::parse(s)
                    .iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        (!scopes.is_empty()).then_some(scopes)
    }

    fn client_id(&mut self) -> Option<ClientId> {
        let raw = self.required_string("client_id")?;
        match ClientId::parse(&raw) {
            Ok(id) => Some(id),
            Err(err) => {
                self.invalid
                    .push(format!("client_id is invalid ({})", err.reason()));
                None
            }
        }
    }

    fn org_id(&mut self, required: bool) -> Option<OrgId> {
        let raw = if required {
            self.required_string("ims_org_id")?
        } else {
            self.string("ims_org_id")?
        };
        match OrgId::parse(&raw) {
            Ok(org) => Some(org),
            Err(err) => {
                self.invalid
                    .push(format!("ims_org_id is invalid ({})", err.reason()));
                None
            }
        }
    }

    fn private_key(&mut self) -> Option<PrivateKeySource> {
        let source = match self.raw("private_key") {
            None => None,
            Some(Value::Array(_)) => self
                .list("private_key")
                .map(|lines| PrivateKeySource::Inline(PrivateKeyPem::new(lines.join("\n")))),
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                if trimmed.is_empty() {
                    None
                } else if trimmed.starts_with('[') {
                    self.list("private_key")
                        .map(|lines| PrivateKeySource::Inline(PrivateKeyPem::new(lines.join("\n"))))
                } else if trimmed.contains("-----BEGIN") {
                    Some(PrivateKeySource::Inline(PrivateKeyPem::new(trimmed)))
                } else {
                    Some(PrivateKeySource::File(PathBuf::from(trimmed)))
                }
            }
            Some(_) => {
                self.invalid.push(
                    "private_key must be a PEM string, an array of lines, or a file path"
                        .to_owned(),
                );
                return None;
            }
        };
        if source.is_none() && !self.invalid.iter().any(|i| i.starts_with("private_key")) {
            self.missing.push("private_key");
        }
        source
    }

    fn finish(&self) -> Result<(), Error> {
        let name = self.name;
        if !self.missing.is_empty() {
            let settings: Vec<String> = self
                .missing
                .iter()
                .map(|key| format!("ims.contexts.{name}.{key}"))
                .collect();
            return Err(Error::Misconfigured(format!(
                "context \"{name}\" looks like {} but has no {}; set {}",
                self.kind,
                self.missing.join(", "),
                settings.join(" and ")
            )));
        }
        if !self.invalid.is_empty() {
            return Err(Error::Misconfigured(format!(
                "context \"{name}\" ({}): {}",
                self.kind,
                self.invalid.join("; ")
            )));
        }
        Ok(())
    }
}

fn jwt(p: &mut Props<'_>) -> Option<ContextCredentials> {
    let client_id = p.client_id();
    let client_secret = p.required_string("client_secret");
    let technical_account_id = p.required_string("technical_account_id");
    let org_id = p.org_id(true);
    let meta_scopes = p.required_list("meta_scopes");
    let private_key = p.private_key();
    let passphrase = p.string("passphrase");
    let mut context = JwtContext::new(
        client_id?,
        ClientSecret::new(client_secret?),
        technical_account_id?,
        org_id?,
        meta_scopes?,
        private_key?,
    );
    context.passphrase = passphrase.map(Passphrase::new);
    Some(ContextCredentials::Jwt(context))
}

fn server_to_server(p: &mut Props<'_>) -> Option<ContextCredentials> {
    let client_id = p.client_id();
    let secrets = p.required_list("client_secrets");
    let scopes = p.scopes("scopes");
    if scopes.is_none() && !p.invalid.iter().any(|i| i.starts_with("scopes")) {
        p.missing.push("scopes");
    }
    let org_id = p.org_id(false);
    let technical_account_id = p.string("technical_account_id");
    let technical_account_email = p.string("technical_account_email");
    let mut secrets = secrets?.into_iter().map(ClientSecret::new);
    let first = secrets.next()?;
    let mut context = ServerToServerContext::new(client_id?, first, scopes?);
    context.client_secrets.extend(secrets);
    context.org_id = org_id;
    context.technical_account_id = technical_account_id;
    context.technical_account_email = technical_account_email;
    Some(ContextCredentials::ServerToServer(context))
}

fn oauth_user(p: &mut Props<'_>) -> Option<ContextCredentials> {
    let client_id = p.client_id();
    let client_secret = p.string("client_secret");
    let scopes = p.scopes("scope").unwrap_or_default();
    let redirect_uri = match p.string("redirect_uri") {
        Some(raw) => match Url::parse(&raw) {
            Ok(url) => Some(url),
            Err(err) => {
                p.invalid.push(format!("redirect_uri is not a URL ({err})"));
                None
            }
        },
        None => None,
    };
    let mut context = OAuthUserContext::new(client_id?, scopes);
    context.client_secret = client_secret.map(ClientSecret::new);
    context.redirect_uri = redirect_uri;
    Some(ContextCredentials::OAuthUser(context))
}

/// `ims_url` (our key) wins over `env`, which wins over `cli.env`.
fn environment(
    p: &mut Props<'_>,
    default_env: Option<&Value>,
    trust: &ContextTrust,
) -> Option<ImsEnvironment> {
    if let Some(url) = p.string("ims_url") {
        return match ImsEnvironment::custom(&url) {
            Ok(env) if ims_url_is_allowed(&env.base_url()) => Some(env),
            Ok(_) => {
                let origin = trust
                    .origin_of("ims_url")
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                p.invalid.push(format!(
                    "ims_url (set in {origin}) must be https, or http to a loopback address                      (127.0.0.0/8, localhost, [::1]): credentials are sent to it"
                ));
                None
            }
            Err(err) => {
                p.invalid
                    .push(format!("ims_url is invalid ({})", err.reason()));
                None
            }
        };
    }
    if let Some(env) = p.string("env") {
        return match parse_env(&env) {
            Some(env) => Some(env),
            None => {
                p.invalid
                    .push(format!("env must be prod or stage, not {env:?}"));
                None
            }
        };
    }
    match default_env {
        Some(Value::String(env)) => parse_env(env),
        _ => None,
    }
}

fn parse_env(value: &str) -> Option<ImsEnvironment> {
    if value.trim().eq_ignore_ascii_case("prod") {
        Some(ImsEnvironment::Prod)
    } else if value.trim().eq_ignore_ascii_case("stage") {
        Some(ImsEnvironment::Stage)
    } else {
        None
    }
}
