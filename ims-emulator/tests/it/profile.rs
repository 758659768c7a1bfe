use ims_emulator::{MintTokenRequest, default_seed as d};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn get_json(url: String, token: &str) -> Value {
    let response = http().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    response.json().await.unwrap()
}

fn outsider_token(ims: &ims_emulator::RunningEmulator) -> String {
    ims.mint_access_token(
        &MintTokenRequest::for_email(d::NON_MEMBER_EMAIL, d::WEB_CLIENT_ID).scope("AdobeID,openid"),
    )
    .unwrap()
}

#[tokio::test]
async fn profile_and_userinfo() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid,email,profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let profile = get_json(ims.url("/ims/profile/v1?client_id=emulator-web"), access).await;
    assert_eq!(profile["userId"], d::MEMBER_USER_ID);
    assert_eq!(profile["email"], d::MEMBER_EMAIL);
    assert_eq!(profile["first_name"], "Mia");
    assert_eq!(profile["last_name"], "Member");
    assert_eq!(profile["displayName"], "Mia Member");
    assert_eq!(profile["emailVerified"], "true");
    assert_eq!(profile["countryCode"], "US");
    assert_eq!(profile["roles"][0]["organization"], d::ORG_ID);
    let info = get_json(ims.url("/ims/userinfo/v2"), access).await;
    assert_eq!(info["sub"], d::MEMBER_USER_ID);
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["given_name"], "Mia");
    assert_eq!(info["account_type"], "ent");
    assert_eq!(info["address"]["country"], "US");
    // A technical account has a profile but no userinfo.
    let s2s = s2s_token(&ims).await;
    let profile = get_json(ims.url("/ims/profile/v1"), &s2s).await;
    assert_eq!(profile["userId"], d::S2S_TECHNICAL_ACCOUNT_ID);
    let response = http()
        .get(ims.url("/ims/userinfo/v2"))
        .bearer_auth(&s2s)
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn organizations_v5_and_v6() {
    let ims = start().await;
    let member = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID).scope("AdobeID"),
        )
        .unwrap();
    for path in ["/ims/organizations/v5", "/ims/organizations/v6"] {
        let orgs = get_json(ims.url(path), &member).await;
        assert_eq!(orgs.as_array().unwrap().len(), 1);
        assert_eq!(orgs[0]["orgName"], d::ORG_NAME);
        assert_eq!(orgs[0]["orgRef"]["ident"], "A1B2C3D4E5F6A7B8C9D0E1F2");
        assert_eq!(orgs[0]["orgRef"]["authSrc"], "AdobeOrg");
        assert!(orgs[0]["groups"].is_array());
        let none = get_json(ims.url(path), &outsider_token(&ims)).await;
        assert_eq!(none, Value::Array(vec![]));
    }
}

#[tokio::test]
async fn org_membership() {
    let ims = start().await;
    let member = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID).scope("AdobeID"),
        )
        .unwrap();
    let url = ims.url(&format!("/{}/membership", d::ORG_ID));
    let response = http().get(&url).bearer_auth(&member).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "true");
    let response = http()
        .get(&url)
        .bearer_auth(outsider_token(&ims))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "false");
    let other = ims.url("/FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg/membership");
    let response = http().get(other).bearer_auth(&member).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "false");
    let response = http().get(&url).send().await.unwrap();
    expect_error(response, 401, "invalid_token").await;
    let response = http()
        .get(ims.url("/%FF@AdobeOrg/membership"))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    let response = http()
        .get(ims.url("/notanorg/membership"))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "not_found").await;
}

#[tokio::test]
async fn bearer_errors() {
    let ims = start().await;
    for path in [
        "/ims/profile/v1",
        "/ims/userinfo/v2",
        "/ims/organizations/v5",
        "/ims/organizations/v6",
    ] {
        let response = http().get(ims.url(path)).send().await.unwrap();
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        expect_error(response, 401, "invalid_token").await;
        let response = http()
            .get(ims.url(path))
            .bearer_auth("garbage")
            .send()
            .await
            .unwrap();
        expect_error(response, 401, "invalid_token").await;
    }
    // A refresh token is not an access token.
    let tokens = member_tokens(&ims, "AdobeID,offline_access").await;
    let response = http()
        .get(ims.url("/ims/profile/v1"))
        .bearer_auth(tokens["refresh_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
}
