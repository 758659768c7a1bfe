//! `ims context list|get|set|use|remove`.

use std::io::{BufRead as _, IsTerminal as _};

use ims_api::{
    ClientId, ClientSecret, ConfigLocation, ContextCredentials, ContextName, ContextStore as _,
    ExpiringToken, ImsContext, JwtContext, OAuthUserContext, OrgId, PrivateKeySource, Scopes,
    ServerToServerContext, TokenCache as _,
};
use ims_core::Origin;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::cli::{ContextCommand, Kind, SetArgs};
use crate::exit::CliError;
use crate::mask::masked;
use crate::output::iso;
use crate::{App, parse_name, unknown_context};

pub(crate) async fn run(app: &App, command: ContextCommand) -> Result<(), CliError> {
    match command {
        ContextCommand::List => list(app).await,
        ContextCommand::Get {
            name,
            show_secrets,
            show_origin,
        } => get(app, name.as_deref(), show_secrets, show_origin).await,
        ContextCommand::Set(args) => set(app, *args).await,
        ContextCommand::Use { name } => use_context(app, &name).await,
        ContextCommand::Remove { name } => remove(app, &name).await,
    }
}

fn location_name(location: Option<ConfigLocation>) -> &'static str {
    match location {
        Some(ConfigLocation::Local) => "local",
        Some(ConfigLocation::Global) => "global",
        // Only environment variables define it.
        _ => "env",
    }
}

async fn list(app: &App) -> Result<(), CliError> {
    let names = app.store.list().await?;
    let current = app.store.current().await?;
    let global = app.store.config().read_file(ConfigLocation::Global)?;
    let local = app.store.config().read_file(ConfigLocation::Local)?;
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for name in &names {
        let is_current = current.as_ref() == Some(name);
        let location = app.store.location_of(name).await?;
        let file = location
            .and_then(|l| app.store.config().paths().file(l))
            .map(|p| p.display().to_string());
        // One broken context does not hide the others: its row says so.
        let (kind, problem) = match app.store.get(name).await {
            Ok(Some(context)) => (context.credentials.kind().to_owned(), None),
            Ok(None) => ("?".to_owned(), None),
            Err(err) => ("invalid".to_owned(), Some(err.to_string())),
        };
        let tokens = app.cache.load(name).await.unwrap_or_default();
        let (status, expires_at) = token_status(tokens.access_token.as_ref(), now);
        let refresh = token_status(tokens.refresh_token.as_ref(), now).0;
        let path = ["ims", "contexts", name.as_str()];
        let shadows = find_ci(&local, &path).is_some() && find_ci(&global, &path).is_some();
        if shadows {
            app.out.warn(&format!(
                "context {name} of {} shadows the global context of the same name in {}; \
                 `ims context get {name} --show-origin` shows which file each key comes from",
                display_path(app, ConfigLocation::Local),
                display_path(app, ConfigLocation::Global),
            ));
        }
        rows.push(vec![
            if is_current { "*" } else { "" }.to_owned(),
            name.to_string(),
            kind.clone(),
            status.to_owned(),
            expires_at.clone().unwrap_or_else(|| "-".to_owned()),
            file.clone().unwrap_or_else(|| "environment".to_owned()),
        ]);
        let mut item = json!({
            "name": name.as_str(),
            "current": is_current,
            "location": location_name(location),
            "file": file,
            "kind": kind,
            "token": status,
            "expires_at": expires_at,
            "refresh_token": refresh,
            "shadows_global": shadows,
        });
        if let Some(problem) = problem {
            item["error"] = json!(problem);
        }
        items.push(item);
    }
    if app.out.is_json() {
        app.out.json(&Value::Array(items));
    } else if names.is_empty() {
        app.out
            .note("no contexts; create one with `ims context set NAME --kind ...`");
    } else {
        app.out
            .table(&["", "NAME", "KIND", "TOKEN", "EXPIRES", "FILE"], &rows);
    }
    Ok(())
}

/// `valid`, `expired` or `none`, and the expiry in ISO 8601.
fn token_status<T>(
    token: Option<&ExpiringToken<T>>,
    now: OffsetDateTime,
) -> (&'static str, Option<String>) {
    match token {
        None => ("none", None),
        Some(token) if token.expires_at > now => ("valid", Some(iso(token.expires_at))),
        Some(token) => ("expired", Some(iso(token.expires_at))),
    }
}

fn display_path(app: &App, location: ConfigLocation) -> String {
    app.store
        .config()
        .paths()
        .file(location)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

async fn get(
    app: &App,
    name: Option<&str>,
    show_secrets: bool,
    show_origin: bool,
) -> Result<(), CliError> {
    let name = app.context_name(name).await?;
    let merged = app.store.config().read_merged_with_origins()?;
    let props = find_ci(merged.value(), &["ims", "contexts", name.as_str()])
        .cloned()
        .ok_or_else(|| unknown_context(&name))?;
    let props = if show_secrets { props } else { masked(props) };
    let location = location_name(app.store.location_of(&name).await?);
    let current = app.store.current().await?.as_ref() == Some(&name);
    let origins = if show_origin {
        merged.origins_under(&format!("ims.contexts.{name}"))
    } else {
        Vec::new()
    };
    if app.out.is_json() {
        let mut out = json!({
            "name": name.as_str(),
            "current": current,
            "location": location,
            "properties": props,
        });
        if show_origin {
            let map: Map<String, Value> = origins
                .iter()
                .map(|(key, origin)| (key.clone(), origin_json(origin)))
                .collect();
            out["origins"] = Value::Object(map);
        }
        app.out.json(&out);
    } else {
        app.out.line(&format!(
            "context {name} ({location}{})",
            if current { ", current" } else { "" }
        ));
        if show_origin {
            let rows: Vec<Vec<String>> = origins
                .iter()
                .map(|(key, origin)| {
                    let path: Vec<&str> = key.split('.').collect();
                    let value = find_ci(&props, &path)
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .unwrap_or_default();
                    let trust = if origin.is_trusted() {
                        ""
                    } else {
                        "  [untrusted: working directory]"
                    };
                    vec![key.clone(), value, format!("{origin}{trust}")]
                })
                .collect();
            app.out.table(&["KEY", "VALUE", "ORIGIN"], &rows);
        } else {
            app.out.json(&props);
        }
    }
    Ok(())
}

/// An origin as `--json` shows it: its kind, file or variable, and trust.
fn origin_json(origin: &Origin) -> Value {
    let (source, file, variable) = match origin {
        Origin::Global(path) => ("global", Some(path), None),
        Origin::Local(path) => ("local", Some(path), None),
        Origin::DotEnv { path, variable } => ("dotenv", Some(path), Some(variable)),
        Origin::Env { variable } => ("env", None, Some(variable)),
        _ => ("other", None, None),
    };
    let mut out = json!({"source": source, "trusted": origin.is_trusted()});
    if let Some(file) = file {
        out["file"] = json!(file.display().to_string());
    }
    if let Some(variable) = variable {
        out["variable"] = json!(variable);
    }
    out
}

/// A case-insensitive path lookup, as aio's keys are.
fn find_ci<'a>(tree: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(tree, |node, key| {
        let map = node.as_object()?;
        map.get(*key).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    })
}

async fn set(app: &App, args: SetArgs) -> Result<(), CliError> {
    let name = parse_name(&args.name)?;
    check_flags_fit_kind(&args)?;
    let client_id = ClientId::parse(&args.client_id)
        .map_err(|err| CliError::Usage(format!("--client-id: {err}")))?;
    let scopes = Scopes::parse(&args.scopes.join(","));
    let org_id = args
        .org_id
        .as_deref()
        .map(OrgId::parse)
        .transpose()
        .map_err(|err| CliError::Usage(format!("--org-id: {err}")))?;
    let credentials = match args.kind {
        Kind::ServerToServer => {
            if scopes.is_empty() {
                return Err(CliError::Usage(
                    "server-to-server contexts need --scopes (comma-separated)".to_owned(),
                ));
            }
            let secret = client_secret(&args, true)?.unwrap_or_else(|| ClientSecret::new(""));
            let mut c = ServerToServerContext::new(client_id, secret, scopes);
            c.org_id = org_id;
            c.technical_account_id = args.technical_account_id.clone();
            c.technical_account_email = args.technical_account_email.clone();
            ContextCredentials::ServerToServer(c)
        }
        Kind::Jwt => {
            let mut missing = Vec::new();
            if org_id.is_none() {
                missing.push("--org-id");
            }
            if args.technical_account_id.is_none() {
                missing.push("--technical-account-id");
            }
            if args.meta_scopes.is_empty() {
                missing.push("--meta-scopes");
            }
            if args.private_key_file.is_none() {
                missing.push("--private-key-file");
            }
            let (Some(org_id), Some(account), Some(key_file), true) = (
                org_id,
                args.technical_account_id.clone(),
                args.private_key_file.clone(),
                missing.is_empty(),
            ) else {
                return Err(CliError::Usage(format!(
                    "jwt contexts also need {}",
                    missing.join(", ")
                )));
            };
            let key_file = std::path::absolute(&key_file).unwrap_or(key_file);
            match std::fs::read_to_string(&key_file) {
                Ok(pem) if pem.contains("PRIVATE KEY-----") => {}
                Ok(_) => {
                    return Err(CliError::Config(format!(
                        "{} holds no PEM private key",
                        key_file.display()
                    )));
                }
                Err(err) => {
                    return Err(CliError::Config(format!(
                        "cannot read the private key file {}: {err}",
                        key_file.display()
                    )));
                }
            }
            let secret = client_secret(&args, true)?.unwrap_or_else(|| ClientSecret::new(""));
            let meta_scopes = args
                .meta_scopes
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            ContextCredentials::Jwt(JwtContext::new(
                client_id,
                secret,
                account,
                org_id,
                meta_scopes,
                PrivateKeySource::File(key_file),
            ))
        }
        Kind::OauthUser => {
            if scopes.is_empty() {
                return Err(CliError::Usage(
                    "oauth-user contexts need --scopes (comma-separated, e.g. openid,AdobeID,offline_access)"
                        .to_owned(),
                ));
            }
            let mut c = OAuthUserContext::new(client_id, scopes);
            c.client_secret = client_secret(&args, false)?;
            c.redirect_uri = args
                .redirect_uri
                .as_deref()
                .map(Url::parse)
                .transpose()
                .map_err(|err| CliError::Usage(format!("--redirect-uri: {err}")))?;
            ContextCredentials::OAuthUser(c)
        }
    };
    let mut context = ImsContext::new(name.clone(), credentials);
    if let Some(env) = &app.pinned_env {
        context = context.with_environment(env.clone());
    }
    let location = if args.local {
        ConfigLocation::Local
    } else {
        ConfigLocation::Global
    };
    app.store.set(&context, location).await?;
    let file = app
        .store
        .config()
        .paths()
        .file(location)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    app.out.result(
        &format!("context {name} ({}) written to {file}", args.kind_name()),
        &json!({"name": name.as_str(), "kind": args.kind_name(), "file": file}),
    );
    Ok(())
}

impl SetArgs {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::ServerToServer => "server-to-server",
            Kind::Jwt => "jwt",
            Kind::OauthUser => "oauth-user",
        }
    }
}

/// Flags that belong to another kind are a mistake worth telling about.
fn check_flags_fit_kind(args: &SetArgs) -> Result<(), CliError> {
    let given = [
        (
            "--meta-scopes",
            !args.meta_scopes.is_empty(),
            [Kind::Jwt].as_slice(),
        ),
        (
            "--private-key-file",
            args.private_key_file.is_some(),
            &[Kind::Jwt],
        ),
        (
            "--redirect-uri",
            args.redirect_uri.is_some(),
            &[Kind::OauthUser],
        ),
        (
            "--scopes",
            !args.scopes.is_empty(),
            &[Kind::ServerToServer, Kind::OauthUser],
        ),
        (
            "--org-id",
            args.org_id.is_some(),
            &[Kind::ServerToServer, Kind::Jwt],
        ),
        (
            "--technical-account-id",
            args.technical_account_id.is_some(),
            &[Kind::ServerToServer, Kind::Jwt],
        ),
        (
            "--technical-account-email",
            args.technical_account_email.is_some(),
            &[Kind::ServerToServer],
        ),
    ];
    let wrong: Vec<&str> = given
        .iter()
        .filter(|(_, present, kinds)| *present && !kinds.contains(&args.kind))
        .map(|(flag, _, _)| *flag)
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} cannot be used with --kind {}",
            wrong.join(", "),
            args.kind_name()
        )))
    }
}

/// The client secret: `--client-secret`, `--client-secret-stdin`, or a
/// prompt without echo on a terminal. `required`: an error if none.
fn client_secret(args: &SetArgs, required: bool) -> Result<Option<ClientSecret>, CliError> {
    let secret = if let Some(secret) = &args.client_secret {
        Some(secret.clone())
    } else if args.client_secret_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|err| {
                CliError::Io(format!("cannot read the client secret from stdin: {err}"))
            })?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else if required && std::io::stdin().is_terminal() {
        let secret = rpassword::prompt_password("Client secret: ")
            .map_err(|err| CliError::Io(format!("cannot read the client secret: {err}")))?;
        Some(secret)
    } else {
        None
    };
    match secret {
        Some(secret) if secret.trim().is_empty() => {
            Err(CliError::Usage("the client secret is empty".to_owned()))
        }
        Some(secret) => Ok(Some(ClientSecret::new(secret.trim().to_owned()))),
        None if required => Err(CliError::Usage(format!(
            "{} contexts need a client secret: pipe it into --client-secret-stdin (or pass --client-secret)",
            args.kind_name()
        ))),
        None => Ok(None),
    }
}

async fn use_context(app: &App, name: &str) -> Result<(), CliError> {
    let name = parse_name(name)?;
    let known = app.store.list().await?;
    let Some(name) = known
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(name.as_str()))
    else {
        return Err(unknown_context(&name));
    };
    app.store.set_current(&name).await?;
    app.out.result(
        &format!("current context: {name} (in ./.aio)"),
        &json!({"current": name.as_str()}),
    );
    Ok(())
}

async fn remove(app: &App, name: &str) -> Result<(), CliError> {
    let name: ContextName = parse_name(name)?;
    if !app.store.remove(&name).await? {
        return Err(unknown_context(&name));
    }
    app.out.result(
        &format!("context {name} removed"),
        &json!({"removed": name.as_str()}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case() {
        let tree = json!({"IMS": {"Contexts": {"a": 1}}});
        assert_eq!(find_ci(&tree, &["ims", "contexts", "A"]), Some(&json!(1)));
        assert_eq!(find_ci(&tree, &["ims", "x"]), None);
    }
}
