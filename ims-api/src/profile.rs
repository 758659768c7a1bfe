//! The signed-in user's profile (`/ims/profile/v1`) and OIDC user info
//! (`/ims/userinfo/v2`).

use std::fmt;

use async_trait::async_trait;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{AccessToken, ClientId, Result};

/// The answer of `GET /ims/profile/v1`.
///
/// ```
/// let profile: ims_api::Profile = serde_json::from_str(r#"{
///     "userId": "ABC@AdobeID", "email": "jane@example.com", "name": "Jane Doe",
///     "first_name": "Jane", "last_name": "Doe", "emailVerified": "true",
///     "account_type": "ent", "roles": [{"organization": "X@AdobeOrg", "named_role": "org_admin"}]
/// }"#)?;
/// assert!(profile.email_verified);
/// assert_eq!(profile.roles[0].organization.as_deref(), Some("X@AdobeOrg"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The IMS user id (`…@AdobeID`).
    #[serde(rename = "userId", default)]
    pub user_id: Option<String>,
    /// E-mail address; admin sign-in requires it.
    #[serde(default)]
    pub email: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Country code.
    #[serde(rename = "countryCode", default)]
    pub country_code: Option<String>,
    /// Whether IMS verified the e-mail address (IMS sends `"true"`).
    #[serde(rename = "emailVerified", default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    /// `ind` (individual) or `ent` (enterprise) and the like.
    #[serde(default)]
    pub account_type: Option<String>,
    /// The user's roles, each naming its organization.
    #[serde(default)]
    pub roles: Vec<ProfileRole>,
}

impl Profile {
    /// A profile with an e-mail address and nothing else, for tests and mocks.
    pub fn with_email(email: impl Into<String>) -> Self {
        Profile {
            email: Some(email.into()),
            ..Profile::default()
        }
    }
}

/// A role in a [`Profile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProfileRole {
    /// The organization (`…@AdobeOrg`).
    #[serde(default)]
    pub organization: Option<String>,
    /// The role's name (`org_admin`, …).
    #[serde(default)]
    pub named_role: Option<String>,
    /// What the role applies to.
    #[serde(default)]
    pub target: Option<String>,
}

/// The answer of `GET /ims/userinfo/v2` (OpenID Connect user info).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// Subject: the IMS user id.
    #[serde(default)]
    pub sub: Option<String>,
    /// `ind` or `ent`.
    #[serde(default)]
    pub account_type: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the address is verified.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Postal address (IMS gives the country only).
    #[serde(default)]
    pub address: Option<Address>,
}

/// The address of a [`UserInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Address {
    /// Country code.
    #[serde(default)]
    pub country: Option<String>,
}

/// Reads who a token belongs to.
///
/// Magento's `GetProfileInterface`; implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProfileReader: Send + Sync {
    /// `GET /ims/profile/v1?client_id=…` with the token as Bearer.
    async fn profile(&self, token: &AccessToken, client_id: &ClientId) -> Result<Profile>;

    /// `GET /ims/userinfo/v2` with the token as Bearer.
    async fn userinfo(&self, token: &AccessToken) -> Result<UserInfo>;
}

/// Accepts `true`, `false`, `"true"`, `"false"` (any case) and `null`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolVisitor;

    impl Visitor<'_> for BoolVisitor {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean or \"true\"/\"false\"")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
            if value.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if value.eq_ignore_ascii_case("false") || value.is_empty() {
                Ok(false)
            } else {
                Err(E::invalid_value(de::Unexpected::Str(value), &self))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
    }

    deserializer.deserialize_any(BoolVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_accepts_real_booleans() {
        let info: UserInfo = serde_json::from_str(
            r#"{"sub":"A@AdobeID","email_verified":true,"address":{"country":"US"}}"#,
        )
        .unwrap();
        assert!(info.email_verified);
        assert_eq!(info.address.unwrap().country.as_deref(), Some("US"));
    }

    #[test]
    fn profile_tolerates_missing_fields_and_string_booleans() {
        let profile: Profile = serde_json::from_str(r#"{"emailVerified":"FALSE"}"#).unwrap();
        assert!(!profile.email_verified);
        assert!(profile.email.is_none());
        assert!(serde_json::from_str::<Profile>(r#"{"emailVerified":"maybe"}"#).is_err());
    }
}
