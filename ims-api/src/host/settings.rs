//! The IMS integration's settings: on or off, and the credentials.

use async_trait::async_trait;

use crate::{ClientCredentials, ClientId, ClientSecret, OrgId, Result};

/// What `admin:adobe-ims:enable` saves (Magento's `ImsConfig`).
///
/// `Debug` shows whether a secret is configured, never the secret.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImsSettings {
    /// Whether the integration is on.
    pub enabled: bool,
    /// Client id ("API key").
    pub client_id: Option<ClientId>,
    /// Client secret, encrypted at rest by the store.
    pub client_secret: Option<ClientSecret>,
    /// The organization admins must belong to.
    pub org_id: Option<OrgId>,
    /// The operator confirmed that the organization enforces 2FA.
    pub two_factor_confirmed: bool,
}

impl ImsSettings {
    /// Enabled settings with all credentials.
    pub fn enabled(client_id: ClientId, client_secret: ClientSecret, org_id: OrgId) -> Self {
        ImsSettings {
            enabled: true,
            client_id: Some(client_id),
            client_secret: Some(client_secret),
            org_id: Some(org_id),
            two_factor_confirmed: true,
        }
    }

    /// The client credentials, when both are configured.
    pub fn credentials(&self) -> Option<ClientCredentials> {
        Some(ClientCredentials::new(
            self.client_id.clone()?,
            self.client_secret.clone()?,
        ))
    }
}

/// Where the settings are kept.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImsSettingsStore: Send + Sync {
    /// The current settings (defaults — disabled, nothing configured — if
    /// never saved).
    async fn load(&self) -> Result<ImsSettings>;

    /// Replaces the settings.
    async fn save(&self, settings: &ImsSettings) -> Result<()>;
}
