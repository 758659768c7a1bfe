//! The `ims-demo` binary: the operator subcommands on a temporary database,
//! the port-in-use error, and `--addr 127.0.0.1:0`.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ims-demo");

fn demo(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    Command::new(BIN)
        .arg("--database")
        .arg(&database)
        .args(args)
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .env_remove("IMS_CLIENT_ID")
        .env_remove("IMS_CLIENT_SECRET")
        .env_remove("IMS_ORG_ID")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const ORG: &str = "A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg";

#[test]
fn status_and_info_on_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let status = demo(&dir, &["admin:adobe-ims:status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert_eq!(
        stdout(&status).trim(),
        "Admin Adobe IMS integration is disabled"
    );
    // As Magento's `admin:adobe-ims:info` while the module is off.
    let info = demo(&dir, &["admin:adobe-ims:info"]);
    assert!(
        stdout(&info).contains("Module is disabled"),
        "{}",
        stdout(&info)
    );
    // The demo's key file sits beside the database, readable by its owner only.
    let key = dir.path().join("demo.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn enable_validates_like_magento() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "-o",
                "not-an-org",
                "-c",
                "emulator-web",
                "-s",
                "emulator-web-secret",
                "-t",
                "yes",
            ],
            "No valid Organization ID provided",
        ),
        (
            &[
                "-o",
                ORG,
                "-c",
                "bad.id",
                "-s",
                "emulator-web-secret",
                "-t",
                "yes",
            ],
            "No valid Client ID provided",
        ),
        (
            &[
                "-o",
                ORG,
                "-c",
                "emulator-web",
                "-s",
                "bad secret",
                "-t",
                "yes",
            ],
            "No valid Client Secret provided",
        ),
        (
            &[
                "-o",
                ORG,
                "-c",
                "emulator-web",
                "-s",
                "emulator-web-secret",
                "-t",
                "no",
            ],
            "2FA is required",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["admin:adobe-ims:enable"];
        all.extend_from_slice(args);
        let output = demo(&dir, &all);
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let status = demo(&dir, &["admin:adobe-ims:status"]);
    assert!(stdout(&status).contains("disabled"));
}

#[test]
fn enable_info_and_disable_against_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let enable = demo(
        &dir,
        &[
            "admin:adobe-ims:enable",
            "-o",
            ORG,
            "-c",
            "emulator-web",
            "-s",
            "emulator-web-secret",
            "-t",
            "yes",
        ],
    );
    assert!(enable.status.success(), "{}", stderr(&enable));
    assert_eq!(
        stdout(&enable).trim(),
        "Admin Adobe IMS integration is enabled"
    );
    let info = stdout(&demo(&dir, &["admin:adobe-ims:info"]));
    assert!(info.contains("Client ID: emulator-web"), "{info}");
    assert!(
        info.contains("Organization ID: A1B2C3D4E5F6A7B8C9D0E1F2"),
        "{info}"
    );
    assert!(info.contains("Client Secret configured"), "{info}");
    assert!(!info.contains("emulator-web-secret"), "{info}");
    let disable = demo(&dir, &["admin:adobe-ims:disable"]);
    assert_eq!(
        stdout(&disable).trim(),
        "Admin Adobe IMS integration is disabled"
    );
}

#[test]
fn enable_reads_a_missing_secret_from_stdin_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    let mut child = Command::new(BIN)
        .args([
            "--database",
            &database,
            "admin:adobe-ims:enable",
            "-o",
            ORG,
            "-c",
            "emulator-web",
            "-t",
            "yes",
        ])
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"emulator-web-secret\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not a terminal"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn create_user_checks_its_input_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "admin:user:create",
        "--username",
        "pat",
        "--email",
        "pat@example.com",
        "--first-name",
        "Pat",
        "--last-name",
        "Password",
        "--password",
        "secret123",
    ];
    let created = demo(&dir, &args);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("Created Magento User: pat"));
    let again = demo(&dir, &args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let weak = demo(
        &dir,
        &[
            "admin:user:create",
            "--username",
            "x",
            "--email",
            "x@example.com",
            "--first-name",
            "X",
            "--last-name",
            "Y",
            "--password",
            "short",
        ],
    );
    assert!(!weak.status.success());
    assert!(
        stderr(&weak).contains("at least 7 characters"),
        "{}",
        stderr(&weak)
    );
}

/// Issue #14's variant of #16's finding: `--role Typo` made an admin with
/// the whole admin (any role but none or "Adobe Ims" grants everything).
/// Only the demo's roles are accepted, spelled exactly, and nothing is
/// created otherwise.
#[test]
fn create_user_refuses_roles_the_demo_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let create = |n: usize, role: &str| {
        let (username, email) = (format!("u{n}"), format!("u{n}@example.com"));
        demo(
            &dir,
            &[
                "admin:user:create",
                "--username",
                &username,
                "--email",
                &email,
                "--first-name",
                "U",
                "--last-name",
                "V",
                "--password",
                "secret123",
                "--role",
                role,
            ],
        )
    };
    for (n, role) in [
        "Typo",
        "administrators",
        " Administrators",
        "Administrators ",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let output = create(n, role);
        assert!(!output.status.success(), "{role:?} was accepted");
        assert!(
            stderr(&output).contains("unknown role"),
            "{role:?}: {}",
            stderr(&output)
        );
        // Nothing was created: the same user can be created afterwards.
        let again = create(n, "Adobe Ims");
        assert!(again.status.success(), "{}", stderr(&again));
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = demo(&dir, &["--addr", &addr]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(&format!(
            "address {addr} is in use; pass --addr 127.0.0.1:0 or another port"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn addr_zero_prints_the_bound_address() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    let child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--database", &database])
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let admin = support::printed_admin_url(child);
    assert!(
        admin.starts_with("http://127.0.0.1:") && admin.ends_with("/admin"),
        "{admin}"
    );
    assert!(!admin.contains(":0/"), "{admin}");
}
