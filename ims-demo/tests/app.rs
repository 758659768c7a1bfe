//! The demo's routes, in-process on 127.0.0.1:0 with its own emulator and a
//! temporary SQLite database, driven over HTTP with reqwest.
#![allow(clippy::unwrap_used)]

mod support;

use ims_api::{AdminUserDirectory, NewAdminUser, Password};
use ims_demo::cli::{CommonArgs, ServeArgs};
use ims_demo::wiring::{self, RunningDemo};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use support::{location, mint_token};

struct App {
    demo: RunningDemo,
    base: String,
    _dir: tempfile::TempDir,
}

/// The demo with its emulator's control API (the tests mint tokens).
async fn start(password_only: bool) -> App {
    start_with(password_only, true, Vec::new()).await
}

/// With or without the emulator's control API, and with extra client ids
/// allowed on the REST API.
async fn start_with(
    password_only: bool,
    emulator_control: bool,
    webapi_client_ids: Vec<String>,
) -> App {
    let dir = tempfile::tempdir().unwrap();
    let common = CommonArgs {
        database: format!("sqlite:{}", dir.path().join("demo.db").display()),
        ims_url: None,
        public_url: None,
    };
    let serve = ServeArgs {
        password_only,
        webapi_client_ids,
        emulator_control,
        ..ServeArgs::on("127.0.0.1:0".parse().unwrap())
    };
    let demo = wiring::start(&common, &serve).await.unwrap();
    let base = format!("http://{}", demo.addr);
    App {
        demo,
        base,
        _dir: dir,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn mint(&self, email: &str) -> String {
        self.mint_for(email, "emulator-web").await
    }

    /// A token the emulator issues to `client_id` for the user `email`.
    async fn mint_for(&self, email: &str, client_id: &str) -> String {
        let emulator = self.demo.emulator_url.as_deref().unwrap();
        mint_token(&browser(), emulator, email, client_id).await
    }

    async fn password_admin(&self) {
        self.demo
            .store
            .admin_users()
            .create(
                &NewAdminUser::new(
                    "pat",
                    "pat@example.com",
                    "Pat",
                    "Password",
                    Password::new("secret123"),
                )
                .with_role(wiring::ADMIN_ROLE),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_sign_in_page_offers_adobe_id_while_the_integration_is_on() {
    let app = start(false).await;
    let page = browser().get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in with Adobe ID"), "{html}");
    assert!(!html.contains("type=\"password\""), "{html}");
}

#[tokio::test]
async fn password_sign_in_is_refused_while_the_integration_is_on() {
    let app = start(false).await;
    app.password_admin().await;
    let response = browser()
        .post(app.url("/admin/login"))
        .form(&[("username", "pat"), ("password", "secret123")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Please sign in with Adobe ID")
    );
}

#[tokio::test]
async fn admin_pages_send_the_browser_to_sign_in() {
    let app = start(false).await;
    let response = browser().get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // The demo's own sign-in page, with its button, as docs/src/demo.md
    // says (admin-ims's `with_host_page`).
    assert_eq!(
        location(&response),
        "/admin/login?return_to=%2Fadmin%2Fusers"
    );
    let page = browser()
        .get(app.url("/admin/login?return_to=%2Fadmin%2Fusers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/admin/ims/login?return_to=%2Fadmin%2Fusers\""),
        "{page}"
    );

    let app = start(true).await;
    let response = browser().get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(
        location(&response),
        "/admin/login?return_to=%2Fadmin%2Fusers"
    );
}

#[tokio::test]
async fn password_sign_in_works_while_the_integration_is_off() {
    let app = start(true).await;
    app.password_admin().await;
    let browser = browser();
    let page = browser.get(app.url("/admin/login")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("type=\"password\""));

    let wrong = browser
        .post(app.url("/admin/login"))
        .form(&[("username", "pat"), ("password", "wrong-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The account sign-in was incorrect")
    );

    let signed_in = browser
        .post(app.url("/admin/login"))
        .form(&[
            ("username", "pat"),
            ("password", "secret123"),
            ("return_to", "/admin/users"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/admin/users");
    let users = browser.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    let html = users.text().await.unwrap();
    assert!(
        html.contains("pat@example.com") && html.contains("member@example.com"),
        "{html}"
    );

    let dashboard = browser
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("a password"), "{dashboard}");

    // Creating a user asks for the admin's own password again.
    let refused = browser
        .post(app.url("/admin/users/new"))
        .form(&[
            ("username", "sam"),
            ("email", "sam@example.com"),
            ("first_name", "Sam"),
            ("last_name", "Second"),
            ("role", wiring::ADMIN_ROLE),
            ("password", "another1"),
            ("current_password", "not-mine-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Your password was not correct.")
    );
    // A wrong current password counts towards the lockout, as a wrong
    // sign-in does: a stolen session cannot guess the password freely.
    let pat = app
        .demo
        .store
        .admin_users()
        .find_by_email("pat@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pat.login_failures.count, 1, "{:?}", pat.login_failures);

    let signed_out = browser.post(app.url("/admin/logout")).send().await.unwrap();
    assert_eq!(location(&signed_out), "/admin/login");
    let again = browser.get(app.url("/admin")).send().await.unwrap();
    assert!(again.status().is_redirection(), "{}", again.status());
    assert!(location(&again).starts_with("/admin/login"));
}

/// The attack: guess `pat`'s password by user name (Magento's form takes a
/// user name or an e-mail address). Every wrong guess counts against the
/// user the login resolved to, whichever way it was spelled, and the lock
/// then refuses even the right password.
#[tokio::test]
async fn guessing_a_password_by_user_name_locks_the_user() {
    let app = start(true).await;
    app.password_admin().await;
    let admins = app.demo.store.admin_users();
    let browser = browser();
    let logins = ["pat", " pat ", "PAT@Example.com"];
    for (n, login) in logins.iter().cycle().take(10).enumerate() {
        let wrong = browser
            .post(app.url("/admin/login"))
            .form(&[("username", *login), ("password", &format!("guess-{n}"))])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        if n == 2 {
            let pat = admins
                .find_by_email("pat@example.com")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(pat.login_failures.count, 3, "three guesses, three failures");
        }
    }
    let pat = admins
        .find_by_email("pat@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        pat.is_locked(time::OffsetDateTime::now_utc()),
        "ten wrong passwords left {:?}",
        pat.login_failures
    );
    let right = browser
        .post(app.url("/admin/login"))
        .form(&[("username", "pat"), ("password", "secret123")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("The account sign-in was incorrect")
    );
}

#[tokio::test]
async fn rest_me_answers_401_without_a_token_and_the_admin_with_one() {
    let app = start(false).await;
    let client = browser();
    let anonymous = client.get(app.url("/rest/V1/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let token = app.mint(ims_emulator::default_seed::MEMBER_EMAIL).await;
    let me = client
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["email"], "member@example.com");
    assert_eq!(body["firstname"], "Mia");
    assert_eq!(body["lastname"], "Member");
    assert!(body["id"].as_i64().is_some());

    // Someone the host has no admin user for.
    let outsider = app.mint(ims_emulator::default_seed::NON_MEMBER_EMAIL).await;
    let refused = client
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

/// The attack of issue #14: an admin's IMS token minted for another client
/// of the same IMS (any application the admin signs into with Adobe ID)
/// replayed against the host's REST API.
#[tokio::test]
async fn rest_me_refuses_tokens_issued_to_other_clients_of_the_same_ims() {
    let app = start(false).await;
    let member = ims_emulator::default_seed::MEMBER_EMAIL;
    for client in ["emulator-cli", "emulator-s2s", "emulator-jwt"] {
        let token = app.mint_for(member, client).await;
        let answer = browser()
            .get(app.url("/rest/V1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{client}");
        assert_eq!(
            answer.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{client}: no reason is told"
        );
    }
    // The integration's own client still passes.
    let own = app.mint(member).await;
    let answer = browser()
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

/// A host that wants another client's tokens says so (`--webapi-client-id`).
#[tokio::test]
async fn rest_me_accepts_a_client_the_host_allows() {
    let app = start_with(false, true, vec![" emulator-cli ".to_owned()]).await;
    let member = ims_emulator::default_seed::MEMBER_EMAIL;
    let cli = app.mint_for(member, "emulator-cli").await;
    let answer = browser()
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&cli)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let s2s = app.mint_for(member, "emulator-s2s").await;
    let answer = browser()
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&s2s)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::UNAUTHORIZED,
        "only the one allowed"
    );
}

/// An admin a sign-in auto-provisioned with the role that grants nothing,
/// and a locked admin, are refused on the REST API as at sign-in.
#[tokio::test]
async fn rest_me_refuses_admins_without_permissions_and_locked_admins() {
    let app = start(false).await;
    let users = app.demo.store.admin_users();
    users
        .create(
            &NewAdminUser::new(
                "colleague",
                wiring::COLLEAGUE_EMAIL,
                "Casey",
                "Colleague",
                Password::new("unused-password"),
            )
            .with_role(ims_api::ADOBE_IMS_ROLE),
        )
        .await
        .unwrap();
    let colleague = app.mint(wiring::COLLEAGUE_EMAIL).await;
    let answer = browser()
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&colleague)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "no permissions");

    let member = users
        .find_by_email(ims_emulator::default_seed::MEMBER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let policy = ims_api::LockoutPolicy {
        max_failures: 1,
        lock_duration: std::time::Duration::from_secs(3600),
    };
    users
        .record_login_failure(member.id, &policy, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let token = app.mint(ims_emulator::default_seed::MEMBER_EMAIL).await;
    let answer = browser()
        .get(app.url("/rest/V1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "locked");
}

/// IMS answering 429 with `Retry-After: 2` to every validation, or to every
/// key-set fetch: the 503 for a token never checked carries IMS's 2 s,
/// because the Web API's IMS client and key fetches stop retrying before the
/// authenticator stops waiting (it would say the configured 30 s otherwise).
#[tokio::test]
async fn rest_me_passes_on_ims_retry_after_when_ims_throttles() {
    for throttled in ["/ims/validate_token", "/ims/keys"] {
        let app = start(false).await;
        let emulator = app.demo.emulator_url.clone().unwrap();
        let token = app.mint(ims_emulator::default_seed::MEMBER_EMAIL).await;
        let fault = ims_emulator::FaultSpec::new(throttled)
            .status(429)
            .retry_after(2);
        let injected = browser()
            .post(format!("{emulator}/__emulator/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(injected.status().is_success());

        let answer = browser()
            .get(app.url("/rest/V1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{throttled}"
        );
        assert_eq!(
            answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("2"),
            "{throttled}"
        );
    }
}

#[tokio::test]
async fn password_admin_tokens_are_refused_with_magentos_message() {
    let app = start(false).await;
    let response = browser()
        .post(app.url("/rest/V1/integration/admin/token"))
        .json(&json!({"username": "member", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Admin token generation is disabled. Please use Adobe IMS ACCESS_TOKEN."
    );

    let app = start(true).await;
    let response = browser()
        .post(app.url("/rest/V1/integration/admin/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("does not issue"));
}

#[tokio::test]
async fn unknown_paths_get_a_readable_404_page() {
    let app = start(false).await;
    let response = browser()
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn a_bad_form_is_a_readable_error_not_a_crash() {
    let app = start(true).await;
    let response = browser()
        .post(app.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=%ZZ&&&password")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}

/// The demo's own emulator serves no control API unless asked: a page the
/// person running the demo visits must not be able to mint tokens or
/// inject faults through it.
#[tokio::test]
async fn the_demo_emulator_has_no_control_api_by_default() {
    use clap::Parser as _;
    // The command line's default, as `ims-demo` parses it.
    let cli = ims_demo::cli::Cli::try_parse_from(["ims-demo", "--addr", "127.0.0.1:0"]).unwrap();
    let app = start_with(false, cli.serve.emulator_control, Vec::new()).await;
    let emulator = app.demo.emulator_url.clone().unwrap();
    let minted = browser()
        .post(format!("{emulator}/__emulator/tokens"))
        .json(&json!({"email": ims_emulator::default_seed::MEMBER_EMAIL, "client_id": "emulator-web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), StatusCode::NOT_FOUND);
    let fault = browser()
        .post(format!("{emulator}/__emulator/faults"))
        .json(&json!({"path_prefix": "/", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), StatusCode::NOT_FOUND);
    // IMS itself still answers.
    let keys = browser()
        .get(format!("{emulator}/ims/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), StatusCode::OK);
}

/// Anonymous requests that start nothing leave no session behind: failed
/// callbacks and guarded pages answer without a cookie (the store keeps
/// nothing for them).
#[tokio::test]
async fn anonymous_failed_callbacks_leave_no_session() {
    let app = start(false).await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    for path in [
        "/admin/ims/callback?code=c&state=s",
        "/admin/ims/callback?error=access_denied&state=s",
        "/admin/ims/callback",
        "/admin/ims/reauth/callback?code=c&state=s",
        "/admin/ims/reauth",
        "/admin",
    ] {
        let answer = client.get(app.url(path)).send().await.unwrap();
        assert!(
            answer.status().is_client_error() || answer.status().is_redirection(),
            "{path}: {}",
            answer.status()
        );
        assert!(
            answer.headers().get("set-cookie").is_none(),
            "{path}: no session for an anonymous request that started nothing"
        );
    }
}
