//! The reference `admin_user` table, for hosts without their own users.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use ims_api::{
    AdminUser, AdminUserDirectory, AdminUserId, Change, Error, InvalidValue, LockoutPolicy,
    LoginFailures, NewAdminUser, Password, Result,
};
use time::OffsetDateTime;

use crate::changes::record;
use crate::context::{PasswordHashCost, StoreContext};
use crate::db::{Row, Sql, TxFuture, Value, unique_violation};
use crate::hashing::PasswordHashBusy;

macro_rules! select_users {
    ($($rest:literal)?) => {
        concat!(
            "SELECT id, username, email, first_name, last_name, is_active, role, ",
            "failures_num, first_failure, lock_expires FROM admin_user"
            $(, " ", $rest)?
        )
    };
}

static FIND_BY_EMAIL: Sql = Sql::new(select_users!("WHERE email_normalized = $1"));
static FIND_BY_ID: Sql = Sql::new(select_users!("WHERE id = $1"));
static FIND_BY_USERNAME: Sql = Sql::new(select_users!("WHERE username = $1 ORDER BY id"));
static ROLE_HELD: Sql = Sql::new("SELECT DISTINCT role FROM admin_user WHERE role = $1");
static FIND_FOR_LOGIN: Sql = Sql::new(concat!(
    "SELECT id, username, email, first_name, last_name, is_active, role, ",
    "failures_num, first_failure, lock_expires, password_hash FROM admin_user ",
    "WHERE username = $1 OR email_normalized = $2 ORDER BY id LIMIT 2"
));
static LIST: Sql = Sql::new(select_users!("ORDER BY id"));
static INSERT: Sql = Sql::with_mysql(
    "INSERT INTO admin_user (username, email, email_normalized, first_name, last_name, \
     password_hash, is_active, role, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    "INSERT INTO admin_user (username, email, email_normalized, first_name, last_name, \
     password_hash, is_active, role, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);
static SET_ACTIVE: Sql =
    Sql::new("UPDATE admin_user SET is_active = $1, updated_at = $2 WHERE id = $3");
static SET_PASSWORD: Sql =
    Sql::new("UPDATE admin_user SET password_hash = $1, updated_at = $2 WHERE id = $3");
static FAILURES: Sql = Sql::new(
    "SELECT failures_num, first_failure, lock_expires, lock_version FROM admin_user WHERE id = $1",
);
static SWAP_FAILURES: Sql = Sql::new(
    "UPDATE admin_user SET failures_num = $1, first_failure = $2, lock_expires = $3, \
     lock_version = lock_version + 1, updated_at = $4 WHERE id = $5 AND lock_version = $6",
);
static RESET_FAILURES: Sql = Sql::new(
    "UPDATE admin_user SET failures_num = 0, first_failure = NULL, lock_expires = NULL, \
     lock_version = lock_version + 1, updated_at = $1 WHERE id = $2",
);
static DELETE: Sql = Sql::new("DELETE FROM admin_user WHERE id = $1");
static SET_ROLE: Sql = Sql::new("UPDATE admin_user SET role = $1, updated_at = $2 WHERE id = $3");
static SET_EMAIL: Sql = Sql::new(
    "UPDATE admin_user SET email = $1, email_normalized = $2, updated_at = $3 WHERE id = $4",
);

/// How often `record_login_failure` retries its compare-and-swap when other
/// writers changed the row in between.
const SWAP_ATTEMPTS: u32 = 100;

/// The `admin_user` table as an [`AdminUserDirectory`], with argon2id
/// password hashes. Cheap to clone.
///
/// E-mail addresses are matched case-insensitively (a lower-cased copy is
/// unique); user names exactly.
///
/// Roles are names on `admin_user` (no role table): a role exists when the
/// host declared it ([`with_roles`](Self::with_roles)) or an admin user
/// holds it.
#[derive(Clone)]
pub struct SqlAdminUserDirectory {
    inner: Arc<StoreContext>,
    roles: Arc<[String]>,
}

impl fmt::Debug for SqlAdminUserDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlAdminUserDirectory")
            .field("store", &self.inner)
            .field("roles", &self.roles)
            .finish()
    }
}

impl SqlAdminUserDirectory {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlAdminUserDirectory {
            inner,
            roles: Arc::from(Vec::new()),
        }
    }

    /// The host's roles, for [`role_exists`](AdminUserDirectory::role_exists)
    /// (such as [`ADOBE_IMS_ROLE`](ims_api::ADOBE_IMS_ROLE), which the
    /// `SignInWithoutPermissions` provisioning policy of `admin-ims`
    /// requires), spelled exactly.
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// A password sign-in, with Magento's lockout: resolves `login` (a user
    /// name, matched exactly, or an e-mail address, case-insensitively; a
    /// user name wins when both match different users) to one user,
    /// refuses a locked or deactivated user **before** hashing, verifies the
    /// password, and counts a wrong one under `policy` against that same
    /// user — however the login named them. A right password clears the
    /// user's failures.
    ///
    /// Every argon2 run waits for a turn under the store's bound
    /// ([`StoreOptions::with_password_hash_concurrency`](crate::StoreOptions::with_password_hash_concurrency));
    /// past the wait the outcome is [`PasswordSignIn::Busy`].
    ///
    /// Response times do not tell the refusals apart: an unknown login
    /// verifies against a dummy hash; a locked or inactive user queues for
    /// a turn like everyone else, gives it back at once and then waits as
    /// long as a hash typically takes, without spending the hash's memory
    /// or CPU. The role is left to the caller
    /// ([`AdminUser::has_permissions`]); hosts should answer every refusal
    /// with the same message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ims_api::Result<()> {
    /// use ims_api::{AdminUserDirectory, LockoutPolicy, NewAdminUser, Password};
    /// use ims_store::{PasswordHashCost, PasswordSignIn, Store, StoreOptions};
    ///
    /// let options = StoreOptions::new().with_password_hash_cost(PasswordHashCost::insecure_for_tests());
    /// let store = Store::connect("sqlite::memory:", options).await?;
    /// let admins = store.admin_users();
    /// admins.create(&NewAdminUser::new("pat", "pat@example.com", "Pat", "P", Password::new("right"))).await?;
    /// let policy = LockoutPolicy::default();
    /// for _ in 0..policy.max_failures {
    ///     let outcome = admins.sign_in_with_password("pat", &Password::new("wrong"), &policy).await?;
    ///     assert!(matches!(outcome, PasswordSignIn::WrongPassword { .. }));
    /// }
    /// // Locked now: even the right password is refused, without hashing.
    /// let outcome = admins.sign_in_with_password("pat", &Password::new("right"), &policy).await?;
    /// assert!(matches!(outcome, PasswordSignIn::Locked { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sign_in_with_password(
        &self,
        login: &str,
        password: &Password,
        policy: &LockoutPolicy,
    ) -> Result<PasswordSignIn> {
        match self.sign_in_inner(login, password, policy).await {
            Err(err) => match PasswordHashBusy::in_error(&err) {
                Some(busy) => Ok(PasswordSignIn::Busy {
                    retry_after: busy.retry_after,
                }),
                None => Err(err),
            },
            outcome => outcome,
        }
    }

    async fn sign_in_inner(
        &self,
        login: &str,
        password: &Password,
        policy: &LockoutPolicy,
    ) -> Result<PasswordSignIn> {
        let login = login.trim();
        let Some((user, stored)) = self.find_for_login(login).await? else {
            // Spend what a verification would, so that response times do
            // not tell which logins exist.
            self.hash(password).await?;
            return Ok(PasswordSignIn::UnknownLogin);
        };
        let now = self.inner.clock.now();
        if let Some(refusal) = refusal_before_hashing(&user, now) {
            self.spend_a_hash_time().await?;
            return Ok(refusal);
        }
        let permit = self.inner.hasher.acquire().await?;
        // Attempts that queued while other guesses locked the user must not
        // get their hash: look again, now that it is our turn.
        let failures = self.current_failures(user.id).await?;
        let now = self.inner.clock.now();
        if let Some(until) = failures.lock_expires.filter(|until| *until > now) {
            drop(permit);
            return Ok(PasswordSignIn::Locked {
                user: user.id,
                until,
            });
        }
        let password = password.clone();
        let (matches, permit) = permit
            .run_keeping("password verification was interrupted", move || {
                verify_hash(&stored, &password)
            })
            .await?;
        if !matches {
            // Still our turn: the next guess in the queue reads the count
            // (and the lock) this failure leads to.
            let failures = self
                .record_login_failure(user.id, policy, self.inner.clock.now())
                .await;
            drop(permit);
            return Ok(PasswordSignIn::WrongPassword {
                user: user.id,
                failures: failures?,
            });
        }
        drop(permit);
        let mut user = user;
        if failures != LoginFailures::default() {
            self.reset_login_failures(user.id).await?;
        }
        user.login_failures = LoginFailures::default();
        Ok(PasswordSignIn::SignedIn(user))
    }

    /// The user a login names (see [`sign_in_with_password`](Self::sign_in_with_password))
    /// and their stored hash.
    async fn find_for_login(&self, login: &str) -> Result<Option<(AdminUser, String)>> {
        let rows = self
            .inner
            .pool
            .fetch_all(
                "look up an admin user for a password sign-in",
                &FIND_FOR_LOGIN,
                &[Value::text(login), Value::Text(normalize_email(login))],
            )
            .await?;
        // A user name equal to another user's e-mail address is ambiguous:
        // prefer the user name match.
        let row = rows
            .iter()
            .find(|row| row.text(1).is_ok_and(|username| username == login))
            .or_else(|| rows.first());
        match row {
            Some(row) => Ok(Some((user_from_row(row)?, row.text(10)?))),
            None => Ok(None),
        }
    }

    async fn current_failures(&self, id: AdminUserId) -> Result<LoginFailures> {
        let row = self
            .inner
            .pool
            .fetch_optional(
                "read an admin user's failed sign-ins",
                &FAILURES,
                &[Value::Int(id.0)],
            )
            .await?
            .ok_or_else(|| unknown_user(id))?;
        Ok(LoginFailures {
            count: count_from(row.int(0)?),
            first_failure: row.opt_time(1)?,
            lock_expires: row.opt_time(2)?,
        })
    }

    /// Takes a turn in the hashing queue like a real verification (and is
    /// busy when it would be), gives it back at once, and waits as long as
    /// a hash typically takes: the time of a refusal, without its cost.
    async fn spend_a_hash_time(&self) -> Result<()> {
        drop(self.inner.hasher.acquire().await?);
        tokio::time::sleep(self.inner.hasher.typical_duration()).await;
        Ok(())
    }

    /// The user whose user name or e-mail address is `login`, if `password`
    /// matches their hash; `None` for an unknown login or a wrong password.
    ///
    /// This only checks a password (to confirm a signed-in admin's own
    /// password, say): it neither refuses locked or inactive users nor
    /// counts failures. To sign someone in, use
    /// [`sign_in_with_password`](Self::sign_in_with_password).
    pub async fn verify_password(
        &self,
        login: &str,
        password: &Password,
    ) -> Result<Option<AdminUser>> {
        let Some((user, stored)) = self.find_for_login(login).await? else {
            // Spend the time a verification would, so that response times
            // do not tell which logins exist.
            self.hash(password).await?;
            return Ok(None);
        };
        let password = password.clone();
        let matches = self
            .inner
            .hasher
            .run("password verification was interrupted", move || {
                verify_hash(&stored, &password)
            })
            .await?;
        Ok(matches.then_some(user))
    }

    /// Gives a user another role (`None`: no role, which grants nothing).
    /// Logged in the change feed: other instances re-check the user.
    pub async fn set_role(&self, id: AdminUserId, role: Option<&str>) -> Result<()> {
        let now = self.inner.clock.now();
        let changed = self
            .update_logging(
                "change an admin user's role",
                &SET_ROLE,
                vec![
                    Value::OptText(role.map(str::to_owned)),
                    Value::time(now),
                    Value::Int(id.0),
                ],
                id,
            )
            .await?;
        require_row(changed, id)
    }

    /// Changes a user's e-mail address (matched case-insensitively, unique
    /// like at creation). Logged in the change feed: other instances stop
    /// matching IMS accounts to the old address.
    pub async fn set_email(&self, id: AdminUserId, email: &str) -> Result<()> {
        if !email.contains('@') {
            return Err(InvalidValue::new("admin user", "the e-mail address has no '@'").into());
        }
        let now = self.inner.clock.now();
        let changed = self
            .update_logging(
                "change an admin user's e-mail address",
                &SET_EMAIL,
                vec![
                    Value::text(email),
                    Value::Text(normalize_email(email)),
                    Value::time(now),
                    Value::Int(id.0),
                ],
                id,
            )
            .await
            .map_err(|err| match unique_violation(&err) {
                Some(_) => InvalidValue::new(
                    "admin user",
                    "the e-mail address is already used by another admin user",
                )
                .into(),
                None => err,
            })?;
        require_row(changed, id)
    }

    /// Replaces a user's password (hashed with argon2id).
    pub async fn set_password(&self, id: AdminUserId, password: &Password) -> Result<()> {
        let hash = self.hash(password).await?;
        let now = self.inner.clock.now();
        let changed = self
            .inner
            .pool
            .execute(
                "change an admin user's password",
                &SET_PASSWORD,
                &[Value::Text(hash), Value::time(now), Value::Int(id.0)],
            )
            .await?;
        require_row(changed, id)
    }

    /// Deletes a user, and with them (by cascade) their Web API token rows
    /// and IMS profile; whether there was one.
    pub async fn delete(&self, id: AdminUserId) -> Result<bool> {
        let deleted = self
            .update_logging("delete an admin user", &DELETE, vec![Value::Int(id.0)], id)
            .await?;
        Ok(deleted > 0)
    }

    /// Runs `sql` in a transaction that, when the statement changed a row,
    /// logs `Change::Admin(id)` with it (other instances forget what they
    /// decided for that admin once they can read the change). The rows
    /// changed.
    async fn update_logging(
        &self,
        what: &'static str,
        sql: &'static Sql,
        params: Vec<Value>,
        id: AdminUserId,
    ) -> Result<u64> {
        let now = self.inner.clock.now();
        self.inner
            .changing(what, |tx| -> TxFuture<'_, u64> {
                let params = params.clone();
                Box::pin(async move {
                    let changed = tx.execute(sql, &params).await?;
                    if changed > 0 {
                        record(tx, &Change::Admin(id), now).await?;
                    }
                    Ok(changed)
                })
            })
            .await
    }

    /// Hashes under the store's concurrency bound.
    async fn hash(&self, password: &Password) -> Result<String> {
        let cost = self.inner.password_hash_cost;
        let password = password.clone();
        self.inner
            .hasher
            .run("password hashing was interrupted", move || {
                hash_password(&password, cost)
            })
            .await?
    }
}

#[async_trait]
impl AdminUserDirectory for SqlAdminUserDirectory {
    async fn find_by_email(&self, email: &str) -> Result<Option<AdminUser>> {
        self.inner
            .pool
            .fetch_optional(
                "look up an admin user by e-mail address",
                &FIND_BY_EMAIL,
                &[Value::Text(normalize_email(email))],
            )
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn find_by_id(&self, id: AdminUserId) -> Result<Option<AdminUser>> {
        self.inner
            .pool
            .fetch_optional(
                "look up an admin user by id",
                &FIND_BY_ID,
                &[Value::Int(id.0)],
            )
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn find_by_username(&self, username: &str) -> Result<Option<AdminUser>> {
        let rows = self
            .inner
            .pool
            .fetch_all(
                "look up an admin user by user name",
                &FIND_BY_USERNAME,
                &[Value::text(username)],
            )
            .await?;
        // Exactly: a case-insensitive collation (MySQL's) finds more.
        for row in &rows {
            let user = user_from_row(row)?;
            if user.username == username {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    async fn role_exists(&self, role: &str) -> Result<bool> {
        if self.roles.iter().any(|known| known == role) {
            return Ok(true);
        }
        let held = self
            .inner
            .pool
            .fetch_all(
                "look up whether an admin user holds a role",
                &ROLE_HELD,
                &[Value::text(role)],
            )
            .await?;
        // Exactly: a case-insensitive collation (MySQL's) finds more.
        for row in &held {
            if row.opt_text(0)?.as_deref() == Some(role) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn list(&self) -> Result<Vec<AdminUser>> {
        self.inner
            .pool
            .fetch_all("list admin users", &LIST, &[])
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn create(&self, user: &NewAdminUser) -> Result<AdminUser> {
        if user.username.trim().is_empty() {
            return Err(InvalidValue::new("admin user", "the user name is empty").into());
        }
        if !user.email.contains('@') {
            return Err(InvalidValue::new("admin user", "the e-mail address has no '@'").into());
        }
        let hash = self.hash(&user.password).await?;
        let now = self.inner.clock.now();
        let id = self
            .inner
            .pool
            .insert_returning_id(
                "create an admin user",
                &INSERT,
                &[
                    Value::text(&user.username),
                    Value::text(&user.email),
                    Value::Text(normalize_email(&user.email)),
                    Value::text(&user.first_name),
                    Value::text(&user.last_name),
                    Value::Text(hash),
                    Value::Bool(user.is_active),
                    Value::OptText(user.role.clone()),
                    Value::time(now),
                    Value::time(now),
                ],
            )
            .await
            .map_err(|err| match unique_violation(&err) {
                Some(detail) if detail.contains("email") => InvalidValue::new(
                    "admin user",
                    "the e-mail address is already used by another admin user",
                )
                .into(),
                Some(_) => InvalidValue::new(
                    "admin user",
                    "the user name is already used by another admin user",
                )
                .into(),
                None => err,
            })?;
        let mut created =
            AdminUser::new(AdminUserId(id), user.username.clone(), user.email.clone());
        created.first_name = user.first_name.clone();
        created.last_name = user.last_name.clone();
        created.is_active = user.is_active;
        created.role = user.role.clone();
        Ok(created)
    }

    async fn set_active(&self, id: AdminUserId, active: bool) -> Result<()> {
        let now = self.inner.clock.now();
        let changed = self
            .update_logging(
                "activate or deactivate an admin user",
                &SET_ACTIVE,
                vec![Value::Bool(active), Value::time(now), Value::Int(id.0)],
                id,
            )
            .await?;
        require_row(changed, id)
    }

    async fn record_login_failure(
        &self,
        id: AdminUserId,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<LoginFailures> {
        const WHAT: &str = "record a failed sign-in";
        // Optimistic read-modify-write: the update applies only if no other
        // writer bumped `lock_version` since the read, else read again.
        for _ in 0..SWAP_ATTEMPTS {
            let row = self
                .inner
                .pool
                .fetch_optional(WHAT, &FAILURES, &[Value::Int(id.0)])
                .await?
                .ok_or_else(|| unknown_user(id))?;
            let current = LoginFailures {
                count: count_from(row.int(0)?),
                first_failure: row.opt_time(1)?,
                lock_expires: row.opt_time(2)?,
            };
            let version = row.int(3)?;
            let next = policy.record_failure(&current, now);
            let params = [
                Value::Int(i64::from(next.count)),
                Value::opt_time(next.first_failure),
                Value::opt_time(next.lock_expires),
                Value::time(now),
                Value::Int(id.0),
                Value::Int(version),
            ];
            // A failure that locks the user is logged with the lock.
            let locks = next.lock_expires.is_some() && next.lock_expires != current.lock_expires;
            let logged_at = self.inner.clock.now();
            let swapped = self
                .inner
                .changing(WHAT, |tx| -> TxFuture<'_, u64> {
                    let params = params.clone();
                    Box::pin(async move {
                        let swapped = tx.execute(&SWAP_FAILURES, &params).await?;
                        if swapped == 1 && locks {
                            record(tx, &Change::Admin(id), logged_at).await?;
                        }
                        Ok(swapped)
                    })
                })
                .await?;
            if swapped == 1 {
                return Ok(next);
            }
            tokio::task::yield_now().await;
        }
        Err(Error::Storage {
            message: format!("failed to {WHAT}: too many concurrent updates of the user"),
            source: None,
        })
    }

    async fn reset_login_failures(&self, id: AdminUserId) -> Result<()> {
        let now = self.inner.clock.now();
        // Unlocks: logged, so that no instance keeps refusing the user.
        let changed = self
            .update_logging(
                "reset an admin user's failed sign-ins",
                &RESET_FAILURES,
                vec![Value::time(now), Value::Int(id.0)],
                id,
            )
            .await?;
        require_row(changed, id)
    }
}

/// The outcome of [`SqlAdminUserDirectory::sign_in_with_password`]. Every
/// variant but `SignedIn` is a refusal; answer them all alike (Magento: "The
/// account sign-in was incorrect or your account is disabled temporarily"),
/// except `Busy`, which is "try again later" (HTTP 503 with `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordSignIn {
    /// The password is right and the user active and not locked; their
    /// failed sign-ins were cleared. (Whether their role grants anything is
    /// the caller's to check.)
    SignedIn(AdminUser),
    /// No user has this user name or e-mail address.
    UnknownLogin,
    /// The password is wrong; the failure was counted against the user.
    WrongPassword {
        /// The user the login named.
        user: AdminUserId,
        /// Their failures after this one (locked when the policy says so).
        failures: LoginFailures,
    },
    /// The user is locked: refused without checking the password.
    Locked {
        /// The user the login named.
        user: AdminUserId,
        /// When the lock ends.
        until: OffsetDateTime,
    },
    /// The user is deactivated: refused without checking the password.
    Inactive {
        /// The user the login named.
        user: AdminUserId,
    },
    /// Password hashing was at its bound for longer than the store waits:
    /// nothing was checked or counted; try again later.
    Busy {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
}

/// Why a user is refused without hashing, if they are.
fn refusal_before_hashing(user: &AdminUser, now: OffsetDateTime) -> Option<PasswordSignIn> {
    if let Some(until) = user
        .login_failures
        .lock_expires
        .filter(|until| *until > now)
    {
        return Some(PasswordSignIn::Locked {
            user: user.id,
            until,
        });
    }
    if !user.is_active {
        return Some(PasswordSignIn::Inactive { user: user.id });
    }
    None
}

/// The case-insensitive key of an e-mail address.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn count_from(stored: i64) -> u32 {
    u32::try_from(stored.max(0)).unwrap_or(u32::MAX)
}

fn unknown_user(id: AdminUserId) -> Error {
    InvalidValue::new("admin user id", format!("no admin user has id {id}")).into()
}

fn require_row(changed: u64, id: AdminUserId) -> Result<()> {
    if changed == 0 {
        Err(unknown_user(id))
    } else {
        Ok(())
    }
}

/// A row of `select_users!` (or `FIND_FOR_LOGIN`, which adds the hash).
fn user_from_row(row: &Row) -> Result<AdminUser> {
    let mut user = AdminUser::new(AdminUserId(row.int(0)?), row.text(1)?, row.text(2)?);
    user.first_name = row.text(3)?;
    user.last_name = row.text(4)?;
    user.is_active = row.boolean(5)?;
    user.role = row.opt_text(6)?;
    user.login_failures = LoginFailures {
        count: count_from(row.int(7)?),
        first_failure: row.opt_time(8)?,
        lock_expires: row.opt_time(9)?,
    };
    Ok(user)
}

fn hash_password(password: &Password, cost: PasswordHashCost) -> Result<String> {
    let failed = |what: &str| Error::Storage {
        message: format!("failed to hash a password: {what}"),
        source: None,
    };
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|_| Error::Misconfigured("the argon2 password-hash cost is invalid".into()))?;
    let mut salt = [0u8; 16];
    rand::fill(&mut salt[..]);
    let salt_string = SaltString::encode_b64(&salt).map_err(|_| failed("salt"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(
                password.expose_secret().as_bytes(),
                &salt,
                out,
                blocks,
            )
        })
        .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|_| failed("argon2"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| failed("parameters"))?,
        salt: Some(salt_string.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether the password matches a stored PHC string (its own algorithm,
/// version and parameters), compared in constant time.
fn verify_hash(stored: &str, password: &Password) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(
                password.expose_secret().as_bytes(),
                salt,
                out,
                blocks,
            )
        })
        .map_err(|_| argon2::password_hash::Error::Crypto)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

thread_local! {
    /// argon2's memory, kept by each hashing thread for its next hash:
    /// allocating 19 MiB (64-byte aligned) per hash left the allocator
    /// holding a fresh 19 MiB after each one.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` with `count` argon2 blocks of this thread's buffer (grown
/// when a hash needs more).
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|blocks| match blocks.try_borrow_mut() {
        Ok(mut blocks) => {
            if blocks.len() < count {
                blocks.resize(count, Block::default());
            }
            work(&mut blocks[..count])
        }
        // Never re-entered; a fresh buffer if it were.
        Err(_) => work(&mut vec![Block::default(); count]),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn statements_are_well_formed() {
        crate::db::assert_statements_well_formed(&[
            &FIND_BY_EMAIL,
            &FIND_BY_ID,
            &FIND_BY_USERNAME,
            &ROLE_HELD,
            &FIND_FOR_LOGIN,
            &LIST,
            &INSERT,
            &SET_ACTIVE,
            &SET_PASSWORD,
            &FAILURES,
            &SWAP_FAILURES,
            &RESET_FAILURES,
            &DELETE,
            &SET_ROLE,
            &SET_EMAIL,
        ]);
    }

    /// Every hashing path gives up with the typed busy answer while the
    /// bound is full, and a busy sign-in counts nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_bound_makes_sign_in_and_creation_busy() {
        use crate::{PasswordHashBusy, Store, StoreOptions};

        let options = StoreOptions::new()
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
            .with_password_hash_concurrency(1)
            .with_password_hash_wait(Duration::from_millis(10));
        let store = Store::connect("sqlite::memory:", options).await.unwrap();
        let admins = store.admin_users();
        let pat = admins
            .create(&NewAdminUser::new(
                "pat",
                "pat@example.com",
                "P",
                "P",
                Password::new("pw"),
            ))
            .await
            .unwrap();
        let policy = LockoutPolicy::default();
        let held = admins.inner.hasher.acquire().await.unwrap();
        let busy = PasswordSignIn::Busy {
            retry_after: Duration::from_secs(1),
        };
        for login in ["pat", "nobody"] {
            let outcome = admins
                .sign_in_with_password(login, &Password::new("wrong"), &policy)
                .await
                .unwrap();
            assert_eq!(outcome, busy, "{login}");
        }
        let err = admins
            .create(&NewAdminUser::new(
                "sam",
                "sam@example.com",
                "S",
                "S",
                Password::new("pw"),
            ))
            .await
            .unwrap_err();
        assert!(PasswordHashBusy::in_error(&err).is_some(), "{err}");
        let err = admins
            .set_password(pat.id, &Password::new("new"))
            .await
            .unwrap_err();
        assert!(PasswordHashBusy::in_error(&err).is_some(), "{err}");
        assert!(
            admins
                .verify_password("pat", &Password::new("pw"))
                .await
                .is_err()
        );
        // A locked user is refused without a hash, but not sooner than the
        // others: while the bound is full, that is busy too.
        admins.set_active(pat.id, false).await.unwrap();
        let outcome = admins
            .sign_in_with_password("pat", &Password::new("pw"), &policy)
            .await
            .unwrap();
        assert_eq!(outcome, busy);
        drop(held);
        admins.set_active(pat.id, true).await.unwrap();
        let stored = admins.find_by_id(pat.id).await.unwrap().unwrap();
        assert_eq!(stored.login_failures, LoginFailures::default());
        let outcome = admins
            .sign_in_with_password("pat", &Password::new("pw"), &policy)
            .await
            .unwrap();
        assert!(
            matches!(outcome, PasswordSignIn::SignedIn(_)),
            "{outcome:?}"
        );
        assert_eq!(store.password_hash_stats().busy, 6);
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let password = Password::new("correct horse");
        let hash = hash_password(&password, PasswordHashCost::insecure_for_tests()).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_hash(&hash, &password));
        assert!(!verify_hash(&hash, &Password::new("wrong")));
        assert!(!verify_hash("not a hash", &password));
    }

    /// The PHC strings are argon2's own: each side verifies the other's.
    #[test]
    fn hashes_interoperate_with_argon2s_own() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

        let password = Password::new("correct horse");
        let ours = hash_password(&password, PasswordHashCost::insecure_for_tests()).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let params = Params::new(8, 1, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_hash(&theirs, &password));
        assert!(!verify_hash(&theirs, &Password::new("wrong")));
        // argon2i and argon2d hashes verify with their own algorithm.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
        assert!(argon2i.starts_with("$argon2i$"));
        assert!(verify_hash(&argon2i, &password));
    }
}
