//! What the demo's end-to-end tests share: reading a redirect, signing in
//! at the emulator's form as a browser does, minting tokens, starting an
//! instance.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use ims_demo::cli::{CommonArgs, ServeArgs};
use ims_demo::wiring::{self, RunningDemo};
use ims_emulator::{SignInForm, default_seed as seed};
use url::Url;

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Fills in the emulator's sign-in page at `authorize` as the member; the
/// URL IMS sends the browser back to.
pub async fn sign_in_at_ims(browser: &reqwest::Client, authorize: &str) -> String {
    // IMS sends the browser on to its sign-in page.
    let redirect = browser.get(authorize).send().await.unwrap();
    assert_eq!(redirect.status(), 302, "IMS redirects to its sign-in page");
    let sign_in = location(&redirect);
    let page = browser.get(&sign_in).send().await.unwrap();
    assert_eq!(page.status(), 200, "the emulator's sign-in page");
    let html = page.text().await.unwrap();
    let form = SignInForm::parse(&html).unwrap();
    let fields = form.fields(seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD, "login");
    let target = Url::parse(&sign_in).unwrap().join(&form.action).unwrap();
    let answer = browser.post(target).form(&fields).send().await.unwrap();
    assert_eq!(answer.status(), 302, "IMS redirects back");
    location(&answer)
}

/// A token the emulator at `emulator` (its control API on) issues to
/// `client_id` for the user `email`, asked through `client`.
pub async fn mint_token(
    client: &reqwest::Client,
    emulator: &str,
    email: &str,
    client_id: &str,
) -> String {
    let body: serde_json::Value = client
        .post(format!("{emulator}/__emulator/tokens"))
        .json(
            &serde_json::json!({"email": email, "client_id": client_id, "scope": "AdobeID,openid"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A demo instance on `database` (its own emulator, or the IMS at
/// `ims_url`), with the emulator's control API on, on a free port.
pub async fn instance(database: &str, ims_url: Option<&str>) -> RunningDemo {
    let common = CommonArgs {
        database: database.to_owned(),
        ims_url: ims_url.map(str::to_owned),
        public_url: None,
    };
    let serve = ServeArgs {
        emulator_control: true,
        ..ServeArgs::on("127.0.0.1:0".parse().unwrap())
    };
    wiring::start(&common, &serve).await.unwrap()
}

/// A client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The admin URL a starting demo server prints (`Admin: <url>`), read from
/// its standard output within two minutes; the server is then stopped.
pub fn printed_admin_url(mut child: std::process::Child) -> String {
    use std::io::{BufRead as _, BufReader};
    use std::time::{Duration, Instant};
    let stdout = child.stdout.take().unwrap();
    let started = Instant::now();
    let mut admin = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(url) = line.trim().strip_prefix("Admin: ") {
            admin = Some(url.to_owned());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    admin.expect("the demo prints its admin URL")
}
