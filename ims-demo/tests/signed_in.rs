//! An admin's whole visit without a browser: sign in with Adobe ID through
//! the emulator's form, the dashboard, creating a user through a
//! re-authentication, a Web API token and its revocation, sign out.
#![allow(clippy::unwrap_used)]

mod support;

use ims_api::ImsSettingsStore;
use ims_demo::cli::{CommonArgs, ServeArgs};
use ims_demo::wiring::{self, COLLEAGUE_EMAIL};
use ims_emulator::default_seed as seed;
use reqwest::redirect::Policy;
use serde_json::Value;
use support::{location, mint_token, sign_in_at_ims};
use url::Url;

struct SignedIn {
    demo: wiring::RunningDemo,
    browser: reqwest::Client,
    base: String,
    _dir: tempfile::TempDir,
}

/// The demo with its emulator, and a browser signed in as the member.
async fn signed_in() -> SignedIn {
    let dir = tempfile::tempdir().unwrap();
    let common = CommonArgs {
        database: format!("sqlite:{}", dir.path().join("demo.db").display()),
        ims_url: None,
        public_url: None,
    };
    let serve = ServeArgs {
        emulator_control: true,
        ..ServeArgs::on("127.0.0.1:0".parse().unwrap())
    };
    let demo = wiring::start(&common, &serve).await.unwrap();
    let base = format!("http://{}", demo.addr);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let login = browser
        .get(format!("{base}/admin/ims/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let callback = sign_in_at_ims(&browser, &location(&login)).await;
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    assert_eq!(location(&landed), "/admin");
    SignedIn {
        demo,
        browser,
        base,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_cancelled_sign_in_lands_on_the_demos_page_in_its_own_style() {
    let dir = tempfile::tempdir().unwrap();
    let common = CommonArgs {
        database: format!("sqlite:{}", dir.path().join("demo.db").display()),
        ims_url: None,
        public_url: None,
    };
    let demo = wiring::start(&common, &ServeArgs::on("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let base = format!("http://{}", demo.addr);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let login = browser
        .get(format!("{base}/admin/ims/login"))
        .send()
        .await
        .unwrap();
    // Cancel on the emulator's page.
    let authorize = location(&login);
    let to_page = browser.get(&authorize).send().await.unwrap();
    let sign_in = location(&to_page);
    let html = browser
        .get(&sign_in)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = ims_emulator::SignInForm::parse(&html).unwrap();
    let target = Url::parse(&sign_in).unwrap().join(&form.action).unwrap();
    let back = browser
        .post(target)
        .form(&form.fields("", "", "cancel"))
        .send()
        .await
        .unwrap();
    let callback = location(&back);
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 303, "never a 502");
    assert_eq!(location(&landed), "/admin/login?ims_error=cancelled");
    let page = browser
        .get(format!("{base}/admin/login?ims_error=cancelled"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign-in cancelled"), "{html}");
    assert!(html.contains("Sign in with Adobe ID"), "{html}");
    demo.stop().await;
}

#[tokio::test]
async fn disabling_the_integration_sends_adobe_id_sessions_to_the_password_form() {
    let app = signed_in().await;
    let url = |path: &str| format!("{}{path}", app.base);
    let mut settings = app.demo.store.settings().load().await.unwrap();
    settings.enabled = false;
    app.demo.store.settings().save(&settings).await.unwrap();
    let admin = app.browser.get(url("/admin")).send().await.unwrap();
    assert_eq!(location(&admin), "/admin/login?return_to=%2Fadmin");
    // No redirect loop: the sign-in page shows the password form.
    let login = app.browser.get(url("/admin/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("type=\"password\""));
}

#[tokio::test]
async fn an_admin_signs_in_creates_a_user_and_revokes_a_token() {
    let app = signed_in().await;
    let (demo, browser) = (&app.demo, &app.browser);
    let url = |path: &str| format!("{}{path}", app.base);

    let dashboard = browser.get(url("/admin")).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("member@example.com"), "{html}");
    assert!(html.contains("Adobe ID"), "{html}");
    // The token's expiry and last check are dates, not dashes.
    for id in ["last-check", "token-expiry"] {
        let at = html.find(&format!("id=\"{id}\">")).unwrap();
        assert!(html[at..].contains(" UTC</span>"), "{id}: {html}");
        assert!(!html[at..at + 40].contains('—'), "{id}: {html}");
    }

    // Creating a user: re-authentication first, then the kept form.
    let form = [
        ("username", "casey"),
        ("email", COLLEAGUE_EMAIL),
        ("first_name", "Casey"),
        ("last_name", "Colleague"),
        ("role", wiring::ADMIN_ROLE),
    ];
    let first = browser
        .post(url("/admin/users/new"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 303);
    assert_eq!(
        location(&first),
        "/admin/ims/reauth?return_to=%2Fadmin%2Fusers%2Fnew"
    );
    let reauth = browser.get(url(&location(&first))).send().await.unwrap();
    assert_eq!(reauth.status(), 302);
    let authorize = location(&reauth);
    assert!(authorize.contains("reauth=check"), "{authorize}");
    let callback = sign_in_at_ims(browser, &authorize).await;
    let back = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&back), "/admin/users/new");
    let kept = browser
        .get(url("/admin/users/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        kept.contains(COLLEAGUE_EMAIL) && kept.contains("re-authenticated"),
        "{kept}"
    );
    let created = browser
        .post(url("/admin/users/new"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    assert!(location(&created).starts_with("/admin/users?created="));
    // The proof was single use.
    let again = browser
        .post(url("/admin/users/new"))
        .form(&[
            ("username", "other"),
            ("email", "other@example.com"),
            ("first_name", "O"),
            ("last_name", "Ther"),
            ("role", wiring::ADMIN_ROLE),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&again).starts_with("/admin/ims/reauth"));

    // A Web API token of the new admin: recorded, then revoked.
    let emulator = demo.emulator_url.as_deref().unwrap();
    let token = &mint_token(browser, emulator, COLLEAGUE_EMAIL, "emulator-web").await;
    let me = browser
        .get(url("/rest/V1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], COLLEAGUE_EMAIL);
    let tokens = browser
        .get(url("/admin/webapi-tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        tokens.contains(&format!("data-admin=\"{COLLEAGUE_EMAIL}\"")),
        "{tokens}"
    );
    let revoke = browser
        .post(url("/admin/webapi-tokens/revoke"))
        .form(&[("admin_user_id", me["id"].to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 303);
    let listed = browser
        .get(url(&location(&revoke)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("Revoked 1 token(s)"), "{listed}");
    assert!(listed.contains("revoked"), "{listed}");
    let refused = browser
        .get(url("/rest/V1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Sign out through admin-ims.
    let out = browser.post(url("/admin/ims/logout")).send().await.unwrap();
    assert_eq!(location(&out), "/admin/login");
    let after = browser.get(url("/admin")).send().await.unwrap();
    assert_eq!(after.status(), 302);
}

fn query_value(url: &str, name: &str) -> String {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The demo binary with its logs at trace level (`RUST_LOG=trace`, the
/// demo's own logging set-up), through a whole session: sign-in through
/// the emulator's form, the dashboard, REST calls with a bearer token,
/// logout. Its log holds none of the secrets that went by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_logged_at_trace_level_holds_no_secret() {
    use tokio::io::AsyncBufReadExt as _;

    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("demo.log");
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ims-demo"))
        .args(["--addr", "127.0.0.1:0", "--database", &database])
        // The test mints a bearer token at the emulator.
        .arg("--emulator-control")
        .current_dir(dir.path())
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        .env_remove("IMS_CLIENT_SECRET")
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut emulator) = (None, None);
    while base.is_none() || emulator.is_none() {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the demo's addresses");
        if let Some(url) = line.trim().strip_prefix("Admin: ") {
            base = Some(url.trim_end_matches("/admin").to_owned());
        }
        if let Some(url) = line.trim().strip_prefix("IMS emulator: ") {
            emulator = Some(url.to_owned());
        }
    }
    let (base, emulator) = (base.unwrap(), emulator.unwrap());
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = |path: &str| format!("{base}{path}");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap();

    // Sign in with Adobe ID.
    let login = browser.get(url("/admin/ims/login")).send().await.unwrap();
    assert_eq!(login.status(), 302);
    let authorize = location(&login);
    let state = query_value(&authorize, "state");
    let callback = sign_in_at_ims(&browser, &authorize).await;
    let code = query_value(&callback, "code");
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    assert_eq!(
        browser.get(url("/admin")).send().await.unwrap().status(),
        200
    );

    // REST calls with a bearer token.
    let token = mint_token(&browser, &emulator, seed::MEMBER_EMAIL, "emulator-web").await;
    for _ in 0..3 {
        let me = browser
            .get(url("/rest/V1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }
    let refused = browser
        .get(url("/rest/V1/me"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Sign out, then stop the demo (SIGTERM: a clean stop, logs flushed).
    let out = browser.post(url("/admin/ims/logout")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await;
    if stopped.is_err() {
        child.kill().await.unwrap();
    }

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "not logged at trace level:\n{log}");
    let key = std::fs::read_to_string(dir.path().join("demo.key")).unwrap();
    let secrets = [
        ("the bearer token", token.as_str()),
        ("the authorization code", code.as_str()),
        ("the state", state.as_str()),
        ("the web client's secret", seed::WEB_CLIENT_SECRET),
        ("the s2s client's secret", seed::S2S_CLIENT_SECRET),
        ("the JWT client's secret", seed::JWT_CLIENT_SECRET),
        ("the member's password", seed::MEMBER_PASSWORD),
        ("the demo's encryption key", key.trim()),
        // Every IMS token and code is a JWT: a JWT header is base64 "eyJ".
        ("a JWT (access, refresh or ID token, or code)", "eyJ"),
        ("a PEM private key", "PRIVATE KEY"),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "{what}");
        if let Some(at) = log.find(secret) {
            let line_start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = log[at..].find('\n').map_or(log.len(), |i| at + i);
            panic!(
                "{what} is in the trace log:\n{}",
                &log[line_start..line_end]
            );
        }
    }
}
