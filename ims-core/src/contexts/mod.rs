//! [`AioContextStore`]: configuration contexts in aio's files.

mod parse;
pub(crate) mod trust;
mod write;

use async_trait::async_trait;
use ims_api::{ConfigLocation, ContextName, ContextStore, Error, ImsContext};
use serde_json::Value;

use crate::aio_config::{AioConfig, tree};

/// Contexts stored where the aio CLI keeps them: `ims.contexts.<name>` in the
/// global and local aio files (and `AIO_*` variables), the current context in
/// `ims.config.current`.
///
/// The kind of a context is chosen as aio's `getToken` chooses its login
/// plugin: **jwt, server-to-server, cli, oauth-user**, the first whose
/// required properties are all present.
///
/// 1. **JWT** needs `client_id`, `client_secret`, `technical_account_id`,
///    `ims_org_id`, `meta_scopes`, `private_key` (`passphrase` optional).
/// 2. **server-to-server** needs `client_id`, `client_secrets` (the first is
///    used) and `scopes` (`ims_org_id`, `technical_account_*` optional, which
///    aio requires but the grant does not need).
/// 3. **cli** (what `aio login` writes) needs `cli.bare-output`; its tokens
///    are refreshed with its `client_id` if it has one, else
///    `AIO_CLI_IMS_APIKEY`, else aio's own client (`aio-cli-console-auth`,
///    `aio-cli-console-auth-stage` on stage).
/// 4. **OAuth user** needs `client_id` and `scope` or `redirect_uri`
///    (`client_secret` optional: public clients use PKCE).
///
/// Lists may be arrays or JSON-array strings; a plain `meta_scopes` or
/// `client_secrets` string is one item, a plain `scopes`/`scope` string is
/// split on commas and white space. `private_key` is a PEM string, an array
/// of lines, a JSON-array string, or else a file path. `ims_url` (a custom
/// IMS base URL) wins over `env` (`prod`|`stage`; anything else is prod,
/// with a warning, as aio), which wins over `cli.env`.
///
/// An incomplete context is an [`Error::Misconfigured`] naming the context,
/// the kind it looks like and the missing properties:
///
/// ```
/// use ims_api::{ContextName, ContextStore, Error};
/// use ims_core::{AioConfig, AioContextStore, ConfigPaths};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let config = AioConfig::with_env(
///     ConfigPaths::new(dir.path().join("aio")),
///     [
///         ("AIO_IMS_CONTEXTS_SVC_CLIENT__ID", "my-client"),
///         ("AIO_IMS_CONTEXTS_SVC_SCOPES", r#"["openid","AdobeID"]"#),
///     ],
/// );
/// let store = AioContextStore::new(config);
/// let err = store.get(&ContextName::parse("svc")?).await.unwrap_err();
/// assert!(err.to_string().starts_with(
///     "misconfiguration: context \"svc\" looks like server-to-server but has no \
///      client_secrets; set ims.contexts.svc.client_secrets (no kind has all its \
///      properties: jwt lacks client_secret, "
/// ));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AioContextStore {
    config: AioConfig,
}

impl AioContextStore {
    /// A store over `config`.
    pub fn new(config: AioConfig) -> Self {
        AioContextStore { config }
    }

    /// A store over this process's aio files and environment.
    pub fn from_process() -> Result<Self, Error> {
        Ok(Self::new(AioConfig::from_process()?))
    }

    /// The configuration it reads and writes.
    pub fn config(&self) -> &AioConfig {
        &self.config
    }

    /// The file that defines the context (local wins, as it does on read),
    /// if a file does.
    pub async fn location_of(&self, name: &ContextName) -> Result<Option<ConfigLocation>, Error> {
        let config = self.config.clone();
        let name = name.clone();
        blocking(move || defining_location(&config, &name)).await
    }
}

/// Runs blocking file work off the async runtime's threads.
pub(crate) async fn blocking<R, F>(work: F) -> Result<R, Error>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, Error> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::storage("a configuration file task failed", err))?
}

/// Where `ims.contexts.<name>` is defined: the local file if it has it, else
/// the global file if it has it.
pub(crate) fn defining_location(
    config: &AioConfig,
    name: &ContextName,
) -> Result<Option<ConfigLocation>, Error> {
    let path = ["ims", "contexts", name.as_str()];
    if config.paths().local.is_some() {
        let local = config.read_file(ConfigLocation::Local)?;
        if tree::get_path(&local, &path).is_some() {
            return Ok(Some(ConfigLocation::Local));
        }
    }
    let global = config.read_file(ConfigLocation::Global)?;
    Ok(tree::get_path(&global, &path).map(|_| ConfigLocation::Global))
}

fn locations(config: &AioConfig) -> Vec<ConfigLocation> {
    let mut out = vec![ConfigLocation::Global];
    if config.paths().local.is_some() {
        out.push(ConfigLocation::Local);
    }
    out
}

#[async_trait]
impl ContextStore for AioContextStore {
    async fn get(&self, name: &ContextName) -> Result<Option<ImsContext>, Error> {
        let config = self.config.clone();
        let name = name.clone();
        blocking(move || {
            let merged = config.read_merged_with_origins()?;
            let Some(props) = tree::get_path(merged.value(), &["ims", "contexts", name.as_str()])
            else {
                return Ok(None);
            };
            let trust = trust::ContextTrust::of(&merged, &name);
            trust.check(&name)?;
            // A context holding the user's credentials takes `cli.env` from
            // the trusted sources only.
            let trusted = if trust.trusted {
                Some(config.read_trusted()?)
            } else {
                None
            };
            let default_env =
                tree::get_path(trusted.as_ref().unwrap_or(&merged).value(), &["cli", "env"]);
            let cli_client = parse::CliClient {
                api_key: config.env_var("AIO_CLI_IMS_APIKEY").map(str::to_owned),
            };
            parse::parse_context(&name, props, default_env, &trust, &cli_client).map(Some)
        })
        .await
    }

    async fn set(&self, context: &ImsContext, location: ConfigLocation) -> Result<(), Error> {
        let config = self.config.clone();
        let owned = context.clone();
        blocking(move || {
            config.update(location, |tree| {
                let map = tree::object_at_mut(tree, &["ims", "contexts", owned.name.as_str()]);
                write::write_context(map, &owned)
            })
        })
        .await?;
        tracing::debug!(context = %context.name, ?location, "context written");
        Ok(())
    }

    async fn remove(&self, name: &ContextName) -> Result<bool, Error> {
        let config = self.config.clone();
        let name = name.clone();
        blocking(move || {
            let mut removed = false;
            for location in locations(&config) {
                removed |= config.update(location, |tree| {
                    Ok(tree::existing_object_mut(tree, &["ims", "contexts"])
                        .and_then(|contexts| tree::remove_ci(contexts, name.as_str()))
                        .is_some())
                })?;
            }
            Ok(removed)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<ContextName>, Error> {
        let config = self.config.clone();
        blocking(move || {
            let merged = config.read_merged()?;
            let mut names: Vec<ContextName> = tree::get_path(&merged, &["ims", "contexts"])
                .and_then(Value::as_object)
                .map(|contexts| {
                    contexts
                        .keys()
                        .filter_map(|key| ContextName::parse(key).ok())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names.dedup();
            Ok(names)
        })
        .await
    }

    async fn current(&self) -> Result<Option<ContextName>, Error> {
        let config = self.config.clone();
        blocking(move || match config.get("ims.config.current")? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(name)) if name.trim().is_empty() => Ok(None),
            Some(Value::String(name)) => ContextName::parse(name.trim()).map(Some).map_err(|err| {
                Error::Misconfigured(format!(
                    "ims.config.current is not a valid context name ({}); set it with `ims context use <name>`",
                    err.reason()
                ))
            }),
            Some(_) => Err(Error::Misconfigured(
                "ims.config.current must be a context name (a string)".to_owned(),
            )),
        })
        .await
    }

    async fn set_current(&self, name: &ContextName) -> Result<(), Error> {
        let config = self.config.clone();
        let name = name.clone();
        blocking(move || {
            config.update(ConfigLocation::Local, |tree| {
                tree::insert_ci(
                    tree::object_at_mut(tree, &["ims", "config"]),
                    "current",
                    Value::String(name.as_str().to_owned()),
                );
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
