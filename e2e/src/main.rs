//! # ims-e2e
//!
//! The browser end-to-end test of `ims-demo`, run by `cargo xtask e2e`:
//! starts the demo (with its own IMS emulator) on a free port and a fresh
//! SQLite database, starts `chromedriver`, and drives headless Chromium
//! through the admin as a person would:
//!
//! 1. sign in with Adobe ID on the emulator's page, see the dashboard;
//! 2. create an admin user (the emulator's second member,
//!    `colleague@example.com`) through a re-authentication;
//! 3. call `GET /rest/V1/me` with a token the emulator mints for that admin
//!    (200), see its row on the Web API tokens page, revoke it (then 401);
//! 4. sign out.
//!
//! Every page is saved as a numbered PNG in `<target dir>/e2e/`. Every wait
//! is bounded; the children are killed on every exit path (`kill_on_drop`).
//!
//! Usage: `ims-e2e [--demo <ims-demo binary>] [--out <screenshot dir>]`
//! (defaults: the `ims-demo` beside this binary, and `e2e/` in its target
//! directory).

mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use webdriver::Browser;

/// How long an element may take to appear (a loaded 2-core machine).
const WAIT: Duration = Duration::from_secs(45);

/// The emulator's second member, made an admin by the test.
const COLLEAGUE_EMAIL: &str = "colleague@example.com";
const MEMBER_EMAIL: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member-password";

#[tokio::main]
async fn main() -> ExitCode {
    // Dropping `run` (time-out, Ctrl-C) drops the children, which kills them.
    let bounded = async {
        tokio::select! {
            result = tokio::time::timeout(Duration::from_secs(900), run()) => {
                result.unwrap_or_else(|_| Err("the whole test took over 15 minutes".into()))
            }
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    };
    match bounded.await {
        Ok(out) => {
            eprintln!("e2e: passed; screenshots in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("e2e: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    demo: PathBuf,
    out: PathBuf,
}

fn options() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let bin_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let target_dir = bin_dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut options = Options {
        demo: bin_dir.join("ims-demo"),
        out: target_dir.join("e2e"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--demo" => options.demo = args.next().ok_or("--demo needs a path")?.into(),
            "--out" => options.out = args.next().ok_or("--out needs a path")?.into(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

async fn run() -> Result<PathBuf, String> {
    let options = options()?;
    if !options.demo.exists() {
        return Err(format!(
            "{} is missing: build it first (cargo build -p ims-demo)",
            options.demo.display()
        ));
    }
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("creating {}: {e}", options.out.display()))?;
    for entry in std::fs::read_dir(&options.out)
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let temp = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;

    let (mut demo, admin_url, emulator_url) = start_demo(&options, temp.path()).await?;
    let driver_port = free_port()?;
    let mut driver = start_chromedriver(driver_port, &options.out).await?;
    let profile = temp.path().join("chromium-profile");
    let result = async {
        let browser = Browser::start(driver_port, &profile.to_string_lossy())
            .await
            .map_err(|e| format!("starting headless Chromium: {e}"))?;
        let mut flow = Flow {
            browser: &browser,
            out: &options.out,
            shot: 0,
            admin_url: &admin_url,
            emulator_url: &emulator_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .no_proxy()
                .build()
                .map_err(|e| format!("HTTP client: {e}"))?,
        };
        let result = flow.run().await;
        if result.is_err() {
            let _ = flow.screenshot("failure").await;
        }
        browser.quit().await;
        result
    }
    .await;
    let _ = driver.kill().await;
    let _ = demo.kill().await;
    result.map(|()| options.out.clone())
}

/// Starts the demo and reads the addresses it prints.
async fn start_demo(options: &Options, dir: &Path) -> Result<(Child, String, String), String> {
    let log = std::fs::File::create(options.out.join("ims-demo.log"))
        .map_err(|e| format!("the demo's log file: {e}"))?;
    let database = format!("sqlite:{}", dir.join("e2e.db").display());
    let mut child = Command::new(&options.demo)
        .args(["--addr", "127.0.0.1:0", "--database", &database])
        // The test mints a bearer token at the emulator's control API.
        .arg("--emulator-control")
        .current_dir(dir)
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", options.demo.display()))?;
    let stdout = child.stdout.take().ok_or("the demo's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let read = async {
        let (mut admin, mut emulator) = (None, None);
        while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
            if let Some(url) = line.trim().strip_prefix("Admin: ") {
                admin = Some(url.to_owned());
            }
            if let Some(url) = line.trim().strip_prefix("IMS emulator: ") {
                emulator = Some(url.to_owned());
            }
            if let (Some(admin), Some(emulator)) = (&admin, &emulator) {
                return Ok((admin.clone(), emulator.clone()));
            }
        }
        Err("the demo exited before printing its addresses (see ims-demo.log)".to_owned())
    };
    let (admin, emulator) = tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .map_err(|_| "the demo did not print its addresses within 120 s".to_owned())??;
    // Keep draining stdout so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    eprintln!("e2e: demo at {admin}, emulator at {emulator}");
    Ok((child, admin, emulator))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

async fn start_chromedriver(port: u16, out: &Path) -> Result<Child, String> {
    let log = std::fs::File::create(out.join("chromedriver.log"))
        .map_err(|e| format!("the chromedriver log file: {e}"))?;
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("starting chromedriver: {e} (install Debian's chromium and chromium-driver)")
        })?;
    let status = format!("http://127.0.0.1:{port}/status");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    for _ in 0..120 {
        if let Ok(response) = http.get(&status).send().await
            && let Ok(body) = response.json::<Value>().await
            && body["value"]["ready"].as_bool() == Some(true)
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err("chromedriver did not become ready within 30 s".into())
}

struct Flow<'a> {
    browser: &'a Browser,
    out: &'a Path,
    shot: u32,
    admin_url: &'a str,
    emulator_url: &'a str,
    http: reqwest::Client,
}

impl Flow<'_> {
    fn page(&self, path: &str) -> String {
        let base = self.admin_url.trim_end_matches("/admin");
        format!("{base}{path}")
    }

    async fn screenshot(&mut self, name: &str) -> Result<(), String> {
        self.shot += 1;
        let png = self.browser.screenshot().await?;
        let file = self.out.join(format!("{:02}-{name}.png", self.shot));
        std::fs::write(&file, png).map_err(|e| format!("writing {}: {e}", file.display()))?;
        eprintln!("e2e: saved {}", file.display());
        Ok(())
    }

    async fn step<F, T>(&self, name: &str, future: F) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<T, String>>,
    {
        eprintln!("e2e: step: {name}");
        future.await.map_err(|e| format!("step \"{name}\": {e}"))
    }

    async fn run(&mut self) -> Result<(), String> {
        let b = self.browser;
        // 1. Sign in with Adobe ID on the emulator's page.
        let login = self.page("/admin/login");
        self.step("open the sign-in page", async {
            b.goto(&login).await?;
            b.wait_for("a.admin-ims-sign-in", WAIT).await.map(drop)
        })
        .await?;
        self.screenshot("sign-in").await?;
        self.step("go to the emulator's sign-in page", async {
            let button = b.wait_for("a.admin-ims-sign-in", WAIT).await?;
            b.click(&button).await?;
            b.wait_for("input#email", WAIT).await.map(drop)
        })
        .await?;
        self.screenshot("adobe-sign-in").await?;
        self.step("sign in as the member", sign_in_at_ims(b))
            .await?;
        self.step("see the dashboard", async {
            b.wait_for("#whoami", WAIT).await?;
            b.wait_for_text(MEMBER_EMAIL, WAIT).await?;
            b.wait_for_text("IMS token expires", WAIT).await
        })
        .await?;
        self.screenshot("dashboard").await?;

        // 2. Create an admin user through a re-authentication.
        let users = self.page("/admin/users");
        self.step("open the admin users", async {
            b.goto(&users).await?;
            b.wait_for("table#users", WAIT).await.map(drop)
        })
        .await?;
        self.screenshot("admin-users").await?;
        self.step("fill in the new user", async {
            b.click(&b.wait_for("#new-user", WAIT).await?).await?;
            for (id, value) in [
                ("#username", "casey"),
                ("#email", COLLEAGUE_EMAIL),
                ("#first_name", "Casey"),
                ("#last_name", "Colleague"),
            ] {
                b.fill(&b.wait_for(id, WAIT).await?, value).await?;
            }
            Ok(())
        })
        .await?;
        self.screenshot("new-user").await?;
        self.step("submit: re-authentication asked for", async {
            b.click(&b.wait_for("#create-user", WAIT).await?).await?;
            b.wait_for("input#email", WAIT).await?;
            let url = b.url().await?;
            if url.contains("reauth=check") {
                Ok(())
            } else {
                Err(format!("expected IMS's re-authentication page, got {url}"))
            }
        })
        .await?;
        self.screenshot("reauth").await?;
        self.step("re-authenticate as the member", sign_in_at_ims(b))
            .await?;
        self.step("back on the kept form", async {
            b.wait_for(".notice", WAIT).await?;
            b.wait_for_text("re-authenticated", WAIT).await
        })
        .await?;
        self.screenshot("new-user-confirm").await?;
        self.step("create the user", async {
            b.click(&b.wait_for("#create-user", WAIT).await?).await?;
            b.wait_for_text("Admin user casey created.", WAIT).await?;
            b.wait_for_text(COLLEAGUE_EMAIL, WAIT).await
        })
        .await?;
        self.screenshot("user-created").await?;

        // 3. The REST API with a token minted for the new admin.
        let token = self
            .step("mint a token for the new admin", self.mint())
            .await?;
        let status = self.step("GET /rest/V1/me", self.me(&token)).await?;
        if status != 200 {
            return Err(format!("GET /rest/V1/me answered {status}, expected 200"));
        }
        let tokens = self.page("/admin/webapi-tokens");
        let row = format!("tr[data-admin=\"{COLLEAGUE_EMAIL}\"]");
        self.step("see the token's row", async {
            b.goto(&tokens).await?;
            b.wait_for(&row, WAIT).await?;
            b.wait_for_text("valid", WAIT).await
        })
        .await?;
        self.screenshot("webapi-tokens").await?;
        let revoke = format!("{row} button.revoke");
        self.step("revoke the new admin's tokens", async {
            b.click(&b.wait_for(&revoke, WAIT).await?).await?;
            b.wait_for_text("Revoked 1 token(s)", WAIT).await
        })
        .await?;
        self.screenshot("webapi-token-revoked").await?;
        let status = self
            .step("GET /rest/V1/me after revocation", self.me(&token))
            .await?;
        if status != 401 {
            return Err(format!(
                "GET /rest/V1/me answered {status} after revocation, expected 401"
            ));
        }

        // 4. Sign out.
        self.step("sign out", async {
            b.click(&b.wait_for("#sign-out", WAIT).await?).await?;
            b.wait_for("a.admin-ims-sign-in", WAIT).await.map(drop)
        })
        .await?;
        self.screenshot("signed-out").await?;
        Ok(())
    }

    async fn mint(&self) -> Result<String, String> {
        let response = self
            .http
            .post(format!("{}/__emulator/tokens", self.emulator_url))
            .json(&json!({
                "email": COLLEAGUE_EMAIL,
                "client_id": "emulator-web",
                "scope": "AdobeID,openid",
                "expires_in_ms": 3_600_000u64,
            }))
            .send()
            .await
            .map_err(|e| format!("the emulator: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the emulator answered {status}: {body}"))
    }

    async fn me(&self, token: &str) -> Result<u16, String> {
        let response = self
            .http
            .get(self.page("/rest/V1/me"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("the demo: {e}"))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        eprintln!("e2e: GET /rest/V1/me -> {status} {body}");
        if status == 200 && !body.contains(COLLEAGUE_EMAIL) {
            return Err(format!("GET /rest/V1/me answered someone else: {body}"));
        }
        Ok(status)
    }
}

/// Fills in the emulator's sign-in form as the member and continues.
async fn sign_in_at_ims(b: &Browser) -> Result<(), String> {
    b.fill(&b.wait_for("input#email", WAIT).await?, MEMBER_EMAIL)
        .await?;
    b.fill(&b.wait_for("input#password", WAIT).await?, MEMBER_PASSWORD)
        .await?;
    b.click(&b.wait_for("button[value=login]", WAIT).await?)
        .await
}
