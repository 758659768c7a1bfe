//! # Run several instances on PostgreSQL or MySQL
//!
//! The complete program of the book's "Run several instances" guide: two
//! instances of a host (here two sets of services in one process, each
//! with its own connection pool, as two processes would have) share one
//! database through `ims-store`:
//!
//! - a Web API token validated at IMS by one instance is accepted by the
//!   other without asking IMS again (the `admin_adobe_ims_webapi` record);
//! - a service token minted by one instance is used by the other (the
//!   `ims_token_cache` table and its lease): one IMS call for the fleet.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run -p ims-examples --bin postgres_instances
//! DATABASE_URL=mysql://root@127.0.0.1:3306/test       cargo run -p ims-examples --bin postgres_instances
//! cargo run -p ims-examples --bin postgres_instances   # a SQLite file in a temporary directory
//! ```
//!
//! `IMS_STORE_KEY` (32 bytes, base64) is the encryption key every instance
//! shares; without it the program generates one for this run.

use std::error::Error;
use std::sync::Arc;

use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ContextName, ImsEnvironment, ImsSettings,
    ImsSettingsStore, NewAdminUser, OrgId, Password, SystemClock, TokenProvider,
};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, HttpPolicy, ImsClient,
    ImsClients, LocalVerifier, ProviderConfig, VerifierConfig,
};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed};
use ims_store::{EncryptionKey, Store, StoreOptions};
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

// ANCHOR: instance
/// What one instance of the host builds at start-up: its own pool on the
/// shared database, and the services over it.
struct Instance {
    store: Store,
    authenticator: WebApiAuthenticator,
    tokens: ContextTokenProvider,
}

async fn start_instance(
    database_url: &str,
    key: &EncryptionKey,
    ims: &RunningEmulator,
    contexts: &AioConfig,
) -> Result<Instance, Box<dyn Error>> {
    // Every instance: the same URL and the same encryption key.
    let store = Store::connect(
        database_url,
        StoreOptions::new().with_encryption_key(key.clone()),
    )
    .await?;

    let environment = ImsEnvironment::custom(ims.base())?;
    let client = Arc::new(ImsClient::new(environment.clone())?);
    let authenticator = WebApiAuthenticator::new(
        WebApiServices::new(
            client.clone(),
            Arc::new(LocalVerifier::new(environment, VerifierConfig::default())?),
            Arc::new(store.admin_users()),
            Arc::new(store.webapi_tokens()),
            Arc::new(store.settings()),
        ),
        WebApiConfig::default(),
    );

    // Service tokens: the contexts from files (or any ContextStore), the
    // tokens in the shared database.
    let tokens = ContextTokenProvider::with_clients(
        Arc::new(AioContextStore::new(contexts.clone())),
        Arc::new(store.token_cache()),
        ImsClients::new(ImsEnvironment::Prod, HttpPolicy::default()),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    );
    Ok(Instance {
        store,
        authenticator,
        tokens,
    })
}
// ANCHOR_END: instance

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let ims = Emulator::builder().start().await?;
    let dir = tempfile::tempdir()?;

    // ANCHOR: config
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("ims.db").display()));
    let key = match std::env::var("IMS_STORE_KEY") {
        Ok(_) => EncryptionKey::from_env("IMS_STORE_KEY")?,
        Err(_) => EncryptionKey::generate(),
    };
    // ANCHOR_END: config

    // One server-to-server context, shared by the instances.
    let aio_file = dir.path().join("aio");
    std::fs::write(
        &aio_file,
        serde_json::json!({ "ims": { "contexts": { "fleet-service": {
            "ims_url": ims.base(),
            "client_id": default_seed::S2S_CLIENT_ID,
            "client_secrets": [default_seed::S2S_CLIENT_SECRET],
            "scopes": ["openid", "AdobeID"],
            "ims_org_id": default_seed::ORG_ID,
        }}}})
        .to_string(),
    )?;
    let contexts = AioConfig::with_env(ConfigPaths::new(&aio_file), Vec::<(String, String)>::new());

    // ANCHOR: run
    let a = start_instance(&database_url, &key, &ims, &contexts).await?;
    let b = start_instance(&database_url, &key, &ims, &contexts).await?;
    println!("two instances on {:?}", a.store.backend());

    // The host's data, written once through either instance.
    let admins = a.store.admin_users();
    if admins
        .find_by_email(default_seed::MEMBER_EMAIL)
        .await?
        .is_none()
    {
        admins
            .create(
                &NewAdminUser::new(
                    "member",
                    default_seed::MEMBER_EMAIL,
                    "Mia",
                    "Member",
                    Password::new("not-used-with-adobe-id"),
                )
                .with_role("Administrators"),
            )
            .await?;
    }
    a.store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(default_seed::WEB_CLIENT_ID)?,
            ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
            OrgId::parse(default_seed::ORG_ID)?,
        ))
        .await?;

    // A Web API token: validated at IMS by A, accepted by B from the record.
    let token = ims.mint_access_token(
        &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
            .scope("AdobeID,openid"),
    )?;
    let header = format!("Bearer {token}");
    a.authenticator.authenticate(&[header.as_bytes()]).await?;
    b.authenticator.authenticate(&[header.as_bytes()]).await?;
    let validations = ims.stats().count("POST /ims/validate_token/v1");
    println!("IMS validations for one token on two instances: {validations}");

    // A service token: both instances ask at once; one IMS call.
    let fleet = ContextName::parse("fleet-service")?;
    let (from_a, from_b) = tokio::join!(a.tokens.get_token(&fleet), b.tokens.get_token(&fleet));
    let (from_a, from_b) = (from_a?, from_b?);
    let minted = ims.stats().count("POST /ims/token/v3");
    println!(
        "IMS token calls for two instances: {minted}; same token: {}",
        from_a.token.expose_secret() == from_b.token.expose_secret()
    );
    // ANCHOR_END: run

    a.store.close().await;
    b.store.close().await;
    Ok(())
}
