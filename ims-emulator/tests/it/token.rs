use base64::Engine as _;
use ims_emulator::default_seed as d;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::Value;

use crate::support::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92IZBcZ3AWCVkNq4tJsr0G5rXBsw";

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

#[tokio::test]
async fn client_credentials_v3_urlencoded_in_seconds() {
    let ims = start().await;
    let token = s2s_token(&ims).await;
    let c = claims(&token);
    assert_eq!(c["type"], "access_token");
    assert_eq!(c["client_id"], d::S2S_CLIENT_ID);
    assert_eq!(c["user_id"], d::S2S_TECHNICAL_ACCOUNT_ID);
    assert_eq!(c["scope"], "openid,AdobeID,read_organizations");
    assert_eq!(c["as"], "ims-na1");
    assert_eq!(c["expires_in"], "86400000");
    assert!(c["created_at"].as_str().unwrap().parse::<u64>().unwrap() > 1_600_000_000_000);
    for absent in ["exp", "iat", "iss", "aud"] {
        assert!(c.get(absent).is_none(), "{absent} must not be present");
    }
    let h = header(&token);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["kid"], "ims_na1-key-at-1");
    assert_eq!(h["x5u"], "ims_na1-key-at-1.cer");
    assert_eq!(h["itt"], "at");
}

#[tokio::test]
async fn client_credentials_v2_multipart_with_org_and_space_scopes() {
    let ims = start().await;
    let form = Form::new()
        .text("grant_type", "client_credentials")
        .text("client_id", d::S2S_CLIENT_ID)
        .text("client_secret", d::S2S_CLIENT_SECRET)
        .text("org_id", d::ORG_ID)
        .text("scope", "openid AdobeID");
    let response = http()
        .post(ims.url("/ims/token/v2"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_399);
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "openid,AdobeID"
    );
}

#[tokio::test]
async fn client_credentials_in_query_and_basic_auth() {
    let ims = start().await;
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .query(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .basic_auth(d::S2S_CLIENT_ID, Some(d::S2S_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn client_credentials_errors() {
    let ims = start().await;
    let post = |form: Vec<(&'static str, &'static str)>, path: &'static str| {
        let url = ims.url(path);
        async move { http().post(url).form(&form).send().await.unwrap() }
    };
    let base = |secret: &'static str, scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", d::S2S_CLIENT_ID),
            ("client_secret", secret),
            ("scope", scope),
        ]
    };
    expect_error(
        post(base("wrong", "openid"), "/ims/token/v3").await,
        401,
        "invalid_client",
    )
    .await;
    expect_error(
        post(base(d::S2S_CLIENT_SECRET, ""), "/ims/token/v3").await,
        400,
        "invalid_scope",
    )
    .await;
    expect_error(
        post(base(d::S2S_CLIENT_SECRET, "openid,admin"), "/ims/token/v3").await,
        400,
        "invalid_scope",
    )
    .await;
    // Not available on the legacy endpoints.
    expect_error(
        post(base(d::S2S_CLIENT_SECRET, "openid"), "/ims/token/v1").await,
        400,
        "unsupported_grant_type",
    )
    .await;
    expect_error(
        post(base(d::S2S_CLIENT_SECRET, "openid"), "/ims/token").await,
        400,
        "unsupported_grant_type",
    )
    .await;
    let mut wrong_org = base(d::S2S_CLIENT_SECRET, "openid");
    wrong_org.push(("org_id", "FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg"));
    expect_error(
        post(wrong_org, "/ims/token/v3").await,
        400,
        "invalid_request",
    )
    .await;
    let unknown = vec![
        ("grant_type", "client_credentials"),
        ("client_id", "nobody"),
        ("client_secret", "x"),
        ("scope", "openid"),
    ];
    expect_error(post(unknown, "/ims/token/v3").await, 400, "invalid_client").await;
    // The web client may not use client credentials.
    let web = vec![
        ("grant_type", "client_credentials"),
        ("client_id", d::WEB_CLIENT_ID),
        ("client_secret", d::WEB_CLIENT_SECRET),
        ("scope", "openid"),
    ];
    expect_error(post(web, "/ims/token/v3").await, 400, "unauthorized_client").await;
    expect_error(
        post(vec![("client_id", d::S2S_CLIENT_ID)], "/ims/token/v3").await,
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post(vec![("grant_type", "password")], "/ims/token/v3").await,
        400,
        "unsupported_grant_type",
    )
    .await;
}

#[tokio::test]
async fn malformed_bodies_get_ims_errors() {
    let ims = start().await;
    let big = "a".repeat(70 * 1024);
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={big}"))
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "request_too_large").await;
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    expect_error(response, 415, "invalid_request").await;
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nnot a part")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http().get(ims.url("/ims/token/v3")).send().await.unwrap();
    expect_error(response, 405, "method_not_allowed").await;
    let response = http().get(ims.url("/ims/nothing")).send().await.unwrap();
    expect_error(response, 404, "not_found").await;
}

#[tokio::test]
async fn authorization_code_v1_is_in_milliseconds_with_profile_and_refresh() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[]).await;
    assert_eq!(query_param(&signed_in.redirect, "state").unwrap(), "st-123");
    let code = signed_in.code();
    let c = claims(&code);
    assert_eq!(c["type"], "authorization_code");
    assert_eq!(header(&code)["itt"], "ac");
    let response = exchange_code(&ims, "/ims/token/v1", &code, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_399_985);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["sub"], d::MEMBER_USER_ID);
    assert_eq!(body["email"], d::MEMBER_EMAIL);
    assert_eq!(body["given_name"], "Mia");
    assert_eq!(body["family_name"], "Member");
    assert_eq!(body["name"], "Mia Member");
    assert_eq!(body["email_verified"], "true");
    let refresh = body["refresh_token"].as_str().unwrap();
    let rc = claims(refresh);
    assert_eq!(rc["type"], "refresh_token");
    assert_eq!(rc["expires_in"], (14u64 * 24 * 3600 * 1000).to_string());
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["user_id"], d::MEMBER_USER_ID);
    assert_eq!(access["client_id"], d::WEB_CLIENT_ID);
    assert_eq!(access["scope"], "AdobeID,openid,email,profile,org.read");
    assert_eq!(access["rtid"], rc["id"]);
}

#[tokio::test]
async fn unversioned_token_endpoint_is_in_milliseconds() {
    let ims = start().await;
    let code = sign_in(&ims, &[]).await.code();
    let body: Value = exchange_code(&ims, "/ims/token", &code, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 86_399_985);
    let code = sign_in(&ims, &[]).await.code();
    let body: Value = exchange_code(&ims, "/ims/token/v2", &code, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 86_399, "v2 is in seconds");
}

#[tokio::test]
async fn authorization_code_v3_seconds_id_token_and_offline_access() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[("nonce", "n-42")]).await;
    let response = exchange_code(
        &ims,
        "/ims/token/v3",
        &signed_in.code(),
        &[("redirect_uri", "http://127.0.0.1:5555/callback")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_399);
    assert!(
        body.get("refresh_token").is_none(),
        "v3 gives refresh tokens only with offline_access"
    );
    assert!(body.get("email").is_none(), "v3 has no profile fields");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], format!("{}/ims", ims.base()));
    assert_eq!(id["aud"], d::WEB_CLIENT_ID);
    assert_eq!(id["sub"], d::MEMBER_USER_ID);
    assert_eq!(id["nonce"], "n-42");
    let exp = id["exp"].as_u64().unwrap();
    let iat = id["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, 86_400);
    assert!(iat < 10_000_000_000, "seconds, not ms");

    let signed_in = sign_in(&ims, &[("scope", "AdobeID,offline_access")]).await;
    let body: Value = exchange_code(&ims, "/ims/token/v3", &signed_in.code(), &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(body["refresh_token"].is_string());
    assert!(body.get("id_token").is_none(), "no openid, no id_token");
}

#[tokio::test]
async fn code_is_single_use_and_replay_revokes() {
    let ims = start().await;
    let code = sign_in(&ims, &[]).await.code();
    assert_eq!(
        validate(&ims, &code, "authorization_code").await["valid"],
        true
    );
    let response = exchange_code(&ims, "/ims/token/v1", &code, &[]).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let first: Value = response.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);
    assert_eq!(
        validate(&ims, &code, "authorization_code").await["valid"],
        false,
        "a used code is no longer valid"
    );
    let again = exchange_code(&ims, "/ims/token/v1", &code, &[]).await;
    expect_error(again, 400, "invalid_grant").await;
    assert_eq!(validate(&ims, access, "access_token").await["valid"], false);
}

#[tokio::test]
async fn code_errors() {
    let ims = start().await;
    let code = sign_in(&ims, &[]).await.code();
    let mismatch = exchange_code(
        &ims,
        "/ims/token/v3",
        &code,
        &[("redirect_uri", "http://127.0.0.1:5555/other")],
    )
    .await;
    expect_error(mismatch, 400, "invalid_grant").await;
    expect_error(
        exchange_code(&ims, "/ims/token/v3", "garbage", &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    // An access token is not a code.
    let token = s2s_token(&ims).await;
    expect_error(
        exchange_code(&ims, "/ims/token/v3", &token, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    // Code of another client.
    let code = sign_in(&ims, &[]).await.code();
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", d::PUBLIC_CLIENT_ID),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_grant").await;
}

#[tokio::test]
async fn pkce_s256_right_and_wrong_verifier() {
    let ims = start().await;
    let challenge = s256(VERIFIER);
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = sign_in(&ims, &pkce).await.code();
    let ok = exchange_code(&ims, "/ims/token/v3", &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(ok.status(), StatusCode::OK);

    let code = sign_in(&ims, &pkce).await.code();
    let wrong = exchange_code(
        &ims,
        "/ims/token/v3",
        &code,
        &[("code_verifier", "x".repeat(43).as_str())],
    )
    .await;
    expect_error(wrong, 400, "invalid_grant").await;

    let code = sign_in(&ims, &pkce).await.code();
    let missing = exchange_code(&ims, "/ims/token/v3", &code, &[]).await;
    expect_error(missing, 400, "invalid_grant").await;
}

#[tokio::test]
async fn pkce_plain_and_public_client() {
    let ims = start().await;
    let plain = "p".repeat(50);
    let query = [
        ("client_id", d::PUBLIC_CLIENT_ID),
        ("redirect_uri", "http://localhost:7000/cb"),
        ("scope", "AdobeID,offline_access"),
        ("code_challenge", plain.as_str()),
        ("code_challenge_method", "plain"),
    ];
    let code = sign_in_as(&ims, &query, d::MEMBER_EMAIL, d::MEMBER_PASSWORD)
        .await
        .code();
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", d::PUBLIC_CLIENT_ID),
            ("code", code.as_str()),
            ("code_verifier", plain.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_string());

    let code = sign_in_as(&ims, &query, d::MEMBER_EMAIL, d::MEMBER_PASSWORD)
        .await
        .code();
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", d::PUBLIC_CLIENT_ID),
            ("code", code.as_str()),
            ("code_verifier", "q".repeat(50).as_str()),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_grant").await;

    // A public client without PKCE is refused at the authorize step.
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&[
            ("client_id", d::PUBLIC_CLIENT_ID),
            ("redirect_uri", "http://localhost:7000/cb"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let loc = location(response.headers());
    assert_eq!(query_param(&loc, "error").unwrap(), "invalid_request");
    assert_eq!(query_param(&loc, "state").unwrap(), "s");
}

#[tokio::test]
async fn refresh_token_grant() {
    let ims = start().await;
    let code = sign_in(&ims, &[]).await.code();
    let body: Value = exchange_code(&ims, "/ims/token/v1", &code, &[])
        .await
        .json()
        .await
        .unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let form = Form::new()
        .text("grant_type", "refresh_token")
        .text("client_id", d::WEB_CLIENT_ID)
        .text("client_secret", d::WEB_CLIENT_SECRET)
        .text("refresh_token", refresh.to_owned());
    let response = http()
        .post(ims.url("/ims/token/v1"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(refreshed["expires_in"], 86_399_985);
    assert_ne!(refreshed["access_token"], body["access_token"]);
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["rtid"],
        claims(refresh)["id"]
    );

    // Narrowing scope is fine, widening is not.
    let narrow = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
            ("refresh_token", refresh),
            ("scope", "AdobeID"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(narrow.status(), StatusCode::OK);
    let body: Value = narrow.json().await.unwrap();
    assert_eq!(body["expires_in"], 86_399);
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "AdobeID"
    );
    let wide = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
            ("refresh_token", refresh),
            ("scope", "AdobeID,offline_access"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(wide, 400, "invalid_scope").await;
    // An access token is not a refresh token.
    let wrong = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
            ("refresh_token", refreshed["access_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    expect_error(wrong, 400, "invalid_grant").await;
}
