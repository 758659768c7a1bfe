//! End-to-end: sign-in over real HTTP through the emulator's sign-in form,
//! and every refusal.

#![allow(clippy::unwrap_used)]

mod support;

use admin_ims::ProvisioningPolicy;
use ims_api::{ADOBE_IMS_ROLE, AdminUserId, Clock, LockoutPolicy};
use ims_emulator::{FaultSpec, default_seed as seed};
use support::*;
use url::Url;

fn query_value(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn member_signs_in_and_lands_on_the_return_path() {
    let h = Harness::start().await;
    let browser = browser();

    // Not signed in: a page is sent to sign-in, with its path to come back to.
    let (status, to) = visit(&h, &browser, "/admin?tab=1").await;
    assert_eq!(status, 302);
    assert_eq!(to, "/admin/ims/login?return_to=%2Fadmin%3Ftab%3D1");

    // The authorize URL carries everything Magento sends, plus PKCE S256.
    let authorize = begin(&h, &browser, Some("/admin?tab=1")).await;
    assert!(authorize.contains("/ims/authorize/v2?"), "{authorize}");
    assert_eq!(
        query_value(&authorize, "client_id").as_deref(),
        Some(seed::WEB_CLIENT_ID)
    );
    assert_eq!(
        query_value(&authorize, "scope").as_deref(),
        Some("AdobeID,openid,email,profile,org.read")
    );
    assert_eq!(query_value(&authorize, "locale").as_deref(), Some("en_US"));
    assert_eq!(
        query_value(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_value(&authorize, "redirect_uri"),
        Some(h.url("/admin/ims/callback"))
    );
    let state = query_value(&authorize, "state").unwrap();
    assert!(state.len() >= 22, "at least 128 bits: {state}");

    let callback = submit_ims_form(
        &browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    assert!(
        callback.starts_with(&h.url("/admin/ims/callback?")),
        "{callback}"
    );
    let landing = land(&browser, &callback).await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert_eq!(landing.location.as_deref(), Some("/admin?tab=1"));

    let (status, body) = visit(&h, &browser, "/admin").await;
    assert_eq!(status, 200);
    assert_eq!(body, format!("dashboard of admin {}", h.member_id));
    assert!(h.admins.get(h.member_id).login_failures.count == 0);
}

#[tokio::test]
async fn session_cookie_is_lax_httponly_and_rekeyed_at_sign_in() {
    let h = Harness::start().await;
    // A raw client, to read Set-Cookie and to replay an old cookie.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = raw.get(h.url("/admin/ims/login")).send().await.unwrap();
    let set_cookie = answer.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let before = set_cookie.split(';').next().unwrap().to_owned();
    let authorize = location(&answer);

    // Sign in at IMS with a cookie-keeping browser, then deliver the callback
    // with the pre-login cookie (as a fixated session would have it).
    let ims_browser = browser();
    let callback = submit_ims_form(
        &ims_browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    let landing = raw
        .get(&callback)
        .header(reqwest::header::COOKIE, &before)
        .send()
        .await
        .unwrap();
    assert_eq!(landing.status(), 303);
    let after = landing.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(before, after, "the session id must change at sign-in");

    // The new id is signed in; the fixated one is not.
    let with = |cookie: String| {
        raw.get(h.url("/admin"))
            .header(reqwest::header::COOKIE, cookie)
            .send()
    };
    assert_eq!(with(after).await.unwrap().status(), 200);
    assert_eq!(with(before).await.unwrap().status(), 302);
}

#[tokio::test]
async fn wrong_missing_and_foreign_states_are_refused() {
    let h = Harness::start().await;
    let browser = browser();
    let authorize = begin(&h, &browser, None).await;
    let callback = submit_ims_form(
        &browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    let code = query_value(&callback, "code").unwrap();

    for bad in [
        format!("/admin/ims/callback?code={code}&state=wrong"),
        format!("/admin/ims/callback?code={code}"),
        format!("/admin/ims/callback?code={code}&state="),
    ] {
        let landing = land(&browser, &h.url(&bad)).await;
        assert_eq!(landing.status, 400, "{bad}");
        assert!(landing.body.contains("Invalid state"), "{}", landing.body);
    }
    // Another browser cannot use this browser's state.
    let landing = land(&support::browser(), &callback).await;
    assert_eq!(landing.status, 400);
    // No code was spent on a refused state.
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 0);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn expired_state_is_refused() {
    let h = Harness::start().await;
    let browser = browser();
    let authorize = begin(&h, &browser, None).await;
    let callback = submit_ims_form(
        &browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    h.advance(601);
    let landing = land(&browser, &callback).await;
    assert_eq!(landing.status, 400);
    assert!(landing.body.contains("Invalid state"));
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 0);
}

#[tokio::test]
async fn replayed_state_and_replayed_code_are_refused() {
    let h = Harness::start().await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 303);
    let first_callback = landing.callback.clone();

    // The same callback again: its state was used.
    let replay = land(&browser, &first_callback).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("Invalid state"));
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 1);

    // The used code with a fresh, valid state: IMS refuses the code.
    let authorize = begin(&h, &browser, None).await;
    let state = query_value(&authorize, "state").unwrap();
    let code = query_value(&first_callback, "code").unwrap();
    let mut forged = Url::parse(&h.url("/admin/ims/callback")).unwrap();
    forged
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    let landing = land(&browser, forged.as_str()).await;
    // IMS refuses the code (invalid_grant): the sender's fault, a 400.
    assert_eq!(landing.status, 400);
    assert!(
        landing.body.contains("Unable to sign in with the Adobe ID"),
        "{}",
        landing.body
    );
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 2);
}

#[tokio::test]
async fn non_member_is_refused_and_logged_out_at_ims() {
    let h = Harness::start().await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Commerce instance"),
        "{}",
        landing.body
    );
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn unknown_email_is_provisioned_without_permissions_by_default() {
    let h = Harness::start_with(|_| {}, false).await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("More permissions are needed to access this.")
    );
    let user = h.admins.by_email(seed::MEMBER_EMAIL).unwrap();
    assert_eq!(user.role.as_deref(), Some(ADOBE_IMS_ROLE));
    assert_eq!(user.username, "member");
    assert_eq!(
        (user.first_name.as_str(), user.last_name.as_str()),
        ("Mia", "Member")
    );
    let passwords = h.admins.passwords.lock().unwrap().clone();
    let (_, password) = &passwords[0];
    assert_eq!(password.len(), 100);
    assert!(
        password
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    );
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);

    // Signing in again finds the user, who still has no permissions.
    let again = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert!(
        again
            .body
            .contains("More permissions are needed to access this.")
    );
    assert_eq!(h.admins.users.lock().unwrap().len(), 1);
    // The new admin got Magento's welcome e-mail, once.
    let mails = h.mailer.0.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, seed::MEMBER_EMAIL);
    assert_eq!(
        mails[0].subject,
        "Mia, you now have access to Adobe Commerce"
    );
    assert_eq!(mails[0].sign_in_url.as_ref().map(Url::path), Some("/admin"));
    assert!(!format!("{:?}", mails[0]).contains(password.as_str()));
}

#[tokio::test]
async fn magentos_policy_signs_the_new_admin_in_without_permissions_while_the_role_exists() {
    let h = Harness::start_with(
        |c| c.provisioning = ProvisioningPolicy::SignInWithoutPermissions,
        false,
    )
    .await;
    // No "Adobe Ims" role at the host: nobody is created (Magento's
    // "No matching admin user found for Adobe ID.").
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("No matching admin user found for Adobe ID."),
        "{}",
        landing.body
    );
    assert!(h.admins.users.lock().unwrap().is_empty());
    assert!(h.mailer.0.lock().unwrap().is_empty());

    // With the role: created, mailed, and signed in with no permissions.
    h.admins.roles.lock().unwrap().push(ADOBE_IMS_ROLE.into());
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(
        landing.location.as_deref(),
        Some("/admin"),
        "{}",
        landing.body
    );
    let user = h.admins.by_email(seed::MEMBER_EMAIL).unwrap();
    assert_eq!(user.username, "member");
    assert_eq!(user.role.as_deref(), Some(ADOBE_IMS_ROLE));
    assert!(!user.has_permissions());
    assert_eq!(visit(&h, &browser, "/admin").await.0, 200);
    assert_eq!(h.mailer.0.lock().unwrap().len(), 1);
    assert_eq!(
        h.ims.stats().count("POST /ims/logout/v1"),
        1,
        "only the first"
    );

    // An existing admin whose role is "Adobe Ims" signs in the same way;
    // one with no role at all is still refused.
    let again = browser_signed_in_as_member(&h).await;
    assert_eq!(again.location.as_deref(), Some("/admin"));
    h.admins.update(user.id, |u| u.role = None);
    let refused = browser_signed_in_as_member(&h).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .body
            .contains("More permissions are needed to access this.")
    );
    assert_eq!(h.admins.users.lock().unwrap().len(), 1);
}

async fn browser_signed_in_as_member(h: &Harness) -> Landing {
    sign_in(
        h,
        &browser(),
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await
}

#[tokio::test]
async fn a_taken_user_name_provisions_nobody() {
    for policy in [
        ProvisioningPolicy::CreateWithoutPermissions,
        ProvisioningPolicy::SignInWithoutPermissions,
    ] {
        let h = Harness::start_with(|c| c.provisioning = policy, false).await;
        h.admins.roles.lock().unwrap().push(ADOBE_IMS_ROLE.into());
        // Another admin already has the user name the Adobe ID would get.
        let other = h
            .admins
            .add("member@elsewhere.example", Some("Administrators"));
        assert_eq!(h.admins.get(other).username, "member");
        let landing = browser_signed_in_as_member(&h).await;
        assert_eq!(landing.status, 403, "{policy:?}");
        assert!(
            landing
                .body
                .contains("No matching admin user found for Adobe ID."),
            "{policy:?}: {}",
            landing.body
        );
        assert_eq!(h.admins.users.lock().unwrap().len(), 1, "{policy:?}");
        assert!(h.mailer.0.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn unknown_email_is_refused_when_provisioning_is_off() {
    let h = Harness::start_with(|c| c.provisioning = ProvisioningPolicy::Off, false).await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("No matching admin user found for Adobe ID.")
    );
    assert!(h.admins.users.lock().unwrap().is_empty());
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);
}

#[tokio::test]
async fn inactive_admin_is_refused_and_failures_lock_the_account() {
    let h = Harness::start_with(
        |c| {
            c.lockout = LockoutPolicy {
                max_failures: 2,
                lock_duration: std::time::Duration::from_secs(1800),
            }
        },
        true,
    )
    .await;
    h.admins.update(h.member_id, |u| u.is_active = false);
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Commerce instance")
    );
    assert_eq!(h.admins.get(h.member_id).login_failures.count, 1);

    // A second failure reaches the maximum: the user is locked, and stays
    // refused when reactivated.
    sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    let user = h.admins.get(h.member_id);
    assert!(user.is_locked(h.clock.now()));
    h.admins.update(h.member_id, |u| u.is_active = true);
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Commerce instance")
    );
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 3);

    // After the lock expires the admin gets in, and the count is reset.
    h.advance(1801);
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert_eq!(h.admins.get(h.member_id).login_failures.count, 0);
}

#[tokio::test]
async fn locked_admin_is_refused() {
    let h = Harness::start().await;
    let now = h.clock.now();
    h.admins.update(h.member_id, |u| {
        u.login_failures.count = 6;
        u.login_failures.first_failure = Some(now);
        u.login_failures.lock_expires = Some(now + time::Duration::minutes(30));
    });
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Commerce instance")
    );
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn admin_without_a_role_is_refused() {
    let h = Harness::start().await;
    h.admins.update(h.member_id, |u| u.role = None);
    let landing = sign_in(
        &h,
        &browser(),
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("More permissions are needed to access this.")
    );
}

#[tokio::test]
async fn ims_down_at_callback_is_refused_and_the_token_logged_out() {
    let h = Harness::start().await;
    let browser = browser();

    // The token endpoint is down: no token, nothing to log out.
    h.ims
        .inject_fault(FaultSpec::new("/ims/token").status(503).count(1))
        .unwrap();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 502);
    assert!(landing.body.contains("Unable to sign in with the Adobe ID"));
    assert!(
        !landing.body.contains("503"),
        "no internals: {}",
        landing.body
    );
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 0);

    // The profile endpoint is down after the exchange: the token is logged
    // out at IMS.
    h.ims
        .inject_fault(FaultSpec::new("/ims/profile").status(503).count(1))
        .unwrap();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 502);
    assert!(landing.body.contains("Unable to sign in with the Adobe ID"));
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);

    // IMS is unreachable altogether.
    h.ims
        .inject_fault(FaultSpec::new("/ims/token").drop_connection().count(1))
        .unwrap();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 502);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302);
}

#[tokio::test]
async fn cancelled_sign_in_is_refused() {
    let h = Harness::start().await;
    let browser = browser();
    let authorize = begin(&h, &browser, None).await;
    let callback = submit_ims_form(&browser, &authorize, "", "", "cancel").await;
    assert_eq!(
        query_value(&callback, "error").as_deref(),
        Some("access_denied")
    );
    // The callback redirects at once: no page is shown at an address that
    // holds IMS's answer.
    let answer = browser.get(&callback).send().await.unwrap();
    assert_eq!(answer.status(), 303, "never a 502, never a page");
    assert_eq!(location(&answer), "/admin/ims/outcome?kind=cancelled");
    let landing = land(&browser, &callback).await;
    // (The state is spent: the second landing is an invalid state.)
    assert_eq!(landing.status, 400);
    // The outcome page: the user's choice, not an IMS failure: a 403.
    let page = browser
        .get(h.url("/admin/ims/outcome?kind=cancelled"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Unable to sign in with the Adobe ID")
    );
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 0);
}

#[tokio::test]
async fn a_host_page_receives_the_outcome_and_signed_out_visitors() {
    let h = Harness::start().await;
    let web = admin_ims::axum::AdminImsWeb::new(h.service.clone())
        .with_secure_cookie(false)
        .with_host_page("/admin/login");
    // Signed-out page requests go to the host's page, with the return path.
    let app = axum::Router::new()
        .route("/admin", axum::routing::get(|| async { "dashboard" }))
        .route_layer(web.require_admin())
        .merge(web.routes())
        .layer(web.session_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let browser = browser();
    let answer = browser.get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(location(&answer), "/admin/login?return_to=%2Fadmin");
    assert!(
        web.sign_in_button_to(Some("/admin"))
            .contains("href=\"/admin/ims/login?return_to=%2Fadmin\"")
    );
    // A cancelled sign-in lands on the host's page with its kind.
    let answer = browser
        .get(format!("{base}/admin/ims/login"))
        .send()
        .await
        .unwrap();
    let authorize = location(&answer);
    let callback = submit_ims_form(&browser, &authorize, "", "", "cancel").await;
    let callback = Url::parse(&base).unwrap().join(&callback).unwrap();
    let callback = format!(
        "{base}{}?{}",
        callback.path(),
        callback.query().unwrap_or_default()
    );
    let answer = browser.get(&callback).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let landed = location(&answer);
    assert_eq!(landed, "/admin/login?ims_error=cancelled");
    assert!(!landed.contains("code") && !landed.contains("state"));
    assert_eq!(
        admin_ims::LoginOutcome::from_kind("cancelled").map(|o| o.http_status()),
        Some(403)
    );
}

#[tokio::test]
async fn disabled_integration_refuses_sign_in() {
    let h = Harness::start().await;
    let browser = browser();
    // Disabled between the start of a sign-in and its callback.
    let authorize = begin(&h, &browser, None).await;
    let callback = submit_ims_form(
        &browser,
        &authorize,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "login",
    )
    .await;
    h.service.disable().await.unwrap();
    let landing = land(&browser, &callback).await;
    assert_eq!(landing.status, 403);
    assert!(landing.body.contains("Adobe Sign-In is disabled."));
    // And at the start: a redirect to the outcome page, which says why.
    let answer = browser.get(h.url("/admin/ims/login")).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/admin/ims/outcome?kind=disabled");
    let answer = browser.get(h.url(&location(&answer))).send().await.unwrap();
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("Adobe Sign-In is disabled.")
    );
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 0);
}

#[tokio::test]
async fn open_redirect_attempts_land_inside_the_host() {
    let h = Harness::start().await;
    for hostile in [
        "//evil.example/admin",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aLocation:%20https://evil.example",
        "http:/evil.example",
    ] {
        let browser = browser();
        let landing = sign_in(
            &h,
            &browser,
            seed::MEMBER_EMAIL,
            seed::MEMBER_PASSWORD,
            Some(hostile),
        )
        .await;
        assert_eq!(landing.status, 303, "{hostile}");
        let to = landing.location.unwrap();
        let resolved = Url::parse(&h.url("/")).unwrap().join(&to).unwrap();
        assert_eq!(resolved.host_str(), Some("127.0.0.1"), "{hostile} -> {to}");
        assert!(
            to.starts_with('/') && !to.starts_with("//"),
            "{hostile} -> {to}"
        );
    }
}

#[tokio::test]
async fn hostile_callback_queries_are_refused_without_crashing() {
    let h = Harness::start().await;
    let browser = browser();
    let _authorize = begin(&h, &browser, None).await;
    let huge = "x".repeat(20_000);
    for query in [
        "".to_owned(),
        "state=a&state=b&code=c".to_owned(),
        "code=a&code=b&state=c".to_owned(),
        format!("code={huge}&state=s"),
        format!("state={huge}"),
        "error=server_error&error_description=%3Cscript%3Ealert(1)%3C/script%3E".to_owned(),
        "%FF%FE=%C0%80&state=%E2%82".to_owned(),
    ] {
        let landing = land(&browser, &h.url(&format!("/admin/ims/callback?{query}"))).await;
        assert!(
            landing.status == 400 || landing.status == 502,
            "{query}: {}",
            landing.status
        );
        assert!(!landing.body.contains("<script>"), "{}", landing.body);
    }
    assert_eq!(h.ims.stats().count("POST /ims/token/v3"), 0);
}

#[tokio::test]
async fn fetch_requests_get_401_not_a_redirect() {
    let h = Harness::start().await;
    let browser = browser();
    let answer = browser
        .get(h.url("/api/me"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.text().await.unwrap(),
        r#"{"message":"Please sign in with Adobe ID"}"#
    );
    let answer = browser
        .get(h.url("/api/me"))
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    // Unknown paths are still 404 (route_layer, not layer).
    assert_eq!(visit(&h, &browser, "/nowhere").await.0, 404);
    // The login page fragment.
    let (status, page) = visit(&h, &browser, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/admin/ims/login\"") && page.contains("Sign in with Adobe ID"));

    sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    let answer = browser
        .get(h.url("/api/me"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.text().await.unwrap(),
        format!("{{\"admin\":{}}}", AdminUserId(1))
    );
}

#[tokio::test]
async fn the_extractor_works_without_the_layer() {
    let h = Harness::start().await;
    let browser = browser();
    let (status, to) = visit(&h, &browser, "/standalone").await;
    assert_eq!(status, 302);
    assert_eq!(to, "/admin/ims/login?return_to=%2Fstandalone");
    let answer = browser
        .get(h.url("/standalone"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(
        visit(&h, &browser, "/standalone").await,
        (200, format!("dashboard of admin {}", h.member_id))
    );
}

#[tokio::test]
async fn an_adobe_id_whose_address_only_looks_like_an_admins_is_not_that_admin() {
    // The directory (see `loose_email`) takes the member's address for the
    // admin's: an accent-insensitive collation, as MySQL's default one is.
    let h = Harness::start_with(|_| {}, false).await;
    let lookalike = seed::MEMBER_EMAIL.replacen('e', "\u{e9}", 1);
    let victim = h.admins.add(&lookalike, Some("Administrators"));
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403, "{:?}", landing.location);
    assert_eq!(visit(&h, &browser, "/admin").await.0, 302, "not signed in");
    assert_eq!(
        h.admins.users.lock().unwrap().len(),
        1,
        "nobody provisioned"
    );
    assert_eq!(
        h.admins.get(victim).login_failures,
        Default::default(),
        "the admin's lockout count is not the outsider's to raise"
    );
    assert_eq!(h.ims.stats().count("POST /ims/logout/v1"), 1);
}
