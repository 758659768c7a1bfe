//! [`FileTokenCache`]: tokens in aio's files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{Clock, ConfigLocation, ContextName, ContextTokens, Error, SystemClock, TokenCache};
use serde_json::{Map, Value};

use super::{lease, parse_token, token_json};
use crate::aio_config::{AioConfig, tree};
use crate::contexts::trust::ContextTrust;
use crate::contexts::{blocking, defining_location};

/// Tokens stored as aio stores them: `access_token` and `refresh_token` as
/// `{"token": "...", "expiry": <ms since epoch>}` inside `ims.contexts.<name>`
/// of the file (local or global) that defines the context, so the aio CLI and
/// this crate share them.
///
/// A context that a trusted source (the global file, the process
/// environment) defines, even partly, keeps its tokens in the global file
/// and loads them from the trusted sources only: the working directory's
/// `.aio` and `.env` can neither plant a token into it nor receive its
/// tokens (see [`Origin`](crate::Origin)).
///
/// Leases are files in [`ConfigPaths::lease_dir`](crate::ConfigPaths::lease_dir)
/// (`.ims-leases` beside the global file), taken under a cross-process lock:
/// processes on one machine make one IMS call per context.
///
/// ```
/// use ims_core::{AioConfig, ConfigPaths, FileTokenCache};
///
/// let dir = tempfile::tempdir()?;
/// let config = AioConfig::with_env(ConfigPaths::new(dir.path().join("aio")), Vec::<(String, String)>::new());
/// let cache = FileTokenCache::new(config);
/// assert!(format!("{cache:?}").contains("FileTokenCache"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct FileTokenCache {
    config: AioConfig,
    lease_dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FileTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTokenCache")
            .field("config", &self.config)
            .field("lease_dir", &self.lease_dir)
            .finish_non_exhaustive()
    }
}

impl FileTokenCache {
    /// Tokens in the files of `config`; leases beside its global file; the
    /// system clock.
    pub fn new(config: AioConfig) -> Self {
        let lease_dir = config.paths().lease_dir();
        FileTokenCache {
            config,
            lease_dir,
            clock: Arc::new(SystemClock),
        }
    }

    /// Leases expire by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps leases in `dir`.
    pub fn with_lease_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.lease_dir = dir.into();
        self
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => tree::insert_ci(map, key, value),
        None => {
            tree::remove_ci(map, key);
        }
    }
}

#[async_trait]
impl TokenCache for FileTokenCache {
    async fn load(&self, context: &ContextName) -> Result<ContextTokens, Error> {
        let config = self.config.clone();
        let name = context.clone();
        blocking(move || {
            let merged = config.read_merged_with_origins()?;
            // The tokens of a context a trusted source defines come from the
            // trusted sources only: a file of the working directory cannot
            // plant its own.
            let trusted = if ContextTrust::of(&merged, &name).trusted {
                Some(config.read_trusted()?)
            } else {
                None
            };
            let tree = trusted.as_ref().unwrap_or(&merged).value();
            let Some(props) = tree::get_path(tree, &["ims", "contexts", name.as_str()])
                .and_then(Value::as_object)
            else {
                return Ok(ContextTokens::default());
            };
            Ok(ContextTokens {
                access_token: parse_token(tree::get_ci(props, "access_token")),
                refresh_token: parse_token(tree::get_ci(props, "refresh_token")),
            })
        })
        .await
    }

    async fn store(&self, context: &ContextName, tokens: &ContextTokens) -> Result<(), Error> {
        let config = self.config.clone();
        let name = context.clone();
        let access = tokens
            .access_token
            .as_ref()
            .map(|t| token_json(t.token.expose_secret(), t.expires_at));
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| token_json(t.token.expose_secret(), t.expires_at));
        blocking(move || {
            // The file that defines the context; the global one for contexts
            // defined only by environment variables, and for every context a
            // trusted source defines, even when the local file mentions it.
            let merged = config.read_merged_with_origins()?;
            let location = if ContextTrust::of(&merged, &name).trusted {
                ConfigLocation::Global
            } else {
                defining_location(&config, &name)?.unwrap_or(ConfigLocation::Global)
            };
            config.update(location, |tree| {
                let props = tree::object_at_mut(tree, &["ims", "contexts", name.as_str()]);
                set_or_remove(props, "access_token", access);
                set_or_remove(props, "refresh_token", refresh);
                Ok(())
            })
        })
        .await
    }

    async fn clear(&self, context: &ContextName) -> Result<(), Error> {
        let config = self.config.clone();
        let name = context.clone();
        blocking(move || {
            let mut locations = vec![ConfigLocation::Global];
            if config.paths().local.is_some() {
                locations.push(ConfigLocation::Local);
            }
            for location in locations {
                config.update(location, |tree| {
                    if let Some(props) =
                        tree::existing_object_mut(tree, &["ims", "contexts", name.as_str()])
                    {
                        tree::remove_ci(props, "access_token");
                        tree::remove_ci(props, "refresh_token");
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })
        .await
    }

    async fn try_lease(
        &self,
        context: &ContextName,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        let expires_at =
            now.saturating_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX));
        let dir = self.lease_dir.clone();
        let name = context.clone();
        let holder = holder.to_owned();
        blocking(move || lease::try_lease(&dir, &name, &holder, expires_at, now)).await
    }

    async fn release_lease(&self, context: &ContextName, holder: &str) -> Result<(), Error> {
        let dir = self.lease_dir.clone();
        let name = context.clone();
        let holder = holder.to_owned();
        blocking(move || lease::release(&dir, &name, &holder)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aio_config::ConfigPaths;
    use ims_api::{AccessToken, ExpiringToken, ManualClock, RefreshToken, to_unix_millis};
    use serde_json::json;
    use time::macros::datetime;

    fn setup() -> (tempfile::TempDir, AioConfig) {
        let dir = tempfile::tempdir().unwrap();
        let paths = ConfigPaths::new(dir.path().join("config").join("aio"))
            .with_local(dir.path().join("project").join(".aio"));
        let config = AioConfig::with_env(paths, Vec::<(String, String)>::new());
        (dir, config)
    }

    fn tokens() -> ContextTokens {
        ContextTokens {
            access_token: Some(ExpiringToken::new(
                AccessToken::new("at-value"),
                datetime!(2030-01-01 0:00 UTC),
            )),
            refresh_token: Some(ExpiringToken::new(
                RefreshToken::new("rt-value"),
                datetime!(2030-02-01 0:00 UTC),
            )),
        }
    }

    #[tokio::test]
    async fn tokens_go_to_the_file_that_defines_the_context() {
        let (dir, config) = setup();
        let ctx = ContextName::parse("loc").unwrap();
        config
            .update(ConfigLocation::Local, |tree| {
                tree::object_at_mut(tree, &["ims", "contexts", "loc"])
                    .insert("client_id".into(), json!("c"));
                Ok(())
            })
            .unwrap();
        let cache = FileTokenCache::new(config.clone());
        cache.store(&ctx, &tokens()).await.unwrap();
        let local: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("project/.aio")).unwrap(),
        )
        .unwrap();
        let stored = &local["ims"]["contexts"]["loc"];
        assert_eq!(stored["client_id"], json!("c"));
        assert_eq!(stored["access_token"]["token"], json!("at-value"));
        assert_eq!(
            stored["access_token"]["expiry"],
            json!(to_unix_millis(datetime!(2030-01-01 0:00 UTC)))
        );
        assert!(!dir.path().join("config/aio").exists());

        let loaded = cache.load(&ctx).await.unwrap();
        assert_eq!(
            loaded.access_token.unwrap().token.expose_secret(),
            "at-value"
        );
        assert_eq!(
            loaded.refresh_token.unwrap().token.expose_secret(),
            "rt-value"
        );

        // Storing without an access token removes it, keeping the refresh token.
        let mut fewer = tokens();
        fewer.access_token = None;
        cache.store(&ctx, &fewer).await.unwrap();
        let loaded = cache.load(&ctx).await.unwrap();
        assert!(loaded.access_token.is_none());
        assert!(loaded.refresh_token.is_some());

        cache.clear(&ctx).await.unwrap();
        let loaded = cache.load(&ctx).await.unwrap();
        assert!(loaded.access_token.is_none() && loaded.refresh_token.is_none());
        // The context itself stays.
        assert_eq!(
            config.get("ims.contexts.loc.client_id").unwrap(),
            Some(json!("c"))
        );
    }

    #[tokio::test]
    async fn undefined_contexts_store_in_the_global_file_and_debug_is_redacted() {
        let (dir, config) = setup();
        let cache = FileTokenCache::new(config);
        let ctx = ContextName::parse("envonly").unwrap();
        cache.store(&ctx, &tokens()).await.unwrap();
        assert!(dir.path().join("config/aio").exists());
        let shown = format!("{cache:?}");
        assert!(!shown.contains("at-value"), "{shown}");
    }

    /// Issue #14: a `.aio` of the working directory must not plant tokens
    /// into a context the user defined (`ims token get` would print the
    /// attacker's token), nor receive the user's tokens (a project file may
    /// be committed).
    #[tokio::test]
    async fn a_local_file_cannot_plant_or_receive_a_global_contexts_tokens() {
        let (dir, config) = setup();
        let ctx = ContextName::parse("svc").unwrap();
        config
            .update(ConfigLocation::Global, |tree| {
                tree::object_at_mut(tree, &["ims", "contexts", "svc"])
                    .insert("client_id".into(), json!("c"));
                Ok(())
            })
            .unwrap();
        let planted = json!({"token": "attacker-token", "expiry": to_unix_millis(datetime!(2099-01-01 0:00 UTC))});
        for text in [
            json!({"ims": {"contexts": {"svc": {"access_token": planted, "refresh_token": planted}}}}),
            json!({"IMS": {"contexts": {"SVC": {"Access_Token": planted}}}}),
        ] {
            std::fs::create_dir_all(dir.path().join("project")).unwrap();
            std::fs::write(dir.path().join("project/.aio"), text.to_string()).unwrap();
            let cache = FileTokenCache::new(config.clone());
            let loaded = cache.load(&ctx).await.unwrap();
            assert!(loaded.access_token.is_none(), "{text}");
            assert!(loaded.refresh_token.is_none(), "{text}");
        }
        // The .env file is no better.
        std::fs::remove_file(dir.path().join("project/.aio")).unwrap();
        let paths = config
            .paths()
            .clone()
            .with_dotenv(dir.path().join("project/.env"));
        std::fs::write(
            dir.path().join("project/.env"),
            format!("AIO_IMS_CONTEXTS_SVC_ACCESS__TOKEN={planted}\n"),
        )
        .unwrap();
        let dotenv_config = AioConfig::with_env(paths, Vec::<(String, String)>::new());
        let cache = FileTokenCache::new(dotenv_config);
        assert!(cache.load(&ctx).await.unwrap().access_token.is_none());

        // Tokens the user's context gets go to the global file, even when the
        // local file mentions the context; and they load from there.
        std::fs::write(
            dir.path().join("project/.aio"),
            json!({"ims": {"contexts": {"svc": {"scopes": ["openid"]}}}}).to_string(),
        )
        .unwrap();
        let cache = FileTokenCache::new(config.clone());
        cache.store(&ctx, &tokens()).await.unwrap();
        let local = std::fs::read_to_string(dir.path().join("project/.aio")).unwrap();
        assert!(!local.contains("at-value"), "{local}");
        let loaded = cache.load(&ctx).await.unwrap();
        assert_eq!(
            loaded.access_token.unwrap().token.expose_secret(),
            "at-value"
        );
    }

    #[tokio::test]
    async fn file_leases_exclude_others_until_released_or_stale() {
        let (_dir, config) = setup();
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
        let a = FileTokenCache::new(config.clone()).with_clock(clock.clone());
        let b = FileTokenCache::new(config).with_clock(clock.clone());
        let ctx = ContextName::parse("svc").unwrap();
        let ttl = Duration::from_secs(30);
        assert!(a.try_lease(&ctx, "a", ttl).await.unwrap());
        assert!(!b.try_lease(&ctx, "b", ttl).await.unwrap());
        b.release_lease(&ctx, "b").await.unwrap();
        assert!(!b.try_lease(&ctx, "b", ttl).await.unwrap());
        a.release_lease(&ctx, "a").await.unwrap();
        assert!(b.try_lease(&ctx, "b", ttl).await.unwrap());
        // b crashes without releasing: a takes over once the ttl has passed.
        clock.advance(Duration::from_secs(29));
        assert!(!a.try_lease(&ctx, "a", ttl).await.unwrap());
        clock.advance(Duration::from_secs(2));
        assert!(a.try_lease(&ctx, "a", ttl).await.unwrap());
    }
}
