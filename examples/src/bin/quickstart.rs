//! # Quickstart: admin login and Web API auth with ims-kit
//!
//! The complete program of the book's "Quickstart" chapter: an axum app
//! whose `/admin` needs "Sign in with Adobe ID" and whose `/rest/V1/me`
//! needs an IMS token of an admin, wired by `ims-kit`, against an
//! `ims-emulator` started in the same process.
//!
//! ```text
//! cargo run -p ims-examples --bin quickstart
//! ```
//!
//! Then open the `app:` address it prints and sign in as
//! `member@example.com` / `member-password`, or try the `curl` command it
//! prints. `APP_ADDR` chooses the app's address (default `127.0.0.1:3000`;
//! `127.0.0.1:0` picks a free port).

// ANCHOR: imports
use std::error::Error;

use admin_ims::axum::SignedInAdmin;
use axum::Router;
use axum::routing::get;
use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore,
    NewAdminUser, OrgId, Password,
};
use ims_emulator::{Emulator, MintTokenRequest, default_seed};
use ims_kit::ImsKit;
use url::Url;
use webapi_ims::axum::TokenAdmin;
// ANCHOR_END: imports

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // IMS: here a local emulator; in production `ImsEnvironment::Prod`.
    let ims = Emulator::builder().start().await?;
    let environment = ImsEnvironment::custom(ims.base())?;
    // The address the app serves on: the redirect URIs derive from it.
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = Url::parse(&format!("http://{}", listener.local_addr()?))?;

    // ANCHOR: wiring
    let kit = ImsKit::builder(environment, base.clone())
        .database("sqlite::memory:")
        .secure_cookie(false) // plain HTTP on localhost
        .build()
        .await?;
    seed_demo_data(&kit).await?; // an admin and the integration's settings
    let admin = Router::new().route("/admin", get(dashboard));
    let rest = Router::new().route("/rest/V1/me", get(me));
    let app = Router::new()
        .merge(admin.route_layer(kit.require_admin()))
        .merge(rest.route_layer(kit.webapi_layer()))
        .merge(kit.admin_routes())
        .layer(kit.session_layer());
    // ANCHOR_END: wiring

    let token = ims.mint_access_token(
        &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
            .scope("AdobeID,openid"),
    )?;
    println!("emulator: {}", ims.base());
    println!("app: {base}");
    println!("token: {token}");
    println!("try: curl -H 'Authorization: Bearer {token}' {base}rest/V1/me");
    // `kit` lives until the server stops: it holds the change-feed
    // follower and the session sweep when the database is shared.
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(kit);
    Ok(()) // dropping `ims` stops the emulator
}

// ANCHOR: handlers
/// The admin area: only signed-in admins get here.
async fn dashboard(SignedInAdmin(admin): SignedInAdmin) -> String {
    format!("Signed in as admin {admin}.")
}

/// Reached only with a valid IMS token of an active admin.
async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}
// ANCHOR_END: handlers

// ANCHOR: seed
/// Demo data a real host already has: an admin whose e-mail is the Adobe ID
/// that signs in (with a role: one without is refused), and the settings
/// `bin/magento admin:adobe-ims:enable` saves.
async fn seed_demo_data(kit: &ImsKit) -> Result<(), Box<dyn Error>> {
    let user = NewAdminUser::new(
        "member",
        default_seed::MEMBER_EMAIL,
        "Mia",
        "Member",
        Password::new("not-used-with-adobe-id"),
    );
    let admins = kit.store().admin_users();
    admins.create(&user.with_role("Administrators")).await?;
    let settings = ImsSettings::enabled(
        ClientId::parse(default_seed::WEB_CLIENT_ID)?,
        ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
        OrgId::parse(default_seed::ORG_ID)?,
    );
    kit.store().settings().save(&settings).await?;
    Ok(())
}
// ANCHOR_END: seed
