//! The claims of IMS tokens, typed.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Scopes, TokenRejection};

/// The `type` claim of an IMS token (and the `type`/`token_type` parameter
/// of validate and invalidate calls).
///
/// ```
/// use ims_api::TokenType;
///
/// assert_eq!(TokenType::from("access_token"), TokenType::AccessToken);
/// assert_eq!(TokenType::from("something_new").as_str(), "something_new");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum TokenType {
    /// `access_token`
    AccessToken,
    /// `refresh_token`
    RefreshToken,
    /// `authorization_code`
    AuthorizationCode,
    /// `device_token`
    DeviceToken,
    /// `service_token`
    ServiceToken,
    /// Any other value, kept as sent.
    Other(String),
}

impl TokenType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            TokenType::AccessToken => "access_token",
            TokenType::RefreshToken => "refresh_token",
            TokenType::AuthorizationCode => "authorization_code",
            TokenType::DeviceToken => "device_token",
            TokenType::ServiceToken => "service_token",
            TokenType::Other(other) => other,
        }
    }
}

impl From<String> for TokenType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "access_token" => TokenType::AccessToken,
            "refresh_token" => TokenType::RefreshToken,
            "authorization_code" => TokenType::AuthorizationCode,
            "device_token" => TokenType::DeviceToken,
            "service_token" => TokenType::ServiceToken,
            _ => TokenType::Other(value),
        }
    }
}

impl From<&str> for TokenType {
    fn from(value: &str) -> Self {
        TokenType::from(value.to_owned())
    }
}

impl From<TokenType> for String {
    fn from(value: TokenType) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of an IMS token.
///
/// IMS tokens carry no `exp`, `iat`, `iss` or `aud`: their lifetime is
/// `created_at + expires_in`, both **milliseconds** written as decimal strings
/// (numbers are accepted too). Both are required.
///
/// ```
/// use std::time::Duration;
/// use ims_api::{TokenClaims, TokenType};
///
/// let claims: TokenClaims = serde_json::from_str(r#"{
///     "id": "1", "type": "access_token", "client_id": "my_client",
///     "user_id": "ABC@AdobeID", "scope": "openid,AdobeID", "as": "ims-na1",
///     "created_at": "1700000000000", "expires_in": "86400000"
/// }"#)?;
/// assert_eq!(claims.token_type, TokenType::AccessToken);
/// assert_eq!(claims.expires_in, Duration::from_secs(86_400));
/// assert_eq!(claims.expires_at().unix_timestamp(), 1_700_086_400);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `type`: access token, refresh token, authorization code…
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The IMS user (`…@AdobeID`) or technical account (`…@techacct.adobe.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scope: Scopes,
    /// `as`: the IMS authority that issued the token (`ims-na1`).
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// When the token was created.
    #[serde(with = "millis")]
    pub created_at: OffsetDateTime,
    /// How long it lives from `created_at`.
    #[serde(with = "duration_millis")]
    pub expires_in: Duration,
    /// `aa_id`: the authenticating account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aa_id: Option<String>,
    /// `as_id`: the account of the authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_id: Option<String>,
    /// `ctp`: the client type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctp: Option<ClaimScalar>,
    /// `pac`: the client's application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pac: Option<String>,
    /// `rtid`: the id of the refresh token this token was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtid: Option<String>,
    /// `moi`: a grant identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moi: Option<String>,
    /// `state`: a JSON string some clients attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl TokenClaims {
    /// `created_at + expires_in`.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.created_at
            .saturating_add(duration_to_time(self.expires_in))
    }

    /// Checks the lifetime at `now`, allowing `leeway` on both ends: an
    /// expired token, or one created in the future, is refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ims_api::{TokenClaims, TokenRejection};
    /// use time::macros::datetime;
    ///
    /// let claims: TokenClaims = serde_json::from_str(
    ///     r#"{"type":"access_token","created_at":"0","expires_in":"1000"}"#,
    /// )?;
    /// let leeway = Duration::from_secs(5);
    /// assert!(claims.check_lifetime(datetime!(1970-01-01 0:00:03 UTC), leeway).is_ok());
    /// assert!(matches!(
    ///     claims.check_lifetime(datetime!(1970-01-01 0:00:10 UTC), leeway),
    ///     Err(TokenRejection::Expired { .. })
    /// ));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn check_lifetime(
        &self,
        now: OffsetDateTime,
        leeway: Duration,
    ) -> Result<(), TokenRejection> {
        let leeway = duration_to_time(leeway);
        if self.created_at > now.saturating_add(leeway) {
            return Err(TokenRejection::NotYetValid {
                created_at: self.created_at,
            });
        }
        let expires_at = self.expires_at();
        if expires_at.saturating_add(leeway) <= now {
            return Err(TokenRejection::Expired {
                expired_at: expires_at,
            });
        }
        Ok(())
    }
}

/// Converts a std duration to a `time` duration, saturating.
pub(crate) fn duration_to_time(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

/// Milliseconds since the Unix epoch as an instant, if representable.
///
/// ```
/// let t = ims_api::from_unix_millis(1_700_000_000_123).unwrap();
/// assert_eq!(ims_api::to_unix_millis(t), 1_700_000_000_123);
/// ```
pub fn from_unix_millis(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

/// An instant as milliseconds since the Unix epoch.
pub fn to_unix_millis(instant: OffsetDateTime) -> i64 {
    let millis = instant.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis).unwrap_or(if millis < 0 { i64::MIN } else { i64::MAX })
}

/// A scalar claim whose JSON type varies between IMS versions (`ctp` is
/// sometimes a number, sometimes a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimScalar {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
}

/// A number of milliseconds written as a decimal string or a JSON number.
fn millis_value<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::{self, Visitor};

    struct MillisVisitor;

    impl Visitor<'_> for MillisVisitor {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds as a decimal string or an integer")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<i64, E> {
            let digits = value.trim();
            if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(E::custom("expected a non-negative decimal number"));
            }
            digits
                .parse::<i64>()
                .map_err(|_| E::custom("number out of range"))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value).map_err(|_| E::custom("number out of range"))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
            if value < 0 {
                Err(E::custom("expected a non-negative number"))
            } else {
                Ok(value)
            }
        }
    }

    deserializer.deserialize_any(MillisVisitor)
}

mod millis {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(
        value: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&crate::to_unix_millis(*value))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let millis = super::millis_value(deserializer)?;
        crate::from_unix_millis(millis)
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}

mod duration_millis {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&value.as_millis())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let millis = super::millis_value(deserializer)?;
        Ok(Duration::from_millis(millis.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TokenClaims, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn created_at_and_expires_in_are_required() {
        assert!(parse(r#"{"type":"access_token","expires_in":"1"}"#).is_err());
        assert!(parse(r#"{"type":"access_token","created_at":"1"}"#).is_err());
        assert!(parse(r#"{"created_at":"1","expires_in":"1"}"#).is_err());
    }

    #[test]
    fn non_numeric_or_negative_millis_are_refused() {
        for bad in [
            "\"12a\"",
            "\"\"",
            "\"-5\"",
            "-5",
            "1.5",
            "\"99999999999999999999\"",
            "true",
        ] {
            let json = format!(r#"{{"type":"access_token","created_at":{bad},"expires_in":"1"}}"#);
            assert!(parse(&json).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn numbers_and_strings_both_parse() {
        let a = parse(r#"{"type":"access_token","created_at":5,"expires_in":7}"#).unwrap();
        let b = parse(r#"{"type":"access_token","created_at":"5","expires_in":" 7 "}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(to_unix_millis(a.expires_at()), 12);
    }

    #[test]
    fn serialises_back_to_millisecond_strings() {
        let claims = parse(
            r#"{"type":"refresh_token","created_at":"1700000000000","expires_in":"1209600000","ctp":0}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["created_at"], "1700000000000");
        assert_eq!(json["expires_in"], "1209600000");
        assert_eq!(json["type"], "refresh_token");
        assert_eq!(json["ctp"], 0);
    }

    #[test]
    fn future_tokens_are_refused_beyond_leeway() {
        let claims =
            parse(r#"{"type":"access_token","created_at":"60000","expires_in":"600000"}"#).unwrap();
        let now = from_unix_millis(0).unwrap();
        assert!(matches!(
            claims.check_lifetime(now, Duration::from_secs(30)),
            Err(TokenRejection::NotYetValid { .. })
        ));
        assert!(claims.check_lifetime(now, Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn huge_expires_in_saturates_instead_of_overflowing() {
        let claims =
            parse(r#"{"type":"access_token","created_at":"0","expires_in":"9223372036854775807"}"#)
                .unwrap();
        assert!(
            claims
                .check_lifetime(OffsetDateTime::now_utc(), Duration::ZERO)
                .is_ok()
        );
    }
}
