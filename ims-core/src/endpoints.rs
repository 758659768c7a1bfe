//! IMS endpoint paths, and the unit each token endpoint uses for
//! `expires_in`.

use ims_api::ExpiresInUnit;

/// Which version of the token endpoint a client uses for code exchange,
/// refresh and client credentials.
///
/// ```
/// use ims_api::ExpiresInUnit;
/// use ims_core::TokenEndpoint;
///
/// assert_eq!(TokenEndpoint::V3.path(), "/ims/token/v3");
/// assert_eq!(TokenEndpoint::V1.expires_in_unit(), ExpiresInUnit::Milliseconds);
/// assert_eq!(TokenEndpoint::V3.expires_in_unit(), ExpiresInUnit::Seconds);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenEndpoint {
    /// `/ims/token`: milliseconds, profile fields in the answer.
    Unversioned,
    /// `/ims/token/v1`: milliseconds, profile fields in the answer.
    V1,
    /// `/ims/token/v2`: seconds.
    V2,
    /// `/ims/token/v3`: seconds; the current endpoint.
    #[default]
    V3,
}

impl TokenEndpoint {
    /// The path.
    pub fn path(self) -> &'static str {
        match self {
            TokenEndpoint::Unversioned => "/ims/token",
            TokenEndpoint::V1 => "/ims/token/v1",
            TokenEndpoint::V2 => "/ims/token/v2",
            TokenEndpoint::V3 => "/ims/token/v3",
        }
    }

    /// The unit of `expires_in` in its answers.
    pub fn expires_in_unit(self) -> ExpiresInUnit {
        match self {
            TokenEndpoint::Unversioned | TokenEndpoint::V1 => ExpiresInUnit::Milliseconds,
            TokenEndpoint::V2 | TokenEndpoint::V3 => ExpiresInUnit::Seconds,
        }
    }
}

pub(crate) const AUTHORIZE: &str = "/ims/authorize/v2";
pub(crate) const JWT_EXCHANGE: &str = "/ims/exchange/jwt";
/// The JWT exchange answers `expires_in` in milliseconds.
pub(crate) const JWT_EXCHANGE_UNIT: ExpiresInUnit = ExpiresInUnit::Milliseconds;
pub(crate) const VALIDATE: &str = "/ims/validate_token/v1";
pub(crate) const INVALIDATE: &str = "/ims/invalidate_token/v2";
pub(crate) const REVOKE: &str = "/ims/revoke";
pub(crate) const LOGOUT: &str = "/ims/logout/v1";
pub(crate) const PROFILE: &str = "/ims/profile/v1";
pub(crate) const USERINFO: &str = "/ims/userinfo/v2";
pub(crate) const ORGANIZATIONS: &str = "/ims/organizations/v6";
/// OpenID Connect user info as ims-go reads it.
pub(crate) const USERINFO_V1: &str = "/ims/userinfo/v1";
/// The unversioned front-channel logout Magento's `AdobeIms` calls.
pub(crate) const LOGOUT_FRONT: &str = "/ims/logout";
/// The on-behalf-of token exchange.
pub(crate) const TOKEN_EXCHANGE: &str = "/ims/token/v4";
/// `/ims/token/v4` answers `expires_in` in seconds.
pub(crate) const TOKEN_EXCHANGE_UNIT: ExpiresInUnit = ExpiresInUnit::Seconds;
/// Where ims-go sends the cluster access-token exchange (seconds).
pub(crate) const CLUSTER_EXCHANGE: &str = "/ims/token/v3";
/// Dynamic client registration.
pub(crate) const REGISTER: &str = "/ims/register";
/// A user's profile read with a service token.
pub(crate) const ADMIN_PROFILE: &str = "/ims/admin_profile/v1";
/// A user's organizations read with a service token.
pub(crate) const ADMIN_ORGANIZATIONS: &str = "/ims/admin_organizations/v5";
