//! The aio configuration layer: aio's files and environment variables, read
//! merged and written safely.
//!
//! Reading merges, lowest first: the global file, the local file, then the
//! environment (the `.env` file's variables, then the given environment).
//! Files are JSON or HJSON when their text starts with `{`, else YAML (as
//! aio-lib-core-config reads them); a file is written back in its format, a
//! new one as pretty JSON, which is valid HJSON. Keys are case-insensitive.
//! Variables are those with aio's prefix, `AIO_`
//! matched ignoring case (`AIO_CONFIG_KEY` renames it, and the files), and
//! their values stay strings, as in aio-lib-core-config.
//!
//! Writing is a read-modify-write of one file under a cross-process exclusive
//! lock (`<file>.lock`): the new text goes to a temporary file in the same
//! directory (mode 0600), is synced, and renamed over the file, so readers see
//! the old or the new file, never a mix, and concurrent writers lose no update.

mod env_vars;
pub(crate) mod file;
mod hjson;
pub(crate) mod lock;
pub(crate) mod origin;
mod paths;
pub(crate) mod tree;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use ims_api::{ConfigLocation, Error};
use serde_json::{Map, Value};

pub use origin::{MergedConfig, Origin};
pub use paths::ConfigPaths;

use origin::Node;

/// aio's layered configuration: files plus environment.
///
/// Its methods do blocking file I/O; async code calls them from
/// `tokio::task::spawn_blocking` (as [`AioContextStore`](crate::AioContextStore)
/// does).
///
/// ```
/// use ims_core::{AioConfig, ConfigPaths};
/// use ims_api::ConfigLocation;
///
/// let dir = tempfile::tempdir()?;
/// let config = AioConfig::with_env(
///     ConfigPaths::new(dir.path().join("aio")),
///     [("AIO_IMS_CONFIG_CURRENT", "from-env")],
/// );
/// config.update(ConfigLocation::Global, |tree| {
///     tree["ims"] = serde_json::json!({"config": {"current": "from-file"}});
///     Ok(())
/// })?;
/// // The environment wins over the file.
/// assert_eq!(config.get("ims.config.current")?, Some(serde_json::json!("from-env")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AioConfig {
    paths: ConfigPaths,
    env: Arc<BTreeMap<String, String>>,
}

impl fmt::Debug for AioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Variables may hold secrets (`AIO_IMS_CONTEXTS_X_CLIENT__SECRET`):
        // only their number is shown.
        f.debug_struct("AioConfig")
            .field("paths", &self.paths)
            .field("env_vars", &self.env.len())
            .finish()
    }
}

impl AioConfig {
    /// The files of `paths` and this process's environment (read now).
    pub fn new(paths: ConfigPaths) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        AioConfig {
            paths,
            env: Arc::new(env),
        }
    }

    /// The files of `paths` and the given environment instead of the
    /// process's (for tests and embedding).
    pub fn with_env<K, V>(paths: ConfigPaths, env: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        AioConfig {
            paths,
            env: Arc::new(env.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
        }
    }

    /// aio's files for this process ([`ConfigPaths::from_process`]) and its
    /// environment.
    pub fn from_process() -> Result<Self, Error> {
        Ok(Self::new(ConfigPaths::from_process()?))
    }

    /// `AIO_CONFIG_KEY` of the given environment, else `aio`: the prefix of
    /// the variables read (`AIO_`, matched ignoring case). Taken from the
    /// environment only: a `.env` file cannot rename it.
    pub(crate) fn config_key(&self) -> &str {
        env_vars::config_key(&self.env)
    }

    /// A variable of the given environment (not of the `.env` file).
    pub(crate) fn env_var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The files.
    pub fn paths(&self) -> &ConfigPaths {
        &self.paths
    }

    /// Parses the text of an aio configuration file into its tree, exactly
    /// as [`read_file`](Self::read_file) does after reading the file: text
    /// that starts with `{` is JSON, else HJSON (comments, unquoted keys and
    /// strings); any other text is YAML, as aio reads it; an empty text is
    /// an empty object. `path` only names the file in error messages.
    ///
    /// The text may be hostile: anything that is not an object of keys,
    /// including text nested too deeply to parse safely, is an
    /// [`Error::Misconfigured`], never a panic.
    ///
    /// ```
    /// use std::path::Path;
    /// use ims_core::AioConfig;
    ///
    /// // HJSON: a comment, unquoted keys, a quoteless string (to the end of
    /// // its line).
    /// let text = "{\n  // written by aio\n  ims: {\n    config: {\n      current: my-context\n    }\n  }\n}\n";
    /// let tree = AioConfig::parse_file_text(text, Path::new("~/.config/aio"))?;
    /// assert_eq!(tree["ims"]["config"]["current"], "my-context");
    ///
    /// let err = AioConfig::parse_file_text("[1, 2]", Path::new("~/.config/aio")).unwrap_err();
    /// assert!(err.to_string().contains("~/.config/aio"));
    /// # Ok::<(), ims_api::Error>(())
    /// ```
    pub fn parse_file_text(text: &str, path: &Path) -> Result<Value, Error> {
        file::parse(text, path)
    }

    /// The tree of one file (an empty object if the file does not exist).
    pub fn read_file(&self, location: ConfigLocation) -> Result<Value, Error> {
        match self.paths.file(location) {
            Some(path) => Ok(file::read(path)?.unwrap_or_else(empty)),
            None => Ok(empty()),
        }
    }

    /// The merged tree: global < local < `.env` < environment.
    pub fn read_merged(&self) -> Result<Value, Error> {
        Ok(self.read_merged_with_origins()?.value().clone())
    }

    /// The merged tree (global < local < `.env` < environment) with the
    /// [`Origin`] of every value.
    pub fn read_merged_with_origins(&self) -> Result<MergedConfig, Error> {
        let mut root = self.file_node(ConfigLocation::Global)?;
        root.merge(self.file_node(ConfigLocation::Local)?);
        root.merge(self.env_node(true)?);
        Ok(MergedConfig::new(root))
    }

    /// The trusted sources only, merged: the global file < the process
    /// environment (the files of the working directory, `.aio` and `.env`,
    /// left out).
    pub fn read_trusted(&self) -> Result<MergedConfig, Error> {
        let mut root = self.file_node(ConfigLocation::Global)?;
        root.merge(self.env_node(false)?);
        Ok(MergedConfig::new(root))
    }

    fn file_node(&self, location: ConfigLocation) -> Result<Node, Error> {
        let Some(path) = self.paths.file(location) else {
            return Ok(Node::empty());
        };
        let origin = match location {
            ConfigLocation::Local => Origin::Local(path.to_path_buf()),
            _ => Origin::Global(path.to_path_buf()),
        };
        Ok(Node::annotate(self.read_file(location)?, &origin))
    }

    /// The environment layer, each value from its variable; with the `.env`
    /// file's variables below the process's if `dotenv`.
    fn env_node(&self, dotenv: bool) -> Result<Node, Error> {
        let mut vars: BTreeMap<String, (String, Origin)> = BTreeMap::new();
        if let (true, Some(path)) = (dotenv, &self.paths.dotenv) {
            let from_file = env_vars::read_dotenv(path)?;
            for (k, v) in from_file {
                let origin = Origin::DotEnv {
                    path: path.clone(),
                    variable: k.clone(),
                };
                vars.insert(k, (v, origin));
            }
        }
        for (k, v) in self.env.iter() {
            let origin = Origin::Env {
                variable: k.clone(),
            };
            vars.insert(k.clone(), (v.clone(), origin));
        }
        let mut root = Node::empty();
        for (name, (raw, origin)) in vars {
            let Some(key) = env_vars::key_for_variable(&name, self.config_key()) else {
                continue;
            };
            let parts: Vec<&str> = key.split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                continue;
            }
            root.set(&parts, Node::annotate(env_vars::parse_value(&raw), &origin));
        }
        Ok(root)
    }

    /// The merged value of a dotted key (`ims.config.current`), ignoring case.
    pub fn get(&self, key: &str) -> Result<Option<Value>, Error> {
        let merged = self.read_merged()?;
        let path: Vec<&str> = key.split('.').collect();
        Ok(tree::get_path(&merged, &path).cloned())
    }

    /// The tree of the environment layer: `AIO_*` variables of the `.env`
    /// file, overridden by those of the environment.
    pub fn env_layer(&self) -> Result<Value, Error> {
        let mut vars = match &self.paths.dotenv {
            Some(path) => env_vars::read_dotenv(path)?,
            None => BTreeMap::new(),
        };
        for (k, v) in self.env.iter() {
            vars.insert(k.clone(), v.clone());
        }
        Ok(env_vars::layer(
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.config_key(),
        ))
    }

    /// Read-modify-write of one file under its cross-process lock: `change`
    /// gets the file's tree (an empty object for a new file) and may edit it;
    /// if it returns `Ok` and changed the tree, the file is replaced
    /// atomically, every other key kept. Parent directories are created.
    pub fn update<R>(
        &self,
        location: ConfigLocation,
        change: impl FnOnce(&mut Value) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.update_with_hook(location, change, || Ok(()))
    }

    pub(crate) fn update_with_hook<R>(
        &self,
        location: ConfigLocation,
        change: impl FnOnce(&mut Value) -> Result<R, Error>,
        before_rename: impl FnOnce() -> io::Result<()>,
    ) -> Result<R, Error> {
        let path = self.file_for(location)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::storage(
                    format!("cannot create the directory {}", dir.display()),
                    err,
                )
            })?;
        }
        let _guard = lock::lock_exclusive(path).map_err(|err| {
            Error::storage(
                format!("cannot lock the aio config file {}", path.display()),
                err,
            )
        })?;
        let text = file::read_text(path)?;
        // A file is written back in its format (aio keeps YAML as YAML).
        let format = text.as_deref().map_or(yaml::Format::Json, yaml::format_of);
        let mut tree = match text {
            Some(text) => file::parse(&text, path)?,
            None => empty(),
        };
        let before = tree.clone();
        let result = change(&mut tree)?;
        if tree != before {
            file::write_atomic_as(path, &tree, format, before_rename)?;
        }
        Ok(result)
    }

    fn file_for(&self, location: ConfigLocation) -> Result<&Path, Error> {
        self.paths.file(location).ok_or_else(|| {
            Error::Misconfigured(
                "no local aio config file is configured (./.aio of the working directory)"
                    .to_owned(),
            )
        })
    }
}

fn empty() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests;
