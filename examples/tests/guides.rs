//! Runs the guides' programs as a reader would (`cargo run -p ims-examples
//! --bin …`), on free ports, and checks that they do what the book says they
//! do. The admin-login guide is driven through the emulator's sign-in form
//! like a browser.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use url::Url;

/// A guide's program, killed when the test ends.
struct Program {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Where the program may write (its `LOG_DIR`), removed at the end.
    _dir: tempfile::TempDir,
}

impl Program {
    fn start(exe: &str) -> Program {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(exe);
        command
            .env("APP_ADDR", "127.0.0.1:0")
            .env("LOG_DIR", dir.path())
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Program {
            child,
            lines,
            _dir: dir,
        }
    }

    /// The rest of the first output line that starts with `prefix`.
    fn value(&mut self, prefix: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
        panic!("the program ended without printing {prefix:?}");
    }

    /// Everything it prints until it exits, and its exit status.
    fn finish(mut self) -> (String, bool) {
        let out: Vec<String> = self.lines.by_ref().map(Result::unwrap).collect();
        let status = self.child.wait().unwrap();
        (out.join("\n"), status.success())
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: keeps cookies, follows nothing.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(answer: &reqwest::Response) -> String {
    answer.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

// ANCHOR: sign_in_form
/// Loads an IMS sign-in page, fills its form as a person would, submits it,
/// and returns where IMS sends the browser (our callback).
async fn sign_in_at_ims(browser: &reqwest::Client, authorize: &str) -> String {
    let first = browser.get(authorize).send().await.unwrap();
    assert_eq!(first.status(), 302, "IMS answers authorize with a redirect");
    let next = Url::parse(authorize)
        .unwrap()
        .join(&location(&first))
        .unwrap();
    if next.path() != "/ims/signin" {
        // Single sign-on: the browser still has a session at IMS.
        return next.to_string();
    }
    // IMS sent the browser on to its sign-in page.
    let page = browser.get(next.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "the IMS sign-in page");
    let html = page.text().await.unwrap();
    let form = ims_emulator::SignInForm::parse(&html).unwrap();
    let fields = form.fields("member@example.com", "member-password", "login");
    let target = next.join(&form.action).unwrap();
    let answer = browser.post(target).form(&fields).send().await.unwrap();
    assert_eq!(answer.status(), 302, "IMS redirects back");
    location(&answer)
}
// ANCHOR_END: sign_in_form

/// Follows the app's `login` route to IMS (`emulator`), signs in there
/// as the member, and lands back through `/admin/ims/callback` on `/admin`.
async fn sign_in_from(browser: &reqwest::Client, app: &Url, emulator: &str, login: &str) {
    let answer = browser.get(app.join(login).unwrap()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let authorize = location(&answer);
    assert!(authorize.starts_with(emulator), "{authorize}");
    let callback = sign_in_at_ims(browser, &authorize).await;
    assert!(
        callback.starts_with(app.join("/admin/ims/callback").unwrap().as_str()),
        "{callback}"
    );
    let landing = browser.get(&callback).send().await.unwrap();
    assert_eq!(landing.status(), 303);
    assert_eq!(location(&landing), "/admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_login_axum_signs_the_member_in_through_the_emulator() {
    let mut program = Program::start(env!("CARGO_BIN_EXE_admin_login_axum"));
    let emulator = program.value("emulator:");
    let app = Url::parse(&program.value("app:")).unwrap();
    let browser = browser();

    // The home page shows the sign-in button.
    let home = browser.get(app.clone()).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("Sign in with Adobe ID"));

    // The admin area sends a stranger to sign in.
    let admin = app.join("/admin").unwrap();
    let answer = browser.get(admin.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(location(&answer), "/admin/ims/login?return_to=%2Fadmin");

    // The login route sends the browser to IMS (the emulator); signing in
    // there comes back to our callback, which lands on /admin.
    sign_in_from(
        &browser,
        &app,
        &emulator,
        "/admin/ims/login?return_to=%2Fadmin",
    )
    .await;

    let dashboard = browser.get(admin.clone()).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);
    assert!(
        dashboard
            .text()
            .await
            .unwrap()
            .contains("Signed in as admin 1")
    );

    // Signing out ends the session.
    let out = browser
        .post(app.join("/admin/ims/logout").unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection(), "{}", out.status());
    let after = browser.get(admin).send().await.unwrap();
    assert_eq!(after.status(), 302);
}

async fn bearer_round_trip(exe: &str) {
    let mut program = Program::start(exe);
    let url = program.value("app:");
    let token = program.value("token:");
    let client = reqwest::Client::new();
    let ok = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.text().await.unwrap(),
        format!("admin 1 <{}>", ims_emulator::default_seed::MEMBER_EMAIL)
    );
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let forged = client
        .get(&url)
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webapi_axum_accepts_an_ims_token_and_refuses_others() {
    bearer_round_trip(env!("CARGO_BIN_EXE_webapi_axum")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webapi_actix_accepts_an_ims_token_and_refuses_others() {
    bearer_round_trip(env!("CARGO_BIN_EXE_webapi_actix")).await;
}

#[test]
fn service_tokens_gets_s2s_and_jwt_tokens_and_stores_them_as_aio_does() {
    let (out, ok) = Program::start(env!("CARGO_BIN_EXE_service_tokens")).finish();
    assert!(ok, "{out}");
    assert!(out.contains("my-service: a token valid until"), "{out}");
    assert!(out.contains("legacy-jwt: a token valid until"), "{out}");
    assert!(
        out.contains("ims.contexts.my-service.access_token.expiry = 1"),
        "{out}"
    );
}

#[test]
fn swap_a_trait_uses_the_hosts_own_directory() {
    let (out, ok) = Program::start(env!("CARGO_BIN_EXE_swap_a_trait")).finish();
    assert!(ok, "{out}");
    assert!(out.contains("is admin 1"), "{out}");
    assert!(out.contains("after deactivation: 401"), "{out}");
}

#[test]
fn two_instances_share_the_record_and_the_token_cache() {
    // On a SQLite file: ims-store's conformance suite covers PostgreSQL and
    // MySQL; this checks the guide's program.
    let (out, ok) = Program::start(env!("CARGO_BIN_EXE_postgres_instances")).finish();
    assert!(ok, "{out}");
    assert!(
        out.contains("IMS validations for one token on two instances: 1"),
        "{out}"
    );
    assert!(
        out.contains("IMS token calls for two instances: 1; same token: true"),
        "{out}"
    );
}

/// The quickstart (`ims-kit`'s dozen lines): an admin signs in through the
/// emulator's form like a browser, and `/rest/V1/me` answers a token the
/// emulator minted, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_signs_an_admin_in_and_accepts_an_ims_token() {
    let mut program = Program::start(env!("CARGO_BIN_EXE_quickstart"));
    let emulator = program.value("emulator:");
    let app = Url::parse(&program.value("app:")).unwrap();
    let token = program.value("token:");
    let browser = browser();

    // The admin area sends a stranger to sign in, under the kit's prefix.
    let admin = app.join("/admin").unwrap();
    let answer = browser.get(admin.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let login = location(&answer);
    assert_eq!(login, "/admin/ims/login?return_to=%2Fadmin");

    // The login route sends the browser to IMS; signing in there comes back
    // to the kit's callback, which lands on /admin.
    sign_in_from(&browser, &app, &emulator, &login).await;
    let dashboard = browser.get(admin.clone()).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);
    assert_eq!(dashboard.text().await.unwrap(), "Signed in as admin 1.");

    // The REST API takes the minted token, and nothing else; the admin
    // session alone does not open it.
    let me = app.join("/rest/V1/me").unwrap();
    let client = reqwest::Client::new();
    let ok = client
        .get(me.clone())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "admin 1");
    let forged = client
        .get(me.clone())
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let session_only = browser.get(me).send().await.unwrap();
    assert_eq!(session_only.status(), 401);

    // Signing out ends the session.
    let out = browser
        .post(app.join("/admin/ims/logout").unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection(), "{}", out.status());
    let after = browser.get(admin).send().await.unwrap();
    assert_eq!(after.status(), 302);
}
