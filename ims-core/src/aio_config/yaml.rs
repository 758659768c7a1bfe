//! aio's YAML configuration files: aio-lib-core-config reads a file whose
//! text does not start with `{` as YAML, and writes it back as YAML.
//!
//! Kept apart from the JSON/HJSON reader: [`file`](super::file) asks
//! [`is_yaml`] first and hands such text here, and
//! [`update`](super::AioConfig::update) writes a file back in the
//! [`Format`] it was read in.

use std::path::Path;

use ims_api::Error;
use serde_json::{Map, Value};

/// The format a configuration file is written back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON (valid HJSON): new files, and files whose text starts with `{`.
    Json,
    /// YAML: files whose text does not start with `{`.
    Yaml,
}

/// The format of a file's text, as [`is_yaml`] decides it; an empty file is
/// JSON (aio writes new files as HJSON).
pub(crate) fn format_of(text: &str) -> Format {
    if is_yaml(text) {
        Format::Yaml
    } else {
        Format::Json
    }
}

/// Whether `text` is read as YAML: aio's rule (it does not start with
/// `{`), except that leading comment lines (`#`, `//`) are skipped first, so
/// a hand-written HJSON file that opens with a comment stays HJSON (aio
/// would read `# …` then `{…}` as YAML to the same tree, and fail on
/// `// …`).
pub(crate) fn is_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("//"));
    first.is_some_and(|line| !line.starts_with('{'))
}

/// Parses YAML text into the configuration tree. The text may be hostile:
/// anything but a mapping with string keys (or a document of nothing, which
/// is empty) is an [`Error::Misconfigured`] naming the file and the place,
/// never the text (it holds secrets), and never a panic. The parser limits
/// nesting depth and alias expansion.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Value, Error> {
    let parsed = std::panic::catch_unwind(|| yaml_serde::from_str::<Value>(text));
    let value = match parsed {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            let place = err
                .location()
                .map(|at| format!(" at line {}, column {}", at.line(), at.column()))
                .unwrap_or_default();
            return Err(Error::Misconfigured(format!(
                "the aio config file {} is neither JSON nor HJSON (it does not start with {{) nor YAML{place}; fix or remove it",
                path.display()
            )));
        }
        Err(_) => {
            return Err(Error::Misconfigured(format!(
                "the aio config file {} is not readable YAML; fix or remove it",
                path.display()
            )));
        }
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(Error::Misconfigured(format!(
            "the aio config file {} does not hold a mapping of keys; fix or remove it",
            path.display()
        ))),
    }
}

/// The tree as YAML text, keys sorted (aio dumps with `sortKeys`).
pub(crate) fn to_text(value: &Value) -> Result<Vec<u8>, std::io::Error> {
    yaml_serde::to_string(value)
        .map(String::into_bytes)
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PATH: &str = "/home/u/.config/aio";

    /// What `aio login` and `aio context` leave in a YAML file.
    const AIO_YAML: &str = "\
ims:
  config:
    current: svc
  contexts:
    cli:
      cli.bare-output: true
      access_token:
        token: eyJhbGciOiJSUzI1NiJ9.e30.c2ln
        expiry: 4102444800000
    svc:
      client_id: 0123abc
      client_secrets:
        - first
      scopes: [openid, AdobeID]
      private_key: |
        -----BEGIN PRIVATE KEY-----
        MIIB
        -----END PRIVATE KEY-----
";

    #[test]
    fn reads_what_aio_writes() {
        let tree = parse(AIO_YAML, Path::new(PATH)).unwrap();
        let cli = &tree["ims"]["contexts"]["cli"];
        assert_eq!(cli["cli.bare-output"], json!(true));
        assert_eq!(cli["access_token"]["expiry"], json!(4_102_444_800_000_u64));
        let svc = &tree["ims"]["contexts"]["svc"];
        assert_eq!(svc["client_id"], json!("0123abc"));
        assert_eq!(svc["scopes"], json!(["openid", "AdobeID"]));
        assert!(svc["private_key"].as_str().unwrap().ends_with("-----\n"));
        assert_eq!(format_of(AIO_YAML), Format::Yaml);
        assert_eq!(format_of("  {\"a\": 1}"), Format::Json);
        assert_eq!(format_of("\n"), Format::Json);
        assert_eq!(format_of("# HJSON\n// too\n{a: 1}"), Format::Json);
        assert_eq!(format_of("# YAML\na: 1\n"), Format::Yaml);
        // Only comments: nothing to keep, a new file's format.
        assert_eq!(format_of("# nothing\n"), Format::Json);
    }

    #[test]
    fn round_trips_as_yaml() {
        let tree = parse(AIO_YAML, Path::new(PATH)).unwrap();
        let text = String::from_utf8(to_text(&tree).unwrap()).unwrap();
        assert!(is_yaml(&text), "{text}");
        assert_eq!(parse(&text, Path::new(PATH)).unwrap(), tree);
    }

    #[test]
    fn hostile_yaml_is_an_error_naming_the_file_not_the_text() {
        let deep = format!("{}x{}", "[".repeat(10_000), "]".repeat(10_000));
        let laughs = "a: &a [\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\",\"s3cr3t\"]\n\
                      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n\
                      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
                      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n\
                      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n\
                      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n\
                      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
                      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n\
                      i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        for text in [
            "- a list\n- s3cr3t\n",
            "just s3cr3t text",
            "key: [s3cr3t\n",
            "? [s3cr3t]\n: complex key\n",
            "a: *undefined_s3cr3t\n",
            "\t- tab: s3cr3t\n",
            deep.as_str(),
            laughs,
        ] {
            let err = parse(text, Path::new(PATH)).unwrap_err();
            assert!(matches!(err, Error::Misconfigured(_)), "{text:.40}: {err}");
            let message = err.to_string();
            assert!(message.contains(PATH), "{message}");
            assert!(!message.contains("s3cr3t"), "{message}");
        }
        // Scalar keys are strings, as in aio (js-yaml in JSON mode).
        assert_eq!(
            parse("1: one\n", Path::new(PATH)).unwrap(),
            json!({"1": "one"})
        );
        // A document of nothing is an empty configuration, as in aio.
        assert_eq!(parse("---\n", Path::new(PATH)).unwrap(), json!({}));
        assert_eq!(
            parse("# only a comment\n", Path::new(PATH)).unwrap(),
            json!({})
        );
    }
}
