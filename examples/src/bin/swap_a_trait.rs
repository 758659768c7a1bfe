//! # Swap a crate for your own implementation
//!
//! The complete program of the book's "Swap a crate for your own
//! implementation" guide: the host keeps its admin users itself (here a
//! `HashMap`), implements `ims_api::AdminUserDirectory` over them, and hands
//! that to `webapi-ims` instead of `ims-store`'s directory. Everything else
//! stays as it was — except the token record: `ims-store`'s
//! `admin_adobe_ims_webapi` table references its own `admin_user` table, so
//! a host with its own users keeps that record itself too (here, another
//! map). The integration's settings stay in `ims-store`.
//!
//! ```text
//! cargo run -p ims-examples --bin swap_a_trait
//! ```
//!
//! It authenticates one token of an admin of the map, then deactivates the
//! admin in the map and shows the next token refused.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ims_api::{
    AdminUser, AdminUserDirectory, AdminUserId, ClientId, ClientSecret, ImsEnvironment,
    ImsSettings, ImsSettingsStore, InvalidationReason, LockoutPolicy, LoginFailures, NewAdminUser,
    OrgId, Page, TokenHash, TokenStatus, WebApiToken, WebApiTokenRepository,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, default_seed};
use ims_store::{EncryptionKey, Store, StoreOptions};
use time::OffsetDateTime;
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

// ANCHOR: directory
/// The host's own admin users: an in-memory map by id. A real host would
/// read its own `users` table here.
#[derive(Debug, Default)]
pub struct MyAdmins {
    users: Mutex<HashMap<i64, AdminUser>>,
}

impl MyAdmins {
    /// Runs `f` on the map (a poisoned lock still holds usable data).
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, AdminUser>) -> T) -> T {
        f(&mut self.users.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes one user; an unknown id is an error, as a database would say.
    fn update(&self, id: AdminUserId, change: impl FnOnce(&mut AdminUser)) -> ims_api::Result<()> {
        self.with(|users| match users.get_mut(&id.0) {
            Some(user) => {
                change(user);
                Ok(())
            }
            None => Err(ims_api::Error::Storage {
                message: format!("no admin user {id}"),
                source: None,
            }),
        })
    }
}

#[async_trait]
impl AdminUserDirectory for MyAdmins {
    async fn find_by_email(&self, email: &str) -> ims_api::Result<Option<AdminUser>> {
        // IMS e-mail addresses are matched case-insensitively.
        Ok(self.with(|users| {
            users
                .values()
                .find(|user| user.email.eq_ignore_ascii_case(email))
                .cloned()
        }))
    }

    async fn find_by_id(&self, id: AdminUserId) -> ims_api::Result<Option<AdminUser>> {
        Ok(self.with(|users| users.get(&id.0).cloned()))
    }

    async fn list(&self) -> ims_api::Result<Vec<AdminUser>> {
        let mut all: Vec<AdminUser> = self.with(|users| users.values().cloned().collect());
        all.sort_by_key(|user| user.id.0);
        Ok(all)
    }

    async fn create(&self, new: &NewAdminUser) -> ims_api::Result<AdminUser> {
        self.with(|users| {
            if users
                .values()
                .any(|u| u.email.eq_ignore_ascii_case(&new.email) || u.username == new.username)
            {
                return Err(ims_api::Error::Storage {
                    message: "user name or e-mail address already in use".into(),
                    source: None,
                });
            }
            let id = AdminUserId(users.keys().max().copied().unwrap_or(0) + 1);
            let mut user = AdminUser::new(id, new.username.clone(), new.email.clone());
            user.first_name = new.first_name.clone();
            user.last_name = new.last_name.clone();
            user.is_active = new.is_active;
            user.role = new.role.clone();
            // This directory keeps no passwords: its users sign in with IMS.
            users.insert(id.0, user.clone());
            Ok(user)
        })
    }

    async fn set_active(&self, id: AdminUserId, active: bool) -> ims_api::Result<()> {
        self.update(id, |user| user.is_active = active)
    }

    async fn record_login_failure(
        &self,
        id: AdminUserId,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> ims_api::Result<LoginFailures> {
        // Under the map's lock, so concurrent failures are all counted.
        let mut counted = LoginFailures::default();
        self.update(id, |user| {
            user.login_failures = policy.record_failure(&user.login_failures, now);
            counted = user.login_failures.clone();
        })?;
        Ok(counted)
    }

    async fn reset_login_failures(&self, id: AdminUserId) -> ims_api::Result<()> {
        self.update(id, |user| user.login_failures = LoginFailures::default())
    }
}
// ANCHOR_END: directory

// ANCHOR: record
/// The `admin_adobe_ims_webapi` record, in memory, keyed by the token's
/// SHA-256. It must be shared by every instance that serves the API (a
/// map is for one process only).
#[derive(Debug, Default)]
pub struct MyTokenRecord {
    rows: Mutex<HashMap<TokenHash, WebApiToken>>,
    /// Each admin's last "revoke all tokens".
    revocations: Mutex<HashMap<AdminUserId, OffsetDateTime>>,
}

impl MyTokenRecord {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<TokenHash, WebApiToken>) -> T) -> T {
        f(&mut self.rows.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl WebApiTokenRepository for MyTokenRecord {
    async fn find_by_hash(&self, hash: &TokenHash) -> ims_api::Result<Option<WebApiToken>> {
        Ok(self.with(|rows| rows.get(hash).cloned()))
    }

    async fn save(&self, token: &WebApiToken) -> ims_api::Result<()> {
        // An invalidated row is never replaced: its invalidation stands.
        self.with(|rows| match rows.get(&token.access_token_hash) {
            Some(row) if row.is_invalidated() => {}
            _ => {
                rows.insert(token.access_token_hash.clone(), token.clone());
            }
        });
        Ok(())
    }

    async fn record_check(
        &self,
        hash: &TokenHash,
        checked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> ims_api::Result<()> {
        self.with(|rows| {
            if let Some(row) = rows.get_mut(hash) {
                row.last_check_time = checked_at;
                row.updated_at = checked_at;
                row.access_token_expires_at = expires_at;
            }
        });
        Ok(())
    }

    async fn invalidate(
        &self,
        hash: &TokenHash,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> ims_api::Result<bool> {
        Ok(self.with(|rows| match rows.get_mut(hash) {
            Some(row) if !row.is_invalidated() => {
                row.status = TokenStatus::Invalidated {
                    at,
                    reason: reason.clone(),
                };
                row.updated_at = at;
                true
            }
            _ => false,
        }))
    }

    async fn invalidate_all_for_admin(
        &self,
        admin: AdminUserId,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> ims_api::Result<u64> {
        // The revocation first: a first sight in flight has no row yet, and
        // reads this once it saved its own.
        self.revocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(admin)
            .and_modify(|last| *last = (*last).max(at))
            .or_insert(at);
        Ok(self.with(|rows| {
            let mut changed = 0;
            for row in rows.values_mut() {
                if row.admin_user_id == admin && !row.is_invalidated() {
                    row.status = TokenStatus::Invalidated {
                        at,
                        reason: reason.clone(),
                    };
                    row.updated_at = at;
                    changed += 1;
                }
            }
            changed
        }))
    }

    async fn last_revocation(&self, admin: AdminUserId) -> ims_api::Result<Option<OffsetDateTime>> {
        Ok(self
            .revocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&admin)
            .copied())
    }

    async fn list_by_admin(&self, admin: AdminUserId) -> ims_api::Result<Vec<WebApiToken>> {
        Ok(self.with(|rows| {
            rows.values()
                .filter(|row| row.admin_user_id == admin)
                .cloned()
                .collect()
        }))
    }

    async fn list(&self, page: Page) -> ims_api::Result<Vec<WebApiToken>> {
        let mut all: Vec<WebApiToken> = self.with(|rows| rows.values().cloned().collect());
        all.sort_by_key(|row| std::cmp::Reverse(row.created_at));
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(usize::MAX);
        Ok(all.into_iter().skip(skip).take(take).collect())
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> ims_api::Result<u64> {
        Ok(self.with(|rows| {
            let before = rows.len();
            rows.retain(|_, row| row.access_token_expires_at >= now);
            (before - rows.len()) as u64
        }))
    }
}
// ANCHOR_END: record

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let ims = Emulator::builder().start().await?;
    let environment = ImsEnvironment::custom(ims.base())?;

    // ANCHOR: wiring
    // The host's directory, with the Adobe ID that will call the API.
    let admins = Arc::new(MyAdmins::default());
    let member = admins
        .create(
            &NewAdminUser::new(
                "member",
                default_seed::MEMBER_EMAIL,
                "Mia",
                "Member",
                ims_api::Password::new("unused"),
            )
            .with_role("Administrators"),
        )
        .await?;

    // ims-store still keeps the settings.
    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new().with_encryption_key(EncryptionKey::generate()),
    )
    .await?;
    store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(default_seed::WEB_CLIENT_ID)?,
            ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
            OrgId::parse(default_seed::ORG_ID)?,
        ))
        .await?;

    let client = Arc::new(ImsClient::new(environment.clone())?);
    let services = WebApiServices::new(
        client,
        Arc::new(LocalVerifier::new(environment, VerifierConfig::default())?),
        admins.clone(),                     // <- the host's directory
        Arc::new(MyTokenRecord::default()), // <- and its token record
        Arc::new(store.settings()),
    );
    let authenticator = WebApiAuthenticator::new(services, WebApiConfig::default());
    // ANCHOR_END: wiring

    // ANCHOR: use
    let mint = || {
        ims.mint_access_token(
            &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
    };
    let header = format!("Bearer {}", mint()?);
    let admin = authenticator.authenticate(&[header.as_bytes()]).await?;
    assert_eq!(admin.admin_user_id, member.id);
    println!(
        "a token of {} is admin {}",
        default_seed::MEMBER_EMAIL,
        admin.admin_user_id
    );

    // The host deactivates the user in its own data: a new token is refused.
    admins.set_active(member.id, false).await?;
    let header = format!("Bearer {}", mint()?);
    let refused = authenticator
        .authenticate(&[header.as_bytes()])
        .await
        .err()
        .ok_or("an inactive admin's token must be refused")?;
    println!("after deactivation: {} ({refused})", refused.status());
    // ANCHOR_END: use
    Ok(())
}
