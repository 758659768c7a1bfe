//! aio's mapping of `AIO_*` environment variables onto configuration keys,
//! and `.env` files.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use super::tree;

/// The configuration key aio uses when `AIO_CONFIG_KEY` is not set: the
/// variables' prefix (`AIO_`) and the files' names (`aio`, `.aio`).
pub(crate) const DEFAULT_CONFIG_KEY: &str = "aio";

/// `AIO_CONFIG_KEY` among `vars` (trimmed, not empty), else `aio`.
pub(crate) fn config_key(vars: &BTreeMap<String, String>) -> &str {
    vars.get("AIO_CONFIG_KEY")
        .map(|key| key.trim())
        .filter(|key| !key.is_empty())
        .unwrap_or(DEFAULT_CONFIG_KEY)
}

/// The dotted key a variable sets, as aio-lib-core-config maps it: the
/// prefix (`<config key>_`, `AIO_` by default) matched ignoring case and
/// stripped, the rest lower-cased, each `_` that has no `_` beside it → `.`,
/// then `__` → `_`. `None` for other variables.
///
/// `AIO_IMS_CONTEXTS_MYCTX_CLIENT__ID` → `ims.contexts.myctx.client_id`.
pub(crate) fn key_for_variable(name: &str, config_key: &str) -> Option<String> {
    let split = config_key.len() + 1;
    if !name.is_char_boundary(split)
        || !name
            .get(..config_key.len())?
            .eq_ignore_ascii_case(config_key)
        || name.get(config_key.len()..split)? != "_"
    {
        return None;
    }
    let rest = name.get(split..)?;
    if rest.is_empty() {
        return None;
    }
    let lower: Vec<char> = rest.to_lowercase().chars().collect();
    let mut dotted = String::with_capacity(lower.len());
    for (i, c) in lower.iter().enumerate() {
        let lone = *c == '_'
            && (i == 0 || lower.get(i - 1) != Some(&'_'))
            && lower.get(i + 1) != Some(&'_');
        dotted.push(if lone { '.' } else { *c });
    }
    Some(dotted.replace("__", "_"))
}

/// A variable's value: a string, as aio keeps it. Lists (`scopes`,
/// `meta_scopes`, `client_secrets`, a `private_key`'s lines) are
/// JSON-parsed where a context is read, as aio's plugins do.
pub(crate) fn parse_value(raw: &str) -> Value {
    Value::String(raw.to_owned())
}

/// The configuration tree the variables among `vars` with the prefix of
/// `config_key` describe.
pub(crate) fn layer<'a>(
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    config_key: &str,
) -> Value {
    let mut root = Value::Object(Map::new());
    for (name, raw) in vars {
        let Some(key) = key_for_variable(name, config_key) else {
            continue;
        };
        let parts: Vec<&str> = key.split('.').collect();
        let Some((last, parents)) = parts.split_last() else {
            continue;
        };
        if last.is_empty() || parents.iter().any(|p| p.is_empty()) {
            continue;
        }
        let parent = tree::object_at_mut(&mut root, parents);
        tree::insert_ci(parent, last, parse_value(raw));
    }
    root
}

/// The variables of a `.env` file; a missing file has none. A file that is
/// no regular file or is too large is refused before it is opened.
pub(crate) fn read_dotenv(path: &Path) -> Result<BTreeMap<String, String>, ims_api::Error> {
    if !super::file::check_readable(path)? {
        return Ok(BTreeMap::new());
    }
    read_dotenv_vars(path).map_err(|err| {
        // dotenvy's own message quotes the line, which may hold a secret.
        let why = match err {
            dotenvy::Error::LineParse(_, index) => {
                format!("a line does not parse (at its character {index})")
            }
            dotenvy::Error::Io(err) => err.to_string(),
            _ => "it is not a .env file".to_owned(),
        };
        ims_api::Error::Misconfigured(format!("cannot read {}: {why}", path.display()))
    })
}

fn read_dotenv_vars(path: &Path) -> Result<BTreeMap<String, String>, dotenvy::Error> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(err)) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(BTreeMap::new());
        }
        Err(err) => return Err(err),
    };
    let mut vars = BTreeMap::new();
    for item in iter {
        let (key, value) = item?;
        vars.insert(key, value);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variable_names_map_like_aio() {
        let table = [
            (
                "AIO_IMS_CONTEXTS_MYCTX_CLIENT__ID",
                Some("ims.contexts.myctx.client_id"),
            ),
            ("AIO_IMS_CONFIG_CURRENT", Some("ims.config.current")),
            ("AIO_CLI_ENV", Some("cli.env")),
            (
                "AIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS",
                Some("ims.contexts.svc.client_secrets"),
            ),
            (
                "AIO_IMS_CONTEXTS_My__Ctx_META__SCOPES",
                Some("ims.contexts.my_ctx.meta_scopes"),
            ),
            ("AIO_A", Some("a")),
            ("AIO_", None),
            // The prefix matches ignoring case, as aio's /^AIO_(.+)/i.
            ("aio_ims_config_current", Some("ims.config.current")),
            ("Aio_Cli_Env", Some("cli.env")),
            // Three underscores: none is alone, so no dot; `__` → `_`.
            ("AIO_A___B", Some("a__b")),
            ("HOME", None),
            ("XAIO_IMS", None),
            ("AIOX_IMS", None),
        ];
        for (name, expected) in table {
            assert_eq!(key_for_variable(name, "aio").as_deref(), expected, "{name}");
        }
        // AIO_CONFIG_KEY renames the prefix; AIO_ variables then set nothing.
        assert_eq!(
            key_for_variable("WXP_IMS_CONFIG_CURRENT", "wxp").as_deref(),
            Some("ims.config.current")
        );
        assert_eq!(key_for_variable("AIO_IMS_CONFIG_CURRENT", "wxp"), None);
        assert_eq!(key_for_variable("é", "aio"), None);
        let vars: BTreeMap<String, String> = [("AIO_CONFIG_KEY".to_owned(), " wxp ".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(config_key(&vars), "wxp");
        assert_eq!(config_key(&BTreeMap::new()), "aio");
    }

    #[test]
    fn values_stay_strings() {
        for raw in [r#"["a","b"]"#, "42", "true", r#"{"x":1}"#, "plain text"] {
            assert_eq!(parse_value(raw), json!(raw), "{raw}");
        }
    }

    #[test]
    fn layer_builds_a_tree() {
        let vars = [
            ("AIO_IMS_CONTEXTS_SVC_CLIENT__ID", "abc"),
            ("AIO_IMS_CONTEXTS_SVC_SCOPES", r#"["openid","AdobeID"]"#),
            ("PATH", "/bin"),
        ];
        let tree = layer(vars, "aio");
        assert_eq!(
            tree,
            json!({"ims": {"contexts": {"svc": {
                "client_id": "abc",
                "scopes": r#"["openid","AdobeID"]"#
            }}}})
        );
    }

    /// dotenvy's parse error quotes the whole line, which may hold a
    /// secret: the error names the file and where, never the text.
    #[test]
    fn a_broken_dotenv_line_is_not_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "AIO_OK=1\nAIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS='p8-s3cr3t-value\n",
        )
        .unwrap();
        let err = read_dotenv(&path).unwrap_err().to_string();
        assert!(err.contains(".env"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn dotenv_files_are_read_without_touching_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nAIO_IMS_CONTEXTS_DOT_CLIENT__ID=from-dotenv\nOTHER='x y'\n",
        )
        .unwrap();
        let vars = read_dotenv(&path).unwrap();
        assert_eq!(vars["AIO_IMS_CONTEXTS_DOT_CLIENT__ID"], "from-dotenv");
        assert_eq!(vars["OTHER"], "x y");
        assert!(std::env::var("AIO_IMS_CONTEXTS_DOT_CLIENT__ID").is_err());
        assert!(read_dotenv(&dir.path().join("missing")).unwrap().is_empty());
    }
}
