//! Issue #16's operator-command findings, each through the binary as an
//! operator runs it: unknown roles refused with the known ones listed, one
//! line per error, "probing" only after the input validated, `--addr` with
//! a host name, no ANSI colours when stderr is not a terminal, and a
//! warning when `--ims-url` meets settings saved for the emulator (or the
//! emulator meets settings made for a real IMS).
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ims-demo");
const ORG: &str = "A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg";

fn database(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("demo.db").display())
}

fn command(dir: &tempfile::TempDir) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--database")
        .arg(database(dir))
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .env_remove("IMS_CLIENT_ID")
        .env_remove("IMS_CLIENT_SECRET")
        .env_remove("IMS_ORG_ID")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

fn demo(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    command(dir).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn enable(dir: &tempfile::TempDir, org: &str) -> Output {
    demo(
        dir,
        &[
            "admin:adobe-ims:enable",
            "-o",
            org,
            "-c",
            "emulator-web",
            "-s",
            "emulator-web-secret",
            "-t",
            "yes",
        ],
    )
}

#[test]
fn an_unknown_role_is_refused_with_the_known_ones_listed() {
    let dir = tempfile::tempdir().unwrap();
    let output = demo(
        &dir,
        &[
            "admin:user:create",
            "--username",
            "typo",
            "--email",
            "typo@example.com",
            "--first-name",
            "T",
            "--last-name",
            "Y",
            "--password",
            "secret123",
            "--role",
            "Typo",
        ],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("unknown role \"Typo\""), "{err}");
    assert!(err.contains("\"Administrators\""), "{err}");
    assert!(err.contains("\"Adobe Ims\""), "{err}");
}

#[test]
fn an_error_is_one_line_and_bad_input_is_refused_before_probing() {
    let dir = tempfile::tempdir().unwrap();
    // The first command creates the demo's key file (and says so).
    assert!(demo(&dir, &["admin:adobe-ims:status"]).status.success());
    let output = enable(&dir, "not-an-org");
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output),
        "ims-demo: No valid Organization ID provided\n"
    );
    // Valid input: then, and only then, the emulator is probed.
    let output = enable(&dir, ORG);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "ims-demo: no --ims-url: probing the demo's built-in IMS emulator\n"
    );
}

#[test]
fn no_ansi_colours_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // The first command warns about the key file it creates.
    let output = demo(&dir, &["admin:adobe-ims:status"]);
    let err = stderr(&output);
    assert!(err.contains("created the demo encryption key"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn ims_url_with_settings_saved_for_the_emulator_warns() {
    let dir = tempfile::tempdir().unwrap();
    assert!(enable(&dir, ORG).status.success());
    let output = demo(
        &dir,
        &["--ims-url", "http://127.0.0.1:9", "admin:adobe-ims:status"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("warning: the saved settings were made for the demo's built-in IMS emulator"),
        "{err}"
    );
    // Without --ims-url the settings match the emulator: no warning.
    let output = demo(&dir, &["admin:adobe-ims:status"]);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

#[tokio::test]
async fn the_emulator_with_settings_made_for_a_real_ims_warns() {
    use ims_api::{ClientId, ClientSecret, ImsSettings, ImsSettingsStore as _, OrgId};
    let store = ims_store::Store::connect(
        "sqlite::memory:",
        ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate()),
    )
    .await
    .unwrap();
    let warning = ims_demo::commands::settings_origin_warning;
    assert_eq!(warning(&store, None).await, None, "nothing saved");
    let real = ImsSettings::enabled(
        ClientId::parse("my-real-client").unwrap(),
        ClientSecret::new("s3cret"),
        OrgId::parse(ORG).unwrap(),
    );
    store.settings().save(&real).await.unwrap();
    let text = warning(&store, None).await.unwrap();
    assert!(
        text.contains("made for a real IMS (client id my-real-client)"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(
        warning(&store, Some("https://ims-na1.adobelogin.com")).await,
        None
    );
}

#[test]
fn addr_takes_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let child = command(&dir)
        .args(["--addr", "localhost:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let admin = support::printed_admin_url(child);
    assert!(admin.starts_with("http://127.0.0.1:"), "{admin}");
    let bad = demo(&dir, &["--addr", "no-such-host.invalid:8080"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--addr"), "{}", stderr(&bad));
}

fn create_user(dir: &tempfile::TempDir, name: &str, log: bool) -> Output {
    let email = format!("{name}@example.com");
    let mut command = command(dir);
    if log {
        command.env("RUST_LOG", "ims_demo=info");
    }
    command
        .args([
            "admin:user:create",
            "--username",
            name,
            "--email",
            &email,
            "--first-name",
            "Nia",
            "--last-name",
            "New",
            "--password",
            "the-password-123",
            "--role",
            "Administrators",
        ])
        .output()
        .unwrap()
}

#[test]
fn disable_deletes_the_credentials_and_info_says_the_module_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let info = demo(&dir, &["admin:adobe-ims:info"]);
    assert!(info.status.success(), "{}", stderr(&info));
    assert_eq!(
        String::from_utf8_lossy(&info.stdout),
        "Module is disabled\n"
    );
    assert!(enable(&dir, ORG).status.success());
    let info = demo(&dir, &["admin:adobe-ims:info"]);
    let shown = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(shown.contains("Client ID: emulator-web"), "{shown}");
    assert!(shown.contains("Client Secret configured"), "{shown}");
    assert!(!shown.contains("emulator-web-secret"), "{shown}");

    let disabled = demo(&dir, &["admin:adobe-ims:disable"]);
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let info = demo(&dir, &["admin:adobe-ims:info"]);
    assert_eq!(
        String::from_utf8_lossy(&info.stdout),
        "Module is disabled\n"
    );
}

#[tokio::test]
async fn disable_leaves_no_credential_in_the_database() {
    use ims_api::ImsSettingsStore as _;
    let dir = tempfile::tempdir().unwrap();
    assert!(enable(&dir, ORG).status.success());
    assert!(demo(&dir, &["admin:adobe-ims:disable"]).status.success());
    let store = ims_demo::wiring::open_store(&database(&dir)).await.unwrap();
    let settings = store.settings().load().await.unwrap();
    assert!(!settings.enabled);
    assert!(settings.client_id.is_none());
    assert!(settings.client_secret.is_none());
    assert!(settings.org_id.is_none());
}

#[test]
fn admin_user_create_sends_the_welcome_mail_while_the_integration_is_on() {
    let dir = tempfile::tempdir().unwrap();
    // Off: no mail.
    let off = create_user(&dir, "nia", true);
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(!stderr(&off).contains("welcome e-mail"), "{}", stderr(&off));

    assert!(enable(&dir, ORG).status.success());
    let on = create_user(&dir, "noa", true);
    assert!(on.status.success(), "{}", stderr(&on));
    let log = stderr(&on);
    assert!(log.contains("welcome e-mail"), "{log}");
    assert!(log.contains("to=noa@example.com"), "{log}");
    assert!(
        log.contains("subject=Nia, you now have access to Adobe Commerce"),
        "{log}"
    );
    assert!(!log.contains("the-password-123"), "{log}");
    assert!(!String::from_utf8_lossy(&on.stdout).contains("the-password-123"));
}
