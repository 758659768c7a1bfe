//! The operator subcommands, with Magento's names and options, acting on the
//! same database as the server: `admin:adobe-ims:enable|disable|status|info`
//! (admin-ims's operator operations), `admin:user:create|lock|unlock`, and
//! `service-token` (`service_token.rs`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use ims_api::{
    AdminMailer as _, AdminUserDirectory, ClientSecret, NewAdminUser, Password, WelcomeMail,
};

use crate::mailer::LogMailer;
use url::Url;

use crate::cli::{
    Command, CommonArgs, CreateUserArgs, EnableArgs, LockUserArgs, UnlockUserArgs, parse_yes_no,
};
use crate::pages::users::{validate_new_user, validate_password};
pub use crate::settings_origin::settings_origin_warning;
use crate::wiring::{self, DemoError};

/// Runs one subcommand.
pub async fn run(common: CommonArgs, command: Command) -> Result<(), DemoError> {
    let store = wiring::open_store(&common.database).await?;
    let result = match command {
        Command::CreateUser(args) => create_user(&store, args).await,
        Command::LockUser(args) => lock_user(&store, args).await,
        Command::UnlockUser(args) => unlock_user(&store, args).await,
        Command::ServiceToken(args) => crate::service_token::run(&store, &common, args).await,
        command => integration(&store, &common, command).await,
    };
    store.close().await;
    result
}

async fn integration(
    store: &ims_store::Store,
    common: &CommonArgs,
    command: Command,
) -> Result<(), DemoError> {
    // Only `enable` talks to IMS (its probe), once its input is valid:
    // without --ims-url, to an emulator started for the occasion, as the
    // server does. The others read and write the settings only.
    let request = match &command {
        Command::Enable(args) => {
            let request = enable_request(args.clone())?;
            request
                .validate()
                .map_err(|e| DemoError::new(e.to_string()))?;
            Some(request)
        }
        _ => None,
    };
    let ims_url = match (&request, common.ims_url.as_deref()) {
        (_, Some(url)) => Some(url),
        (Some(_), None) => {
            eprintln!("ims-demo: no --ims-url: probing the demo's built-in IMS emulator");
            None
        }
        (None, None) => Some(PROD_IMS),
    };
    // The settings commands do not start the emulator without --ims-url.
    if request.is_none()
        && common.ims_url.is_some()
        && let Some(warning) = settings_origin_warning(store, common.ims_url.as_deref()).await
    {
        eprintln!("ims-demo: warning: {warning}");
    }
    let ims = wiring::connect_ims(ims_url).await?;
    let public = common.public_url.as_deref().unwrap_or(DEFAULT_PUBLIC_URL);
    let public = Url::parse(public).map_err(|e| DemoError::new(format!("--public-url: {e}")))?;
    let admin = wiring::admin_ims(store, &ims, &public)?;
    let storage = |e: ims_api::Error| DemoError::new(format!("the settings: {e}"));
    match (command, request) {
        (Command::Enable(_), Some(request)) => {
            admin
                .enable(request)
                .await
                .map_err(|e| DemoError::new(e.to_string()))?;
            println!("Admin Adobe IMS integration is enabled");
        }
        (Command::Disable, _) => println!("{}", admin.disable().await.map_err(storage)?),
        (Command::Status, _) => println!("{}", admin.status().await.map_err(storage)?),
        (Command::Info, _) => println!("{}", admin.info().await.map_err(storage)?),
        _ => {}
    }
    Ok(())
}

/// Adobe's production IMS, the default of `--ims-url` outside the demo.
const PROD_IMS: &str = "https://ims-na1.adobelogin.com";

/// The server's default public URL (the callback host `enable` checks).
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080/";

fn enable_request(args: EnableArgs) -> Result<admin_ims::EnableRequest, DemoError> {
    let organization_id = match args.organization_id {
        Some(value) => value,
        None => prompt("Organization ID: ")?,
    };
    let client_id = match args.client_id {
        Some(value) => value,
        None => prompt("Client ID: ")?,
    };
    let client_secret = match args.client_secret {
        Some(value) => value,
        None => ClientSecret::new(prompt_secret("Client Secret: ")?.trim()),
    };
    let two_factor = match args.two_factor {
        Some(value) => value,
        None => {
            prompt("Is 2FA enabled for your organization in the Adobe Admin Console? (yes/no): ")?
        }
    };
    let two_factor =
        parse_yes_no(&two_factor).ok_or_else(|| DemoError::new("--2fa takes yes or no"))?;
    Ok(admin_ims::EnableRequest::new(
        organization_id.trim(),
        client_id.trim(),
        client_secret,
        two_factor,
    ))
}

/// Reads a line after a prompt on stderr; refuses an empty answer.
fn prompt(question: &str) -> Result<String, DemoError> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| DemoError::new(format!("reading the answer: {e}")))?;
    let answer = line.trim().to_owned();
    if answer.is_empty() {
        return Err(DemoError::new(format!(
            "no answer to {:?}",
            question.trim_end_matches([':', ' '])
        )));
    }
    Ok(answer)
}

/// Reads a secret without echo on a terminal; from stdin (saying so) when
/// stdin is not a terminal.
fn prompt_secret(question: &str) -> Result<String, DemoError> {
    if std::io::stdin().is_terminal() {
        let answer = rpassword::prompt_password(question)
            .map_err(|e| DemoError::new(format!("reading the secret: {e}")))?;
        if answer.trim().is_empty() {
            return Err(DemoError::new("no secret given"));
        }
        Ok(answer)
    } else {
        eprintln!("ims-demo: stdin is not a terminal: reading the secret from it");
        prompt(question)
    }
}

/// `admin:user:create`: an admin with a password and a role.
async fn create_user(store: &ims_store::Store, args: CreateUserArgs) -> Result<(), DemoError> {
    let username = args.username.map_or_else(|| prompt("User name: "), Ok)?;
    let email = args.email.map_or_else(|| prompt("E-mail: "), Ok)?;
    let first_name = args.first_name.map_or_else(|| prompt("First name: "), Ok)?;
    let last_name = args.last_name.map_or_else(|| prompt("Last name: "), Ok)?;
    validate_new_user(&username, &email, &first_name, &last_name).map_err(DemoError::new)?;
    if !crate::wiring::is_known_role(&args.role) {
        let known: Vec<&str> = crate::wiring::ROLES.iter().map(|(name, _)| *name).collect();
        return Err(DemoError::new(format!(
            "unknown role {:?}: the demo has {} (spelled exactly)",
            args.role,
            known
                .iter()
                .map(|name| format!("{name:?}"))
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    let password = args
        .password
        .map_or_else(|| prompt_secret("Password: "), Ok)?;
    validate_password(&password).map_err(DemoError::new)?;
    let admins = store.admin_users();
    let exists = admins
        .find_by_email(email.trim())
        .await
        .map_err(|e| DemoError::new(format!("reading admin users: {e}")))?;
    if exists.is_some() {
        return Err(DemoError::new(format!(
            "an admin user with the e-mail address {} already exists",
            email.trim()
        )));
    }
    let user = NewAdminUser::new(
        username.trim(),
        email.trim(),
        first_name.trim(),
        last_name.trim(),
        Password::new(password),
    )
    .with_role(args.role);
    let created = admins
        .create(&user)
        .await
        .map_err(|e| DemoError::new(format!("could not create the admin user: {e}")))?;
    println!("Created Magento User: {}", created.username);
    let enabled = ims_api::ImsSettingsStore::load(&store.settings())
        .await
        .map(|s| s.enabled)
        .unwrap_or(false);
    if enabled {
        // Magento's AdminAccountCreatedObserver: a new admin gets the
        // welcome e-mail while the integration is on.
        let mail = WelcomeMail::new(
            created.email.clone(),
            created.username.clone(),
            created.first_name.clone(),
            created.last_name.clone(),
            WELCOME_PRODUCT,
        );
        if let Err(err) = LogMailer.send_welcome(&mail).await {
            eprintln!("ims-demo: warning: the welcome e-mail was not sent: {err}");
        }
        println!(
            "Note: the Adobe IMS integration is enabled, so this user signs in with the Adobe ID of {}; password sign-in is refused.",
            created.email
        );
    }
    Ok(())
}

/// The product the welcome e-mail names (Magento's wording).
const WELCOME_PRODUCT: &str = "Adobe Commerce";

/// The admin user with this user name or e-mail address.
async fn find_user(
    store: &ims_store::Store,
    username: &str,
) -> Result<ims_api::AdminUser, DemoError> {
    let wanted = username.trim();
    let users = store
        .admin_users()
        .list()
        .await
        .map_err(|e| DemoError::new(format!("reading admin users: {e}")))?;
    users
        .into_iter()
        .find(|u| u.username == wanted || u.email_matches(wanted))
        .ok_or_else(|| DemoError::new(format!("no admin user {wanted:?}")))
}

/// `admin:user:lock`: the lock too many wrong passwords set, for
/// `--minutes`; the admin can neither sign in nor use the Web API meanwhile.
async fn lock_user(store: &ims_store::Store, args: LockUserArgs) -> Result<(), DemoError> {
    let user = find_user(store, &args.username).await?;
    let policy = ims_api::LockoutPolicy {
        max_failures: 1,
        lock_duration: std::time::Duration::from_secs(u64::from(args.minutes) * 60),
    };
    let now = time::OffsetDateTime::now_utc();
    let failures = store
        .admin_users()
        .record_login_failure(user.id, &policy, now)
        .await
        .map_err(|e| DemoError::new(format!("could not lock the admin user: {e}")))?;
    match failures.lock_expires {
        Some(until) => println!("Locked Magento User {} until {until}", user.username),
        None => return Err(DemoError::new("the admin user was not locked")),
    }
    Ok(())
}

/// `admin:user:unlock` (Magento's): clears the lock and the failed sign-ins.
async fn unlock_user(store: &ims_store::Store, args: UnlockUserArgs) -> Result<(), DemoError> {
    let user = find_user(store, &args.username).await?;
    store
        .admin_users()
        .reset_login_failures(user.id)
        .await
        .map_err(|e| DemoError::new(format!("could not unlock the admin user: {e}")))?;
    println!("The user account \"{}\" has been unlocked", user.username);
    Ok(())
}
