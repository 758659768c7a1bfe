//! # Add admin login to an axum app
//!
//! The complete program of the book's "Add admin login to an axum app"
//! guide: an axum application whose `/admin` area needs "Sign in with Adobe
//! ID", against an `ims-emulator` started in the same process.
//!
//! ```text
//! cargo run -p ims-examples --bin admin_login_axum
//! ```
//!
//! Then open the `app:` address it prints and sign in as
//! `member@example.com` / `member-password`. `APP_ADDR` chooses the app's
//! address (default `127.0.0.1:3000`; `127.0.0.1:0` picks a free port).

// ANCHOR: imports
use std::error::Error;
use std::sync::Arc;

use admin_ims::axum::{AdminImsWeb, SignedInAdmin};
use admin_ims::{AdminIms, AdminImsConfig, AdminImsServices};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore,
    NewAdminUser, OrgId, Password, SystemClock,
};
use ims_core::ImsClient;
use ims_emulator::{Emulator, default_seed};
use ims_store::{EncryptionKey, Store, StoreOptions};
use tower_sessions::Session;
use tracing_subscriber::prelude::*;
use url::Url;
// ANCHOR_END: imports

// ANCHOR: main
#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    init_logging()?;

    // 1. IMS. Here a local emulator; in production `ImsEnvironment::Prod`.
    let ims = Emulator::builder().start().await?;
    let environment = ImsEnvironment::custom(ims.base())?;

    // 2. The address the app serves on: the redirect URIs derive from it.
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = Url::parse(&format!("http://{}", listener.local_addr()?))?;

    let app = admin_app(environment, base.clone()).await?;

    println!("emulator: {}", ims.base());
    println!("app: {base}");
    println!(
        "sign in as {} / {}",
        default_seed::MEMBER_EMAIL,
        default_seed::MEMBER_PASSWORD
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(()) // dropping `ims` stops the emulator
}
// ANCHOR_END: main

// ANCHOR: logging
/// Sign-ins, refusals and logouts are `tracing` events (target `admin_ims`):
/// to stderr, and errors also to Magento's `adminadobe-ims.log` in
/// `LOG_DIR` (default: the system's temporary directory).
fn init_logging() -> Result<(), Box<dyn Error>> {
    let log_dir = std::env::var_os("LOG_DIR").map_or_else(std::env::temp_dir, Into::into);
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(admin_ims::error_log_layer(&log_dir, true)?)
        .init();
    Ok(())
}
// ANCHOR_END: logging

/// Builds the whole application: storage, the IMS client, the admin-ims
/// service and the router.
async fn admin_app(environment: ImsEnvironment, base: Url) -> Result<Router, Box<dyn Error>> {
    // ANCHOR: store
    // 3. The host's data: admin users and the integration's settings.
    //    ims-store keeps them in SQLite (here in memory); the key encrypts
    //    the client secret at rest.
    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new().with_encryption_key(EncryptionKey::generate()),
    )
    .await?;

    // An admin whose e-mail is the Adobe ID that will sign in. A user needs
    // a role: one without is refused ("More permissions are needed").
    let admins = store.admin_users();
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

    // The integration: the client registered at IMS and the organization
    // whose members may sign in (what `bin/magento admin:adobe-ims:enable`
    // saves).
    let settings = store.settings();
    settings
        .save(&ImsSettings::enabled(
            ClientId::parse(default_seed::WEB_CLIENT_ID)?,
            ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
            OrgId::parse(default_seed::ORG_ID)?,
        ))
        .await?;
    // ANCHOR_END: store

    // ANCHOR: service
    // 4. The IMS side (one client implements every IMS trait) and the
    //    service. The redirect URIs are <base>/admin/ims/callback and
    //    <base>/admin/ims/reauth/callback.
    let client = Arc::new(ImsClient::new(environment)?);
    let services = AdminImsServices::new(
        client,
        Arc::new(admins),
        Arc::new(settings),
        Arc::new(SystemClock),
    )
    .with_user_profiles(Arc::new(store.user_profiles()));
    // The mount prefix, typed once: the adapter takes it from the config.
    let config = AdminImsConfig::new(base, "/admin/ims")?;
    let service = Arc::new(AdminIms::new(services, config));

    // Plain HTTP on localhost: a `Secure` cookie would never come back.
    let web = AdminImsWeb::new(service).with_secure_cookie(false);
    // ANCHOR_END: service

    // ANCHOR: router
    // 5. The routes. `route_layer` protects the routes above it only, so
    //    unknown paths stay 404; admin-ims's routes come already under
    //    their prefix; the session layer goes outermost.
    let login_page = format!(
        "<h1>My shop</h1><p>{}</p><p><a href=\"/admin\">Admin area</a></p>",
        web.sign_in_button()
    );
    let app = Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/users/new", get(new_admin_user))
        .route_layer(web.require_admin())
        .route("/", get(move || async move { Html(login_page) }))
        .with_state(web.clone())
        .merge(web.routes())
        // Sessions in memory within byte budgets; pending sign-ins expire
        // with their state, so anonymous visitors cannot grow it.
        .layer(web.session_layer());
    Ok(app)
    // ANCHOR_END: router
}

// ANCHOR: dashboard
/// The admin area: only signed-in admins get here.
async fn dashboard(SignedInAdmin(admin): SignedInAdmin) -> Html<String> {
    Html(format!(
        "<h1>Dashboard</h1><p>Signed in as admin {admin}.</p>\
         <p><a href=\"/admin/users/new\">Create an admin user</a> (a sensitive action)</p>\
         <form method=\"post\" action=\"/admin/ims/logout\"><button>Sign out</button></form>"
    ))
}
// ANCHOR_END: dashboard

// ANCHOR: sensitive
/// A sensitive action: it needs a fresh re-authentication, used once.
async fn new_admin_user(
    State(web): State<AdminImsWeb>,
    SignedInAdmin(admin): SignedInAdmin,
    session: Session,
    headers: HeaderMap,
) -> Response {
    match web.require_reauth(&session, &headers).await {
        Ok(()) => Html(format!(
            "<p>Admin {admin} may create an admin user now.</p>"
        ))
        .into_response(),
        // 403 "Please perform the AdobeIms reAuth and try again.", with a
        // link to re-authenticate (JSON for fetch/XHR requests).
        Err(refusal) => refusal.into_response(),
    }
}
// ANCHOR_END: sensitive
