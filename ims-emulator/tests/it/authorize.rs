use ims_emulator::{SignInForm, default_seed as d};
use reqwest::StatusCode;

use crate::support::*;

fn web_query<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut q = vec![
        ("client_id", d::WEB_CLIENT_ID),
        ("redirect_uri", "http://127.0.0.1:5555/callback"),
        ("scope", "AdobeID,openid"),
        ("state", "abc"),
    ];
    for (k, v) in extra {
        q.retain(|(qk, _)| qk != k);
        q.push((k, v));
    }
    q
}

#[tokio::test]
async fn sign_in_page_is_a_plain_form() {
    let ims = start().await;
    for path in ["/ims/authorize", "/ims/authorize/v1", "/ims/authorize/v2"] {
        let response = authorize_page(&ims, path, &web_query(&[])).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("x-debug-id"));
        let html = response.text().await.unwrap();
        assert!(html.contains("<form method=\"post\""));
        assert!(html.contains("name=\"email\""));
        assert!(html.contains("name=\"password\""));
        assert!(!html.contains("<script"));
        let form = SignInForm::parse(&html).unwrap();
        assert_eq!(form.action, "/ims/authorize/v2");
        let hidden = form.hidden;
        assert!(hidden.contains(&("client_id".into(), d::WEB_CLIENT_ID.into())));
        assert!(hidden.contains(&("state".into(), "abc".into())));
    }
}

#[tokio::test]
async fn full_sign_in_flow_sets_a_session() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[]).await;
    assert_eq!(signed_in.redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(signed_in.redirect.path(), "/callback");
    assert_eq!(query_param(&signed_in.redirect, "state").unwrap(), "st-123");
    assert!(signed_in.cookie.starts_with("ims_emulator_session="));

    // With the session cookie, prompt=none answers with a code immediately.
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&web_query(&[("prompt", "none")]))
        .header("cookie", &signed_in.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let loc = location(response.headers());
    assert!(query_param(&loc, "code").is_some());
    // And without prompt too (SSO).
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&web_query(&[]))
        .header("cookie", &signed_in.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // prompt=login and reauth=check always send the browser to the form.
    for extra in [("prompt", "login"), ("reauth", "check")] {
        let response = http()
            .get(ims.url("/ims/authorize/v2"))
            .query(&web_query(&[extra]))
            .header("cookie", &signed_in.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{extra:?}");
        assert_eq!(
            location(response.headers()).path(),
            "/ims/signin",
            "{extra:?}"
        );
    }
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    let ims = start().await;
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&web_query(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let loc = location(response.headers());
    assert!(loc.as_str().starts_with("http://127.0.0.1:5555/callback?"));
    assert_eq!(query_param(&loc, "error").unwrap(), "login_required");
    assert_eq!(query_param(&loc, "state").unwrap(), "abc");
}

#[tokio::test]
async fn wrong_password_shows_the_form_again() {
    let ims = start().await;
    let mut form: Vec<(&str, &str)> = web_query(&[]);
    form.extend([
        ("email", d::MEMBER_EMAIL),
        ("password", "nope"),
        ("action", "login"),
    ]);
    let response = http()
        .post(ims.url("/ims/authorize/v2"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong email address or password."));
    assert!(html.contains(d::MEMBER_EMAIL));
}

#[tokio::test]
async fn cancel_is_access_denied() {
    let ims = start().await;
    let mut form: Vec<(&str, &str)> = web_query(&[]);
    form.push(("action", "cancel"));
    let response = http()
        .post(ims.url("/ims/authorize/v2"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let loc = location(response.headers());
    assert_eq!(query_param(&loc, "error").unwrap(), "access_denied");
    assert_eq!(query_param(&loc, "state").unwrap(), "abc");
}

#[tokio::test]
async fn scope_and_parameter_errors_redirect() {
    let ims = start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("scope", "AdobeID,root")], "invalid_scope"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("code_challenge", "c".repeat(43).leak()),
                ("code_challenge_method", "S512"),
            ],
            "invalid_request",
        ),
        (&[("prompt", "sometimes")], "invalid_request"),
        (&[("reauth", "maybe")], "invalid_request"),
    ];
    for (extra, error) in cases {
        let response = http()
            .get(ims.url("/ims/authorize/v2"))
            .query(&web_query(extra))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{extra:?}");
        let loc = location(response.headers());
        assert_eq!(query_param(&loc, "error").unwrap(), *error, "{extra:?}");
        assert_eq!(query_param(&loc, "state").unwrap(), "abc");
    }
    // The s2s client may not use the code flow; it has no redirect URI at all → error page.
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&[("client_id", d::S2S_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn fragment_response_mode() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[("response_mode", "fragment")]).await;
    assert!(signed_in.redirect.query().is_none());
    let fragment = signed_in.redirect.fragment().unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == "code"));
    assert!(pairs.contains(&("state".into(), "st-123".into())));
}

#[tokio::test]
async fn unknown_client_or_unregistered_redirect_is_an_error_page() {
    let ims = start().await;
    let cases = [
        web_query(&[("client_id", "unknown-client")]),
        web_query(&[("redirect_uri", "https://evil.example/callback")]),
        web_query(&[("redirect_uri", "http://localhost:80@evil.example/")]),
        vec![("scope", "openid")],
    ];
    for query in cases {
        let response = http()
            .get(ims.url("/ims/authorize/v2"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query:?}");
        assert!(
            response.headers().get("location").is_none(),
            "never redirect: {query:?}"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("Sign-in error"));
        assert!(!html.contains("evil.example/callback\">"));
    }
    // Posting the form with an unregistered redirect is refused too.
    let mut form = web_query(&[("redirect_uri", "https://evil.example/cb")]);
    form.extend([("email", d::MEMBER_EMAIL), ("password", d::MEMBER_PASSWORD)]);
    let response = http()
        .post(ims.url("/ims/authorize/v2"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn html_is_escaped() {
    let ims = start().await;
    let response = authorize_page(
        &ims,
        "/ims/authorize/v2",
        &web_query(&[("state", "\"><script>alert(1)</script>")]),
    )
    .await;
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));
}
