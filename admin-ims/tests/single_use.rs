//! Single use whatever the answer: a callback's state, and a
//! re-authentication proof, are spent before anything can fail, so a
//! failed callback (4xx or 5xx) cannot be replayed, and a sensitive action
//! that fails with a 5xx still spends its proof. Client-caused failures
//! answer 4xx; IMS failures 502/503.

#![allow(clippy::unwrap_used)]

mod support;

use admin_ims::ProvisioningPolicy;
use ims_emulator::{FaultSpec, default_seed as seed};
use support::*;
use url::Url;

const TOKEN: &str = "POST /ims/token/v3";
const MEMBERSHIP: &str = concat!("/", "A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg", "/membership");

/// Signs in at IMS and comes back to the callback URL without loading it.
async fn callback_url(
    h: &Harness,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> String {
    let authorize = begin(h, browser, None).await;
    submit_ims_form(browser, &authorize, email, password, "login").await
}

/// The callback's second load is refused as an invalid state, and IMS
/// is not asked for a token again.
async fn assert_replay_refused(h: &Harness, browser: &reqwest::Client, callback: &str, kind: &str) {
    let exchanges = h.ims.stats().count(TOKEN);
    let replay = land(browser, callback).await;
    assert_eq!(
        replay.status, 400,
        "{kind}: the replay is refused: {}",
        replay.body
    );
    assert!(
        replay.body.contains("Invalid state"),
        "{kind}: {}",
        replay.body
    );
    assert_eq!(
        h.ims.stats().count(TOKEN),
        exchanges,
        "{kind}: no second exchange"
    );
    assert_eq!(
        visit(h, browser, "/admin").await.0,
        302,
        "{kind}: not signed in"
    );
}

#[tokio::test]
async fn a_callback_that_failed_on_an_ims_error_cannot_be_replayed() {
    for (kind, prefix, status) in [
        ("token endpoint 503", "/ims/token", 503),
        ("token endpoint 500", "/ims/token", 500),
        ("profile 503", "/ims/profile", 503),
        ("membership 502", MEMBERSHIP, 502),
    ] {
        assert!(MEMBERSHIP.contains(seed::ORG_ID));
        let h = Harness::start().await;
        let browser = support::browser();
        let callback = callback_url(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
        h.ims
            .inject_fault(FaultSpec::new(prefix).status(status).count(1))
            .unwrap();
        let landing = land(&browser, &callback).await;
        assert!(
            landing.status == 502 || landing.status == 503,
            "{kind}: an IMS failure is a 502/503, got {}",
            landing.status
        );
        // IMS is healthy again: the same state must still be spent.
        assert_replay_refused(&h, &browser, &callback, kind).await;
    }
}

#[tokio::test]
async fn a_callback_refused_for_the_user_cannot_be_replayed() {
    // Not a member of the organization.
    let h = Harness::start().await;
    let browser = support::browser();
    let callback = callback_url(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
    )
    .await;
    assert_eq!(land(&browser, &callback).await.status, 403);
    assert_replay_refused(&h, &browser, &callback, "outsider").await;

    // An IMS user with no admin account.
    let h = Harness::start_with(|c| c.provisioning = ProvisioningPolicy::Off, false).await;
    let browser = support::browser();
    let callback = callback_url(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
    assert_eq!(land(&browser, &callback).await.status, 403);
    assert_replay_refused(&h, &browser, &callback, "unknown user").await;
}

#[tokio::test]
async fn a_cancelled_sign_in_is_a_client_error_and_cannot_be_replayed() {
    let h = Harness::start().await;
    let browser = support::browser();
    let authorize = begin(&h, &browser, None).await;
    let callback = submit_ims_form(&browser, &authorize, "", "", "cancel").await;
    let landing = land(&browser, &callback).await;
    assert!(
        (400..500).contains(&landing.status),
        "Cancel at IMS is the user's choice, not an IMS failure: {}",
        landing.status
    );
    assert_replay_refused(&h, &browser, &callback, "cancelled").await;
}

#[tokio::test]
async fn a_callback_without_a_code_spends_its_state() {
    let h = Harness::start().await;
    let browser = support::browser();
    let callback = callback_url(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
    let url = Url::parse(&callback).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut codeless = Url::parse(&h.url("/admin/ims/callback")).unwrap();
    codeless.query_pairs_mut().append_pair("state", &state);
    assert_eq!(land(&browser, codeless.as_str()).await.status, 400);
    // The real callback with the same state comes too late.
    assert_replay_refused(&h, &browser, &callback, "no code").await;
}

#[tokio::test]
async fn a_replayed_code_is_a_client_error() {
    let h = Harness::start().await;
    let browser = support::browser();
    let callback = callback_url(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
    assert_eq!(land(&browser, &callback).await.status, 303);
    // The used code with a fresh state of this session: IMS says
    // invalid_grant, which is the sender's fault, not IMS's.
    let authorize = begin(&h, &browser, None).await;
    let state = Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code = Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut forged = Url::parse(&h.url("/admin/ims/callback")).unwrap();
    forged
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    let landing = land(&browser, forged.as_str()).await;
    assert_eq!(landing.status, 400, "{}", landing.body);
    let replay = land(&browser, forged.as_str()).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("Invalid state"));
}

/// Signs in; the browser.
async fn signed_in(h: &Harness) -> reqwest::Client {
    let browser = support::browser();
    let landing = sign_in(h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD, None).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    browser
}

/// Starts a re-authentication and signs in at IMS: the reauth callback URL.
async fn reauth_callback_url(h: &Harness, browser: &reqwest::Client) -> String {
    let answer = browser
        .get(h.url("/admin/ims/reauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let authorize = location(&answer);
    submit_ims_form(
        browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await
}

#[tokio::test]
async fn a_reauth_callback_that_failed_cannot_be_replayed() {
    for (kind, prefix, status) in [
        ("token endpoint 503", "/ims/token", 503),
        ("validation 503", "/ims/validate_token", 503),
        ("profile 500", "/ims/profile", 500),
    ] {
        let h = Harness::start().await;
        let browser = signed_in(&h).await;
        let callback = reauth_callback_url(&h, &browser).await;
        h.ims
            .inject_fault(FaultSpec::new(prefix).status(status).count(1))
            .unwrap();
        let landing = land(&browser, &callback).await;
        assert!(
            landing.status == 502 || landing.status == 503,
            "{kind}: {} {}",
            landing.status,
            landing.body
        );
        let exchanges = h.ims.stats().count(TOKEN);
        let replay = land(&browser, &callback).await;
        assert_eq!(replay.status, 400, "{kind}: {}", replay.body);
        assert_eq!(h.ims.stats().count(TOKEN), exchanges, "{kind}");
        assert_eq!(
            visit(&h, &browser, "/admin/users/new").await.0,
            403,
            "{kind}: no proof"
        );
    }
}

#[tokio::test]
async fn a_sensitive_action_that_fails_with_a_5xx_still_spends_the_proof() {
    let h = Harness::start().await;
    let browser = signed_in(&h).await;
    let landing = land(&browser, &reauth_callback_url(&h, &browser).await).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    // The host's action takes the proof, then fails.
    assert_eq!(visit(&h, &browser, "/admin/users/fail").await.0, 500);
    // The proof is gone: the next sensitive action needs a new reauth.
    assert_eq!(visit(&h, &browser, "/admin/users/new").await.0, 403);
}
