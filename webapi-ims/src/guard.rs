//! The guard Magento puts on password-based admin tokens.

use ims_api::ImsSettings;

/// Magento's refusal of password-based admin tokens while IMS is enabled.
pub const ADMIN_TOKEN_DISABLED: &str =
    "Admin token generation is disabled. Please use Adobe IMS ACCESS_TOKEN.";

/// Password-based admin token generation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", ADMIN_TOKEN_DISABLED)]
#[non_exhaustive]
pub struct AdminTokenGenerationDisabled;

/// Call before issuing an admin token for a user name and password (Magento's
/// `POST /V1/integration/admin/token`): refused while the IMS integration is
/// enabled, since admins then sign in with their Adobe ID only.
///
/// ```
/// use ims_api::ImsSettings;
/// use webapi_ims::guard_password_admin_token;
///
/// assert!(guard_password_admin_token(&ImsSettings::default()).is_ok());
/// let mut settings = ImsSettings::default();
/// settings.enabled = true;
/// let err = guard_password_admin_token(&settings).unwrap_err();
/// assert_eq!(err.to_string(), "Admin token generation is disabled. Please use Adobe IMS ACCESS_TOKEN.");
/// ```
pub fn guard_password_admin_token(
    settings: &ImsSettings,
) -> Result<(), AdminTokenGenerationDisabled> {
    if settings.enabled {
        Err(AdminTokenGenerationDisabled)
    } else {
        Ok(())
    }
}
