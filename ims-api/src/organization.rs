//! Organizations a user belongs to.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{AccessToken, OrgId, Result};

/// One entry of `GET /ims/organizations/v5` or `/v6`.
///
/// ```
/// let orgs: Vec<ims_api::Organization> = serde_json::from_str(r#"[{
///     "orgName": "Example", "orgType": "Enterprise", "countryCode": "US",
///     "orgRef": {"ident": "0123456789ABCDEF01234567", "authSrc": "AdobeOrg"},
///     "groups": [{"groupName": "Admins", "ident": 7, "role": "GRP_ADMIN", "groupType": "USER"}]
/// }]"#)?;
/// assert_eq!(orgs[0].org_id(), "0123456789ABCDEF01234567@AdobeOrg");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Organization {
    /// Display name.
    #[serde(default)]
    pub org_name: String,
    /// The organization's reference.
    pub org_ref: OrgRef,
    /// `Enterprise`, `Development`, …
    #[serde(default)]
    pub org_type: Option<String>,
    /// Country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// The user's groups in it.
    #[serde(default)]
    pub groups: Vec<OrgGroup>,
}

impl Organization {
    /// `ident@authSrc`, the id IMS uses elsewhere.
    pub fn org_id(&self) -> String {
        format!("{}@{}", self.org_ref.ident, self.org_ref.auth_src)
    }
}

/// `orgRef` of an [`Organization`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrgRef {
    /// The 24-character identifier.
    pub ident: String,
    /// `AdobeOrg`.
    pub auth_src: String,
}

/// A group of an [`Organization`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrgGroup {
    /// Name.
    #[serde(default)]
    pub group_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub group_display_name: Option<String>,
    /// Identifier (IMS sends a number).
    #[serde(default)]
    pub ident: Option<crate::ClaimScalar>,
    /// The user's role in the group.
    #[serde(default)]
    pub role: Option<String>,
    /// `USER`, `LICENSE`, …
    #[serde(default)]
    pub group_type: Option<String>,
}

/// Which organizations a token's user belongs to.
///
/// Magento's `OrganizationMembershipInterface`; implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OrganizationReader: Send + Sync {
    /// `GET /ims/organizations/v6` with the token as Bearer.
    async fn organizations(&self, token: &AccessToken) -> Result<Vec<Organization>>;

    /// Asks the identity graph whether the token's user belongs to `org`
    /// (`GET <graph>/<org>@AdobeOrg/membership`, body `true`).
    async fn is_member(&self, token: &AccessToken, org: &OrgId) -> Result<bool>;
}
