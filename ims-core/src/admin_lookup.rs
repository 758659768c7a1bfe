//! A service reading a user's profile or organizations with its own service
//! token: ims-go's `GetAdminProfile` (`/ims/admin_profile/v1`) and
//! `GetAdminOrganizations` (`/ims/admin_organizations/v5`).

use ims_api::{AccessToken, ClientId, Error, Organization, Profile, Result};

use crate::client::{ImsClient, token_refused};
use crate::endpoints;
use crate::http::{Answer, Call};

/// Whose profile or organizations to read, and with what (ims-go's
/// `GetAdminProfileRequest` / `GetAdminOrganizationsRequest`).
///
/// ```
/// use ims_api::{AccessToken, ClientId};
/// use ims_core::AdminLookup;
///
/// # fn main() -> Result<(), ims_api::InvalidValue> {
/// let lookup = AdminLookup::new(
///     ClientId::parse("my-service")?,
///     AccessToken::new("service-token"),
///     "1111AAAA2222BBBB3333CCCC",
///     "AdobeID",
/// );
/// assert!(!format!("{lookup:?}").contains("service-token"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdminLookup {
    /// The service's client id (`X-IMS-ClientId`).
    pub client_id: ClientId,
    /// The service's token (client credentials), sent as Bearer.
    pub service_token: AccessToken,
    /// The user's id without its authority (`guid`).
    pub guid: String,
    /// The user's authority (`auth_src`), e.g. `AdobeID`.
    pub auth_src: String,
}

impl AdminLookup {
    /// A lookup of user `guid`@`auth_src` by the service `client_id`.
    pub fn new(
        client_id: ClientId,
        service_token: AccessToken,
        guid: impl Into<String>,
        auth_src: impl Into<String>,
    ) -> Self {
        AdminLookup {
            client_id,
            service_token,
            guid: guid.into(),
            auth_src: auth_src.into(),
        }
    }
}

impl ImsClient {
    /// `POST /ims/admin_profile/v1`: the user's profile. A refused service
    /// token is [`Error::InvalidToken`]; a user IMS does not show this service
    /// is [`Error::Refused`] (404).
    pub async fn admin_profile(&self, lookup: &AdminLookup) -> Result<Profile> {
        self.admin_post(endpoints::ADMIN_PROFILE, lookup)
            .await?
            .json()
    }

    /// `POST /ims/admin_organizations/v5`: the user's organizations, errors
    /// as [`ImsClient::admin_profile`].
    pub async fn admin_organizations(&self, lookup: &AdminLookup) -> Result<Vec<Organization>> {
        self.admin_post(endpoints::ADMIN_ORGANIZATIONS, lookup)
            .await?
            .json()
    }

    async fn admin_post(&self, path: &str, lookup: &AdminLookup) -> Result<Answer> {
        if lookup.guid.trim().is_empty() || lookup.auth_src.trim().is_empty() {
            return Err(Error::Misconfigured(
                "an admin lookup needs the user's guid and auth_src".to_owned(),
            ));
        }
        let call = Call::post(self.url(path))
            .bearer(lookup.service_token.expose_secret())
            .header("X-IMS-ClientId", lookup.client_id.as_str())
            .field("guid", lookup.guid.as_str())
            .field("auth_src", lookup.auth_src.as_str());
        self.transport().send(&call).await.map_err(token_refused)
    }
}
