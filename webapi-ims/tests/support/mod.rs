//! In-memory fakes of the services the authenticator uses, with counters.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ims_api::*;
use time::OffsetDateTime;
use time::macros::datetime;
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

pub const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// What the fake IMS knows of a token.
#[derive(Clone)]
pub struct FakeToken {
    pub email: Option<String>,
    /// The `client_id` claim (`None`: the token has none).
    pub client_id: Option<String>,
    pub expires_at: OffsetDateTime,
    pub valid: bool,
}

#[derive(Default)]
pub struct FakeIms {
    pub tokens: Mutex<HashMap<String, FakeToken>>,
    pub down: std::sync::atomic::AtomicBool,
    pub latency: Mutex<Duration>,
    pub verify_calls: AtomicUsize,
    pub validate_calls: AtomicUsize,
    pub profile_calls: AtomicUsize,
    pub logout_calls: AtomicUsize,
    /// When set, `validate` signals `entered` and waits for `release`.
    pub gated: std::sync::atomic::AtomicBool,
    pub entered: tokio::sync::Notify,
    pub release: tokio::sync::Notify,
    /// The client ids `validate` was asked for, in order.
    pub asked_clients: Mutex<Vec<String>>,
    /// Tokens whose user belongs to no organization.
    pub outsiders: Mutex<std::collections::HashSet<String>>,
    /// The organization every other token's user belongs to (the
    /// harness's, unless a test changes it).
    pub member_org: Mutex<Option<String>>,
    pub membership_calls: AtomicUsize,
}

impl FakeIms {
    pub fn add(&self, token: &str, email: &str, expires_at: OffsetDateTime) {
        self.add_for_client(token, email, expires_at, Some(HOST_CLIENT));
    }

    /// A token issued to `client_id` (`None`: without the claim).
    pub fn add_for_client(
        &self,
        token: &str,
        email: &str,
        expires_at: OffsetDateTime,
        client_id: Option<&str>,
    ) {
        self.tokens.lock().unwrap().insert(
            token.into(),
            FakeToken {
                email: Some(email.into()),
                client_id: client_id.map(str::to_owned),
                expires_at,
                valid: true,
            },
        );
    }

    pub fn revoke(&self, token: &str) {
        self.tokens.lock().unwrap().get_mut(token).unwrap().valid = false;
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn counts(&self) -> (usize, usize) {
        (
            self.validate_calls.load(Ordering::SeqCst),
            self.profile_calls.load(Ordering::SeqCst),
        )
    }

    fn get(&self, token: &AccessToken) -> Option<FakeToken> {
        self.tokens
            .lock()
            .unwrap()
            .get(token.expose_secret())
            .cloned()
    }

    async fn call(&self) -> Result<()> {
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Unavailable {
                detail: "fake IMS is down".into(),
                retry_after: Some(Duration::from_secs(7)),
            });
        }
        Ok(())
    }
}

/// The integration's client id in the harness's settings.
pub const HOST_CLIENT: &str = "host_client";
/// The integration's organization in the harness's settings.
pub const HOST_ORG: &str = "0123456789ABCDEF01234567";

fn claims(expires_at: OffsetDateTime, client_id: Option<&str>) -> TokenClaims {
    let created = to_unix_millis(expires_at) - 86_400_000;
    let mut claims = serde_json::json!({
        "type": "access_token",
        "as": "ims-na1",
        "created_at": created.to_string(),
        "expires_in": "86400000",
    });
    if let Some(client_id) = client_id {
        claims["client_id"] = client_id.into();
    }
    serde_json::from_value(claims).unwrap()
}

#[async_trait]
impl TokenVerifier for FakeIms {
    async fn verify(&self, token: &AccessToken) -> Result<VerifiedToken> {
        self.verify_calls.fetch_add(1, Ordering::SeqCst);
        match self.get(token) {
            Some(t) => Ok(VerifiedToken::new(
                claims(t.expires_at, t.client_id.as_deref()),
                "k1",
            )),
            None => Err(Error::InvalidToken(TokenRejection::BadSignature)),
        }
    }
}

#[async_trait]
impl TokenValidator for FakeIms {
    async fn validate(&self, token: &AccessToken, client_id: &ClientId) -> Result<TokenValidity> {
        self.validate_calls.fetch_add(1, Ordering::SeqCst);
        self.asked_clients
            .lock()
            .unwrap()
            .push(client_id.as_str().to_owned());
        if self.gated.load(Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.call().await?;
        // As the emulator (and, we assume, IMS): a token is valid only for
        // the client it was issued to.
        Ok(match self.get(token) {
            Some(t) if t.valid && t.client_id.as_deref() == Some(client_id.as_str()) => {
                TokenValidity::Valid {
                    expires_at: t.expires_at,
                    claims: None,
                }
            }
            _ => TokenValidity::Invalid {
                reason: "token_revoked".into(),
            },
        })
    }
}

#[async_trait]
impl ProfileReader for FakeIms {
    async fn profile(&self, token: &AccessToken, _client_id: &ClientId) -> Result<Profile> {
        self.profile_calls.fetch_add(1, Ordering::SeqCst);
        self.call().await?;
        let t = self.get(token).unwrap();
        let mut profile = Profile::default();
        profile.email = t.email;
        Ok(profile)
    }

    async fn userinfo(&self, _token: &AccessToken) -> Result<UserInfo> {
        unreachable!("the authenticator reads the profile")
    }
}

#[async_trait]
impl TokenRevoker for FakeIms {
    async fn invalidate(&self, _request: &InvalidateRequest) -> Result<()> {
        Ok(())
    }

    async fn revoke(&self, _client: &ClientCredentials, _token: &AnyToken) -> Result<()> {
        Ok(())
    }

    async fn logout(&self, _client: &ClientCredentials, token: &AccessToken) -> Result<()> {
        self.logout_calls.fetch_add(1, Ordering::SeqCst);
        self.revoke_if_known(token.expose_secret());
        Ok(())
    }
}

#[async_trait]
impl OrganizationReader for FakeIms {
    async fn organizations(&self, _token: &AccessToken) -> Result<Vec<Organization>> {
        unreachable!("the authenticator asks about one organization")
    }

    async fn is_member(&self, token: &AccessToken, org: &OrgId) -> Result<bool> {
        self.membership_calls.fetch_add(1, Ordering::SeqCst);
        self.call().await?;
        if self
            .outsiders
            .lock()
            .unwrap()
            .contains(token.expose_secret())
        {
            return Ok(false);
        }
        let member_org = self.member_org.lock().unwrap().clone();
        Ok(member_org.as_deref().unwrap_or(HOST_ORG) == org.as_str())
    }
}

impl FakeIms {
    fn revoke_if_known(&self, token: &str) {
        if let Some(t) = self.tokens.lock().unwrap().get_mut(token) {
            t.valid = false;
        }
    }
}

#[derive(Default)]
pub struct MemoryTokens {
    pub rows: Mutex<HashMap<TokenHash, WebApiToken>>,
    pub revocations: Mutex<HashMap<AdminUserId, OffsetDateTime>>,
}

#[async_trait]
impl WebApiTokenRepository for MemoryTokens {
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<WebApiToken>> {
        Ok(self.rows.lock().unwrap().get(hash).cloned())
    }

    async fn save(&self, token: &WebApiToken) -> Result<()> {
        let mut rows = self.rows.lock().unwrap();
        // As ims-store: an invalidated row is never replaced.
        if !rows
            .get(&token.access_token_hash)
            .is_some_and(WebApiToken::is_invalidated)
        {
            rows.insert(token.access_token_hash.clone(), token.clone());
        }
        Ok(())
    }

    async fn record_check(
        &self,
        hash: &TokenHash,
        checked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        if let Some(row) = self.rows.lock().unwrap().get_mut(hash) {
            row.last_check_time = checked_at;
            row.updated_at = checked_at;
            row.access_token_expires_at = expires_at;
        }
        Ok(())
    }

    async fn invalidate(
        &self,
        hash: &TokenHash,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(hash) {
            Some(row) if !row.is_invalidated() => {
                row.status = TokenStatus::Invalidated {
                    at,
                    reason: reason.clone(),
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn invalidate_all_for_admin(
        &self,
        admin: AdminUserId,
        reason: &InvalidationReason,
        at: OffsetDateTime,
    ) -> Result<u64> {
        let mut revocations = self.revocations.lock().unwrap();
        let last = revocations.entry(admin).or_insert(at);
        *last = (*last).max(at);
        drop(revocations);
        let mut count = 0;
        for row in self.rows.lock().unwrap().values_mut() {
            if row.admin_user_id == admin && !row.is_invalidated() {
                row.status = TokenStatus::Invalidated {
                    at,
                    reason: reason.clone(),
                };
                count += 1;
            }
        }
        Ok(count)
    }

    async fn last_revocation(&self, admin: AdminUserId) -> Result<Option<OffsetDateTime>> {
        Ok(self.revocations.lock().unwrap().get(&admin).copied())
    }

    async fn list_by_admin(&self, admin: AdminUserId) -> Result<Vec<WebApiToken>> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .values()
            .filter(|row| row.admin_user_id == admin)
            .cloned()
            .collect())
    }

    async fn list(&self, _page: Page) -> Result<Vec<WebApiToken>> {
        Ok(self.rows.lock().unwrap().values().cloned().collect())
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|_, row| row.access_token_expires_at > now);
        Ok((before - rows.len()) as u64)
    }
}

pub struct MemoryAdmins(pub Mutex<Vec<AdminUser>>);

/// How loosely real directories match e-mail addresses: `ims-store` trims
/// Unicode whitespace and lower-cases with Unicode rules (the Kelvin sign
/// becomes `k`), and a case- and accent-insensitive SQL collation (MySQL's
/// default `utf8mb4_0900_ai_ci`) takes `é` for `e`.
pub fn loose_email(email: &str) -> String {
    email
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            other => other,
        })
        .collect()
}

#[async_trait]
impl AdminUserDirectory for MemoryAdmins {
    async fn find_by_email(&self, email: &str) -> Result<Option<AdminUser>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|u| loose_email(&u.email) == loose_email(email))
            .cloned())
    }

    async fn find_by_id(&self, id: AdminUserId) -> Result<Option<AdminUser>> {
        Ok(self.0.lock().unwrap().iter().find(|u| u.id == id).cloned())
    }

    async fn list(&self) -> Result<Vec<AdminUser>> {
        Ok(self.0.lock().unwrap().clone())
    }

    async fn create(&self, _user: &NewAdminUser) -> Result<AdminUser> {
        unreachable!("the Web API never provisions users")
    }

    async fn set_active(&self, id: AdminUserId, active: bool) -> Result<()> {
        for user in self.0.lock().unwrap().iter_mut() {
            if user.id == id {
                user.is_active = active;
            }
        }
        Ok(())
    }

    async fn record_login_failure(
        &self,
        _id: AdminUserId,
        _policy: &LockoutPolicy,
        _now: OffsetDateTime,
    ) -> Result<LoginFailures> {
        unreachable!()
    }

    async fn reset_login_failures(&self, _id: AdminUserId) -> Result<()> {
        unreachable!()
    }
}

pub struct MemorySettings(pub Mutex<ImsSettings>);

#[async_trait]
impl ImsSettingsStore for MemorySettings {
    async fn load(&self) -> Result<ImsSettings> {
        Ok(self.0.lock().unwrap().clone())
    }

    async fn save(&self, settings: &ImsSettings) -> Result<()> {
        *self.0.lock().unwrap() = settings.clone();
        Ok(())
    }
}

/// An admin with a role that grants permissions.
pub fn admin(id: i64, email: &str, active: bool) -> AdminUser {
    let mut user = AdminUser::new(AdminUserId(id), email.split('@').next().unwrap(), email);
    user.is_active = active;
    user.role = Some("Administrators".into());
    user
}

/// A wired authenticator with fakes, the clock at [`T0`].
pub struct Harness {
    pub ims: Arc<FakeIms>,
    pub tokens: Arc<MemoryTokens>,
    pub admins: Arc<MemoryAdmins>,
    pub settings: Arc<MemorySettings>,
    pub clock: Arc<ManualClock>,
    pub auth: Arc<WebApiAuthenticator>,
}

impl Harness {
    pub fn new(config: WebApiConfig) -> Self {
        let ims = Arc::new(FakeIms::default());
        let tokens = Arc::new(MemoryTokens::default());
        let admins = Arc::new(MemoryAdmins(Mutex::new(vec![
            admin(1, "jane@example.com", true),
            admin(2, "idle@example.com", false),
            {
                // Auto-provisioned by a sign-in: the role that grants nothing.
                let mut user = admin(3, "norole@example.com", true);
                user.role = Some(ADOBE_IMS_ROLE.into());
                user
            },
            {
                let mut user = admin(4, "locked@example.com", true);
                user.login_failures.lock_expires = Some(T0 + time::Duration::hours(1));
                user
            },
            {
                let mut user = admin(5, "none@example.com", true);
                user.role = None;
                user
            },
        ])));
        let settings = Arc::new(MemorySettings(Mutex::new(ImsSettings::enabled(
            ClientId::parse(HOST_CLIENT).unwrap(),
            ClientSecret::new("host-secret"),
            OrgId::parse(HOST_ORG).unwrap(),
        ))));
        let clock = Arc::new(ManualClock::new(T0));
        let services = WebApiServices::new(
            ims.clone(),
            ims.clone(),
            admins.clone(),
            tokens.clone(),
            settings.clone(),
        )
        .with_clock(clock.clone());
        let auth = Arc::new(WebApiAuthenticator::new(services, config));
        Harness {
            ims,
            tokens,
            admins,
            settings,
            clock,
            auth,
        }
    }

    /// Another instance of the host: its own memory, the same IMS, record,
    /// admins, settings and clock.
    pub fn another_instance(&self, config: WebApiConfig) -> Arc<WebApiAuthenticator> {
        let services = WebApiServices::new(
            self.ims.clone(),
            self.ims.clone(),
            self.admins.clone(),
            self.tokens.clone(),
            self.settings.clone(),
        )
        .with_clock(self.clock.clone());
        Arc::new(WebApiAuthenticator::new(services, config))
    }

    /// Changes the admin with this id.
    pub fn edit_admin(&self, id: i64, change: impl FnOnce(&mut AdminUser)) {
        let mut admins = self.admins.0.lock().unwrap();
        change(admins.iter_mut().find(|a| a.id.0 == id).unwrap());
    }

    pub async fn call(
        &self,
        token: &str,
    ) -> std::result::Result<webapi_ims::Authenticated, webapi_ims::AuthError> {
        let header = format!("Bearer {token}");
        self.auth.authenticate(&[header.as_bytes()]).await
    }
}
