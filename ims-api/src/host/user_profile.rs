//! The `adobe_user_profile` record: an admin's IMS profile and tokens.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{AccessToken, AdminUserId, RefreshToken, Result};

/// One row of `adobe_user_profile` (Magento's `UserProfileInterface`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UserProfileRecord {
    /// The admin.
    pub admin_user_id: AdminUserId,
    /// Name from IMS.
    pub name: String,
    /// E-mail address from IMS.
    pub email: String,
    /// Avatar URL.
    pub image: Option<String>,
    /// IMS account type (`ind`, `ent`, …).
    pub account_type: Option<String>,
    /// The admin's current IMS access token (encrypted at rest).
    pub access_token: Option<AccessToken>,
    /// The admin's refresh token (encrypted at rest).
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires.
    pub access_token_expires_at: Option<OffsetDateTime>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl UserProfileRecord {
    /// A profile without tokens, created at `now`.
    pub fn new(
        admin_user_id: AdminUserId,
        name: impl Into<String>,
        email: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        UserProfileRecord {
            admin_user_id,
            name: name.into(),
            email: email.into(),
            image: None,
            account_type: None,
            access_token: None,
            refresh_token: None,
            access_token_expires_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The `adobe_user_profile` table (Magento's `UserProfileRepositoryInterface`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserProfileRepository: Send + Sync {
    /// Inserts or replaces the profile of `record.admin_user_id`.
    async fn save(&self, record: &UserProfileRecord) -> Result<()>;

    /// The profile of an admin.
    async fn find_by_admin(&self, admin: AdminUserId) -> Result<Option<UserProfileRecord>>;

    /// Deletes the profile of an admin; whether there was one.
    async fn delete_by_admin(&self, admin: AdminUserId) -> Result<bool>;
}
