//! What the load examples (`load_target`, `cold_path`) share: the real stack
//! as a host wires it — the emulator as IMS, ims-core's client and
//! `LocalVerifier`, ims-store on SQLite in memory, the system clock — or
//! several such instances on one SQLite file, and the endpoint they put
//! behind the layer.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use ims_api::AdminUserDirectory as _;
use ims_api::{
    ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore, NewAdminUser, OrgId,
    Password,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use webapi_ims::axum::TokenAdmin;
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
    let store = Store::connect("sqlite::memory:", store_options(EncryptionKey::generate())).await?;
    seed_host(&store).await?;
    let auth = instance(&ims, &store)?;
    Ok(RealStack { ims, auth })
}

/// Several instances of the host on one database (a SQLite file in a
/// fresh directory, one pool each, as separate processes would have), over
/// one emulator.
pub struct RealFleet {
    pub ims: RunningEmulator,
    pub instances: Vec<Arc<WebApiAuthenticator>>,
    dir: std::path::PathBuf,
}

impl Drop for RealFleet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn real_fleet(instances: usize) -> Result<RealFleet, BoxError> {
    let ims = Emulator::builder().start().await?;
    let dir = std::env::temp_dir().join(format!(
        "webapi_fleet_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("fleet.db").display());
    let key = EncryptionKey::generate();
    let mut fleet = RealFleet {
        ims,
        instances: Vec::new(),
        dir,
    };
    for n in 0..instances.max(1) {
        let store = Store::connect(&url, store_options(key.clone())).await?;
        if n == 0 {
            seed_host(&store).await?;
        }
        fleet.instances.push(instance(&fleet.ims, &store)?);
    }
    Ok(fleet)
}

impl RealFleet {
    /// A new access token of the member, minted by the emulator.
    pub fn mint(&self) -> Result<String, BoxError> {
        Ok(self.ims.mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )?)
    }
}

fn store_options(key: EncryptionKey) -> StoreOptions {
    StoreOptions::new()
        .with_encryption_key(key)
        .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
}

/// The seed's member as an admin user, and the integration enabled.
async fn seed_host(store: &Store) -> Result<(), BoxError> {
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
    Ok(())
}

/// An authenticator over the emulator and the store, with its own IMS
/// client and key cache.
fn instance(ims: &RunningEmulator, store: &Store) -> Result<Arc<WebApiAuthenticator>, BoxError> {
    let env = ImsEnvironment::custom(ims.base())?;
    let client = Arc::new(ImsClient::new(env.clone())?);
    let services = WebApiServices::new(
        client.clone(),
        Arc::new(LocalVerifier::new(env, VerifierConfig::default())?),
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    );
    Ok(Arc::new(WebApiAuthenticator::new(
        services,
        WebApiConfig::default(),
    )))
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
pub async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}
