//! The host's admin users, as the IMS integration needs them.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{AdminUserId, Password, Result};

/// The role Magento gives users it creates on first sign-in: it grants
/// nothing until an administrator assigns a real role.
pub const ADOBE_IMS_ROLE: &str = "Adobe Ims";

/// An admin user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminUser {
    /// Id.
    pub id: AdminUserId,
    /// User name.
    pub username: String,
    /// E-mail address, the key that matches an IMS profile.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// The role, if any (`None`: the user has no permissions at all).
    pub role: Option<String>,
    /// Failed sign-ins and the lock they led to.
    pub login_failures: LoginFailures,
}

impl AdminUser {
    /// An active user without a role, names or failures; set the other
    /// fields as needed (directories build their users with this).
    pub fn new(id: AdminUserId, username: impl Into<String>, email: impl Into<String>) -> Self {
        AdminUser {
            id,
            username: username.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            role: None,
            login_failures: LoginFailures::default(),
        }
    }

    /// Whether the user is locked at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.login_failures.is_locked(now)
    }

    /// Whether `email` (an IMS profile's) is this user's address: equal
    /// once surrounding ASCII whitespace is trimmed, ASCII letters compared
    /// case-insensitively, nothing else folded.
    ///
    /// A directory may find users more loosely (Unicode lower-casing, which
    /// turns the Kelvin sign `K` into `k`; a case- and accent-insensitive SQL
    /// collation; Unicode whitespace trimmed): an IMS account whose address
    /// only looks like an admin's must not become that admin, so what
    /// `find_by_email` returns is checked with this.
    ///
    /// ```
    /// use ims_api::{AdminUser, AdminUserId};
    ///
    /// let kate = AdminUser::new(AdminUserId(1), "kate", "kate@example.com");
    /// assert!(kate.email_matches("Kate@Example.COM"));
    /// assert!(!kate.email_matches("\u{212A}ate@example.com"));
    /// assert!(!kate.email_matches("kate@example.com\u{a0}"));
    /// assert!(!kate.email_matches("kat\u{e9}@example.com"));
    /// ```
    pub fn email_matches(&self, email: &str) -> bool {
        same_email(&self.email, email)
    }

    /// Whether the user has a role that grants something (not none and not
    /// the empty [`ADOBE_IMS_ROLE`]).
    pub fn has_permissions(&self) -> bool {
        self.role
            .as_deref()
            .is_some_and(|role| !role.is_empty() && role != ADOBE_IMS_ROLE)
    }
}

/// Whether two e-mail addresses name the same mailbox, as
/// [`AdminUser::email_matches`] decides it: equal once surrounding ASCII
/// whitespace is trimmed, ASCII letters compared case-insensitively, nothing
/// else folded; an empty address matches nothing.
pub fn same_email(a: &str, b: &str) -> bool {
    fn trim(s: &str) -> &str {
        s.trim_matches(|c: char| c.is_ascii_whitespace())
    }
    let (a, b) = (trim(a), trim(b));
    !a.is_empty() && a.eq_ignore_ascii_case(b)
}

/// A user to create.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewAdminUser {
    /// User name (unique).
    pub username: String,
    /// E-mail address (unique).
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Role.
    pub role: Option<String>,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// The password in clear; the directory stores only a hash.
    pub password: Password,
}

impl NewAdminUser {
    /// An active user without a role.
    pub fn new(
        username: impl Into<String>,
        email: impl Into<String>,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        password: Password,
    ) -> Self {
        NewAdminUser {
            username: username.into(),
            email: email.into(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            role: None,
            is_active: true,
            password,
        }
    }

    /// Sets the role.
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
}

/// Magento's lockout bookkeeping: `failures_num`, `first_failure`,
/// `lock_expires`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures counted in the current window.
    pub count: u32,
    /// When the window started.
    pub first_failure: Option<OffsetDateTime>,
    /// Locked until then.
    pub lock_expires: Option<OffsetDateTime>,
}

impl LoginFailures {
    /// Whether a lock is in force at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.lock_expires.is_some_and(|until| until > now)
    }
}

/// When failures lock a user, and for how long (Magento's "Maximum Login
/// Failures to Lockout Account", default 6, and "Lockout Time", default
/// 30 minutes).
///
/// ```
/// use ims_api::{LockoutPolicy, LoginFailures};
/// use time::macros::datetime;
///
/// let policy = LockoutPolicy::default();
/// let now = datetime!(2026-01-01 12:00 UTC);
/// let mut failures = LoginFailures::default();
/// for _ in 0..6 {
///     failures = policy.record_failure(&failures, now);
/// }
/// assert!(failures.is_locked(now));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `lock_duration` that lock the user (0: never lock).
    pub max_failures: u32,
    /// How long a lock lasts; also the window failures are counted in.
    pub lock_duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 6,
            lock_duration: Duration::from_secs(30 * 60),
        }
    }
}

impl LockoutPolicy {
    /// The bookkeeping after one more failure at `now`, as Magento counts:
    /// a failure after the window restarts the count; reaching the maximum
    /// locks the user for `lock_duration`.
    pub fn record_failure(&self, current: &LoginFailures, now: OffsetDateTime) -> LoginFailures {
        let window = crate::claims::duration_to_time(self.lock_duration);
        let window_open = current
            .first_failure
            .is_some_and(|first| first.saturating_add(window) > now);
        let (count, first_failure) = if window_open {
            (current.count.saturating_add(1), current.first_failure)
        } else {
            (1, Some(now))
        };
        let lock_expires = if self.max_failures > 0 && count >= self.max_failures {
            Some(now.saturating_add(window))
        } else {
            current.lock_expires.filter(|until| *until > now)
        };
        LoginFailures {
            count,
            first_failure,
            lock_expires,
        }
    }
}

/// The host's admin users.
///
/// What Magento's `admin_user` table and `SaveImsUser` give the IMS modules;
/// `ims-store` has a reference implementation.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AdminUserDirectory: Send + Sync {
    /// The user with this e-mail address (compared case-insensitively).
    /// Callers that trust the answer check it with
    /// [`AdminUser::email_matches`]: a looser match finds no one.
    async fn find_by_email(&self, email: &str) -> Result<Option<AdminUser>>;

    /// The user with this id.
    async fn find_by_id(&self, id: AdminUserId) -> Result<Option<AdminUser>>;

    /// The user with exactly this user name. The default reads
    /// [`list`](Self::list); a directory with an index answers directly.
    async fn find_by_username(&self, username: &str) -> Result<Option<AdminUser>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|user| user.username == username))
    }

    /// Whether the host has the role `role` (spelled exactly): Magento
    /// creates an Adobe ID's admin only while the role [`ADOBE_IMS_ROLE`]
    /// exists. The default cannot tell and answers
    /// [`Error::Misconfigured`](crate::Error::Misconfigured): a directory
    /// used with a provisioning policy that asks implements it.
    async fn role_exists(&self, role: &str) -> Result<bool> {
        Err(crate::Error::Misconfigured(format!(
            "this admin directory cannot tell whether the role {role:?} exists"
        )))
    }

    /// All users, by id.
    async fn list(&self) -> Result<Vec<AdminUser>>;

    /// Creates a user (e-mail and user name must be unused).
    async fn create(&self, user: &NewAdminUser) -> Result<AdminUser>;

    /// Activates or deactivates a user.
    async fn set_active(&self, id: AdminUserId, active: bool) -> Result<()>;

    /// Counts a failed sign-in under `policy`, atomically; the new state.
    async fn record_login_failure(
        &self,
        id: AdminUserId,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<LoginFailures>;

    /// Clears the failure count and any lock (after a successful sign-in).
    async fn reset_login_failures(&self, id: AdminUserId) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn failures_outside_the_window_restart_the_count() {
        let policy = LockoutPolicy {
            max_failures: 3,
            lock_duration: Duration::from_secs(60),
        };
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let one = policy.record_failure(&LoginFailures::default(), t0);
        let two = policy.record_failure(&one, t0 + time::Duration::seconds(30));
        assert_eq!(two.count, 2);
        let restarted = policy.record_failure(&two, t0 + time::Duration::seconds(61));
        assert_eq!(restarted.count, 1);
        assert!(!restarted.is_locked(t0 + time::Duration::seconds(61)));
    }

    #[test]
    fn lock_lasts_the_lock_duration() {
        let policy = LockoutPolicy {
            max_failures: 2,
            lock_duration: Duration::from_secs(60),
        };
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let locked =
            policy.record_failure(&policy.record_failure(&LoginFailures::default(), t0), t0);
        assert!(locked.is_locked(t0 + time::Duration::seconds(59)));
        assert!(!locked.is_locked(t0 + time::Duration::seconds(60)));
    }

    #[test]
    fn zero_max_never_locks() {
        let policy = LockoutPolicy {
            max_failures: 0,
            lock_duration: Duration::from_secs(60),
        };
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut failures = LoginFailures::default();
        for _ in 0..100 {
            failures = policy.record_failure(&failures, t0);
        }
        assert!(!failures.is_locked(t0));
    }

    #[test]
    fn the_adobe_ims_role_grants_nothing() {
        let mut user = AdminUser {
            id: AdminUserId(1),
            username: "jane".into(),
            email: "jane@example.com".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            is_active: true,
            role: Some(ADOBE_IMS_ROLE.into()),
            login_failures: LoginFailures::default(),
        };
        assert!(!user.has_permissions());
        user.role = Some("Administrators".into());
        assert!(user.has_permissions());
        user.role = None;
        assert!(!user.has_permissions());
    }
}
