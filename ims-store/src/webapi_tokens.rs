//! The `admin_adobe_ims_webapi` table.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{
    AccessToken, AdminUserId, Change, Error, FirstSight, FirstSightOutcome, InvalidationReason,
    OrgId, Page, Result, TokenHash, TokenStatus, WebApiToken, WebApiTokenRepository,
};
use time::OffsetDateTime;

use crate::changes::record;
use crate::context::StoreContext;
use crate::crypto::aad;
use crate::db::{Row, Sql, TxFuture, Value};
use crate::first_sight;

const TABLE: &str = "admin_adobe_ims_webapi";
const VALIDATED: &str = "validated";
const INVALIDATED: &str = "invalidated";

macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT admin_user_id, access_token_hash, access_token, created_at, updated_at, ",
            "last_check_time, access_token_expires_at, status, invalidated_at, ",
            "invalidation_reason, organization_id, admin_email_sha256 FROM admin_adobe_ims_webapi ",
            $rest
        )
    };
}

static FIND_BY_HASH: Sql = Sql::new(select_tokens!("WHERE access_token_hash = $1"));
static LIST_BY_ADMIN: Sql = Sql::new(select_tokens!(
    "WHERE admin_user_id = $1 ORDER BY created_at DESC, id DESC"
));
static LIST: Sql = Sql::new(select_tokens!(
    "ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
));
/// Inserts a row, or replaces a *validated* row: an invalidated row is
/// never turned valid again (a first sight saved after an invalidation by
/// another instance must not revive the token). MySQL has no `WHERE` on its
/// upsert: each column keeps its value unless the row is validated, and
/// `status`, which the other assignments read, comes last.
static SAVE: Sql = Sql::with_mysql(
    "INSERT INTO admin_adobe_ims_webapi (admin_user_id, access_token_hash, access_token, \
     created_at, updated_at, last_check_time, access_token_expires_at, status, invalidated_at, \
     invalidation_reason, organization_id, admin_email_sha256) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (access_token_hash) DO UPDATE SET admin_user_id = excluded.admin_user_id, \
     access_token = excluded.access_token, created_at = excluded.created_at, \
     updated_at = excluded.updated_at, last_check_time = excluded.last_check_time, \
     access_token_expires_at = excluded.access_token_expires_at, status = excluded.status, \
     invalidated_at = excluded.invalidated_at, invalidation_reason = excluded.invalidation_reason, \
     organization_id = excluded.organization_id, \
     admin_email_sha256 = excluded.admin_email_sha256 \
     WHERE admin_adobe_ims_webapi.status = 'validated'",
    "INSERT INTO admin_adobe_ims_webapi (admin_user_id, access_token_hash, access_token, \
     created_at, updated_at, last_check_time, access_token_expires_at, status, invalidated_at, \
     invalidation_reason, organization_id, admin_email_sha256) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE \
     admin_user_id = IF(status = 'validated', VALUES(admin_user_id), admin_user_id), \
     access_token = IF(status = 'validated', VALUES(access_token), access_token), \
     created_at = IF(status = 'validated', VALUES(created_at), created_at), \
     updated_at = IF(status = 'validated', VALUES(updated_at), updated_at), \
     last_check_time = IF(status = 'validated', VALUES(last_check_time), last_check_time), \
     access_token_expires_at = IF(status = 'validated', VALUES(access_token_expires_at), \
     access_token_expires_at), \
     invalidated_at = IF(status = 'validated', VALUES(invalidated_at), invalidated_at), \
     invalidation_reason = IF(status = 'validated', VALUES(invalidation_reason), \
     invalidation_reason), \
     organization_id = IF(status = 'validated', VALUES(organization_id), organization_id), \
     admin_email_sha256 = IF(status = 'validated', VALUES(admin_email_sha256), \
     admin_email_sha256), \
     status = IF(status = 'validated', VALUES(status), status)",
);
static RECORD_CHECK: Sql = Sql::new(
    "UPDATE admin_adobe_ims_webapi SET last_check_time = $1, updated_at = $2, \
     access_token_expires_at = $3 WHERE access_token_hash = $4",
);
static INVALIDATE: Sql = Sql::new(
    "UPDATE admin_adobe_ims_webapi SET status = 'invalidated', invalidated_at = $1, \
     invalidation_reason = $2, updated_at = $3 \
     WHERE access_token_hash = $4 AND status = 'validated'",
);
static INVALIDATE_ALL_FOR_ADMIN: Sql = Sql::new(
    "UPDATE admin_adobe_ims_webapi SET status = 'invalidated', invalidated_at = $1, \
     invalidation_reason = $2, updated_at = $3 \
     WHERE admin_user_id = $4 AND status = 'validated'",
);
/// Records an admin's revocation time, keeping the latest (instances
/// revoking at once may disagree by a little); nothing for an unknown admin.
static RECORD_REVOCATION: Sql = Sql::with_mysql(
    "INSERT INTO admin_adobe_ims_webapi_revocation (admin_user_id, revoked_at) \
     SELECT id, CAST($1 AS BIGINT) FROM admin_user WHERE id = $2 \
     ON CONFLICT (admin_user_id) DO UPDATE SET revoked_at = CASE \
     WHEN admin_adobe_ims_webapi_revocation.revoked_at > excluded.revoked_at \
     THEN admin_adobe_ims_webapi_revocation.revoked_at ELSE excluded.revoked_at END",
    "INSERT INTO admin_adobe_ims_webapi_revocation (admin_user_id, revoked_at) \
     SELECT id, ? FROM admin_user WHERE id = ? \
     ON DUPLICATE KEY UPDATE revoked_at = GREATEST(revoked_at, VALUES(revoked_at))",
);
static LAST_REVOCATION: Sql =
    Sql::new("SELECT revoked_at FROM admin_adobe_ims_webapi_revocation WHERE admin_user_id = $1");
static PURGE_EXPIRED: Sql =
    Sql::new("DELETE FROM admin_adobe_ims_webapi WHERE access_token_expires_at < $1");

/// The `admin_adobe_ims_webapi` table as a [`WebApiTokenRepository`].
/// Cheap to clone.
///
/// The token itself is kept only when the record carries it (the host
/// enabled that, for revocation at IMS), and then always encrypted: saving a
/// record with a token but no configured key is a `Misconfigured` error.
#[derive(Clone)]
pub struct SqlWebApiTokenRepository {
    inner: Arc<StoreContext>,
}

impl fmt::Debug for SqlWebApiTokenRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlWebApiTokenRepository")
            .field("store", &self.inner)
            .finish()
    }
}

impl SqlWebApiTokenRepository {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlWebApiTokenRepository { inner }
    }

    fn token_from_row(&self, row: &Row) -> Result<WebApiToken> {
        let hash = TokenHash::from_hex(&row.text(1)?).map_err(|err| Error::Storage {
            message: "a stored access_token_hash is malformed".to_owned(),
            source: Some(Box::new(err)),
        })?;
        let access_token = self
            .inner
            .sealer
            .open(
                "a Web API access token",
                row.opt_bytes(2)?,
                &aad(TABLE, "access_token", hash.as_str()),
            )?
            .map(AccessToken::new);
        let status = match row.text(7)?.as_str() {
            VALIDATED => TokenStatus::Validated,
            INVALIDATED => TokenStatus::Invalidated {
                at: row.opt_time(8)?.unwrap_or(row.time(4)?),
                reason: InvalidationReason::from_stored(
                    row.opt_text(9)?.as_deref().unwrap_or_default(),
                ),
            },
            _ => {
                return Err(Error::Storage {
                    message: "a stored Web API token has an unknown status".to_owned(),
                    source: None,
                });
            }
        };
        let mut token =
            WebApiToken::validated(AdminUserId(row.int(0)?), hash, row.time(6)?, row.time(5)?);
        token.access_token = access_token;
        token.created_at = row.time(3)?;
        token.updated_at = row.time(4)?;
        token.status = status;
        token.organization = row
            .opt_text(10)?
            .map(|org| OrgId::parse(&org))
            .transpose()
            .map_err(|err| Error::Storage {
                message: "a stored Web API token's organization_id is malformed".to_owned(),
                source: Some(Box::new(err)),
            })?;
        token.admin_email_sha256 = row
            .opt_text(11)?
            .map(|hex| TokenHash::from_hex(&hex).map(|digest| digest_bytes(&digest)))
            .transpose()
            .map_err(|err| Error::Storage {
                message: "a stored Web API token's admin_email_sha256 is malformed".to_owned(),
                source: Some(Box::new(err)),
            })?;
        Ok(token)
    }

    fn tokens_from_rows(&self, rows: &[Row]) -> Result<Vec<WebApiToken>> {
        rows.iter().map(|row| self.token_from_row(row)).collect()
    }
}

#[async_trait]
impl WebApiTokenRepository for SqlWebApiTokenRepository {
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<WebApiToken>> {
        self.inner
            .pool
            .fetch_optional(
                "look up a Web API token",
                &FIND_BY_HASH,
                &[Value::text(hash.as_str())],
            )
            .await?
            .map(|row| self.token_from_row(&row))
            .transpose()
    }

    async fn save(&self, token: &WebApiToken) -> Result<()> {
        let hash = token.access_token_hash.as_str();
        let sealed = self.inner.sealer.seal(
            "a Web API access token",
            token.access_token.as_ref().map(AccessToken::expose_secret),
            &aad(TABLE, "access_token", hash),
        )?;
        let (status, invalidated_at, reason) = match &token.status {
            TokenStatus::Invalidated { at, reason } => {
                (INVALIDATED, Some(*at), Some(reason.as_str().to_owned()))
            }
            _ => (VALIDATED, None, None),
        };
        self.inner
            .pool
            .execute(
                "save a Web API token",
                &SAVE,
                &[
                    Value::Int(token.admin_user_id.0),
                    Value::text(hash),
                    Value::Bytes(sealed),
                    Value::time(token.created_at),
                    Value::time(token.updated_at),
                    Value::time(token.last_check_time),
                    Value::time(token.access_token_expires_at),
                    Value::text(status),
                    Value::opt_time(invalidated_at),
                    Value::OptText(reason),
                    Value::OptText(
                        token
                            .organization
                            .as_ref()
                            .map(|org| org.as_str().to_owned()),
                    ),
                    Value::OptText(
                        token
                            .admin_email_sha256
                            .map(|digest| TokenHash::from_digest(digest).as_str().to_owned()),
                    ),
                ],
            )
            .await?;
        Ok(())
    }

    async fn record_check(
        &self,
        hash: &TokenHash,
        checked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.inner
            .pool
            .execute(
                "record a Web API token check",
                &RECORD_CHECK,
                &[
                    Value::time(checked_at),
                    Value::time(checked_at),
                    Value::time(expires_at),
                    Value::text(hash.as_str()),
                ],
            )
            .await?;
        Ok(())
    }

    async fn invalidate(
        &self,
        hash: &TokenHash,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let changed = self
            .inner
            .pool
            .execute(
                "invalidate a Web API token",
                &INVALIDATE,
                &[
                    Value::time(at),
                    Value::text(reason.as_str()),
                    Value::time(at),
                    Value::text(hash.as_str()),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn invalidate_all_for_admin(
        &self,
        admin: AdminUserId,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<u64> {
        // The revocation time first: a first sight in flight, which has no
        // row yet for the update below, finds it once it has saved its row.
        // Both in one transaction with the change logged: other instances
        // forget the admin's tokens once they can read the invalidation.
        let revocation = [Value::time(at), Value::Int(admin.0)];
        let invalidation = [
            Value::time(at),
            Value::text(reason.as_str()),
            Value::time(at),
            Value::Int(admin.0),
        ];
        let logged_at = self.inner.clock.now();
        self.inner
            .changing(
                "invalidate an admin's Web API tokens",
                |tx| -> TxFuture<'_, u64> {
                    let (revocation, invalidation) = (revocation.clone(), invalidation.clone());
                    Box::pin(async move {
                        tx.execute(&RECORD_REVOCATION, &revocation).await?;
                        let invalidated =
                            tx.execute(&INVALIDATE_ALL_FOR_ADMIN, &invalidation).await?;
                        record(tx, &Change::Admin(admin), logged_at).await?;
                        Ok(invalidated)
                    })
                },
            )
            .await
    }

    async fn last_revocation(&self, admin: AdminUserId) -> Result<Option<OffsetDateTime>> {
        self.inner
            .pool
            .fetch_optional(
                "read an admin's Web API token revocation",
                &LAST_REVOCATION,
                &[Value::Int(admin.0)],
            )
            .await?
            .map(|row| row.time(0))
            .transpose()
    }

    async fn list_by_admin(&self, admin: AdminUserId) -> Result<Vec<WebApiToken>> {
        let rows = self
            .inner
            .pool
            .fetch_all(
                "list an admin's Web API tokens",
                &LIST_BY_ADMIN,
                &[Value::Int(admin.0)],
            )
            .await?;
        self.tokens_from_rows(&rows)
    }

    async fn list(&self, page: Page) -> Result<Vec<WebApiToken>> {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .pool
            .fetch_all(
                "list Web API tokens",
                &LIST,
                &[
                    Value::Int(clamp(page.limit)),
                    Value::Int(clamp(page.offset)),
                ],
            )
            .await?;
        self.tokens_from_rows(&rows)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        self.inner
            .pool
            .execute(
                "purge expired Web API tokens",
                &PURGE_EXPIRED,
                &[Value::time(now)],
            )
            .await
    }

    async fn begin_first_sight(
        &self,
        hash: &TokenHash,
        holder: &str,
        lease: Duration,
    ) -> Result<FirstSight> {
        first_sight::begin(&self.inner, hash, holder, lease).await
    }

    async fn end_first_sight(
        &self,
        hash: &TokenHash,
        holder: &str,
        outcome: &FirstSightOutcome,
    ) -> Result<()> {
        first_sight::end(&self.inner, hash, holder, outcome).await
    }

    async fn purge_first_sights(&self, now: OffsetDateTime) -> Result<u64> {
        first_sight::purge(&self.inner, now).await
    }
}

/// The 32 bytes a 64-hex-digit value stands for.
fn digest_bytes(hex: &TokenHash) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_str().as_bytes().chunks_exact(2)) {
        let digit = |b: u8| match b {
            b'0'..=b'9' => b - b'0',
            _ => b - b'a' + 10,
        };
        *byte = (digit(pair[0]) << 4) | digit(pair[1]);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_well_formed() {
        use super::*;
        crate::db::assert_statements_well_formed(&[
            &FIND_BY_HASH,
            &LIST_BY_ADMIN,
            &LIST,
            &SAVE,
            &RECORD_CHECK,
            &INVALIDATE,
            &INVALIDATE_ALL_FOR_ADMIN,
            &RECORD_REVOCATION,
            &LAST_REVOCATION,
            &PURGE_EXPIRED,
        ]);
    }
}
