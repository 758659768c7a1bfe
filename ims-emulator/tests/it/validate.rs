use ims_emulator::{MintTokenRequest, default_seed as d};
use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn validate_in_every_encoding() {
    let ims = start().await;
    let token = s2s_token(&ims).await;
    let expected_expiry = {
        let c = claims(&token);
        c["created_at"].as_str().unwrap().parse::<u64>().unwrap()
            + c["expires_in"].as_str().unwrap().parse::<u64>().unwrap()
    };
    // urlencoded
    let body = validate(&ims, &token, "access_token").await;
    assert_eq!(body["valid"], true);
    assert_eq!(body["expires_at"], expected_expiry);
    assert_eq!(body["token"]["user_id"], d::S2S_TECHNICAL_ACCOUNT_ID);
    // multipart + Bearer (the JS client)
    let form = Form::new()
        .text("type", "access_token")
        .text("client_id", d::S2S_CLIENT_ID);
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["valid"], true);
    // GET with query (older clients), client id in the X-IMS-ClientId header (Go client)
    let response = http()
        .get(ims.url("/ims/validate_token/v1"))
        .query(&[("type", "access_token"), ("token", token.as_str())])
        .header("X-IMS-ClientId", d::S2S_CLIENT_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["valid"], true);
    // Wrong type.
    let body = validate(&ims, &token, "refresh_token").await;
    assert_eq!(body["valid"], false);
    // Garbage and forged tokens.
    assert_eq!(
        validate(&ims, "garbage", "access_token").await["valid"],
        false
    );
    // Same kid, signed by another key.
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    forged_header.kid = Some("ims_na1-key-at-1".into());
    let other =
        jsonwebtoken::EncodingKey::from_rsa_pem(d::jwt_private_key_pem().as_bytes()).unwrap();
    let forged = jsonwebtoken::encode(&forged_header, &claims(&token), &other).unwrap();
    let body = validate(&ims, &forged, "access_token").await;
    assert_eq!(body["valid"], false);
    assert_eq!(body["reason"], "bad_signature");
}

/// IMS's published contract does not say what `validate_token` answers when
/// the asked client is not the token's; the emulator answers `valid: false`,
/// so that a host validating a token for its own client sees the mismatch
/// in every test.
#[tokio::test]
async fn a_token_is_valid_only_for_the_client_it_was_issued_to() {
    let ims = start().await;
    let cli = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::PUBLIC_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap();
    let own = validate_for(&ims, &cli, "access_token", d::PUBLIC_CLIENT_ID).await;
    assert_eq!(own["valid"], true, "{own}");
    for other in [d::WEB_CLIENT_ID, d::S2S_CLIENT_ID, d::JWT_CLIENT_ID] {
        let body = validate_for(&ims, &cli, "access_token", other).await;
        assert_eq!(body["valid"], false, "asked for {other}: {body}");
        assert_eq!(body["reason"], "invalid_client_id", "{body}");
        assert!(body.get("token").is_none(), "no claims for another client");
    }
    // Through the header and the Bearer too.
    let response = http()
        .get(ims.url("/ims/validate_token/v1"))
        .query(&[("type", "access_token"), ("token", cli.as_str())])
        .header("X-IMS-ClientId", d::WEB_CLIENT_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["valid"], false);
    let s2s = s2s_token(&ims).await;
    let body = validate_for(&ims, &s2s, "access_token", d::WEB_CLIENT_ID).await;
    assert_eq!(body["valid"], false, "{body}");
}

#[tokio::test]
async fn validate_errors() {
    let ims = start().await;
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .form(&[("type", "access_token"), ("client_id", d::WEB_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .form(&[("type", "access_token"), ("token", "x")])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .form(&[
            ("type", "id_card"),
            ("token", "x"),
            ("client_id", d::WEB_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .form(&[("token", "x"), ("client_id", "nobody")])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_client").await;
}

#[tokio::test]
async fn expired_tokens_fail_everywhere() {
    let ims = start().await;
    let expired = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .scope("AdobeID,openid")
                .created_at_ms(now_ms() - 2 * 86_400_000)
                .expires_in_ms(86_400_000),
        )
        .unwrap();
    let body = validate(&ims, &expired, "access_token").await;
    assert_eq!(body["valid"], false);
    assert_eq!(body["reason"], "token_expired");
    for path in [
        "/ims/profile/v1",
        "/ims/userinfo/v2",
        "/ims/organizations/v5",
        "/ims/organizations/v6",
    ] {
        let response = http()
            .get(ims.url(path))
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap();
        expect_error(response, 401, "invalid_token").await;
    }
}

async fn invalidate(
    ims: &ims_emulator::RunningEmulator,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http()
        .post(ims.url("/ims/invalidate_token/v2"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn invalidated_tokens_fail() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = invalidate(
        &ims,
        &[
            ("token_type", "access_token"),
            ("token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().is_empty());
    let body = validate(&ims, access, "access_token").await;
    assert_eq!(body["valid"], false);
    assert_eq!(body["reason"], "token_revoked");
    let response = http()
        .get(ims.url("/ims/profile/v1"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
    // Invalidating again is fine.
    let again = invalidate(
        &ims,
        &[
            ("token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn invalidate_errors() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID").await;
    let access = tokens["access_token"].as_str().unwrap();
    let bad_secret = invalidate(
        &ims,
        &[
            ("token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", "x"),
        ],
    )
    .await;
    expect_error(bad_secret, 401, "invalid_client").await;
    let foreign = invalidate(
        &ims,
        &[
            ("token", access),
            ("client_id", d::S2S_CLIENT_ID),
            ("client_secret", d::S2S_CLIENT_SECRET),
        ],
    )
    .await;
    expect_error(foreign, 400, "invalid_token").await;
    let garbage = invalidate(
        &ims,
        &[
            ("token", "garbage"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ],
    )
    .await;
    expect_error(garbage, 400, "invalid_token").await;
    let missing = invalidate(
        &ims,
        &[
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ],
    )
    .await;
    expect_error(missing, 400, "invalid_request").await;
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);
}

#[tokio::test]
async fn cascading_invalidation_of_a_refresh_token() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    // Without cascading, only the refresh token dies.
    let form = Form::new()
        .text("token_type", "refresh_token")
        .text("token", refresh.to_owned())
        .text("client_id", d::WEB_CLIENT_ID)
        .text("client_secret", d::WEB_CLIENT_SECRET);
    let response = http()
        .post(ims.url("/ims/invalidate_token/v2"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        validate(&ims, refresh, "refresh_token").await["valid"],
        false
    );
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);

    // With cascading=all, the access tokens made from it die too.
    let tokens = member_tokens(&ims, "AdobeID,offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed: Value = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_access = refreshed["access_token"].as_str().unwrap();
    let response = invalidate(
        &ims,
        &[
            ("token_type", "refresh_token"),
            ("token", refresh),
            ("cascading", "all"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    for t in [access, second_access] {
        assert_eq!(validate(&ims, t, "access_token").await["valid"], false);
    }
    // The refresh token no longer refreshes.
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_grant").await;
}

#[tokio::test]
async fn revoke_endpoint() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let response = http()
        .post(ims.url("/ims/revoke"))
        .basic_auth(d::WEB_CLIENT_ID, Some(d::WEB_CLIENT_SECRET))
        .form(&[("token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().is_empty());
    assert_eq!(
        validate(&ims, refresh, "refresh_token").await["valid"],
        false
    );
    assert_eq!(
        validate(&ims, access, "access_token").await["valid"],
        false,
        "revoking a refresh token takes its access tokens"
    );
    // Unknown tokens: 200 (RFC 7009). Bad client: 401.
    let response = http()
        .post(ims.url("/ims/revoke"))
        .form(&[
            ("token", "garbage"),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http()
        .post(ims.url("/ims/revoke"))
        .form(&[
            ("token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", "bad"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn back_channel_logout() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = http()
        .post(ims.url("/ims/logout/v1"))
        .form(&[
            ("access_token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", "bad"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_client").await;
    let response = http()
        .post(ims.url("/ims/logout/v1"))
        .form(&[
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http()
        .post(ims.url("/ims/logout/v1"))
        .form(&[
            ("access_token", access),
            ("client_id", d::WEB_CLIENT_ID),
            ("client_secret", d::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(validate(&ims, access, "access_token").await["valid"], false);
    let response = http()
        .get(ims.url("/ims/organizations/v6"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn front_channel_logout_ends_the_session() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[]).await;
    let body: Value = exchange_code(&ims, "/ims/token/v1", &signed_in.code(), &[])
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    // Unregistered redirect → error page, nothing happens.
    let response = http()
        .get(ims.url("/ims/logout/v1"))
        .query(&[
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "https://evil.example/"),
            ("access_token", access),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);

    let response = http()
        .get(ims.url("/ims/logout/v1"))
        .query(&[
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:5555/bye"),
            ("access_token", access),
        ])
        .header("cookie", &signed_in.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "http://127.0.0.1:5555/bye");
    assert_eq!(validate(&ims, access, "access_token").await["valid"], false);
    assert_eq!(
        validate(&ims, refresh, "refresh_token").await["valid"],
        false,
        "the whole session is logged out"
    );
    // The SSO session is gone: prompt=none now needs a login.
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&[
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:5555/callback"),
            ("prompt", "none"),
        ])
        .header("cookie", &signed_in.cookie)
        .send()
        .await
        .unwrap();
    let loc = location(response.headers());
    assert_eq!(query_param(&loc, "error").unwrap(), "login_required");
}
