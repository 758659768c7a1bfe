//! ims-go's token exchanges: on-behalf-of on `/ims/token/v4`, `cluster_at_exchange` on `/v3`,
//! and the `userId` of a client-credentials answer.

use ims_emulator::{GRANT_TOKEN_EXCHANGE, MintTokenRequest, default_seed as d};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// ims-go's `OBOExchange` form, with `subject_token` and `scope` given.
fn obo_form<'a>(subject: &'a str, scope: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("client_id", d::S2S_CLIENT_ID),
        ("client_secret", d::S2S_CLIENT_SECRET),
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
        ("requested_token_type", ACCESS),
        ("scope", scope),
    ]
}

async fn post_v4(ims: &ims_emulator::RunningEmulator, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(ims.url("/ims/token/v4"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// `form` with `name` set to `value`, or without it.
fn replace<'a>(
    form: &[(&'static str, &'a str)],
    name: &'static str,
    value: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut out: Vec<_> = form.iter().copied().filter(|(k, _)| *k != name).collect();
    if let Some(v) = value {
        out.push((name, v));
    }
    out
}

#[tokio::test]
async fn on_behalf_of_gives_the_calling_client_a_token_for_the_same_user() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid,email,profile").await;
    let subject = tokens["access_token"].as_str().unwrap();
    let response = post_v4(&ims, &obo_form(subject, "openid,AdobeID")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["expires_in"], 86_399, "seconds, as ims-go reads them");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let claims = claims(token);
    assert_eq!(claims["user_id"], d::MEMBER_USER_ID);
    assert_eq!(claims["client_id"], d::S2S_CLIENT_ID);
    assert_eq!(claims["scope"], "openid,AdobeID");
    assert_eq!(validate(&ims, token, "access_token").await["valid"], true);
    // Invalidating the subject token with cascade takes the exchanged one along.
    let response = http()
        .post(ims.url("/ims/invalidate_token/v2"))
        .form(&[
            ("token_type", "access_token"),
            ("token", subject),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = post_v4(&ims, &obo_form(subject, "openid")).await;
    let body = expect_error(response, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("invalidated"),
        "{body}"
    );
}

#[tokio::test]
async fn on_behalf_of_refuses_what_is_not_allowed_for_exchange() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid,email,profile,offline_access").await;
    let subject = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let good = obo_form(subject, "openid");

    // Wrong grant, missing grant.
    let form = replace(&good, "grant_type", Some("client_credentials"));
    expect_error(post_v4(&ims, &form).await, 400, "unsupported_grant_type").await;
    let form = replace(&good, "grant_type", None);
    expect_error(post_v4(&ims, &form).await, 400, "invalid_request").await;
    // Bad client credentials.
    let form = replace(&good, "client_secret", Some("wrong"));
    expect_error(post_v4(&ims, &form).await, 401, "invalid_client").await;
    let form = replace(&good, "client_secret", None);
    expect_error(post_v4(&ims, &form).await, 401, "invalid_client").await;
    // A client without the exchange grant.
    let web = vec![
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("client_id", d::WEB_CLIENT_ID),
        ("client_secret", d::WEB_CLIENT_SECRET),
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
        ("scope", "openid"),
    ];
    expect_error(post_v4(&ims, &web).await, 400, "unauthorized_client").await;
    // Token types.
    let form = replace(&good, "subject_token_type", None);
    expect_error(post_v4(&ims, &form).await, 400, "invalid_request").await;
    let form = replace(
        &good,
        "requested_token_type",
        Some("urn:ietf:params:oauth:token-type:refresh_token"),
    );
    expect_error(post_v4(&ims, &form).await, 400, "invalid_request").await;
    // Subject tokens not allowed for exchange: missing, forged, expired, a refresh token, a
    // service token.
    let form = replace(&good, "subject_token", None);
    expect_error(post_v4(&ims, &form).await, 400, "invalid_request").await;
    let expired = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .scope("openid")
                .created_at_ms(now_ms() - 48 * 3600 * 1000),
        )
        .unwrap();
    let service = s2s_token(&ims).await;
    for bad in ["a.b.c", expired.as_str(), refresh, service.as_str()] {
        let form = obo_form(bad, "openid");
        expect_error(post_v4(&ims, &form).await, 400, "invalid_grant").await;
    }
    // Scopes: required, allowed for the caller, granted to the subject.
    let form = replace(&good, "scope", None);
    expect_error(post_v4(&ims, &form).await, 400, "invalid_scope").await;
    let form = obo_form(subject, "openid,offline_access");
    expect_error(post_v4(&ims, &form).await, 400, "invalid_scope").await;
    let form = obo_form(subject, "openid,read_organizations");
    let body = expect_error(post_v4(&ims, &form).await, 400, "invalid_scope").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not granted"),
        "{body}"
    );
}

fn cluster_form(user_token: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("grant_type", "cluster_at_exchange"),
        ("client_secret", d::WEB_CLIENT_SECRET),
        ("user_token", user_token),
        ("scope", "AdobeID,openid"),
    ]
}

async fn post_cluster(
    ims: &ims_emulator::RunningEmulator,
    form: &[(&str, &str)],
) -> reqwest::Response {
    // ims-go puts client_id in the query and everything else in the body.
    http()
        .post(ims.url("/ims/token/v3"))
        .query(&[("client_id", d::WEB_CLIENT_ID)])
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cluster_exchange_switches_to_an_org_the_user_belongs_to() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid,email").await;
    let user_token = tokens["access_token"].as_str().unwrap();
    let mut form = cluster_form(user_token);
    form.push(("owning_org_id", d::ORG_ID));
    form.push(("resource", "https://api-alpha.example.com"));
    let response = post_cluster(&ims, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_399);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["user_id"], d::MEMBER_USER_ID);
    assert_eq!(claims(token)["client_id"], d::WEB_CLIENT_ID);
    // The org id without its suffix names the same org.
    let mut form = cluster_form(user_token);
    form.push(("owning_org_id", "a1b2c3d4e5f6a7b8c9d0e1f2"));
    assert_eq!(post_cluster(&ims, &form).await.status(), StatusCode::OK);
    // By user id: the token's own account.
    let mut form = cluster_form(user_token);
    form.push(("user_id", d::MEMBER_USER_ID));
    assert_eq!(post_cluster(&ims, &form).await.status(), StatusCode::OK);
    // v1 (legacy) does not know the grant.
    let mut form = cluster_form(user_token);
    form.push(("owning_org_id", d::ORG_ID));
    let response = http()
        .post(ims.url("/ims/token/v1"))
        .query(&[("client_id", d::WEB_CLIENT_ID)])
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "unsupported_grant_type").await;
}

#[tokio::test]
async fn cluster_exchange_refuses_bad_targets_tokens_and_clients() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid").await;
    let user_token = tokens["access_token"].as_str().unwrap();
    // Neither or both targets.
    let form = cluster_form(user_token);
    expect_error(post_cluster(&ims, &form).await, 400, "invalid_request").await;
    let mut form = cluster_form(user_token);
    form.push(("user_id", d::MEMBER_USER_ID));
    form.push(("owning_org_id", d::ORG_ID));
    expect_error(post_cluster(&ims, &form).await, 400, "invalid_request").await;
    // Another user's account; an org the user is not in.
    let mut form = cluster_form(user_token);
    form.push(("user_id", d::NON_MEMBER_USER_ID));
    expect_error(post_cluster(&ims, &form).await, 400, "invalid_grant").await;
    let outsider = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::NON_MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap();
    let mut form = cluster_form(&outsider);
    form.push(("owning_org_id", d::ORG_ID));
    expect_error(post_cluster(&ims, &form).await, 400, "invalid_grant").await;
    // Missing, forged, service user tokens.
    let service = s2s_token(&ims).await;
    for bad in [None, Some("a.b.c"), Some(service.as_str())] {
        let mut form = replace(&cluster_form(user_token), "user_token", bad);
        form.push(("owning_org_id", d::ORG_ID));
        let expected = if bad.is_none() {
            "invalid_request"
        } else {
            "invalid_grant"
        };
        expect_error(post_cluster(&ims, &form).await, 400, expected).await;
    }
    // Wider scope than the user token's.
    let mut form = replace(
        &cluster_form(user_token),
        "scope",
        Some("AdobeID,openid,email"),
    );
    form.push(("owning_org_id", d::ORG_ID));
    expect_error(post_cluster(&ims, &form).await, 400, "invalid_scope").await;
    // Wrong secret; a client without the grant.
    let mut form = replace(&cluster_form(user_token), "client_secret", Some("wrong"));
    form.push(("owning_org_id", d::ORG_ID));
    expect_error(post_cluster(&ims, &form).await, 401, "invalid_client").await;
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .query(&[("client_id", d::S2S_CLIENT_ID)])
        .form(&[
            ("grant_type", "cluster_at_exchange"),
            ("client_secret", d::S2S_CLIENT_SECRET),
            ("user_token", user_token),
            ("owning_org_id", d::ORG_ID),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn client_credentials_answers_carry_the_technical_account_as_user_id() {
    let ims = start().await;
    for path in ["/ims/token/v2", "/ims/token/v3"] {
        let body: Value = http()
            .post(ims.url(path))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", d::S2S_CLIENT_ID),
                ("client_secret", d::S2S_CLIENT_SECRET),
                ("scope", "openid,AdobeID"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["userId"], d::S2S_TECHNICAL_ACCOUNT_ID, "{path}");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["user_id"], body["userId"], "{path}");
    }
    // User grants carry no userId.
    let tokens = member_tokens(&ims, "AdobeID,openid").await;
    assert!(tokens.get("userId").is_none(), "{tokens}");
}
