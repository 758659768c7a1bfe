//! What the `ims` end-to-end tests share: a sandbox of aio files and a
//! working directory (never the real home), running the binary, and the
//! emulator's sign-in form driven by an HTTP client.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use ims_emulator::default_seed as d;
use ims_emulator::{Emulator, RunningEmulator};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What one run of `ims` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32, message: &str) -> Self {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.contains(message), "{message:?} not in {self:?}");
        self
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        Sandbox { dir }
    }

    pub fn cwd(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn global(&self) -> PathBuf {
        self.dir.path().join("home").join("aio-config")
    }

    pub fn local(&self) -> PathBuf {
        self.cwd().join(".aio")
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ims"));
        command
            .args(args)
            .current_dir(self.cwd())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("home").join("xdg"))
            .env("AIO_CONFIG_FILE", self.global())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    pub async fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args, env);
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let output = child.wait_with_output().await.unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None, &[]).await
    }

    pub fn read(path: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    pub fn global_json(&self) -> Value {
        Self::read(&self.global())
    }

    pub fn key_file(&self) -> PathBuf {
        let path = self.dir.path().join("jwt-account.pem");
        std::fs::write(&path, d::jwt_private_key_pem()).unwrap();
        path
    }

    /// `ims context set NAME --kind server-to-server` for the emulator's
    /// s2s client, the secret on stdin.
    pub async fn set_s2s(&self, name: &str, secret: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "context",
            "set",
            name,
            "--kind",
            "server-to-server",
            "--client-id",
            d::S2S_CLIENT_ID,
            "--client-secret-stdin",
            "--scopes",
            "openid,AdobeID,read_organizations",
            "--org-id",
            d::ORG_ID,
            "--technical-account-id",
            d::S2S_TECHNICAL_ACCOUNT_ID,
            "--technical-account-email",
            d::S2S_TECHNICAL_ACCOUNT_EMAIL,
        ];
        args.extend_from_slice(extra);
        self.run_with(&args, Some(&format!("{secret}\n")), &[])
            .await
    }
}

pub async fn emulator() -> RunningEmulator {
    Emulator::builder().start().await.unwrap()
}

pub fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Signs in at the emulator as its member, for the authorization URL an
/// `ims login` printed: posts the URL's parameters with the member's email
/// and password to the authorize endpoint and returns where the emulator's
/// 302 sends the browser (the redirect URI with `code` and `state`).
pub async fn emulator_sign_in(ims: &RunningEmulator, url: &url::Url) -> String {
    assert!(
        url.as_str().starts_with(&ims.url("/ims/authorize/v2")),
        "{url}"
    );
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        form.iter()
            .any(|(k, v)| k == "code_challenge_method" && v == "S256")
    );
    form.push(("email".into(), d::MEMBER_EMAIL.into()));
    form.push(("password".into(), d::MEMBER_PASSWORD.into()));
    let mut action = url.clone();
    action.set_query(None);
    let answer = no_redirects()
        .post(action)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// An HTTP client that follows no redirect.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `ims context set NAME --kind oauth-user` for the emulator's public client
/// (with `offline_access`, so a sign-in brings a refresh token).
pub async fn set_user_context(s: &Sandbox, ims: &RunningEmulator, name: &str) {
    s.run(&[
        "--ims-url",
        ims.base(),
        "context",
        "set",
        name,
        "--kind",
        "oauth-user",
        "--client-id",
        d::PUBLIC_CLIENT_ID,
        "--scopes",
        "openid,AdobeID,offline_access,read_organizations",
    ])
    .await
    .ok();
}
