//! aio's mapping of `AIO_*` environment variables onto configuration keys,
//! and `.env` files.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use super::tree;

/// The dotted key an `AIO_*` variable sets, as aio maps it: strip `AIO_`,
/// lower-case, `__` → `_`, `_` → `.`. `None` for other variables.
///
/// `AIO_IMS_CONTEXTS_MYCTX_CLIENT__ID` → `ims.contexts.myctx.client_id`.
pub(crate) fn key_for_variable(name: &str) -> Option<String> {
    let rest = name.strip_prefix("AIO_")?;
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    let key = lower
        .split("__")
        .map(|part| part.replace('_', "."))
        .collect::<Vec<_>>()
        .join("_");
    Some(key)
}

/// A variable's value, JSON-parsed one level (`'["a","b"]'` is an array,
/// `'3'` a number), else the string itself.
pub(crate) fn parse_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// The configuration tree the `AIO_*` variables among `vars` describe.
pub(crate) fn layer<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (name, raw) in vars {
        let Some(key) = key_for_variable(name) else {
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
            ("aio_ims_config_current", None),
            ("HOME", None),
            ("XAIO_IMS", None),
        ];
        for (name, expected) in table {
            assert_eq!(key_for_variable(name).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn values_are_json_parsed_one_level() {
        assert_eq!(parse_value(r#"["a","b"]"#), json!(["a", "b"]));
        assert_eq!(parse_value("42"), json!(42));
        assert_eq!(parse_value("true"), json!(true));
        assert_eq!(parse_value(r#"{"x":1}"#), json!({"x": 1}));
        assert_eq!(parse_value("plain text"), json!("plain text"));
        assert_eq!(parse_value(r#""quoted""#), json!("quoted"));
        // One level only: a JSON string holding JSON stays a string.
        assert_eq!(parse_value(r#""[\"a\"]""#), json!("[\"a\"]"));
        assert_eq!(parse_value("[broken"), json!("[broken"));
    }

    #[test]
    fn layer_builds_a_tree() {
        let vars = [
            ("AIO_IMS_CONTEXTS_SVC_CLIENT__ID", "abc"),
            ("AIO_IMS_CONTEXTS_SVC_SCOPES", r#"["openid","AdobeID"]"#),
            ("PATH", "/bin"),
        ];
        let tree = layer(vars);
        assert_eq!(
            tree,
            json!({"ims": {"contexts": {"svc": {
                "client_id": "abc",
                "scopes": ["openid", "AdobeID"]
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
