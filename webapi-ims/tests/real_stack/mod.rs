//! The real stack for Web API tests: `ims-emulator` as IMS, `ims-core` for
//! verification and IMS calls, `ims-store` (SQLite) for the record, and an
//! axum app with the layer.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request, StatusCode};
use ims_api::{
    ADOBE_IMS_ROLE, AdminUserDirectory, ClientId, ClientSecret, Clock, ImsEnvironment, ImsSettings,
    ImsSettingsStore, LockoutPolicy, ManualClock, NewAdminUser, OrgId, Password, TokenHash,
};
use ims_core::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{
    Emulator, MintTokenRequest, RunningEmulator, Seed, SeedUser, default_seed as seed,
};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use tower::ServiceExt as _;
use webapi_ims::axum::{ImsAuthLayer, TokenAdmin};
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

pub const VALIDATE: &str = "POST /ims/validate_token/v1";
pub const PROFILE: &str = "GET /ims/profile/v1";

/// A member of the organization whose admin has only the role that grants
/// nothing (as a sign-in auto-provisions it).
pub const NO_ROLE_EMAIL: &str = "norole@example.com";
/// A member of the organization whose admin is locked.
pub const LOCKED_EMAIL: &str = "locked@example.com";
/// A member of the organization who is no admin of the host.
pub const STRANGER_EMAIL: &str = "stranger@example.com";

/// The emulator's default seed plus three members of its organization.
fn seed_with_members() -> Seed {
    let mut seed = Seed::default_seed();
    for (n, email) in [NO_ROLE_EMAIL, LOCKED_EMAIL, STRANGER_EMAIL]
        .into_iter()
        .enumerate()
    {
        let user_id = format!("{n}000AAAA8888BBBB7777CCCC@AdobeID");
        seed.users.push(SeedUser {
            user_id: user_id.clone(),
            email: email.to_owned(),
            first_name: "Test".to_owned(),
            last_name: "User".to_owned(),
            password: "unused-password".to_owned(),
            account_type: "ent".to_owned(),
            country_code: "US".to_owned(),
            email_verified: true,
        });
        let org = seed.orgs.iter_mut().find(|o| o.id == seed::ORG_ID).unwrap();
        org.members.push(user_id);
    }
    seed
}

pub struct App {
    pub ims: RunningEmulator,
    pub auth: Arc<WebApiAuthenticator>,
    pub client: ImsClient,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub router: Router,
}

pub async fn app(enabled: bool) -> App {
    app_with(enabled, VerifierConfig::default()).await
}

pub async fn app_with(enabled: bool, verifier_config: VerifierConfig) -> App {
    app_with_policies(
        enabled,
        verifier_config,
        HttpPolicy::default(),
        WebApiConfig::default(),
    )
    .await
}

/// With the IMS client's timeouts and retries (for IMS calls and key
/// fetches) and the authenticator's configuration.
pub async fn app_with_policies(
    enabled: bool,
    mut verifier_config: VerifierConfig,
    http: HttpPolicy,
    config: WebApiConfig,
) -> App {
    let ims = Emulator::builder()
        .seed(seed_with_members())
        .start()
        .await
        .unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let client = ImsClient::with_policy(env.clone(), http.clone()).unwrap();
    verifier_config.http = http;
    let verifier = LocalVerifier::with_clock(env, verifier_config, clock.clone()).unwrap();
    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new()
            .with_encryption_key(EncryptionKey::generate())
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
            .with_clock(clock.clone()),
    )
    .await
    .unwrap();
    store
        .admin_users()
        .create(
            &NewAdminUser::new(
                "member",
                seed::MEMBER_EMAIL,
                "Mia",
                "Member",
                Password::new("unused-password"),
            )
            .with_role("Administrators"),
        )
        .await
        .unwrap();
    // The outsider (no member of the organization) is an admin with a
    // role: the organization refuses them.
    for (name, email, role) in [
        ("outsider", seed::NON_MEMBER_EMAIL, "Administrators"),
        ("norole", NO_ROLE_EMAIL, ADOBE_IMS_ROLE),
        ("locked", LOCKED_EMAIL, "Administrators"),
    ] {
        let user = store
            .admin_users()
            .create(
                &NewAdminUser::new(
                    name,
                    email,
                    "Test",
                    "User",
                    Password::new("unused-password"),
                )
                .with_role(role),
            )
            .await
            .unwrap();
        if name == "locked" {
            let policy = LockoutPolicy {
                max_failures: 1,
                lock_duration: std::time::Duration::from_secs(365 * 86_400),
            };
            store
                .admin_users()
                .record_login_failure(user.id, &policy, clock.now())
                .await
                .unwrap();
        }
    }
    let mut settings = ImsSettings::enabled(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(seed::WEB_CLIENT_SECRET),
        OrgId::parse(seed::ORG_ID).unwrap(),
    );
    settings.enabled = enabled;
    store.settings().save(&settings).await.unwrap();

    let client_arc = Arc::new(client.clone());
    let services = WebApiServices::new(
        client_arc.clone(),
        Arc::new(verifier),
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    )
    .with_clock(clock.clone());
    let authenticator = Arc::new(WebApiAuthenticator::new(services, config));
    let router = Router::new()
        .route(
            "/rest/V1/me",
            get(|TokenAdmin(admin): TokenAdmin| async move { admin.admin_user_id.to_string() }),
        )
        .route_layer(ImsAuthLayer::new(authenticator.clone()));
    App {
        ims,
        auth: authenticator,
        client,
        store,
        clock,
        router,
    }
}

impl App {
    pub fn mint(&self, email: &str) -> String {
        self.ims
            .mint_access_token(
                &MintTokenRequest::for_email(email, seed::WEB_CLIENT_ID).scope("AdobeID,openid"),
            )
            .unwrap()
    }

    pub async fn get(&self, token: &str) -> StatusCode {
        self.get_with_retry_after(token).await.0
    }

    /// The status and the `Retry-After` header, if any.
    pub async fn get_with_retry_after(&self, token: &str) -> (StatusCode, Option<String>) {
        let request = Request::get("/rest/V1/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        (response.status(), retry_after)
    }

    /// Takes IMS down for good: the emulator the stack talks to stops (its
    /// address then refuses connections); `self.ims` becomes an unrelated
    /// emulator, there only to keep the struct whole.
    pub async fn take_ims_down(&mut self) {
        let spare = Emulator::builder().start().await.unwrap();
        std::mem::replace(&mut self.ims, spare).shutdown().await;
    }

    /// Sends raw `Authorization` values (any bytes, any number); the status
    /// and the `WWW-Authenticate` challenge.
    pub async fn send_raw(&self, authorization: &[&[u8]]) -> (StatusCode, String) {
        let mut request = Request::get("/rest/V1/me");
        for value in authorization {
            request = request.header("authorization", HeaderValue::from_bytes(value).unwrap());
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        (response.status(), challenge)
    }

    pub fn calls(&self, what: &str) -> u64 {
        self.ims.stats().count(what)
    }
}

pub fn hash(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}
