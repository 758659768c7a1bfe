//! Completion of context names for the shells (`COMPLETE=bash ims`), read
//! from aio's files each time the shell asks.

use clap_complete::engine::CompletionCandidate;
use ims_api::ContextName;
use ims_core::{AioConfig, ConfigPaths};
use serde_json::Value;

/// The names of the configured contexts (every layer: global file, `./.aio`,
/// `AIO_IMS_CONTEXTS_*`), the current one described as such. A completion
/// never fails: configuration that cannot be read offers nothing.
pub(crate) fn context_names() -> Vec<CompletionCandidate> {
    let Ok(paths) = ConfigPaths::from_process() else {
        return Vec::new();
    };
    candidates(&AioConfig::new(paths))
}

/// The candidates `config` offers.
pub(crate) fn candidates(config: &AioConfig) -> Vec<CompletionCandidate> {
    let Ok(merged) = config.read_merged() else {
        return Vec::new();
    };
    let current = merged
        .get("ims")
        .and_then(|ims| find_ci(ims, "config"))
        .and_then(|c| find_ci(c, "current"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(contexts) = merged
        .get("ims")
        .and_then(|ims| find_ci(ims, "contexts"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = contexts
        .keys()
        // A name that is not a valid context name (control characters, a
        // hostile `.aio`) is never offered to the shell.
        .filter_map(|key| ContextName::parse(key).ok())
        .map(|name| name.as_str().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let is_current = current
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(&name));
            let candidate = CompletionCandidate::new(name);
            if is_current {
                candidate.help(Some("the current context".into()))
            } else {
                candidate
            }
        })
        .collect()
}

fn find_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_valid_names_of_every_layer_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let global = dir.path().join("aio");
        let local = dir.path().join(".aio");
        std::fs::write(
            &global,
            r#"{"ims": {"contexts": {"svc": {}, "bad name\u001b[2J": {}}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            &local,
            r#"{"IMS": {"Contexts": {"web": {}}, "config": {"current": "svc"}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let config = AioConfig::with_env(
            ConfigPaths::new(&global).with_local(&local),
            [("AIO_IMS_CONTEXTS_FROMENV_CLIENT__ID", "c")],
        );
        let got = candidates(&config);
        let names: Vec<String> = got
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["fromenv", "svc", "web"]);
        assert!(got[1].get_help().is_some());
        assert!(got[0].get_help().is_none());
    }
}
