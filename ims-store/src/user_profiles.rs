//! The `adobe_user_profile` table.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use ims_api::{
    AccessToken, AdminUserId, RefreshToken, Result, UserProfileRecord, UserProfileRepository,
};

use crate::context::StoreContext;
use crate::crypto::aad;
use crate::db::{Sql, Value};

const TABLE: &str = "adobe_user_profile";

static SAVE: Sql = Sql::with_mysql(
    "INSERT INTO adobe_user_profile (admin_user_id, name, email, image, account_type, \
     access_token, refresh_token, access_token_expires_at, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (admin_user_id) DO UPDATE SET name = excluded.name, email = excluded.email, \
     image = excluded.image, account_type = excluded.account_type, \
     access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
     access_token_expires_at = excluded.access_token_expires_at, \
     created_at = excluded.created_at, updated_at = excluded.updated_at",
    "INSERT INTO adobe_user_profile (admin_user_id, name, email, image, account_type, \
     access_token, refresh_token, access_token_expires_at, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), \
     image = VALUES(image), account_type = VALUES(account_type), \
     access_token = VALUES(access_token), refresh_token = VALUES(refresh_token), \
     access_token_expires_at = VALUES(access_token_expires_at), \
     created_at = VALUES(created_at), updated_at = VALUES(updated_at)",
);
static FIND_BY_ADMIN: Sql = Sql::new(
    "SELECT admin_user_id, name, email, image, account_type, access_token, refresh_token, \
     access_token_expires_at, created_at, updated_at FROM adobe_user_profile \
     WHERE admin_user_id = $1",
);
static DELETE_BY_ADMIN: Sql = Sql::new("DELETE FROM adobe_user_profile WHERE admin_user_id = $1");

/// The `adobe_user_profile` table as a [`UserProfileRepository`]. Cheap to
/// clone. The access and refresh tokens are encrypted at rest; saving a
/// profile with a token but no configured key is a `Misconfigured` error.
#[derive(Clone)]
pub struct SqlUserProfileRepository {
    inner: Arc<StoreContext>,
}

impl fmt::Debug for SqlUserProfileRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlUserProfileRepository")
            .field("store", &self.inner)
            .finish()
    }
}

impl SqlUserProfileRepository {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlUserProfileRepository { inner }
    }
}

#[async_trait]
impl UserProfileRepository for SqlUserProfileRepository {
    async fn save(&self, record: &UserProfileRecord) -> Result<()> {
        let row = record.admin_user_id.to_string();
        let sealer = &self.inner.sealer;
        let access = sealer.seal(
            "a profile's access token",
            record.access_token.as_ref().map(AccessToken::expose_secret),
            &aad(TABLE, "access_token", &row),
        )?;
        let refresh = sealer.seal(
            "a profile's refresh token",
            record
                .refresh_token
                .as_ref()
                .map(RefreshToken::expose_secret),
            &aad(TABLE, "refresh_token", &row),
        )?;
        self.inner
            .pool
            .execute(
                "save an admin's IMS profile",
                &SAVE,
                &[
                    Value::Int(record.admin_user_id.0),
                    Value::text(&record.name),
                    Value::text(&record.email),
                    Value::OptText(record.image.clone()),
                    Value::OptText(record.account_type.clone()),
                    Value::Bytes(access),
                    Value::Bytes(refresh),
                    Value::opt_time(record.access_token_expires_at),
                    Value::time(record.created_at),
                    Value::time(record.updated_at),
                ],
            )
            .await?;
        Ok(())
    }

    async fn find_by_admin(&self, admin: AdminUserId) -> Result<Option<UserProfileRecord>> {
        let Some(row) = self
            .inner
            .pool
            .fetch_optional(
                "look up an admin's IMS profile",
                &FIND_BY_ADMIN,
                &[Value::Int(admin.0)],
            )
            .await?
        else {
            return Ok(None);
        };
        let key = admin.to_string();
        let sealer = &self.inner.sealer;
        let mut record = UserProfileRecord::new(
            AdminUserId(row.int(0)?),
            row.text(1)?,
            row.text(2)?,
            row.time(8)?,
        );
        record.image = row.opt_text(3)?;
        record.account_type = row.opt_text(4)?;
        record.access_token = sealer
            .open(
                "a profile's access token",
                row.opt_bytes(5)?,
                &aad(TABLE, "access_token", &key),
            )?
            .map(AccessToken::new);
        record.refresh_token = sealer
            .open(
                "a profile's refresh token",
                row.opt_bytes(6)?,
                &aad(TABLE, "refresh_token", &key),
            )?
            .map(RefreshToken::new);
        record.access_token_expires_at = row.opt_time(7)?;
        record.updated_at = row.time(9)?;
        Ok(Some(record))
    }

    async fn delete_by_admin(&self, admin: AdminUserId) -> Result<bool> {
        let deleted = self
            .inner
            .pool
            .execute(
                "delete an admin's IMS profile",
                &DELETE_BY_ADMIN,
                &[Value::Int(admin.0)],
            )
            .await?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_well_formed() {
        use super::*;
        crate::db::assert_statements_well_formed(&[&SAVE, &FIND_BY_ADMIN, &DELETE_BY_ADMIN]);
    }
}
