//! The stage for timing `ims token get` on a cached context: an emulator as
//! IMS (in process, so its counters can be read), a sandbox home with a
//! server-to-server context naming it, and one `ims token get` that fills the
//! context's token. `cargo xtask bench` then times `ims token get` (and
//! `ims --version`) with hyperfine in that sandbox, and checks here that the
//! timed runs made no IMS request.
//!
//! `token_get_target PATH_TO_IMS`
//!
//! Prints one JSON line when ready: `{"home":…,"xdg_config_home":…,
//! "aio_config_file":…,"cwd":…}` (run `ims` with `HOME`, `XDG_CONFIG_HOME`
//! and `AIO_CONFIG_FILE` set to these, in `cwd`); then, once stdin closes,
//! `{"ims_total":…,"key_requests":…,"ims_requests":{…}}`: the IMS requests
//! made since the first line, `ims_total` without the key-set fetches
//! (`key_requests`) with which each `ims` run verifies its cached token. No
//! token is printed.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use ims_emulator::{Emulator, default_seed as seed};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `ims ARGS` in the sandbox, with `stdin` as its input; fails unless it
/// succeeds. Its output is not shown (it may hold a token).
fn ims(binary: &Path, sandbox: &Path, args: &[&str], stdin: &str) -> Result<(), BoxError> {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(sandbox.join("work"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.join("home"))
        .env("XDG_CONFIG_HOME", sandbox.join("home/xdg"))
        .env("AIO_CONFIG_FILE", sandbox.join("home/aio-config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!(
            "`ims {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let binary = std::env::args()
        .nth(1)
        .ok_or("usage: token_get_target PATH_TO_IMS")?;
    let binary = Path::new(&binary);
    let ims_emulator = Emulator::builder().start().await?;
    let dir = tempfile::tempdir()?;
    let sandbox = dir.path();
    std::fs::create_dir_all(sandbox.join("home/xdg"))?;
    std::fs::create_dir_all(sandbox.join("work"))?;

    ims(
        binary,
        sandbox,
        &[
            "context",
            "set",
            "svc",
            "--kind",
            "server-to-server",
            "--client-id",
            seed::S2S_CLIENT_ID,
            "--client-secret-stdin",
            "--scopes",
            "openid,AdobeID,read_organizations",
            "--org-id",
            seed::ORG_ID,
            "--technical-account-id",
            seed::S2S_TECHNICAL_ACCOUNT_ID,
            "--technical-account-email",
            seed::S2S_TECHNICAL_ACCOUNT_EMAIL,
            "--ims-url",
            ims_emulator.base(),
        ],
        &format!("{}\n", seed::S2S_CLIENT_SECRET),
    )?;
    ims(binary, sandbox, &["context", "use", "svc"], "")?;
    // Fills the context's token: the one IMS request of the whole run.
    ims(binary, sandbox, &["token", "get"], "")?;
    if ims_emulator.stats().count("POST /ims/token/v3") != 1 {
        return Err("the first `ims token get` did not get a token from the emulator".into());
    }
    ims_emulator.reset_stats();

    println!(
        "{}",
        serde_json::json!({
            "home": sandbox.join("home"),
            "xdg_config_home": sandbox.join("home/xdg"),
            "aio_config_file": sandbox.join("home/aio-config"),
            "cwd": sandbox.join("work"),
        })
    );
    std::io::stdout().flush()?;

    // Serve until the parent closes stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    let stats = ims_emulator.stats();
    println!(
        "{}",
        serde_json::json!({
            "ims_total": stats.total - stats.count("GET /ims/keys"),
            "key_requests": stats.count("GET /ims/keys"),
            "ims_requests": stats.requests,
        })
    );
    Ok(())
}
