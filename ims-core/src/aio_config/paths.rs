//! Where aio's configuration files are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ims_api::{ConfigLocation, Error};

/// The files aio reads: the global file, the working directory's `.aio`, and
/// the `.env` loaded first.
///
/// Tests build one over a temporary directory with [`ConfigPaths::new`], so
/// they never touch the real home directory.
///
/// ```
/// use ims_core::ConfigPaths;
///
/// let paths = ConfigPaths::new("/tmp/home/.config/aio")
///     .with_local("/tmp/project/.aio")
///     .with_dotenv("/tmp/project/.env");
/// assert_eq!(paths.global.to_str(), Some("/tmp/home/.config/aio"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigPaths {
    /// The global file: `$AIO_CONFIG_FILE`, else `$XDG_CONFIG_HOME/aio`, else
    /// `~/.config/aio`.
    pub global: PathBuf,
    /// The local file (`./.aio`), if any.
    pub local: Option<PathBuf>,
    /// The `.env` file whose variables form the lowest environment layer.
    pub dotenv: Option<PathBuf>,
}

impl ConfigPaths {
    /// Only a global file.
    pub fn new(global: impl Into<PathBuf>) -> Self {
        ConfigPaths {
            global: global.into(),
            local: None,
            dotenv: None,
        }
    }

    /// Adds a local file.
    pub fn with_local(mut self, local: impl Into<PathBuf>) -> Self {
        self.local = Some(local.into());
        self
    }

    /// Adds a `.env` file.
    pub fn with_dotenv(mut self, dotenv: impl Into<PathBuf>) -> Self {
        self.dotenv = Some(dotenv.into());
        self
    }

    /// Resolves the files as aio does, from environment variables, the home
    /// directory and the working directory: local `cwd/.aio`, `.env`
    /// `cwd/.env`. `AIO_CONFIG_KEY` (say `wxp`) renames the files as in aio
    /// (`~/.config/wxp`, `cwd/.wxp`).
    ///
    /// Unlike aio, the `.env` file cannot choose the global file
    /// (`AIO_CONFIG_FILE`, `XDG_CONFIG_HOME`): it is found from the working
    /// directory, so any checked-out repository may hold one, and the global
    /// file is the trusted one (see [`Origin`](crate::Origin)).
    pub fn resolve(
        env: &BTreeMap<String, String>,
        home: Option<&Path>,
        cwd: &Path,
    ) -> Result<Self, Error> {
        let dotenv = cwd.join(".env");
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let key = super::env_vars::config_key(env);
        let global = if let Some(file) = var("AIO_CONFIG_FILE") {
            file
        } else if let Some(xdg) = var("XDG_CONFIG_HOME") {
            xdg.join(key)
        } else if let Some(home) = home {
            home.join(".config").join(key)
        } else {
            return Err(Error::Misconfigured(
                "cannot locate the global aio config file: set AIO_CONFIG_FILE, XDG_CONFIG_HOME or HOME"
                    .to_owned(),
            ));
        };
        Ok(ConfigPaths::new(global)
            .with_local(cwd.join(format!(".{key}")))
            .with_dotenv(dotenv))
    }

    /// Resolves the files for this process: its environment, `$HOME` and its
    /// working directory.
    pub fn from_process() -> Result<Self, Error> {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let home = env.get("HOME").map(PathBuf::from);
        let cwd = std::env::current_dir()
            .map_err(|err| Error::storage("cannot read the working directory", err))?;
        Self::resolve(&env, home.as_deref(), &cwd)
    }

    /// The file of a location (`None`: no local file configured).
    pub fn file(&self, location: ConfigLocation) -> Option<&Path> {
        match location {
            ConfigLocation::Global => Some(&self.global),
            ConfigLocation::Local => self.local.as_deref(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The directory holding token leases: `.ims-leases` beside the global
    /// file.
    pub fn lease_dir(&self) -> PathBuf {
        match self.global.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(".ims-leases"),
            _ => PathBuf::from(".ims-leases"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn global_file_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        let home = Path::new("/home/u");
        let p = ConfigPaths::resolve(
            &env(&[
                ("AIO_CONFIG_FILE", "/etc/aio.json"),
                ("XDG_CONFIG_HOME", "/x"),
            ]),
            Some(home),
            cwd,
        )
        .unwrap();
        assert_eq!(p.global, Path::new("/etc/aio.json"));
        assert_eq!(p.local.as_deref(), Some(cwd.join(".aio").as_path()));
        let p = ConfigPaths::resolve(&env(&[("XDG_CONFIG_HOME", "/x")]), Some(home), cwd).unwrap();
        assert_eq!(p.global, Path::new("/x/aio"));
        let p = ConfigPaths::resolve(&env(&[]), Some(home), cwd).unwrap();
        assert_eq!(p.global, Path::new("/home/u/.config/aio"));
        assert!(matches!(
            ConfigPaths::resolve(&env(&[]), None, cwd),
            Err(Error::Misconfigured(_))
        ));
        assert_eq!(p.lease_dir(), Path::new("/home/u/.config/.ims-leases"));
    }

    #[test]
    fn aio_config_key_renames_the_files() {
        let cwd = Path::new("/work");
        let home = Path::new("/home/u");
        let p = ConfigPaths::resolve(&env(&[("AIO_CONFIG_KEY", "wxp")]), Some(home), cwd).unwrap();
        assert_eq!(p.global, Path::new("/home/u/.config/wxp"));
        assert_eq!(p.local.as_deref(), Some(Path::new("/work/.wxp")));
        let p = ConfigPaths::resolve(
            &env(&[("AIO_CONFIG_KEY", "wxp"), ("XDG_CONFIG_HOME", "/x")]),
            Some(home),
            cwd,
        )
        .unwrap();
        assert_eq!(p.global, Path::new("/x/wxp"));
        // AIO_CONFIG_FILE still names the global file, as in aio.
        let p = ConfigPaths::resolve(
            &env(&[("AIO_CONFIG_KEY", "wxp"), ("AIO_CONFIG_FILE", "/etc/f")]),
            Some(home),
            cwd,
        )
        .unwrap();
        assert_eq!(p.global, Path::new("/etc/f"));
    }

    /// Issue #14: a `.env` of the working directory naming the global file
    /// would make an attacker's file the trusted one (and `ims context set`
    /// would write the user's secret there).
    #[test]
    fn dotenv_cannot_name_the_global_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "AIO_CONFIG_FILE=/from/dotenv\nXDG_CONFIG_HOME=/from/dotenv-xdg\n",
        )
        .unwrap();
        let p = ConfigPaths::resolve(&env(&[]), Some(Path::new("/home/u")), dir.path()).unwrap();
        assert_eq!(p.global, Path::new("/home/u/.config/aio"));
        assert!(matches!(
            ConfigPaths::resolve(&env(&[]), None, dir.path()),
            Err(Error::Misconfigured(_))
        ));
        let p = ConfigPaths::resolve(&env(&[("AIO_CONFIG_FILE", "/from/env")]), None, dir.path())
            .unwrap();
        assert_eq!(p.global, Path::new("/from/env"));
    }
}
