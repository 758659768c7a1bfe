//! Token caches: where the tokens obtained for contexts are kept.
//!
//! - [`FileTokenCache`], aio's files, `{token, expiry}` inside the context's
//!   object, with leases in lock-guarded files so that processes on one
//!   machine share one flight.
//! - [`MemoryTokenCache`], in-process.
//!
//! (`ims-store` adds a SQL cache shared by a fleet, against the same trait.)

mod files;
mod lease;
mod memory;

pub use files::FileTokenCache;
pub use memory::MemoryTokenCache;

use ims_api::{ExpiringToken, from_unix_millis, to_unix_millis};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// aio's stored form of a token: `{"token": "...", "expiry": <ms>}`.
pub(crate) fn token_json(token: &str, expires_at: OffsetDateTime) -> Value {
    json!({"token": token, "expiry": to_unix_millis(expires_at)})
}

/// Reads aio's `{token, expiry}`; `None` if absent or malformed (a broken
/// stored token is treated as no token, so a new one is obtained).
pub(crate) fn parse_token<T: From<String>>(value: Option<&Value>) -> Option<ExpiringToken<T>> {
    let map = value?.as_object()?;
    let token = crate::aio_config::tree::get_ci(map, "token")?.as_str()?;
    if token.is_empty() {
        return None;
    }
    let expiry = match crate::aio_config::tree::get_ci(map, "expiry")? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    Some(ExpiringToken::new(
        T::from(token.to_owned()),
        from_unix_millis(expiry)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ims_api::AccessToken;

    #[test]
    fn stored_tokens_parse_leniently() {
        let t: ExpiringToken<AccessToken> = parse_token(Some(
            &json!({"token": "abc", "expiry": 1_700_000_000_000_i64}),
        ))
        .unwrap();
        assert_eq!(t.token.expose_secret(), "abc");
        assert_eq!(to_unix_millis(t.expires_at), 1_700_000_000_000);
        assert!(parse_token::<AccessToken>(Some(&json!({"token": "a", "expiry": "5"}))).is_some());
        for bad in [
            json!("abc"),
            json!({"token": "abc"}),
            json!({"token": "", "expiry": 5}),
            json!({"token": 5, "expiry": 5}),
            json!({"token": "a", "expiry": "soon"}),
            json!({"token": "a", "expiry": 1e300}),
        ] {
            assert!(parse_token::<AccessToken>(Some(&bad)).is_none(), "{bad}");
        }
    }
}
