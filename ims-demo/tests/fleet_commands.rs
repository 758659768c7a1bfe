//! The subcommands `cargo xtask fleet` drives: `admin:user:lock`,
//! `admin:user:unlock` and `service-token`, on a temporary SQLite database
//! (the service token from the demo's built-in emulator).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use ims_api::AdminUserDirectory as _;
use ims_store::{EncryptionKey, Store, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_ims-demo");

fn demo(dir: &tempfile::TempDir, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    Command::new(BIN)
        .arg("--database")
        .arg(&database)
        .args(args)
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .env_remove("IMS_SERVICE_CLIENT_ID")
        .env_remove("IMS_SERVICE_CLIENT_SECRET")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The database as the demo left it (its key file beside it).
async fn store(dir: &tempfile::TempDir) -> Store {
    let key = std::fs::read_to_string(dir.path().join("demo.key")).unwrap();
    let url = format!("sqlite:{}", dir.path().join("demo.db").display());
    let options =
        StoreOptions::new().with_encryption_key(EncryptionKey::from_base64(&key).unwrap());
    Store::connect(&url, options).await.unwrap()
}

#[tokio::test]
async fn lock_and_unlock_an_admin_by_name_or_email() {
    let dir = tempfile::tempdir().unwrap();
    let created = demo(
        &dir,
        &[
            "admin:user:create",
            "--admin-user",
            "pat",
            "--admin-email",
            "pat@example.com",
            "--admin-firstname",
            "Pat",
            "--admin-lastname",
            "Example",
            "--admin-password",
            "secret123",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));

    let unknown = demo(&dir, &["admin:user:lock", "nobody"], &[]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no admin user"));
    let zero = demo(&dir, &["admin:user:lock", "pat", "--minutes", "0"], &[]);
    assert!(!zero.status.success(), "a lock of no time is refused");

    let locked = demo(&dir, &["admin:user:lock", "pat"], &[]);
    assert!(locked.status.success(), "{}", text(&locked.stderr));
    assert!(text(&locked.stdout).starts_with("Locked Magento User pat until"));
    let now = time::OffsetDateTime::now_utc();
    let store1 = store(&dir).await;
    let user = store1
        .admin_users()
        .find_by_email("pat@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_locked(now), "{:?}", user.login_failures);
    assert!(user.is_locked(now + time::Duration::minutes(29)));
    store1.close().await;

    let unlocked = demo(&dir, &["admin:user:unlock", "pat@example.com"], &[]);
    assert!(unlocked.status.success(), "{}", text(&unlocked.stderr));
    assert_eq!(
        text(&unlocked.stdout).trim(),
        "The user account \"pat\" has been unlocked"
    );
    let store2 = store(&dir).await;
    let user = store2
        .admin_users()
        .find_by_email("pat@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_locked(time::OffsetDateTime::now_utc()));
    store2.close().await;
}

fn expires_at_ms(stdout: &str) -> String {
    let start = stdout.find("expires_at_ms=").unwrap() + "expires_at_ms=".len();
    stdout[start..].split(')').next().unwrap().to_owned()
}

#[test]
fn service_tokens_come_from_the_database_cache_and_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = [
        ("IMS_SERVICE_CLIENT_ID", "emulator-s2s"),
        ("IMS_SERVICE_CLIENT_SECRET", "emulator-s2s-secret"),
    ];
    let first = demo(
        &dir,
        &["service-token", "--context", "svc", "--tasks", "20"],
        &credentials,
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let out = text(&first.stdout);
    assert!(out.contains("tasks=20, distinct_tokens=1"), "{out}");
    // A JWT starts with eyJ: neither output holds a token.
    assert!(!out.contains("eyJ") && !text(&first.stderr).contains("eyJ"));

    // Another process (the built-in emulator is a new one, with other
    // keys) finds the token in the database: the same expiry, no new token.
    let second = demo(&dir, &["service-token", "--context", "svc"], &credentials);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(expires_at_ms(&out), expires_at_ms(&text(&second.stdout)));

    for bad in [
        vec!["service-token", "--context", "svc", "--tasks", "0"],
        vec!["service-token", "--context", "svc", "--tasks", "10001"],
        vec!["service-token", "--context", "not a name!"],
    ] {
        let refused = demo(&dir, &bad, &credentials);
        assert!(!refused.status.success(), "{bad:?} was accepted");
    }
    let no_secret = demo(
        &dir,
        &["service-token", "--context", "svc"],
        &[("IMS_SERVICE_CLIENT_ID", "emulator-s2s")],
    );
    assert!(!no_secret.status.success());
}
