//! What the load examples (`load_target`, `cold_path`) share: the real stack
//! as a host wires it — the emulator as IMS, ims-core's client and
//! `LocalVerifier`, ims-store on SQLite in memory, the system clock — and
//! the endpoint they put behind the layer.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use ims_api::AdminUserDirectory as _;
use ims_api::{
    ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore, NewAdminUser, OrgId,
    Password, SystemClock,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use webapi_ims::axum::ImsAdmin;
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A running emulator and an authenticator over it, with the integration
/// enabled and the seed's member as an admin user.
pub struct RealStack {
    pub ims: RunningEmulator,
    pub auth: Arc<WebApiAuthenticator>,
}

pub async fn real_stack() -> Result<RealStack, BoxError> {
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
        .create(
            &NewAdminUser::new(
                "member",
                seed::MEMBER_EMAIL,
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
            ClientId::parse(seed::WEB_CLIENT_ID)?,
            ClientSecret::new(seed::WEB_CLIENT_SECRET),
            OrgId::parse(seed::ORG_ID)?,
        ))
        .await?;
    let services = WebApiServices::new(
        Arc::new(LocalVerifier::new(env, VerifierConfig::default())?),
        client.clone(),
        client.clone(),
        client.clone(),
        client,
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
        Arc::new(SystemClock),
    );
    let auth = Arc::new(WebApiAuthenticator::new(services, WebApiConfig::default()));
    Ok(RealStack { ims, auth })
}

impl RealStack {
    /// A new access token of the member, minted by the emulator.
    pub fn mint(&self) -> Result<String, BoxError> {
        Ok(self.ims.mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )?)
    }
}

/// The endpoint behind the layer.
pub async fn me(ImsAdmin(admin): ImsAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}
