//! Reading aio configuration files (JSON or HJSON) and replacing them
//! atomically.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use ims_api::Error;
use serde_json::{Map, Value};

use super::yaml::Format;

/// Parses a configuration file's text: JSON, else HJSON (comments, unquoted
/// keys and strings). An empty file is an empty object.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if super::yaml::is_yaml(text) {
        return super::yaml::parse(text, path);
    }
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(_) if nesting_depth(text) > MAX_DEPTH => {
            return Err(Error::Misconfigured(format!(
                "the aio config file {} is nested more than {MAX_DEPTH} levels deep; fix or remove it",
                path.display()
            )));
        }
        // The error says where and why, never the text (secrets).
        Err(_) => super::hjson::parse(text).map_err(|err| {
            Error::Misconfigured(format!(
                "the aio config file {} is neither JSON nor HJSON ({err}); fix or remove it",
                path.display()
            ))
        })?,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::Misconfigured(format!(
            "the aio config file {} does not hold an object of keys; fix or remove it",
            path.display()
        )))
    }
}

/// The largest configuration file read, in bytes: aio's files are a few KB
/// (tens with many inline keys); anything larger is refused unread.
pub(crate) const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// Deeper files are refused before the HJSON reader (which has the same
/// limit) with a message that says so. serde_json stops at 128.
const MAX_DEPTH: usize = super::hjson::MAX_DEPTH;

/// An upper bound of the nesting depth: brackets inside strings count too,
/// which only matters for files no one writes by hand.
fn nesting_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0;
    for byte in text.bytes() {
        match byte {
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Refuses, before it is opened, a file that is not a regular file (a FIFO
/// would block the read, a device such as `/dev/zero` never end) or that is
/// larger than [`MAX_FILE_BYTES`]. `Ok(false)`: there is no file.
pub(crate) fn check_readable(path: &Path) -> Result<bool, Error> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => {
            return Err(Error::storage(
                format!("cannot read the aio config file {}", path.display()),
                err,
            ));
        }
    };
    if !metadata.is_file() {
        return Err(Error::Misconfigured(format!(
            "{} is not a regular file; remove it or replace it with an aio config file",
            path.display()
        )));
    }
    if metadata.len() > u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX) {
        return Err(Error::Misconfigured(format!(
            "{} is larger than {MAX_FILE_BYTES} bytes, more than any aio config file; fix or remove it",
            path.display()
        )));
    }
    Ok(true)
}

/// The file's bytes, at most [`MAX_FILE_BYTES`] of them (a file that grew
/// past the limit since [`check_readable`] is refused too).
fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// The file's tree; `None` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<Value>, Error> {
    read_text(path)?.map(|text| parse(&text, path)).transpose()
}

/// The file's text; `None` if it does not exist.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, Error> {
    if !check_readable(path)? {
        return Ok(None);
    }
    match read_capped(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::Misconfigured(format!(
                    "the aio config file {} is not UTF-8 text; fix or remove it",
                    path.display()
                ))
            })?;
            Ok(Some(text))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::storage(
            format!("cannot read the aio config file {}", path.display()),
            err,
        )),
    }
}

/// Replaces `path` with `value` as pretty JSON (valid HJSON): written to a
/// temporary file in the same directory (mode 0600), synced, then renamed
/// over `path`. `before_rename` runs between the two (tests inject failures
/// there); if anything fails, `path` is untouched and the temporary file is
/// removed.
pub(crate) fn write_atomic(
    path: &Path,
    value: &Value,
    before_rename: impl FnOnce() -> io::Result<()>,
) -> Result<(), Error> {
    write_atomic_as(path, value, Format::Json, before_rename)
}

/// [`write_atomic`] in the given format (a YAML file stays YAML).
pub(crate) fn write_atomic_as(
    path: &Path,
    value: &Value,
    format: Format,
    before_rename: impl FnOnce() -> io::Result<()>,
) -> Result<(), Error> {
    let failed = |err: io::Error| {
        Error::storage(
            format!("cannot write the aio config file {}", path.display()),
            err,
        )
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let text = match format {
        Format::Json => {
            let mut text = serde_json::to_vec_pretty(value)
                .map_err(io::Error::other)
                .map_err(failed)?;
            text.push(b'\n');
            text
        }
        Format::Yaml => super::yaml::to_text(value).map_err(failed)?,
    };
    let prefix = temp_prefix(path);
    remove_orphans(dir, &prefix);
    // tempfile creates the file with mode 0600 on unix.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.write_all(&text).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    before_rename().map_err(failed)?;
    temp.persist(path).map_err(|err| failed(err.error))?;
    sync_dir(dir);
    Ok(())
}

const TEMP_SUFFIX: &str = ".tmp";

/// The prefix of `path`'s temporary files: `.<file name>.`, so that each
/// file's temporaries are told apart from those of other files in the
/// same directory.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "aio".into(), |n| n.to_string_lossy());
    format!(".{name}.")
}

/// Removes the temporary files a writer of the same file left behind when
/// it was killed between creating and renaming one. Every writer holds the
/// file's lock while its temporary exists, and so does the caller: any such
/// file is an orphan. Best effort: a leftover is harmless, only untidy.
fn remove_orphans(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(TEMP_SUFFIX) && name.len() > prefix.len() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Makes the rename durable where the platform allows; best effort.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_is_refused_without_quoting_its_text() {
        let text = "{\n  client_secret: \"p8-SECRET-\\q-VALUE\"\n}";
        let err = parse(text, Path::new("config")).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("SECRET") && !err.contains("VALUE"), "{err}");
    }
    use serde_json::json;

    #[test]
    fn reads_json_and_hjson() {
        let path = Path::new("test");
        assert_eq!(
            parse(r#"{"a": {"b": [1, 2]}}"#, path).unwrap(),
            json!({"a": {"b": [1, 2]}})
        );
        let hjson = r#"
        {
          // a comment
          # another
          ims: {
            contexts: {
              svc: {
                /* block comment */
                client_id: my-client
                scopes: [
                  openid
                  "AdobeID"
                ]
                note: a string with spaces
              }
            }
          }
        }
        "#;
        let value = parse(hjson, path).unwrap();
        assert_eq!(
            value,
            json!({"ims": {"contexts": {"svc": {
                "client_id": "my-client",
                "scopes": ["openid", "AdobeID"],
                "note": "a string with spaces"
            }}}})
        );
        assert_eq!(parse("  \n", path).unwrap(), json!({}));
    }

    #[test]
    fn corrupted_files_name_the_file() {
        for bad in [
            "{\"a\": ",
            "[1, 2]",
            "{ unterminated: [ }",
            "\"just a string\"",
        ] {
            let err = parse(bad, Path::new("/x/aio")).unwrap_err();
            assert!(matches!(err, Error::Misconfigured(_)), "{bad}: {err:?}");
            assert!(err.to_string().contains("/x/aio"), "{err}");
        }
    }
}

#[cfg(test)]
mod odd_inputs {
    use super::*;
    use serde_json::json;

    /// Found by the `context_file` fuzz target: deser-hjson 2.2.6, the HJSON
    /// parser used before the crate's own reader, panicked on these (caught,
    /// but the panic message quoted the file on stderr, and a valid file was
    /// refused). No `catch_unwind` here: they must not panic at all.
    #[test]
    fn hjson_that_panicked_the_parser_is_read_or_refused_cleanly() {
        let path = Path::new("f");
        // Single-quoted strings starting with a multi-byte character.
        assert_eq!(parse("{a:'€'}", path).unwrap(), json!({"a": "€"}));
        assert_eq!(
            parse("{\n  secret: 'a€b'\n}", path).unwrap(),
            json!({"secret": "a€b"})
        );
        // A triple quote at the very start, multi-line strings cut off inside
        // their closing quotes, and errors right before or inside a
        // multi-byte character.
        for bad in [
            "'''x",
            "{a:'''\nx'",
            "{a:'''\nx''",
            "{\"a\"é: 1}",
            "{a:\"\\é\"}",
            "{a:\"\\u12€\"}",
        ] {
            let err = parse(bad, path).unwrap_err();
            assert!(matches!(err, Error::Misconfigured(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn odd_inputs_are_errors_not_panics() {
        let deep_array = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let deep_object = format!("{}1{}", "{a:".repeat(5000), "}".repeat(5000));
        let inputs: Vec<String> = [
            "{",
            "[",
            "}",
            "'''",
            "{a:'''",
            "{a:\"\\u12\"}",
            "\u{0}",
            "{a:-}",
            "{:}",
            "a",
            "{a:1e999999}",
            "{a:[1,}",
            "{\"a\":\"\\ud800\"}",
            "# only a comment",
            "{a:\n'''\nx",
            "{a: {b: [ }",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([deep_array, deep_object])
        .collect();
        for input in inputs {
            let result = std::panic::catch_unwind(|| parse(&input, Path::new("f")));
            let shown = &input[..input.len().min(40)];
            match result {
                Ok(Err(err)) => assert!(err.to_string().contains("file f"), "{shown:?}: {err}"),
                Ok(Ok(value)) => assert!(value.is_object(), "{shown:?}"),
                Err(_) => panic!("panicked on {shown:?}"),
            }
        }
    }
}
