//! Secrets and tokens masked for display: the one place that decides which
//! configuration values `ims context get` and `ims config get|list` hide.

use serde_json::{Map, Value, json};

/// What a secret is shown as.
pub(crate) const MASK: &str = "****";

/// Whether a key names a secret: client secrets, private keys and their
/// passphrases, passwords, tokens of any kind (`access_token`,
/// `refresh_token`, `token`), credentials, cookies, `Authorization` headers,
/// and aio's other credentials (`runtime.auth`, API keys). Spelt with `_`,
/// `-` or nothing between the words.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    [
        "secret",
        "token",
        "passphrase",
        "password",
        "passwd",
        "privatekey",
        "credential",
        "cookie",
        "authorization",
    ]
    .iter()
    .any(|word| key.contains(word))
        || matches!(key.as_str(), "auth" | "apikey" | "xapikey")
}

/// Whether a string value is a secret whatever its key: a JWT or JWE (an
/// IMS token under a key no rule names), or a `Bearer` credential.
fn is_secret_value(text: &str) -> bool {
    let text = text.trim();
    let is_jose = text.starts_with("eyJ")
        && matches!(text.matches('.').count(), 2 | 4)
        && text.split('.').all(|part| {
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='))
        });
    let bearer = text
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "));
    is_jose || bearer
}

/// `value` with every value under a secret key replaced by [`MASK`], at any
/// depth. Under a secret key, arrays keep their length, objects their keys
/// and their `expiry` (when a stored token expires is no secret), and
/// `null` stays `null`. A `private_key` that is a file path (not PEM text
/// nor a JSON array of lines) is shown: the path is no secret.
pub(crate) fn masked(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if !is_secret_key(&key) {
                        masked(value)
                    } else if key.eq_ignore_ascii_case("private_key") && is_key_path(&value) {
                        value
                    } else {
                        mask_all(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        Value::String(text) if is_secret_value(&text) => json!(MASK),
        other => other,
    }
}

/// The value of the dotted `path`, masked as it is in the whole tree: a
/// value under a secret key anywhere on the path is masked too.
pub(crate) fn masked_at(path: &[&str], value: Value) -> Value {
    let mut tree = value;
    for key in path.iter().rev() {
        let mut map = Map::new();
        map.insert((*key).to_owned(), tree);
        tree = Value::Object(map);
    }
    let mut out = masked(tree);
    for key in path {
        out = match out {
            Value::Object(mut map) => map.remove(*key).unwrap_or(Value::Null),
            other => other,
        };
    }
    out
}

/// A `private_key` value that is a file path, shown as is: one line, not
/// PEM text nor a JSON array of lines, and not key material without its
/// PEM lines (a run of 64 or more base64 characters: nothing else).
fn is_key_path(value: &Value) -> bool {
    let Value::String(s) = value else {
        return false;
    };
    let base64_run = s.len() >= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    !s.contains("-----BEGIN")
        && !s.trim_start().starts_with('[')
        && !s.contains(['\n', '\r'])
        && !base64_run
}

fn mask_all(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(mask_all).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    if key.eq_ignore_ascii_case("expiry") {
                        (key, value)
                    } else {
                        (key, mask_all(value))
                    }
                })
                .collect(),
        ),
        Value::Null => Value::Null,
        _ => json!(MASK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_kept() {
        let props = json!({
            "client_id": "c",
            "Client_Secrets": ["a", "b"],
            "client_secret": "s",
            "passphrase": "p",
            "private_key": "-----BEGIN PRIVATE KEY-----\nabc",
            "access_token": {"token": "t", "expiry": 5},
            "scopes": ["openid"],
        });
        let out = masked(props);
        assert_eq!(out["client_id"], "c");
        assert_eq!(out["Client_Secrets"], json!([MASK, MASK]));
        assert_eq!(out["client_secret"], MASK);
        assert_eq!(out["passphrase"], MASK);
        assert_eq!(out["private_key"], MASK);
        assert_eq!(out["access_token"], json!({"token": MASK, "expiry": 5}));
        assert_eq!(out["scopes"], json!(["openid"]));
        let path = masked(json!({"private_key": "/keys/k.pem"}));
        assert_eq!(path["private_key"], "/keys/k.pem");
        let lines = masked(json!({"private_key": ["-----BEGIN", "abc"]}));
        assert_eq!(lines["private_key"], json!([MASK, MASK]));
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let tree = json!({
            "runtime": {"namespace": "ns", "auth": "uuid:key"},
            "ims": {"contexts": {
                "svc": {"client_secrets": ["s"], "client_id": "c"},
                "cli": {"refresh_token": {"token": {"nested": "r"}, "expiry": 7}},
            }},
            "list": [{"api_key": "k", "name": "n"}],
            "my_password": 12345,
        });
        let out = masked(tree);
        assert_eq!(out["runtime"], json!({"namespace": "ns", "auth": MASK}));
        assert_eq!(
            out["ims"]["contexts"]["svc"]["client_secrets"],
            json!([MASK])
        );
        assert_eq!(out["ims"]["contexts"]["svc"]["client_id"], "c");
        assert_eq!(
            out["ims"]["contexts"]["cli"]["refresh_token"],
            json!({"token": {"nested": MASK}, "expiry": 7})
        );
        assert_eq!(out["list"], json!([{"api_key": MASK, "name": "n"}]));
        assert_eq!(out["my_password"], MASK);
        assert!(!out.to_string().contains("uuid:key"));
    }

    #[test]
    fn a_private_key_is_shown_only_when_it_is_a_path() {
        // A key in base64 DER (as `.env` files often hold it), or a PEM body
        // that lost its header lines, is no path.
        let der = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
        for secret in [der, body] {
            let out = masked(json!({"private_key": secret}));
            assert_eq!(out["private_key"], MASK, "{secret:?}");
        }
        for path in [
            "/keys/k.pem",
            "./k.pem",
            "k.pem",
            "~/keys/private.key",
            "C:\\keys\\k.pem",
            "/Users/A B/k.pem",
            "/etc/ims/key",
        ] {
            let out = masked(json!({"private_key": path}));
            assert_eq!(out["private_key"], path);
        }
    }

    #[test]
    fn secrets_under_unusual_keys_are_masked() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let out = masked(json!({
            "Private-Key": "-----BEGIN PRIVATE KEY-----",
            "note": jwt,
            "list": [jwt, "plain"],
            "headers": {"Authorization": "Bearer abc", "Cookie": "s=1"},
            "aio_credentials": {"id": "x"},
            "api-key": "k",
        }));
        assert_eq!(out["Private-Key"], MASK);
        assert_eq!(out["note"], MASK);
        assert_eq!(out["list"], json!([MASK, "plain"]));
        assert_eq!(
            out["headers"],
            json!({"Authorization": MASK, "Cookie": MASK})
        );
        assert_eq!(out["aio_credentials"], json!({"id": MASK}));
        assert_eq!(out["api-key"], MASK);
        assert_eq!(masked_at(&["cli", "note"], json!(jwt)), json!(MASK));
        // What only looks a little like a token stays.
        assert_eq!(masked(json!({"v": "eyJ"})), json!({"v": "eyJ"}));
        assert_eq!(masked(json!({"v": "a.b.c"})), json!({"v": "a.b.c"}));
    }

    #[test]
    fn a_value_under_a_secret_key_on_the_path_is_masked() {
        assert_eq!(
            masked_at(
                &["ims", "contexts", "svc", "client_secrets"],
                json!(["s1", "s2"])
            ),
            json!([MASK, MASK])
        );
        assert_eq!(
            masked_at(
                &["ims", "contexts", "svc", "access_token", "token"],
                json!("t")
            ),
            json!(MASK)
        );
        assert_eq!(
            masked_at(
                &["ims", "contexts", "svc", "access_token", "expiry"],
                json!(5)
            ),
            json!(5)
        );
        assert_eq!(
            masked_at(
                &["ims", "contexts", "svc"],
                json!({"client_secret": "s", "client_id": "c"})
            ),
            json!({"client_secret": MASK, "client_id": "c"})
        );
        assert_eq!(masked_at(&["cli", "env"], json!("stage")), json!("stage"));
        assert_eq!(
            masked_at(&[], json!({"token": "t"})),
            json!({"token": MASK})
        );
    }
}
