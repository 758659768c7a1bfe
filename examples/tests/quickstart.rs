//! Runs the quickstart program (`cargo run -p ims-examples --bin
//! quickstart`) as a reader would, on a free port: an admin signs in
//! through the emulator's sign-in form like a browser, and `/rest/V1/me`
//! answers a token the emulator minted — both wired by `ims-kit` in the
//! program's dozen lines.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use url::Url;

/// The program, killed when the test ends.
struct Program {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Program {
    fn start(exe: &str) -> Program {
        let mut child = Command::new(exe)
            .env("APP_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Program { child, lines }
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
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn location(answer: &reqwest::Response) -> String {
    answer.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Loads the IMS sign-in page, fills its form as a person would and returns
/// where IMS sends the browser (our callback).
async fn sign_in_at_ims(browser: &reqwest::Client, authorize: &str) -> String {
    let first = browser.get(authorize).send().await.unwrap();
    assert_eq!(first.status(), 302, "IMS answers authorize with a redirect");
    let next = Url::parse(authorize)
        .unwrap()
        .join(&location(&first))
        .unwrap();
    let page = browser.get(next.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "the IMS sign-in page");
    let form = ims_emulator::SignInForm::parse(&page.text().await.unwrap()).unwrap();
    let fields = form.fields("member@example.com", "member-password", "login");
    let target = next.join(&form.action).unwrap();
    let answer = browser.post(target).form(&fields).send().await.unwrap();
    assert_eq!(answer.status(), 302, "IMS redirects back");
    location(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_signs_an_admin_in_and_accepts_an_ims_token() {
    let mut program = Program::start(env!("CARGO_BIN_EXE_quickstart"));
    let emulator = program.value("emulator:");
    let app = Url::parse(&program.value("app:")).unwrap();
    let token = program.value("token:");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The admin area sends a stranger to sign in, under the kit's prefix.
    let admin = app.join("/admin").unwrap();
    let answer = browser.get(admin.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let login = location(&answer);
    assert_eq!(login, "/admin/ims/login?return_to=%2Fadmin");

    // The login route sends the browser to IMS; signing in there comes back
    // to the kit's callback, which lands on /admin.
    let answer = browser.get(app.join(&login).unwrap()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let authorize = location(&answer);
    assert!(authorize.starts_with(&emulator), "{authorize}");
    let callback = sign_in_at_ims(&browser, &authorize).await;
    assert!(
        callback.starts_with(app.join("/admin/ims/callback").unwrap().as_str()),
        "{callback}"
    );
    let landing = browser.get(&callback).send().await.unwrap();
    assert_eq!(landing.status(), 303);
    assert_eq!(location(&landing), "/admin");
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
