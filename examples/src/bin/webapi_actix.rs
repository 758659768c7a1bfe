//! # Protect a REST API with IMS tokens (actix-web)
//!
//! The complete program of the book's "Protect a REST API with IMS tokens"
//! guide, actix-web flavour: `/rest/V1/me` accepts only IMS access tokens of
//! active admins, against an `ims-emulator` started in the same process.
//!
//! ```text
//! cargo run -p ims-examples --bin webapi_actix
//! ```
//!
//! It prints a `curl` command with a token minted by the emulator.
//! `APP_ADDR` chooses the address (default `127.0.0.1:3002`).

// ANCHOR: all
use std::error::Error;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore,
    NewAdminUser, OrgId, Password,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, default_seed};
use ims_store::{EncryptionKey, Store, StoreOptions};
use webapi_ims::actix::{ImsAuth, TokenAdmin};
use webapi_ims::{WebApiAuthenticator, WebApiConfig, WebApiServices};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let ims = Emulator::builder().start().await?;
    let environment = ImsEnvironment::custom(ims.base())?;

    // The host side: admins, the token record, the settings.
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
                default_seed::MEMBER_EMAIL,
                "Mia",
                "Member",
                Password::new("not-used-with-adobe-id"),
            )
            .with_role("Administrators"),
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

    // The IMS side: local signature checks, and the client for the rest.
    let client = Arc::new(ImsClient::new(environment.clone())?);
    let verifier = LocalVerifier::new(environment, VerifierConfig::default())?;
    let services = WebApiServices::new(
        client,
        Arc::new(verifier),
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    );
    let authenticator = Arc::new(WebApiAuthenticator::new(services, WebApiConfig::default()));

    // ANCHOR: actix
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    let token = ims.mint_access_token(
        &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
            .scope("AdobeID,openid"),
    )?;
    let url = format!("http://{}/rest/V1/me", listener.local_addr()?);
    println!("app: {url}");
    println!("token: {token}");
    println!("try: curl -H 'Authorization: Bearer {token}' {url}");

    // The middleware wraps a scope: only its routes need a token.
    HttpServer::new(move || {
        App::new().service(
            web::scope("/rest/V1")
                .wrap(ImsAuth::new(authenticator.clone()))
                .route("/me", web::get().to(me)),
        )
    })
    .listen(listener)?
    .run()
    .await?;
    // ANCHOR_END: actix
    Ok(())
}

// ANCHOR: handler
/// Reached only with a valid token of an active admin, who comes with it
/// as the directory gave them: no query.
async fn me(TokenAdmin(auth): TokenAdmin) -> String {
    format!("admin {} <{}>", auth.admin_user_id, auth.admin.email)
}
// ANCHOR_END: handler
// ANCHOR_END: all
