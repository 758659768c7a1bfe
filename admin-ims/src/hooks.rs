//! What the host does for the operator's `enable` beyond saving settings.

use async_trait::async_trait;

/// What enabling the integration asks of the host beyond saving settings.
#[async_trait]
pub trait IntegrationHooks: Send + Sync {
    /// Revokes every password-based admin API token (they must not outlive
    /// the switch to IMS); how many.
    async fn revoke_password_admin_tokens(&self) -> ims_api::Result<u64>;

    /// Creates the role [`ADOBE_IMS_ROLE`](ims_api::ADOBE_IMS_ROLE) (granting nothing) unless it
    /// exists.
    async fn ensure_adobe_ims_role(&self) -> ims_api::Result<()>;
}
