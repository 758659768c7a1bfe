//! IMS's JSON answers as they come off the wire, before they become
//! `ims-api` domain types.

use std::fmt;

use ims_api::{
    AccessToken, Error, ExpiresInUnit, IdToken, ImsRefusal, RefreshToken, TokenProfile,
    TokenResponse,
};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// The answer of a token endpoint or the JWT exchange.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    access_token: Option<AccessToken>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    id_token: Option<IdToken>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    // Client-credentials answers name the technical account.
    #[serde(default, rename = "userId")]
    user_id: Option<String>,
    // `/ims/token/v1` adds the profile.
    #[serde(flatten)]
    profile: TokenProfile,
}

impl TokenAnswer {
    /// The domain response, `expires_in` resolved in `unit`.
    pub(crate) fn into_response(self, unit: ExpiresInUnit) -> Result<TokenResponse, Error> {
        let access_token = self.access_token.ok_or_else(|| {
            Error::Refused(
                ImsRefusal::new(200, "invalid_response")
                    .with_description("the token answer has no access_token"),
            )
        })?;
        let expires_in = self.expires_in.ok_or_else(|| {
            Error::Refused(
                ImsRefusal::new(200, "invalid_response")
                    .with_description("the token answer has no expires_in"),
            )
        })?;
        let mut response = TokenResponse::new(access_token, unit.resolve(expires_in));
        response.token_type = self.token_type.unwrap_or_else(|| "bearer".to_owned());
        response.refresh_token = self.refresh_token;
        response.id_token = self.id_token;
        response.user_id = self.user_id;
        if self.profile != TokenProfile::default() {
            response.profile = Some(self.profile);
        }
        Ok(response)
    }
}

/// The answer of `/ims/validate_token/v1`.
#[derive(Deserialize)]
pub(crate) struct ValidateAnswer {
    pub(crate) valid: bool,
    #[serde(default, deserialize_with = "number_or_string")]
    pub(crate) expires_at: Option<u64>,
    #[serde(default)]
    pub(crate) token: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

fn number_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct V;

    impl Visitor<'_> for V {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer, as a number or a string")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("negative number"))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v >= 0.0 && v <= u64::MAX as f64 {
                // IMS sometimes writes whole numbers as floats.
                Ok(Some(v as u64))
            } else {
                Err(E::custom("number out of range"))
            }
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim()
                .parse()
                .map(Some)
                .map_err(|_| E::custom("not a non-negative integer"))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn v1_answers_carry_the_profile_and_milliseconds() {
        let answer: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"a","refresh_token":"r","token_type":"bearer",
                "expires_in":86399985,"sub":"X@AdobeID","email":"jane@example.com",
                "email_verified":"true","name":"Jane Doe"}"#,
        )
        .unwrap();
        let response = answer.into_response(ExpiresInUnit::Milliseconds).unwrap();
        assert_eq!(response.expires_in, Duration::from_millis(86_399_985));
        let profile = response.profile.unwrap();
        assert_eq!(profile.email.as_deref(), Some("jane@example.com"));
        assert!(profile.email_verified);
        assert_eq!(response.refresh_token.unwrap().expose_secret(), "r");
    }

    #[test]
    fn v3_answers_in_seconds_without_profile() {
        let answer: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"a","token_type":"bearer","expires_in":"86399"}"#,
        )
        .unwrap();
        let response = answer.into_response(ExpiresInUnit::Seconds).unwrap();
        assert_eq!(response.expires_in, Duration::from_secs(86_399));
        assert!(response.profile.is_none() && response.refresh_token.is_none());
    }

    #[test]
    fn client_credentials_answers_name_the_technical_account() {
        let answer: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"a","token_type":"bearer","expires_in":86399,
                "userId":"T@techacct.adobe.com"}"#,
        )
        .unwrap();
        let response = answer.into_response(ExpiresInUnit::Seconds).unwrap();
        assert_eq!(response.user_id.as_deref(), Some("T@techacct.adobe.com"));
        let answer: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"a","expires_in":1}"#).unwrap();
        assert!(
            answer
                .into_response(ExpiresInUnit::Seconds)
                .unwrap()
                .user_id
                .is_none()
        );
    }

    #[test]
    fn answers_without_a_token_are_refused() {
        let answer: TokenAnswer = serde_json::from_str(r#"{"expires_in":5}"#).unwrap();
        let err = answer.into_response(ExpiresInUnit::Seconds).unwrap_err();
        assert!(err.to_string().contains("no access_token"), "{err}");
    }
}
