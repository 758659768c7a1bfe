//! The memory of the authenticator's hot cache: resident set size before and
//! after authenticating N distinct tokens (default 1,000,000), through the
//! public API only, with in-process fakes of the services that keep nothing
//! per token — so what grows is the authenticator, not the fakes.
//!
//! `cargo run --release -p webapi-ims --example hot_cache_memory -- [TOKENS] [CAPACITY] [TOKEN_BYTES]`
//!
//! - TOKENS: distinct tokens authenticated (default 1,000,000);
//! - CAPACITY: `WebApiConfig::hot_cache_capacity` (default 1,000,000);
//! - TOKEN_BYTES: each token's length (default 1200, the size of an IMS
//!   access token; 12 gives short tokens). The cache keeps a digest, not the
//!   token, so the size should not show.
//!
//! Prints one JSON line: `{"tokens":…,"capacity":…,"token_bytes":…,
//! "entries":…,"rss_start_kib":…,"rss_filled_kib":…,"rss_dropped_kib":…,
//! "saves":…,"seconds":…}`. `entries` is
//! `WebApiAuthenticator::hot_cache_len`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ims_api::{
    AccessToken, AdminUser, AdminUserDirectory, AdminUserId, AnyToken, ClientCredentials, ClientId,
    ClientSecret, ImsSettings, ImsSettingsStore, InvalidateRequest, InvalidationReason,
    LockoutPolicy, LoginFailures, NewAdminUser, OrgId, Organization, OrganizationReader, Page,
    Profile, ProfileReader, Result, TokenClaims, TokenHash, TokenRevoker, TokenValidator,
    TokenValidity, TokenVerifier, UserInfo, VerifiedToken, WebApiToken, WebApiTokenRepository,
    to_unix_millis,
};
use time::OffsetDateTime;
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const EMAIL: &str = "jane@example.com";

/// A fake IMS that accepts every token: verified, valid, one profile.
struct AcceptAll {
    claims: TokenClaims,
    expires_at: OffsetDateTime,
}

#[async_trait]
impl TokenVerifier for AcceptAll {
    async fn verify(&self, _token: &AccessToken) -> Result<VerifiedToken> {
        Ok(VerifiedToken::new(self.claims.clone(), "k1"))
    }
}

#[async_trait]
impl TokenValidator for AcceptAll {
    async fn validate(&self, _token: &AccessToken, _client_id: &ClientId) -> Result<TokenValidity> {
        Ok(TokenValidity::Valid {
            expires_at: self.expires_at,
            claims: None,
        })
    }
}

#[async_trait]
impl ProfileReader for AcceptAll {
    async fn profile(&self, _token: &AccessToken, _client_id: &ClientId) -> Result<Profile> {
        let mut profile = Profile::default();
        profile.email = Some(EMAIL.to_owned());
        Ok(profile)
    }

    async fn userinfo(&self, _token: &AccessToken) -> Result<UserInfo> {
        Err(ims_api::Error::Misconfigured(
            "the authenticator reads the profile, not userinfo".into(),
        ))
    }
}

#[async_trait]
impl OrganizationReader for AcceptAll {
    async fn organizations(&self, _token: &AccessToken) -> Result<Vec<Organization>> {
        Ok(Vec::new())
    }

    async fn is_member(&self, _token: &AccessToken, _org: &OrgId) -> Result<bool> {
        Ok(true)
    }
}

#[async_trait]
impl TokenRevoker for AcceptAll {
    async fn invalidate(&self, _request: &InvalidateRequest) -> Result<()> {
        Ok(())
    }

    async fn revoke(&self, _client: &ClientCredentials, _token: &AnyToken) -> Result<()> {
        Ok(())
    }

    async fn logout(&self, _client: &ClientCredentials, _token: &AccessToken) -> Result<()> {
        Ok(())
    }
}

/// One admin, found by any e-mail.
struct OneAdmin(AdminUser);

#[async_trait]
impl AdminUserDirectory for OneAdmin {
    async fn find_by_email(&self, _email: &str) -> Result<Option<AdminUser>> {
        Ok(Some(self.0.clone()))
    }

    async fn find_by_id(&self, _id: AdminUserId) -> Result<Option<AdminUser>> {
        Ok(Some(self.0.clone()))
    }

    async fn list(&self) -> Result<Vec<AdminUser>> {
        Ok(vec![self.0.clone()])
    }

    async fn create(&self, _user: &NewAdminUser) -> Result<AdminUser> {
        Ok(self.0.clone())
    }

    async fn set_active(&self, _id: AdminUserId, _active: bool) -> Result<()> {
        Ok(())
    }

    async fn record_login_failure(
        &self,
        _id: AdminUserId,
        _policy: &LockoutPolicy,
        _now: OffsetDateTime,
    ) -> Result<LoginFailures> {
        Ok(LoginFailures::default())
    }

    async fn reset_login_failures(&self, _id: AdminUserId) -> Result<()> {
        Ok(())
    }
}

/// A record that keeps nothing but the last row saved (the authenticator
/// reads its first sight's row back): every token is new, saves are
/// counted.
#[derive(Default)]
struct NoRecord {
    saves: AtomicU64,
    last: std::sync::Mutex<Option<WebApiToken>>,
}

#[async_trait]
impl WebApiTokenRepository for NoRecord {
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<WebApiToken>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        Ok(last
            .as_ref()
            .filter(|row| row.access_token_hash == *hash)
            .cloned())
    }

    async fn save(&self, token: &WebApiToken) -> Result<()> {
        self.saves.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(())
    }

    async fn record_check(
        &self,
        _hash: &TokenHash,
        _checked_at: OffsetDateTime,
        _expires_at: OffsetDateTime,
    ) -> Result<()> {
        Ok(())
    }

    async fn invalidate(
        &self,
        _hash: &TokenHash,
        _reason: &InvalidationReason,
        _at: OffsetDateTime,
    ) -> Result<bool> {
        Ok(false)
    }

    async fn invalidate_all_for_admin(
        &self,
        _admin: AdminUserId,
        _reason: &InvalidationReason,
        _at: OffsetDateTime,
    ) -> Result<u64> {
        Ok(0)
    }

    async fn last_revocation(&self, _admin: AdminUserId) -> Result<Option<OffsetDateTime>> {
        Ok(None)
    }

    async fn list_by_admin(&self, _admin: AdminUserId) -> Result<Vec<WebApiToken>> {
        Ok(Vec::new())
    }

    async fn list(&self, _page: Page) -> Result<Vec<WebApiToken>> {
        Ok(Vec::new())
    }

    async fn purge_expired(&self, _now: OffsetDateTime) -> Result<u64> {
        Ok(0)
    }
}

struct Enabled(ImsSettings);

#[async_trait]
impl ImsSettingsStore for Enabled {
    async fn load(&self) -> Result<ImsSettings> {
        Ok(self.0.clone())
    }

    async fn save(&self, _settings: &ImsSettings) -> Result<()> {
        Ok(())
    }
}

/// This process's resident set size in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> std::result::Result<u64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

fn arg(index: usize, default: u64) -> std::result::Result<u64, BoxError> {
    match std::env::args().nth(index) {
        Some(value) => Ok(value.replace('_', "").parse()?),
        None => Ok(default),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), BoxError> {
    let tokens = arg(1, 1_000_000)?;
    let capacity = arg(2, 1_000_000)?;
    let token_bytes = usize::try_from(arg(3, 1200)?)?;

    let now = OffsetDateTime::now_utc();
    let expires_at = now + Duration::from_secs(23 * 3600);
    let created = to_unix_millis(now) - 3_600_000;
    let claims: TokenClaims = serde_json::from_value(serde_json::json!({
        "type": "access_token",
        "client_id": "host_client",
        "as": "ims-na1",
        "created_at": created.to_string(),
        "expires_in": "86400000",
    }))?;
    let ims = Arc::new(AcceptAll { claims, expires_at });
    let record = Arc::new(NoRecord::default());
    let services = WebApiServices::new(
        ims.clone(),
        ims.clone(),
        Arc::new(OneAdmin({
            let mut jane = AdminUser::new(AdminUserId(1), "jane", EMAIL);
            jane.role = Some("Administrators".into());
            jane
        })),
        record.clone(),
        Arc::new(Enabled(ImsSettings::enabled(
            ClientId::parse("host_client")?,
            ClientSecret::new("host-secret"),
            OrgId::parse("0123456789ABCDEF01234567")?,
        ))),
    );
    let mut config = WebApiConfig::default();
    config.hot_cache_capacity = capacity;
    // Long enough that no entry expires during the run.
    config.hot_cache_ttl = Duration::from_secs(24 * 3600);
    let auth = WebApiAuthenticator::new(services, config);

    // One header buffer, rewritten per token: `Bearer ` + a fixed body + a
    // distinct decimal tail, `token_bytes` long in all (base64url characters).
    let mut header = String::with_capacity(token_bytes + 32);
    let body_len = token_bytes.saturating_sub(10);
    let body: String = "eyJhbGciOiJSUzI1NiJ9"
        .chars()
        .cycle()
        .take(body_len)
        .collect();
    let rss_start = rss_kib()?;
    let started = Instant::now();
    for i in 0..tokens {
        header.clear();
        header.push_str("Bearer ");
        header.push_str(&body);
        let _ = write!(header, "{i:010}");
        auth.authenticate(&[header.as_bytes()])
            .await
            .map_err(|err| format!("token {i} refused: {err}"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rss_filled = rss_kib()?;
    let entries = auth.hot_cache_len();
    let saves = record.saves.load(Ordering::Relaxed);
    drop(auth);
    let rss_dropped = rss_kib()?;

    println!(
        "{}",
        serde_json::json!({
            "tokens": tokens,
            "capacity": capacity,
            "token_bytes": header.len() - "Bearer ".len(),
            "entries": entries,
            "rss_start_kib": rss_start,
            "rss_filled_kib": rss_filled,
            "rss_dropped_kib": rss_dropped,
            "saves": saves,
            "seconds": seconds,
        })
    );
    Ok(())
}
