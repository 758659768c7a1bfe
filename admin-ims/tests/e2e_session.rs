//! End-to-end: a signed-in session over real HTTP — re-validation at most
//! once per interval, IMS invalidation and outages, logout, and
//! re-authentication for sensitive actions.

#![allow(clippy::unwrap_used)]

mod support;

use admin_ims::OutagePolicy;
use ims_api::Clock;
use ims_emulator::{FaultSpec, default_seed as seed};
use support::*;
use url::Url;

const VALIDATE: &str = "POST /ims/validate_token/v1";

async fn signed_in() -> (Harness, reqwest::Client) {
    signed_in_with(|_| {}).await
}

async fn signed_in_with(
    configure: impl FnOnce(&mut admin_ims::AdminImsConfig),
) -> (Harness, reqwest::Client) {
    let h = Harness::start_with(configure, true).await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    h.ims.reset_stats();
    (h, browser)
}

#[tokio::test]
async fn revalidation_happens_at_most_once_per_interval() {
    let (h, browser) = signed_in().await;
    for _ in 0..5 {
        assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    }
    assert_eq!(h.ims.stats().count(VALIDATE), 0, "no IMS call per page");
    h.advance(599);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    assert_eq!(h.ims.stats().count(VALIDATE), 0);
    h.advance(2);
    for _ in 0..3 {
        assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    }
    assert_eq!(h.ims.stats().count(VALIDATE), 1, "one check per interval");
    h.advance(601);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    assert_eq!(h.ims.stats().count(VALIDATE), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_revalidation() {
    let (h, browser) = signed_in().await;
    // A slow IMS makes the requests overlap while the first one asks.
    h.ims
        .inject_fault(FaultSpec::new("/ims/validate_token").latency_ms(300))
        .unwrap();
    h.advance(601);
    let mut requests = Vec::new();
    for _ in 0..8 {
        let browser = browser.clone();
        let url = h.url("/admin");
        requests.push(tokio::spawn(async move {
            browser.get(url).send().await.unwrap().status().as_u16()
        }));
    }
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(h.ims.stats().count(VALIDATE), 1);
}

#[tokio::test]
async fn token_invalidated_at_ims_ends_the_session_at_the_next_revalidation() {
    let (h, browser) = signed_in().await;
    let token = h.session_token(h.member_id);
    let answer = reqwest::Client::new()
        .post(h.ims.url("/ims/invalidate_token/v2"))
        .form(&[
            ("token_type", "access_token"),
            ("token", token.as_str()),
            ("client_id", seed::WEB_CLIENT_ID),
            ("client_secret", seed::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // Until the interval is over, the session is trusted without asking.
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    h.advance(601);
    let (status, to) = visit(&h, &browser, "/admin").await;
    assert_eq!(status, 302);
    assert_eq!(to, "/admin/ims/login?return_to=%2Fadmin");
    assert_eq!(h.ims.stats().count(VALIDATE), 1);
    // Ended for good: no more IMS calls, still sent to sign in.
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
    assert_eq!(h.ims.stats().count(VALIDATE), 1);
}

#[tokio::test]
async fn ims_logout_elsewhere_ends_the_session() {
    let (h, browser) = signed_in().await;
    let token = h.session_token(h.member_id);
    let answer = reqwest::Client::new()
        .post(h.ims.url("/ims/logout/v1"))
        .form(&[
            ("access_token", token.as_str()),
            ("client_id", seed::WEB_CLIENT_ID),
            ("client_secret", seed::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    h.advance(601);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn ims_outage_keeps_the_session_within_the_grace_window() {
    let (h, browser) = signed_in().await;
    h.ims
        .inject_fault(FaultSpec::new("/ims/validate_token").status(503))
        .unwrap();
    h.advance(601);
    assert_eq!(
        visit(&h, &browser, "/admin").await.0,
        200,
        "kept during grace"
    );
    h.advance(1800);
    assert_eq!(
        visit(&h, &browser, "/admin").await.0,
        302,
        "ended after grace"
    );
    assert!(h.ims.stats().count(VALIDATE) >= 2);
}

#[tokio::test]
async fn ims_outage_ends_the_session_when_configured_to() {
    let (h, browser) = signed_in_with(|c| c.outage_policy = OutagePolicy::EndSession).await;
    h.ims
        .inject_fault(FaultSpec::new("/ims/validate_token").drop_connection())
        .unwrap();
    h.advance(601);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn disabling_or_deactivating_ends_sessions_at_the_next_revalidation() {
    let (h, browser) = signed_in().await;
    h.admins.update(h.member_id, |u| u.is_active = false);
    h.advance(601);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);

    let (h, browser) = signed_in().await;
    h.service.disable().await.unwrap();
    h.advance(601);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn logout_ends_the_session_and_the_token_at_ims() {
    let (h, browser) = signed_in().await;
    let token = h.session_token(h.member_id);
    assert!(h.ims_says_valid(&token).await);
    let answer = browser
        .post(h.url("/admin/ims/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/");
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);
    assert!(!h.ims_says_valid(&token).await, "the token is dead at IMS");
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
    // Logout is POST only (a link or image cannot log an admin out).
    assert_eq!(visit(&h, &browser, "/admin/ims/logout").await.0, 405);
}

#[tokio::test]
async fn logout_works_when_ims_is_down() {
    let (h, browser) = signed_in().await;
    h.ims
        .inject_fault(FaultSpec::new("/ims/logout").status(503))
        .unwrap();
    let answer = browser
        .post(h.url("/admin/ims/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(
        visit(&h, &browser, "/admin").await.0,
        302,
        "local logout happened"
    );
}

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
    // IMS pre-fills the signed-in admin's e-mail address.
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "login_hint" && v == seed::MEMBER_EMAIL),
        "{authorize}"
    );
    let callback = submit_ims_form(browser, &authorize, email, password, "login").await;
    land(browser, &callback).await
}

#[tokio::test]
async fn the_reauth_page_at_ims_is_prefilled_with_the_admins_email() {
    let (h, browser) = signed_in().await;
    let answer = browser
        .get(h.url("/admin/ims/reauth"))
        .send()
        .await
        .unwrap();
    let authorize = location(&answer);
    let to_sign_in = browser.get(&authorize).send().await.unwrap();
    assert_eq!(to_sign_in.status(), 302);
    let page = Url::parse(&authorize)
        .unwrap()
        .join(&location(&to_sign_in))
        .unwrap();
    let html = browser
        .get(page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefilled = format!("name=\"email\" value=\"{}\"", seed::MEMBER_EMAIL);
    assert!(html.contains(&prefilled), "{html}");
}

#[tokio::test]
async fn reauth_unlocks_one_sensitive_action() {
    let (h, browser) = signed_in().await;
    let (status, body) = visit(&h, &browser, "/admin/users/new").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Please perform the AdobeIms reAuth and try again."),
        "{body}"
    );

    let landing = reauth(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert_eq!(landing.location.as_deref(), Some("/admin/users/new"));
    let (status, body) = visit(&h, &browser, "/admin/users/new").await;
    assert_eq!(status, 200);
    assert_eq!(body, format!("admin {} may create a user", h.member_id));
    // Single use.
    assert_eq!(visit(&h, &browser, "/admin/users/new").await.0, 403);
    // The re-authentication token was validated, then ended alone.
    assert_eq!(h.ims.stats().count(VALIDATE), 1);
    assert_eq!(h.ims.stats().count("POST /ims/invalidate_token/v2"), 1);
    h.advance(601);
    assert_eq!(
        visit(&h, &browser, "/admin").await.0,
        200,
        "session token still good"
    );
    // A replayed re-auth callback is refused.
    let replay = land(&browser, &landing.callback).await;
    assert_eq!(replay.status, 400);
}

#[tokio::test]
async fn reauth_by_a_different_ims_user_is_refused() {
    let (h, browser) = signed_in().await;
    let landing = reauth(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Commerce instance")
    );
    let (status, body) = visit(&h, &browser, "/admin/users/new").await;
    assert_eq!(status, 403);
    assert!(body.contains("Please perform the AdobeIms reAuth and try again."));
    assert_eq!(h.ims.stats().count("POST /ims/invalidate_token/v2"), 1);
}

#[tokio::test]
async fn reauth_proof_expires() {
    let (h, browser) = signed_in().await;
    let landing = reauth(&h, &browser, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD).await;
    assert_eq!(landing.status, 303);
    h.advance(301);
    let answer = browser
        .get(h.url("/admin/users/new"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.text().await.unwrap(),
        r#"{"message":"Please perform the AdobeIms reAuth and try again."}"#
    );
}

#[tokio::test]
async fn reauth_needs_a_session_and_its_own_state() {
    let h = Harness::start().await;
    let stranger = browser();
    let answer = stranger
        .get(h.url("/admin/ims/reauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let outcome = location(&answer);
    assert_eq!(
        outcome,
        "/admin/ims/outcome?kind=reauth_required&flow=reauth"
    );
    let page = stranger.get(h.url(&outcome)).send().await.unwrap();
    assert_eq!(page.status(), 403);

    // One callback handler: the pending authorization the state names
    // decides the flow, whichever callback route IMS sent the browser to.
    // A re-auth state on the sign-in route completes the re-auth (its code
    // was issued for the re-auth redirect URI, which the exchange uses).
    let browser = browser();
    sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    let answer = browser
        .get(h.url("/admin/ims/reauth"))
        .send()
        .await
        .unwrap();
    let authorize = location(&answer);
    let callback = submit_ims_form(
        &browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    let crossed = callback.replace("/admin/ims/reauth/callback", "/admin/ims/callback");
    let landing = land(&browser, &crossed).await;
    assert_eq!(landing.status, 303);
    assert_eq!(landing.outcome_redirect, None);
    let (status, _) = visit(&h, &browser, "/admin/users/new").await;
    assert_eq!(status, 200, "the re-auth proof is there");
    // Its state is spent: the same callback on the re-auth route is refused.
    let replay = land(&browser, &callback).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("Invalid state"));
}

/// An administrator locks the admin, deactivates them, takes their role
/// away, deletes them or gives the account to another e-mail address: the admin's very next request is refused, well
/// within the re-validation interval, and their session is gone from the
/// store (restoring the admin does not bring it back).
#[tokio::test]
async fn locking_deactivating_or_removing_the_role_ends_the_session_at_the_next_request() {
    type Change = fn(&mut ims_api::AdminUser, time::OffsetDateTime);
    let changes: [(&str, Change); 6] = [
        ("locked", |u, now| {
            u.login_failures.lock_expires = Some(now + time::Duration::minutes(30));
        }),
        ("deactivated", |u, _| u.is_active = false),
        ("role removed", |u, _| u.role = None),
        ("role emptied", |u, _| {
            u.role = Some(ims_api::ADOBE_IMS_ROLE.to_owned());
        }),
        ("deleted", |u, _| u.id = ims_api::AdminUserId(9_999)),
        // The account now belongs to another Adobe ID.
        ("given to another e-mail", |u, _| {
            u.email = "someone.else@example.com".to_owned();
        }),
    ];
    for (name, change) in changes {
        let (h, browser) = signed_in().await;
        assert_eq!(visit(&h, &browser, "/admin").await.0, 200, "{name}");
        assert_eq!(h.session_stats().signed_in, 1, "{name}");
        let before = h.admins.get(h.member_id);
        let now = h.clock.now();
        h.admins.update(h.member_id, |u| change(u, now));
        // No time passes: the IMS re-validation is not due.
        let (status, location) = visit(&h, &browser, "/admin").await;
        assert_eq!(status, 302, "{name}: the next request is refused");
        assert!(location.contains("/admin/ims/login"), "{name}: {location}");
        let api = browser
            .get(h.url("/api/me"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 401, "{name}");
        assert_eq!(
            h.session_stats().signed_in,
            0,
            "{name}: the session is gone"
        );
        let changed_id = if name == "deleted" {
            ims_api::AdminUserId(9_999)
        } else {
            before.id
        };
        h.admins.update(changed_id, |u| *u = before.clone());
        assert_eq!(
            visit(&h, &browser, "/admin").await.0,
            302,
            "{name}: restoring the admin does not restore the session"
        );
        assert_eq!(
            h.ims.stats().count(VALIDATE),
            0,
            "{name}: no IMS call needed"
        );
    }
}

#[tokio::test]
async fn a_member_removed_from_the_organization_loses_the_session_at_the_next_revalidation() {
    let (h, browser) = signed_in().await;
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    // The organization's admins remove the user (they left the company).
    h.membership
        .removed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Until the interval is over, the session is trusted without asking.
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    h.advance(601);
    let (status, to) = visit(&h, &browser, "/admin").await;
    assert_eq!(status, 302, "the session outlived the membership");
    assert_eq!(to, "/admin/ims/login?return_to=%2Fadmin");
    assert_eq!(h.session_stats().signed_in, 0, "the session is gone");
}
