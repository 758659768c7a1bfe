//! From an `ims.contexts.<name>` object to an [`ImsContext`], choosing the
//! kind as aio's `getToken` chooses its login plugin.
//!
//! Kinds are tried in aio's order, **jwt, server-to-server, cli, oauth-user**,
//! and the first whose required properties are all present wins (see
//! [`KINDS`]). So a context moved from JWT to server-to-server that still
//! holds `meta_scopes` is server-to-server as long as its JWT properties are
//! incomplete. A context that completes no kind is an error listing, for
//! each kind, what it lacks. Lists (`meta_scopes`, `scopes`,
//! `client_secrets`) are arrays or JSON-array strings; a plain string is one
//! item (aio iterated its characters), except that `scopes`/`scope` strings
//! are split on commas and white space, which never occur in a scope name.

use std::path::PathBuf;

use ims_api::{
    CliContext, ClientId, ClientSecret, ContextCredentials, ContextName, Error, ImsContext,
    ImsEnvironment, JwtContext, OAuthUserContext, OrgId, Passphrase, PrivateKeyPem,
    PrivateKeySource, Scopes, ServerToServerContext,
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
    cli_client: &CliClient,
) -> Result<ImsContext, Error> {
    let Some(map) = props.as_object() else {
        return Err(Error::Misconfigured(format!(
            "context \"{name}\" is not an object of properties; set ims.contexts.{name}.client_id and the properties of its kind"
        )));
    };
    let mut props = Props {
        name,
        map,
        kind: "",
        missing: Vec::new(),
        invalid: Vec::new(),
    };
    let Some(kind) = KINDS.iter().find(|kind| kind.missing(map).is_empty()) else {
        return Err(no_kind(name, map));
    };
    props.kind = kind.name;
    let credentials = match kind.name {
        "jwt" => jwt(&mut props),
        "server-to-server" => server_to_server(&mut props),
        "cli" => cli(&mut props),
        _ => oauth_user(&mut props),
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
    let credentials = match credentials {
        Some(ContextCredentials::Cli(mut c)) if !c.client_id_configured => {
            match cli_client.client_for(environment.as_ref()) {
                Ok(client_id) => {
                    c.client_id = client_id;
                    Some(ContextCredentials::Cli(c))
                }
                Err(why) => {
                    props.invalid.push(why);
                    None
                }
            }
        }
        other => other,
    };
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

/// One kind of context: its name and the properties it requires, each an
/// alternative of keys any one of which will do.
pub(crate) struct Kind {
    /// `jwt`, `server-to-server`, `cli` or `oauth-user`.
    pub(crate) name: &'static str,
    /// What must be present (not null, not an empty string), each entry
    /// satisfied by any one of its keys.
    pub(crate) required: &'static [&'static [&'static str]],
}

/// aio's order and, where we match aio, its lists (token-helper.js and the
/// plugins' `configMissingKeys`):
///
/// - **jwt**: aio's list exactly.
/// - **server-to-server**: `client_id`, `client_secrets`, `scopes`. aio
///   also requires `technical_account_id`, `technical_account_email` and
///   `ims_org_id`, which the client-credentials grant does not need (the
///   organization is sent when present): every context aio accepts is
///   accepted here, and more.
/// - **cli**: `cli.bare-output`, which `aio login` writes (true or false).
/// - **oauth-user**: `client_id` and `scope` (or `redirect_uri`). aio also
///   requires `client_secret`: public clients sign in with PKCE here.
pub(crate) const KINDS: &[Kind] = &[
    Kind {
        name: "jwt",
        required: &[
            &["client_id"],
            &["client_secret"],
            &["technical_account_id"],
            &["meta_scopes"],
            &["ims_org_id"],
            &["private_key"],
        ],
    },
    Kind {
        name: "server-to-server",
        required: &[&["client_id"], &["client_secrets"], &["scopes"]],
    },
    Kind {
        name: "cli",
        required: &[&[CLI_BARE_OUTPUT]],
    },
    Kind {
        name: "oauth-user",
        required: &[&["client_id"], &["scope", "redirect_uri"]],
    },
];

/// The property that marks aio's `cli` context.
pub(crate) const CLI_BARE_OUTPUT: &str = "cli.bare-output";

impl Kind {
    /// The required entries `map` lacks, each as its keys joined by ` or `.
    pub(crate) fn missing(&self, map: &Map<String, Value>) -> Vec<String> {
        self.required
            .iter()
            .filter(|keys| !keys.iter().any(|key| present(map, key)))
            .map(|keys| keys.join(" or "))
            .collect()
    }
}

/// Whether a property is set: not null and not an empty string (aio's
/// `!configData[key]`, except that `false` and `0` count as set, as aio's
/// cli plugin counts them). `cli.bare-output` is also found nested
/// (`cli: {bare-output: …}`), as an `AIO_…_CLI_BARE-OUTPUT` variable sets it.
fn present(map: &Map<String, Value>, key: &str) -> bool {
    let value = tree::get_ci(map, key).or_else(|| {
        let (parent, child) = key.split_once('.')?;
        tree::get_ci(tree::get_ci(map, parent)?.as_object()?, child)
    });
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// The error for a context that completes no kind: what it seems meant to
/// be and lacks (from the properties only one kind has), then what every
/// kind lacks.
fn no_kind(name: &ContextName, map: &Map<String, Value>) -> Error {
    let has = |key: &str| present(map, key);
    let meant = if has("private_key") || has("meta_scopes") {
        Some("jwt")
    } else if has("client_secrets") || has("scopes") {
        Some("server-to-server")
    } else if has("scope") || has("redirect_uri") {
        Some("oauth-user")
    } else {
        None
    };
    let each: Vec<String> = KINDS
        .iter()
        .map(|kind| format!("{} lacks {}", kind.name, kind.missing(map).join(", ")))
        .collect();
    let each = each.join("; ");
    match meant.and_then(|meant| KINDS.iter().find(|kind| kind.name == meant)) {
        Some(kind) => {
            let missing = kind.missing(map);
            let settings: Vec<String> = missing
                .iter()
                .map(|key| format!("ims.contexts.{name}.{key}"))
                .collect();
            Error::Misconfigured(format!(
                "context \"{name}\" looks like {} but has no {}; set {} (no kind has all its properties: {each})",
                kind.name,
                missing.join(", "),
                settings.join(" and "),
            ))
        }
        None => Error::Misconfigured(format!(
            "context \"{name}\" has none of the properties of a known kind ({each}); set them under ims.contexts.{name}"
        )),
    }
}

/// Which client refreshes a `cli` context that names none: aio signs in
/// through its own Adobe client (`aio-cli-console-auth`, `-stage` on stage)
/// unless `AIO_CLI_IMS_APIKEY` names another.
#[derive(Debug, Clone, Default)]
pub(crate) struct CliClient {
    /// `AIO_CLI_IMS_APIKEY`, if set.
    pub(crate) api_key: Option<String>,
}

/// aio's own client for `aio login` on prod.
pub(crate) const AIO_CLI_CLIENT: &str = "aio-cli-console-auth";
/// aio's own client for `aio login` on stage.
pub(crate) const AIO_CLI_CLIENT_STAGE: &str = "aio-cli-console-auth-stage";

impl CliClient {
    /// `AIO_CLI_IMS_APIKEY`, else aio's own client for the environment.
    fn client_for(&self, environment: Option<&ImsEnvironment>) -> Result<ClientId, String> {
        if let Some(key) = self.api_key.as_deref().filter(|k| !k.trim().is_empty()) {
            return ClientId::parse(key.trim()).map_err(|err| {
                format!(
                    "AIO_CLI_IMS_APIKEY is not a valid client id ({})",
                    err.reason()
                )
            });
        }
        let own = match environment {
            Some(ImsEnvironment::Stage) => AIO_CLI_CLIENT_STAGE,
            _ => AIO_CLI_CLIENT,
        };
        ClientId::parse(own).map_err(|err| err.reason().to_owned())
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

/// aio's `cli` context: `cli.bare-output` and, optionally here, the
/// `client_id` that refreshes its tokens and the `scope` sent on refresh.
fn cli(p: &mut Props<'_>) -> Option<ContextCredentials> {
    let configured = p.string("client_id");
    let client_id = match configured.as_deref().map(ClientId::parse) {
        Some(Ok(id)) => Some(id),
        Some(Err(err)) => {
            p.invalid
                .push(format!("client_id is invalid ({})", err.reason()));
            return None;
        }
        None => None,
    };
    let bare_output = match tree::get_ci(p.map, CLI_BARE_OUTPUT)
        .or_else(|| tree::get_ci(tree::get_ci(p.map, "cli")?.as_object()?, "bare-output"))
    {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let scopes = p.scopes("scope").unwrap_or_default();
    // The placeholder client id is replaced once the environment is known.
    let placeholder = match client_id {
        Some(id) => id,
        None => ClientId::parse(AIO_CLI_CLIENT).ok()?,
    };
    let mut context = CliContext::new(placeholder);
    context.client_id_configured = configured.is_some();
    context.scopes = scopes;
    context.bare_output = bare_output;
    Some(ContextCredentials::Cli(context))
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
                // aio quietly takes prod for any other value; say so.
                tracing::warn!(
                    context = %p.name, env = %printable(&env),
                    "env is neither prod nor stage: using prod, as aio does"
                );
                Some(ImsEnvironment::Prod)
            }
        };
    }
    match default_env {
        Some(Value::String(env)) => {
            let parsed = parse_env(env);
            if parsed.is_none() && !env.trim().is_empty() {
                tracing::warn!(
                    env = %printable(env),
                    "cli.env is neither prod nor stage: ignored (prod unless --ims-url or --env says otherwise), as aio falls back to prod"
                );
            }
            parsed
        }
        _ => None,
    }
}

/// At most 40 printable characters of a value, for a log line.
fn printable(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(40).collect()
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
