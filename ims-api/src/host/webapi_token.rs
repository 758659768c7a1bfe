//! The `admin_adobe_ims_webapi` record: every IMS token seen on the Web API,
//! and its status.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{AccessToken, AdminUserId, OrgId, Result, TokenHash};

/// Why a token was invalidated on the host side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidationReason {
    /// An operator or the integration revoked it (e.g. "revoke all tokens
    /// of this admin").
    Revoked,
    /// IMS said it is not valid on a re-check.
    FailedValidation,
    /// Its admin user was removed or deactivated.
    UserRemoved,
    /// Anything else, in words.
    Other(String),
}

impl InvalidationReason {
    /// The stored value: `revoked`, `failed_validation`, `user_removed`, or
    /// the free text.
    pub fn as_str(&self) -> &str {
        match self {
            InvalidationReason::Revoked => "revoked",
            InvalidationReason::FailedValidation => "failed_validation",
            InvalidationReason::UserRemoved => "user_removed",
            InvalidationReason::Other(reason) => reason,
        }
    }

    /// The reason a stored value stands for.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "revoked" => InvalidationReason::Revoked,
            "failed_validation" => InvalidationReason::FailedValidation,
            "user_removed" => InvalidationReason::UserRemoved,
            other => InvalidationReason::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for InvalidationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's status: "when a token is validated or invalidated, a record of
/// its status is preserved".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenStatus {
    /// Validated; see the record's `last_check_time`.
    Validated,
    /// Invalidated: refused without asking IMS.
    Invalidated {
        /// When.
        at: OffsetDateTime,
        /// Why.
        reason: InvalidationReason,
    },
}

/// One row of `admin_adobe_ims_webapi`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebApiToken {
    /// The admin the token maps to.
    pub admin_user_id: AdminUserId,
    /// SHA-256 of the token: the key.
    pub access_token_hash: TokenHash,
    /// The token itself, kept (encrypted at rest) only when the host enables
    /// it, because only revocation at IMS needs it.
    pub access_token: Option<AccessToken>,
    /// First seen.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// Last remote validation.
    pub last_check_time: OffsetDateTime,
    /// `created_at + expires_in` of the token.
    pub access_token_expires_at: OffsetDateTime,
    /// Validated or invalidated.
    pub status: TokenStatus,
    /// The organization the admin was found a member of when the token was
    /// validated (`None` in records saved before this was kept): a record
    /// checked for another organization than the one configured now is not
    /// trusted.
    pub organization: Option<OrgId>,
    /// SHA-256 of the e-mail address the token's IMS profile gave when it
    /// was validated, as [`AdminUser::email_matches`](crate::AdminUser::email_matches)
    /// compares addresses (surrounding ASCII whitespace trimmed, ASCII
    /// letters lower-cased; see [`normalized_email`]). Another instance that
    /// finds the record compares it with its admin's current address
    /// instead of asking IMS for the profile again. `None` in records saved
    /// before it was kept: those are checked against the profile.
    pub admin_email_sha256: Option<[u8; 32]>,
}

/// An e-mail address in the form whose SHA-256 a record keeps (see
/// [`WebApiToken::admin_email_sha256`]): surrounding ASCII whitespace
/// trimmed, ASCII letters lower-cased, nothing else folded — the comparison
/// [`AdminUser::email_matches`](crate::AdminUser::email_matches) makes.
/// `None` for an address that is empty once trimmed (it matches nothing).
///
/// ```
/// use ims_api::normalized_email;
///
/// assert_eq!(normalized_email(" Jane@Example.COM\t").as_deref(), Some("jane@example.com"));
/// assert_eq!(normalized_email("\u{212A}ate@example.com").as_deref(), Some("\u{212A}ate@example.com"));
/// assert_eq!(normalized_email("  "), None);
/// ```
pub fn normalized_email(email: &str) -> Option<String> {
    let trimmed = email.trim_matches(|c: char| c.is_ascii_whitespace());
    (!trimmed.is_empty()).then(|| trimmed.to_ascii_lowercase())
}

impl WebApiToken {
    /// A freshly validated token, checked at `now`.
    pub fn validated(
        admin_user_id: AdminUserId,
        access_token_hash: TokenHash,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        WebApiToken {
            admin_user_id,
            access_token_hash,
            access_token: None,
            created_at: now,
            updated_at: now,
            last_check_time: now,
            access_token_expires_at: expires_at,
            status: TokenStatus::Validated,
            organization: None,
            admin_email_sha256: None,
        }
    }

    /// Records the SHA-256 of the e-mail address the token's profile gave,
    /// normalised by [`normalized_email`].
    pub fn with_admin_email_sha256(mut self, digest: [u8; 32]) -> Self {
        self.admin_email_sha256 = Some(digest);
        self
    }

    /// Records the organization the admin's membership was checked in.
    pub fn with_organization(mut self, org: OrgId) -> Self {
        self.organization = Some(org);
        self
    }

    /// Keeps the token itself (for revocation at IMS).
    pub fn with_access_token(mut self, token: AccessToken) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Whether the token was invalidated.
    pub fn is_invalidated(&self) -> bool {
        matches!(self.status, TokenStatus::Invalidated { .. })
    }
}

/// Where a caller stands in a token's first sight across the instances
/// sharing one record (see [`WebApiTokenRepository::begin_first_sight`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstSight {
    /// The caller holds the lease: it asks IMS, saves the record, and ends
    /// the first sight with [`WebApiTokenRepository::end_first_sight`].
    Lead,
    /// Another instance holds the lease until `until` (the store's clock):
    /// wait for its record, and ask again — an expired lease is taken over.
    Follow {
        /// When the leader's lease expires.
        until: OffsetDateTime,
    },
    /// The leader refused the token a moment ago: refuse it too, without
    /// asking IMS.
    Refused {
        /// The leader's refusal, in words, for the log (never a secret).
        reason: String,
    },
}

/// How a leader ends a token's first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstSightOutcome {
    /// The record was saved: the lease is released, and followers find the
    /// record with [`WebApiTokenRepository::find_by_hash`].
    Recorded,
    /// The token was refused: followers (and later callers) refuse it for
    /// `remembered_for` without asking IMS.
    Refused {
        /// Why, in words, for the log (never a secret).
        reason: String,
        /// How long the refusal stands.
        remembered_for: Duration,
    },
    /// Nothing was decided (IMS unavailable, a storage failure): the lease
    /// is released without an outcome and the next caller leads.
    Undecided,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

impl Page {
    /// The first `limit` rows.
    pub fn first(limit: u64) -> Self {
        Page { offset: 0, limit }
    }
}

/// The `admin_adobe_ims_webapi` table (Magento's `ImsWebapiRepositoryInterface`).
///
/// `ims-store` implements it for SQLite, PostgreSQL and MySQL.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebApiTokenRepository: Send + Sync {
    /// The row of a token.
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<WebApiToken>>;

    /// Inserts the row, or replaces the *validated* row with the same hash.
    ///
    /// An invalidated row is never replaced (its invalidation stands, even
    /// against a first sight that was validated before it and saved after
    /// it): callers read the row back when they need to know.
    async fn save(&self, token: &WebApiToken) -> Result<()>;

    /// Records a successful re-validation: `last_check_time` (and `updated_at`)
    /// become `checked_at`, the expiry is updated.
    async fn record_check(
        &self,
        hash: &TokenHash,
        checked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()>;

    /// Marks a token invalidated; whether a validated row was changed.
    async fn invalidate(
        &self,
        hash: &TokenHash,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<bool>;

    /// Marks every validated token of an admin invalidated; how many.
    ///
    /// It first records `at` as the admin's revocation time (see
    /// [`last_revocation`](Self::last_revocation)), durably and before any
    /// row changes: a token whose first sight is in flight has no row yet,
    /// and finds the revocation there once it saved its own.
    async fn invalidate_all_for_admin(
        &self,
        admin: AdminUserId,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<u64>;

    /// When the admin's tokens were last invalidated all at once (by
    /// [`invalidate_all_for_admin`](Self::invalidate_all_for_admin)), if
    /// ever: tokens issued or first seen before then are not trusted.
    async fn last_revocation(&self, admin: AdminUserId) -> Result<Option<OffsetDateTime>>;

    /// The rows of an admin.
    async fn list_by_admin(&self, admin: AdminUserId) -> Result<Vec<WebApiToken>>;

    /// Rows, newest first.
    async fn list(&self, page: Page) -> Result<Vec<WebApiToken>>;

    /// Deletes rows whose token expired before `now`; how many.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64>;

    /// Leads or follows the first sight of a token that has no usable
    /// record, so that instances sharing the record ask IMS once per new
    /// token between them: the first caller gets [`FirstSight::Lead`] and a
    /// lease of `lease` (timed by the repository's clock); others get
    /// [`FirstSight::Follow`] until the leader ends it or the lease expires
    /// (a leader that died releases nothing: its lease is then taken over),
    /// or [`FirstSight::Refused`] while the leader's refusal stands. Two
    /// callers never both lead. `holder` names the caller's instance; the
    /// same holder takes its own lease again (its earlier attempt was
    /// dropped).
    ///
    /// The default makes every caller a leader, which is right for a
    /// repository used by one instance only: a host's own single-instance
    /// repository needs nothing more.
    async fn begin_first_sight(
        &self,
        hash: &TokenHash,
        holder: &str,
        lease: Duration,
    ) -> Result<FirstSight> {
        let _ = (hash, holder, lease);
        Ok(FirstSight::Lead)
    }

    /// Ends a first sight `holder` leads (see
    /// [`begin_first_sight`](Self::begin_first_sight)); nothing if the lease
    /// is no longer its own.
    ///
    /// The default does nothing (every caller leads).
    async fn end_first_sight(
        &self,
        hash: &TokenHash,
        holder: &str,
        outcome: &FirstSightOutcome,
    ) -> Result<()> {
        let _ = (hash, holder, outcome);
        Ok(())
    }

    /// Deletes first-sight leases and refusals that expired before `now`;
    /// how many.
    ///
    /// The default has none to delete.
    async fn purge_first_sights(&self, now: OffsetDateTime) -> Result<u64> {
        let _ = now;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host's own single-instance repository, which knows nothing of
    /// leases.
    struct Plain;

    #[async_trait]
    impl WebApiTokenRepository for Plain {
        async fn find_by_hash(&self, _: &TokenHash) -> Result<Option<WebApiToken>> {
            Ok(None)
        }
        async fn save(&self, _: &WebApiToken) -> Result<()> {
            Ok(())
        }
        async fn record_check(
            &self,
            _: &TokenHash,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<()> {
            Ok(())
        }
        async fn invalidate(
            &self,
            _: &TokenHash,
            _: &InvalidationReason,
            _: OffsetDateTime,
        ) -> Result<bool> {
            Ok(false)
        }
        async fn invalidate_all_for_admin(
            &self,
            _: AdminUserId,
            _: &InvalidationReason,
            _: OffsetDateTime,
        ) -> Result<u64> {
            Ok(0)
        }
        async fn last_revocation(&self, _: AdminUserId) -> Result<Option<OffsetDateTime>> {
            Ok(None)
        }
        async fn list_by_admin(&self, _: AdminUserId) -> Result<Vec<WebApiToken>> {
            Ok(Vec::new())
        }
        async fn list(&self, _: Page) -> Result<Vec<WebApiToken>> {
            Ok(Vec::new())
        }
        async fn purge_expired(&self, _: OffsetDateTime) -> Result<u64> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn without_a_lease_every_caller_leads() {
        let hash = TokenHash::from_digest([7; 32]);
        let lease = Duration::from_secs(15);
        for holder in ["a", "b", "a"] {
            assert_eq!(
                Plain.begin_first_sight(&hash, holder, lease).await.unwrap(),
                FirstSight::Lead
            );
        }
        let refused = FirstSightOutcome::Refused {
            reason: "no".into(),
            remembered_for: lease,
        };
        Plain.end_first_sight(&hash, "a", &refused).await.unwrap();
        assert_eq!(
            Plain.begin_first_sight(&hash, "b", lease).await.unwrap(),
            FirstSight::Lead,
            "nothing is shared"
        );
        assert_eq!(
            Plain
                .purge_first_sights(OffsetDateTime::UNIX_EPOCH)
                .await
                .unwrap(),
            0
        );
    }

    #[test]
    fn normalized_addresses_compare_as_email_matches_does() {
        let pairs = [
            ("Jane@Example.com", " jane@example.COM\t", true),
            ("jane@example.com", "jane@example.com\u{a0}", false),
            ("kate@example.com", "\u{212A}ate@example.com", false),
            ("", "", false),
            (" ", "\n", false),
        ];
        for (a, b, same) in pairs {
            assert_eq!(crate::same_email(a, b), same, "{a:?} {b:?}");
            let normalized = (normalized_email(a), normalized_email(b));
            assert_eq!(
                normalized.0.is_some() && normalized.0 == normalized.1,
                same,
                "{a:?} {b:?}"
            );
        }
    }
}
