//! Logging end to end: every sign-in, re-authentication, logout and refusal
//! is a `tracing` event with the admin id and a reason, and no token, code,
//! state or client secret ever reaches the log. (Its own test binary: a
//! thread-local subscriber must not race other tests for callsite interest.)

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use ims_emulator::default_seed as seed;
use support::*;
use url::Url;

/// Runs a re-authentication as `email`: the final answer of our callback.
async fn reauth(h: &Harness, browser: &reqwest::Client, email: &str, password: &str) -> Landing {
    let answer = browser
        .get(h.url("/admin/ims/reauth?return_to=%2Fadmin%2Fusers%2Fnew"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let authorize = location(&answer);
    let url = Url::parse(&authorize).unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "reauth" && v == "check"),
        "{authorize}"
    );
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "redirect_uri" && v == h.url("/admin/ims/reauth/callback"))
    );
    let callback = submit_ims_form(browser, &authorize, email, password, "login").await;
    land(browser, &callback).await
}

/// Collects what the crate logs.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_event_is_logged_and_no_secret_ever_is() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("admin_ims=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::start().await;
    let browser = browser();
    let ok = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    let token = h.session_token(h.member_id);
    let refused_reauth = reauth(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
    )
    .await;
    assert_eq!(visit(&h, &browser, "/admin/users/new").await.0, 403);
    browser
        .post(h.url("/admin/ims/logout"))
        .send()
        .await
        .unwrap();
    let refused = sign_in(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(refused.status, 403);

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "event=\"login\"",
        "event=\"reauth_refused\"",
        "reason=\"different_user\"",
        "event=\"reauth_required\"",
        "event=\"logout\"",
        "event=\"login_refused\"",
        "reason=\"not_member\"",
        "admin_id=1",
    ] {
        assert!(log.contains(needle), "{needle} missing from:\n{log}");
    }
    let mut secrets = vec![token, seed::WEB_CLIENT_SECRET.to_owned()];
    for callback in [&ok.callback, &refused_reauth.callback, &refused.callback] {
        let url = Url::parse(callback).unwrap();
        for (key, value) in url.query_pairs() {
            if key == "code" || key == "state" {
                secrets.push(value.into_owned());
            }
        }
    }
    assert!(secrets.len() >= 8);
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "a secret leaked into the log:\n{log}"
        );
    }
}
