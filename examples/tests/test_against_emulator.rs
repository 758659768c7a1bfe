//! # Test your app against ims-emulator
//!
//! The book's "Test your app against ims-emulator" guide: a tiny
//! application and its integration tests. The app has two routes:
//!
//! - `GET /report` calls an upstream service with a server-to-server token
//!   it gets from IMS (here it only says whether it got one);
//! - `GET /rest/V1/me` accepts IMS bearer tokens of the host's admins.
//!
//! Each test starts its own emulator (a free port, dropped at the end), so
//! tests run in parallel and never talk to Adobe.

#![allow(clippy::unwrap_used)]

// ANCHOR: app
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ims_api::{
    AdminUserDirectory, ClientCredentials, ClientId, ClientSecret, ImsEnvironment, ImsSettings,
    ImsSettingsStore, NewAdminUser, OrgId, Password, Scopes, ServerToServer, TokenGrants,
};
use ims_core::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};
use ims_store::{EncryptionKey, Store, StoreOptions};
use webapi_ims::axum::{ImsAuthLayer, TokenAdmin};
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

/// The application under test. It takes the IMS base URL, the HTTP policy
/// and the verifier's settings: all a test needs to change.
async fn my_app(
    ims_base: &str,
    policy: HttpPolicy,
    verifier: VerifierConfig,
) -> ims_api::Result<Router> {
    let environment = ImsEnvironment::custom(ims_base)?;
    let client = Arc::new(ImsClient::with_policy(environment.clone(), policy)?);

    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new().with_encryption_key(EncryptionKey::generate()),
    )
    .await?;
    store
        .admin_users()
        .create(
            &NewAdminUser::new(
                "member",
                "member@example.com",
                "Mia",
                "Member",
                Password::new("unused"),
            )
            .with_role("Administrators"),
        )
        .await?;
    store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse("emulator-web")?,
            ClientSecret::new("emulator-web-secret"),
            OrgId::parse("A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg")?,
        ))
        .await?;
    // The app's own server-to-server credentials.
    let request = ServerToServer::new(
        ClientCredentials::new(
            ClientId::parse("emulator-s2s")?,
            ClientSecret::new("emulator-s2s-secret"),
        ),
        Scopes::parse("openid,AdobeID"),
    );
    let authenticator = Arc::new(WebApiAuthenticator::new(
        WebApiServices::new(
            client.clone(),
            Arc::new(LocalVerifier::new(environment, verifier)?),
            Arc::new(store.admin_users()),
            Arc::new(store.webapi_tokens()),
            Arc::new(store.settings()),
        ),
        WebApiConfig::default(),
    ));

    Ok(Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(authenticator))
        .route("/report", get(report))
        .with_state(Arc::new(Upstream {
            ims: client,
            request,
        })))
}

/// What `/report` needs: the IMS client and its own credentials.
struct Upstream {
    ims: Arc<ImsClient>,
    request: ServerToServer,
}

async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}

/// Gets a service token, then (in a real app) calls an upstream API with it.
async fn report(State(upstream): State<Arc<Upstream>>) -> (StatusCode, String) {
    match upstream.ims.client_credentials(&upstream.request).await {
        Ok(_token) => (StatusCode::OK, "report ready".into()),
        // IMS unreachable: say so, never a 500 or a 401.
        Err(err) if err.is_transient() => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        Err(err) => (StatusCode::BAD_GATEWAY, err.to_string()),
    }
}
// ANCHOR_END: app

// ANCHOR: harness
use ims_emulator::{Emulator, FaultSpec, MintTokenRequest, RunningEmulator, default_seed};

/// The emulator and the app on free ports; both stop when dropped.
struct Running {
    ims: RunningEmulator,
    app: String,
}

async fn start(policy: HttpPolicy) -> Running {
    start_with(policy, VerifierConfig::default()).await
}

async fn start_with(policy: HttpPolicy, verifier: VerifierConfig) -> Running {
    let ims = Emulator::builder().start().await.unwrap();
    let router = my_app(ims.base(), policy, verifier).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Running { ims, app }
}

/// A policy without retries: an outage is answered at once.
fn no_retries() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.max_retries = 0;
    policy
}
// ANCHOR_END: harness

// ANCHOR: tests
#[tokio::test]
async fn report_gets_a_service_token() {
    let t = start(HttpPolicy::default()).await;
    let answer = reqwest::get(format!("{}/report", t.app)).await.unwrap();
    assert_eq!(answer.status(), 200);
    // The emulator counts every request it served.
    assert_eq!(t.ims.stats().count("POST /ims/token/v3"), 1);
}

#[tokio::test]
async fn report_survives_one_throttled_answer() {
    let t = start(HttpPolicy::default()).await;
    // The next token request gets 429 with Retry-After: 1.
    t.ims
        .inject_fault(
            FaultSpec::new("/ims/token")
                .status(429)
                .retry_after(1)
                .count(1),
        )
        .unwrap();
    let answer = reqwest::get(format!("{}/report", t.app)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(t.ims.stats().count("POST /ims/token/v3"), 2, "one retry");
}

#[tokio::test]
async fn report_says_503_when_ims_is_down() {
    let t = start(no_retries()).await;
    t.ims
        .inject_fault(FaultSpec::new("/ims/token").status(503))
        .unwrap();
    let answer = reqwest::get(format!("{}/report", t.app)).await.unwrap();
    assert_eq!(answer.status(), 503);
}

#[tokio::test]
async fn api_takes_minted_tokens_and_refuses_expired_ones() {
    let t = start(HttpPolicy::default()).await;
    let me = format!("{}/rest/V1/me", t.app);
    let client = reqwest::Client::new();

    // A user's token without a browser: the control API mints it.
    let token = t
        .ims
        .mint_access_token(
            &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap();
    let ok = client.get(&me).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "admin 1");

    // Created two days ago, valid for one: expired.
    let two_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 2 * 86_400_000;
    let expired = t
        .ims
        .mint_access_token(
            &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid")
                .created_at_ms(two_days_ago)
                .expires_in_ms(86_400_000),
        )
        .unwrap();
    let refused = client.get(&me).bearer_auth(&expired).send().await.unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn api_keeps_working_across_a_key_rotation() {
    // An unknown `kid` refetches the keys at most once per
    // `min_refetch_interval` (30 s): the test shortens it instead of waiting.
    let verifier = VerifierConfig::default().with_min_refetch_interval(Duration::ZERO);
    let t = start_with(HttpPolicy::default(), verifier).await;
    let me = format!("{}/rest/V1/me", t.app);
    let mint = || {
        t.ims
            .mint_access_token(
                &MintTokenRequest::for_email(
                    default_seed::MEMBER_EMAIL,
                    default_seed::WEB_CLIENT_ID,
                )
                .scope("AdobeID,openid"),
            )
            .unwrap()
    };
    let client = reqwest::Client::new();
    let before = client.get(&me).bearer_auth(mint()).send().await.unwrap();
    assert_eq!(before.status(), 200);

    // IMS signs with a new key; the app fetches it on the unknown `kid`.
    t.ims.rotate_keys().unwrap();
    let after = client.get(&me).bearer_auth(mint()).send().await.unwrap();
    assert_eq!(after.status(), 200);
}
// ANCHOR_END: tests
