//! A load-test target: the same axum endpoint served twice, once behind
//! `webapi-ims`'s layer and once without, over the real stack (the emulator
//! as IMS, ims-core, ims-store on SQLite). `cargo xtask bench` starts it and
//! points `wrk` at both.
//!
//! It prints one line, `READY <plain addr> <protected addr> <token>`, then
//! serves until stdin closes or it is killed. The token is a demo token of
//! the emulator, minted for this run.

use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use ims_api::AdminUserDirectory as _;
use ims_api::{
    ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore, NewAdminUser, OrgId,
    Password, SystemClock,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use webapi_ims::axum::{ImsAdmin, ImsAuthLayer};
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn me(ImsAdmin(admin): ImsAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}

/// The same work as `me` (formatting an admin id), without the layer.
async fn plain() -> String {
    format!("{{\"id\":{}}}", std::hint::black_box(1_i64))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let ims = Emulator::builder().start().await?;
    let env = ImsEnvironment::custom(ims.base())?;
    let client = Arc::new(ImsClient::new(env.clone())?);
    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new()
            .with_encryption_key(EncryptionKey::generate())
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests()),
    )
    .await?;
    store
        .admin_users()
        .create(&NewAdminUser::new(
            "member",
            seed::MEMBER_EMAIL,
            "Mia",
            "Member",
            Password::new("unused"),
        ))
        .await?;
    store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(seed::WEB_CLIENT_ID)?,
            ClientSecret::new(seed::WEB_CLIENT_SECRET),
            OrgId::parse(seed::ORG_ID)?,
        ))
        .await?;
    let services = WebApiServices::new(
        Arc::new(LocalVerifier::new(env, VerifierConfig::default())?),
        client.clone(),
        client.clone(),
        client,
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
        Arc::new(SystemClock),
    );
    let auth = Arc::new(WebApiAuthenticator::new(services, WebApiConfig::default()));

    let protected = Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(auth));
    let unprotected = Router::new().route("/rest/V1/me", get(plain));

    let plain_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let protected_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let token = ims.mint_access_token(
        &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
            .scope("AdobeID,openid"),
    )?;
    println!(
        "READY {} {} {token}",
        plain_listener.local_addr()?,
        protected_listener.local_addr()?
    );
    tokio::spawn(async move { axum::serve(plain_listener, unprotected).await });
    tokio::spawn(async move { axum::serve(protected_listener, protected).await });

    // Serve until the parent closes stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    drop(ims);
    Ok(())
}
