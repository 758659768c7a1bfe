//! When a token expires, from its own claims where it is a JWT.

#[cfg(test)]
use base64::Engine as _;
#[cfg(test)]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::from_unix_millis;
use serde_json::Value;
use time::OffsetDateTime;

/// `created_at + expires_in` (milliseconds, as numbers or decimal strings)
/// from the unverified payload of a JWT; `None` if the token is not a JWT
/// with those claims. Padding in the payload is tolerated, as aio does.
pub(crate) fn expiry_from_claims(token: &str) -> Option<OffsetDateTime> {
    let claims = crate::jwt::decode_unverified(token).ok()?;
    let created_at = millis(claims.get("created_at")?)?;
    let expires_in = millis(claims.get("expires_in")?)?;
    from_unix_millis(created_at.checked_add(expires_in)?)
}

fn millis(value: &Value) -> Option<i64> {
    let millis = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (millis >= 0).then_some(millis)
}

#[cfg(test)]
pub(crate) fn fake_jwt(created_at: i64, expires_in: i64) -> String {
    let payload = serde_json::json!({
        "type": "access_token",
        "created_at": created_at.to_string(),
        "expires_in": expires_in.to_string(),
    });
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ims_api::to_unix_millis;

    #[test]
    fn reads_created_at_plus_expires_in() {
        let token = fake_jwt(1_700_000_000_000, 86_400_000);
        let at = expiry_from_claims(&token).unwrap();
        assert_eq!(to_unix_millis(at), 1_700_086_400_000);
        // Padded payloads and numeric claims are accepted.
        let payload = base64::engine::general_purpose::URL_SAFE
            .encode(r#"{"created_at":1000,"expires_in":2000}"#);
        assert!(payload.ends_with('='));
        let at = expiry_from_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.s")).unwrap();
        assert_eq!(to_unix_millis(at), 3000);
    }

    #[test]
    fn anything_else_is_none() {
        for token in [
            "opaque",
            "a.b",
            "a.!!!.c",
            "a.e30.c",
            &format!(
                "a.{}.c",
                URL_SAFE_NO_PAD.encode(r#"{"created_at":"x","expires_in":"1"}"#)
            ),
            &format!(
                "a.{}.c",
                URL_SAFE_NO_PAD.encode(r#"{"created_at":-5,"expires_in":1}"#)
            ),
            &format!(
                "a.{}.c",
                URL_SAFE_NO_PAD.encode(r#"{"created_at":9223372036854775807,"expires_in":9}"#)
            ),
        ] {
            assert!(expiry_from_claims(token).is_none(), "{token}");
        }
    }
}
