//! Revoking an admin's tokens, and purging what expired: the operator's and
//! the scheduler's side of the record.

use ims_api::{AdminUserId, Error, InvalidationReason, TokenRejection};

use super::WebApiAuthenticator;

impl WebApiAuthenticator {
    /// Revokes every token of an admin: logs out at IMS those whose token is
    /// stored (see [`WebApiConfig::store_tokens`](crate::WebApiConfig::store_tokens)), marks every row
    /// invalidated, and forgets them in memory, so the next request with any
    /// of them fails without asking IMS.
    pub async fn revoke_admin_tokens(&self, admin: AdminUserId) -> Result<RevocationReport, Error> {
        let rows = self.services.tokens.list_by_admin(admin).await?;
        let credentials = self.services.settings.load().await?.credentials();
        let mut report = RevocationReport::default();
        for row in rows.iter().filter(|row| !row.is_invalidated()) {
            if let (Some(token), Some(credentials)) = (&row.access_token, &credentials) {
                match self.services.revoker.logout(credentials, token).await {
                    Ok(()) => report.logged_out_at_ims += 1,
                    Err(err) => {
                        report.ims_failures += 1;
                        tracing::warn!(
                            admin_user_id = admin.0,
                            "IMS logout of a revoked Web API token failed: {err}"
                        );
                    }
                }
            }
        }
        let now = self.services.clock.now();
        report.invalidated = self
            .services
            .tokens
            .invalidate_all_for_admin(admin, &InvalidationReason::Revoked, now)
            .await?;
        // The caches are keyed by fingerprint, not by the rows' hash: the
        // admin's entries are found by admin id. A token of theirs not in
        // memory finds its row invalidated when it is next seen.
        self.memory
            .refuse_admin(admin.0, &TokenRejection::Invalidated("revoked".into()), now);
        tracing::info!(
            admin_user_id = admin.0,
            invalidated = report.invalidated,
            logged_out = report.logged_out_at_ims,
            "Web API tokens of an admin revoked"
        );
        Ok(report)
    }

    /// Deletes the records of tokens that expired, and first-sight leases
    /// and refusals that ended; how many records. For a scheduled job.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        let now = self.services.clock.now();
        let purged = self.services.tokens.purge_expired(now).await?;
        self.services.tokens.purge_first_sights(now).await?;
        Ok(purged)
    }
}

/// What revoking an admin's tokens did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationReport {
    /// Rows marked invalidated.
    pub invalidated: u64,
    /// Tokens logged out at IMS (only stored tokens can be).
    pub logged_out_at_ims: usize,
    /// Tokens IMS could not log out (the rows are invalidated anyway).
    pub ims_failures: usize,
}
