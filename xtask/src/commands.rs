//! The commands: each runs cargo (or mdbook) steps and stops at the first
//! failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A failed step, with what to do about it.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The target directory cargo builds into, as `cargo metadata` reports it
/// (which honours `CARGO_TARGET_DIR` and cargo's configuration); failing
/// that, `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    let mut metadata = cargo();
    metadata.args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let reported = metadata
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| serde_json::from_slice::<serde_json::Value>(&output.stdout).ok())
        .and_then(|value| value["target_directory"].as_str().map(PathBuf::from));
    if let Some(dir) = reported {
        return dir;
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

pub(crate) fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Runs one step, timing it.
pub(crate) fn run(step: &str, mut command: Command) -> Result {
    eprintln!("==> {step}");
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|err| format!("{step}: could not start {command:?}: {err}"))?;
    eprintln!("<== {step}: {:.0?}", started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

/// Says which database-backed tests will run and which will skip.
fn report_databases() {
    for (var, name) in [
        ("IMS_TEST_POSTGRES_URL", "PostgreSQL"),
        ("IMS_TEST_MYSQL_URL", "MySQL/MariaDB"),
    ] {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => eprintln!("xtask: {name} tests run ({var} is set)"),
            _ => eprintln!("xtask: {name} tests will SKIP: set {var} to run them"),
        }
    }
}

/// `cargo xtask test [extra cargo test args]`.
pub(crate) fn test(extra: &[String]) -> Result {
    report_databases();
    let mut command = cargo();
    command.args(["test", "--workspace", "--all-features", "--locked"]);
    command.args(extra);
    run("cargo test", command)
}
