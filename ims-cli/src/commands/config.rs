//! `ims config get|set|list|delete`: aio's `config` commands, on the same
//! files with the same dotted keys and the same precedence (environment >
//! `./.aio` > global file). Keys match ignoring case, as aio's do; secrets
//! are masked unless asked for.

use std::io::{BufRead as _, IsTerminal as _};

use ims_api::ConfigLocation;
use ims_core::AioConfig;
use serde_json::{Map, Value, json};

use crate::cli::{ConfigCommand, ConfigFile};
use crate::exit::CliError;
use crate::mask::{masked, masked_at};
use crate::output::Output;

pub(crate) fn run(config: &AioConfig, out: Output, command: ConfigCommand) -> Result<(), CliError> {
    match command {
        ConfigCommand::Get {
            key,
            file,
            show_secrets,
        } => get(config, out, &key, &file, show_secrets),
        ConfigCommand::Set { key, value, local } => set(config, out, &key, value, local),
        ConfigCommand::List { file, show_secrets } => list(config, out, &file, show_secrets),
        ConfigCommand::Delete { keys, local } => delete(config, out, &keys, local),
    }
}

/// The segments of a dotted key; every one non-empty.
fn parse_key(key: &str) -> Result<Vec<String>, CliError> {
    let segments: Vec<String> = key.split('.').map(|s| s.trim().to_owned()).collect();
    if key.trim().is_empty() || segments.iter().any(String::is_empty) {
        return Err(CliError::Usage(format!(
            "\"{}\" is not a dotted key (like cli.env or ims.contexts.NAME.client_id)",
            printable(key)
        )));
    }
    Ok(segments)
}

/// Segments a key written by `set` may not have: aio reads these files in
/// Node, where its own dotted `config set` walks them into the object
/// prototype (and so refuses them, as `dot-prop` does).
const PROTOTYPE_KEYS: &[&str] = &["__proto__", "constructor", "prototype"];

/// The segments of a dotted key that `set` may write.
fn settable_key(key: &str) -> Result<Vec<String>, CliError> {
    let segments = parse_key(key)?;
    if let Some(bad) = segments
        .iter()
        .find(|s| PROTOTYPE_KEYS.iter().any(|p| s.eq_ignore_ascii_case(p)))
    {
        return Err(CliError::Usage(format!(
            "\"{}\" cannot be set: its segment {} names a JavaScript prototype, which aio's tools would walk into",
            printable(key),
            printable(bad)
        )));
    }
    Ok(segments)
}

/// A key as it may be echoed: no control characters, at most 200 of them.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// The tree of the layer(s) asked for.
fn read(config: &AioConfig, file: &ConfigFile) -> Result<Value, CliError> {
    Ok(if file.local {
        config.read_file(ConfigLocation::Local)?
    } else if file.global {
        config.read_file(ConfigLocation::Global)?
    } else {
        config.read_merged()?
    })
}

fn get(
    config: &AioConfig,
    out: Output,
    key: &str,
    file: &ConfigFile,
    show_secrets: bool,
) -> Result<(), CliError> {
    let path = parse_key(key)?;
    let tree = read(config, file)?;
    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
    let Some(value) = find_path(&tree, &segments).cloned() else {
        // As aio: nothing on stdout, success.
        if out.is_json() {
            out.json(&Value::Null);
        } else {
            out.note(&format!("{} is not set", printable(key)));
        }
        return Ok(());
    };
    let value = if show_secrets {
        value
    } else {
        masked_at(&segments, value)
    };
    match (&value, out.is_json()) {
        // A string as is, for `$(ims config get cli.env)`, unless it holds
        // control characters (a hostile `./.aio` writing to the terminal):
        // then JSON-escaped.
        (Value::String(text), false) if !text.chars().any(char::is_control) => out.line(text),
        _ => out.json(&value),
    }
    Ok(())
}

fn list(
    config: &AioConfig,
    out: Output,
    file: &ConfigFile,
    show_secrets: bool,
) -> Result<(), CliError> {
    let tree = read(config, file)?;
    out.json(&if show_secrets { tree } else { masked(tree) });
    Ok(())
}

fn location(local: bool) -> ConfigLocation {
    if local {
        ConfigLocation::Local
    } else {
        ConfigLocation::Global
    }
}

fn file_name(config: &AioConfig, location: ConfigLocation) -> String {
    config
        .paths()
        .file(location)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn set(
    config: &AioConfig,
    out: Output,
    key: &str,
    value: Option<String>,
    local: bool,
) -> Result<(), CliError> {
    let (key, raw) = match value {
        Some(value) => (key.to_owned(), value),
        None => match key.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.to_owned(), v.to_owned()),
            _ => (key.to_owned(), value_from_stdin()?),
        },
    };
    let path = settable_key(&key)?;
    if raw.is_empty() {
        return Err(CliError::Usage(format!(
            "no value for {}; to remove the key use `ims config delete {0}`",
            printable(&key)
        )));
    }
    // As aio's `config set --json`: the value is JSON. (The value is never
    // echoed: it may be a secret.)
    let value = if out.is_json() {
        serde_json::from_str(&raw).map_err(|err| {
            CliError::Usage(format!(
                "with --json the value must be JSON (line {}, column {}: {})",
                err.line(),
                err.column(),
                match err.classify() {
                    serde_json::error::Category::Eof => "unexpected end",
                    serde_json::error::Category::Syntax => "syntax error",
                    _ => "not JSON",
                }
            ))
        })?
    } else {
        Value::String(raw)
    };
    let location = location(local);
    let written = value.clone();
    config.update(location, move |tree| {
        set_path(tree, &path, written);
        Ok(())
    })?;
    let file = file_name(config, location);
    warn_if_overridden(config, out, &key, Some(&value))?;
    out.result(
        &format!("{} set in {file}", printable(&key)),
        &json!({"key": key, "file": file}),
    );
    Ok(())
}

/// The first line of stdin, when it is not a terminal.
fn value_from_stdin() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no VALUE: give it after the key, as KEY=VALUE, or on stdin".to_owned(),
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| CliError::Io(format!("cannot read the value from stdin: {err}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn delete(config: &AioConfig, out: Output, keys: &[String], local: bool) -> Result<(), CliError> {
    let paths = keys
        .iter()
        .map(|k| parse_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let location = location(local);
    let file = file_name(config, location);
    let removed = config.update(location, |tree| {
        Ok(paths
            .iter()
            .map(|path| remove_path(tree, path))
            .collect::<Vec<bool>>())
    })?;
    let mut deleted = Vec::new();
    let mut absent = Vec::new();
    for (key, removed) in keys.iter().zip(removed) {
        if removed {
            deleted.push(key.clone());
        } else {
            absent.push(key.clone());
            out.note(&format!("{} is not set in {file}", printable(key)));
        }
        warn_if_overridden(config, out, key, None)?;
    }
    let human = if deleted.is_empty() {
        format!("nothing deleted from {file}")
    } else {
        let shown: Vec<String> = deleted.iter().map(|k| printable(k)).collect();
        format!("{} deleted from {file}", shown.join(", "))
    };
    out.result(
        &human,
        &json!({"deleted": deleted, "not_found": absent, "file": file}),
    );
    Ok(())
}

/// Warns when the value the files and environment now give for `key` is not
/// the one just written (`None`: just deleted): another layer wins.
fn warn_if_overridden(
    config: &AioConfig,
    out: Output,
    key: &str,
    written: Option<&Value>,
) -> Result<(), CliError> {
    let merged = config.read_merged_with_origins()?;
    let segments: Vec<&str> = key.split('.').map(str::trim).collect();
    let effective = find_path(merged.value(), &segments);
    if effective == written {
        return Ok(());
    }
    let Some(_) = effective else {
        return Ok(());
    };
    let source = merged
        .origin(key)
        .map(|o| o.to_string())
        .unwrap_or_else(|| "another file or the environment".to_owned());
    out.warn(&format!(
        "{} is still set by {source}, which wins (environment > ./.aio > global file)",
        printable(key)
    ));
    Ok(())
}

/// A case-insensitive lookup of a dotted path (an exact spelling wins).
fn find_path<'a>(tree: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(tree, |node, key| {
        let map = node.as_object()?;
        map.get(*key).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    })
}

/// The spelling of `key` already in `map`, if any (ignoring case).
fn existing_key(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Sets `path` to `value`, keeping the spelling of existing keys; what is
/// on the way and not an object becomes one (as aio's `config set` does).
fn set_path(tree: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *tree = value;
        return;
    };
    let mut node = tree;
    for key in parents {
        let map = as_object(node);
        let key = existing_key(map, key).unwrap_or_else(|| key.clone());
        node = map.entry(key).or_insert(Value::Null);
    }
    let map = as_object(node);
    let key = existing_key(map, last).unwrap_or_else(|| last.clone());
    map.insert(key, value);
}

fn as_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        // Made an object just above.
        _ => unreachable!("value was just made an object"),
    }
}

/// Removes `path` (every spelling of its last key), then the objects on the
/// way that it left empty, as aio's files never keep empty objects; whether
/// anything was removed.
fn remove_path(tree: &mut Value, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let Some(map) = tree.as_object_mut() else {
        return false;
    };
    if rest.is_empty() {
        let spellings: Vec<String> = map
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(first))
            .cloned()
            .collect();
        for k in &spellings {
            map.remove(k);
        }
        return !spellings.is_empty();
    }
    let Some(key) = existing_key(map, first) else {
        return false;
    };
    let Some(child) = map.get_mut(&key) else {
        return false;
    };
    let removed = remove_path(child, rest);
    if removed && child.as_object().is_some_and(Map::is_empty) {
        map.remove(&key);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Vec<String> {
        parse_key(k).unwrap()
    }

    #[test]
    fn keys_are_dotted_and_whole() {
        assert_eq!(key("ims.contexts.svc"), ["ims", "contexts", "svc"]);
        for bad in ["", " ", ".", "a..b", "a.", ".a"] {
            assert!(matches!(parse_key(bad), Err(CliError::Usage(_))), "{bad:?}");
        }
        let err = parse_key("a..\u{1b}[2J").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "{err:?}");
    }

    #[test]
    fn set_refuses_keys_that_reach_a_javascript_prototype() {
        // aio reads these files in Node: its own `config set` would walk
        // `__proto__` into Object.prototype. ims writes no such key.
        for bad in [
            "__proto__.polluted",
            "ims.__PROTO__.x",
            "cli.constructor.prototype.x",
            "ims.contexts.prototype",
        ] {
            assert!(
                matches!(settable_key(bad), Err(CliError::Usage(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            settable_key("ims.contexts.my_proto").unwrap(),
            ["ims", "contexts", "my_proto"]
        );
    }

    #[test]
    fn set_keeps_spellings_and_replaces_scalars_on_the_way() {
        let mut tree = json!({"IMS": {"Contexts": {"svc": {"client_id": "c"}}}, "cli": "x"});
        set_path(
            &mut tree,
            &key("ims.contexts.svc.scopes"),
            json!(["openid"]),
        );
        set_path(&mut tree, &key("cli.env"), json!("stage"));
        assert_eq!(
            tree,
            json!({"IMS": {"Contexts": {"svc": {"client_id": "c", "scopes": ["openid"]}}}, "cli": {"env": "stage"}})
        );
    }

    #[test]
    fn delete_removes_every_spelling_and_empty_parents() {
        let mut tree =
            json!({"cli": {"Env": "a", "env": "b"}, "ims": {"contexts": {"a": {"x": 1}, "b": 2}}});
        assert!(remove_path(&mut tree, &key("cli.env")));
        assert!(remove_path(&mut tree, &key("IMS.contexts.A.x")));
        assert!(!remove_path(&mut tree, &key("ims.contexts.nope")));
        assert!(!remove_path(&mut tree, &key("ims.contexts.b.deeper")));
        assert_eq!(tree, json!({"ims": {"contexts": {"b": 2}}}));
    }
}
