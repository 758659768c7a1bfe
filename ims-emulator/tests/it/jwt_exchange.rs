use ims_emulator::{RunningEmulator, default_seed as d};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn now_s() -> u64 {
    now_ms() / 1000
}

fn good_claims(ims: &RunningEmulator) -> Value {
    json!({
        "exp": now_s() + 300,
        "iat": now_s(),
        "iss": d::ORG_ID,
        "sub": d::JWT_TECHNICAL_ACCOUNT_ID,
        "aud": format!("{}/c/{}", ims.base(), d::JWT_CLIENT_ID),
        format!("{}/s/ent_user_sdk", ims.base()): true,
    })
}

fn sign_with(claims: &Value, pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with(claims, d::jwt_private_key_pem())
}

async fn exchange(
    ims: &RunningEmulator,
    path: &str,
    client_id: &str,
    secret: &str,
    jwt: &str,
) -> reqwest::Response {
    http()
        .post(ims.url(path))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("jwt_token", jwt),
        ])
        .send()
        .await
        .unwrap()
}

async fn exchange_claims(ims: &RunningEmulator, claims: &Value) -> reqwest::Response {
    exchange(
        ims,
        "/ims/exchange/jwt",
        d::JWT_CLIENT_ID,
        d::JWT_CLIENT_SECRET,
        &sign(claims),
    )
    .await
}

#[tokio::test]
async fn exchange_succeeds_on_every_path_in_milliseconds() {
    let ims = start().await;
    for path in [
        "/ims/exchange/jwt",
        "/ims/exchange/jwt/",
        "/ims/exchange/v1/jwt",
    ] {
        let jwt = sign(&good_claims(&ims));
        let response = exchange(&ims, path, d::JWT_CLIENT_ID, d::JWT_CLIENT_SECRET, &jwt).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 86_399_999);
        assert!(body.get("refresh_token").is_none());
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(c["user_id"], d::JWT_TECHNICAL_ACCOUNT_ID);
        assert_eq!(c["client_id"], d::JWT_CLIENT_ID);
        assert_eq!(c["scope"], "ent_user_sdk");
    }
}

#[tokio::test]
async fn multipart_and_all_meta_scopes() {
    let ims = start().await;
    let mut c = good_claims(&ims);
    c[format!("{}/s/ent_dataservices_sdk", ims.base())] = json!(true);
    let form = reqwest::multipart::Form::new()
        .text("client_id", d::JWT_CLIENT_ID)
        .text("client_secret", d::JWT_CLIENT_SECRET)
        .text("jwt_token", sign(&c));
    let response = http()
        .post(ims.url("/ims/exchange/jwt"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let scope = claims(body["access_token"].as_str().unwrap())["scope"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(scope.contains("ent_user_sdk") && scope.contains("ent_dataservices_sdk"));
}

#[tokio::test]
async fn clock_skew_is_30_seconds() {
    let ims = start().await;
    let mut c = good_claims(&ims);
    c["exp"] = json!(now_s() - 10);
    assert_eq!(exchange_claims(&ims, &c).await.status(), StatusCode::OK);
    c["exp"] = json!(now_s() - 120);
    expect_error(exchange_claims(&ims, &c).await, 400, "invalid_token").await;
}

#[tokio::test]
async fn claim_errors() {
    let ims = start().await;
    let mut bad_aud = good_claims(&ims);
    bad_aud["aud"] = json!("https://ims-na1.adobelogin.com/c/emulator-jwt");
    expect_error(exchange_claims(&ims, &bad_aud).await, 400, "invalid_client").await;

    let mut bad_iss = good_claims(&ims);
    bad_iss["iss"] = json!("FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg");
    expect_error(exchange_claims(&ims, &bad_iss).await, 400, "invalid_token").await;

    let mut bad_sub = good_claims(&ims);
    bad_sub["sub"] = json!(d::S2S_TECHNICAL_ACCOUNT_ID);
    expect_error(exchange_claims(&ims, &bad_sub).await, 400, "invalid_token").await;

    let mut no_exp = good_claims(&ims);
    no_exp.as_object_mut().unwrap().remove("exp");
    expect_error(exchange_claims(&ims, &no_exp).await, 400, "invalid_token").await;

    let mut foreign_scope = good_claims(&ims);
    foreign_scope[format!("{}/s/ent_analytics_bulk_ingest_sdk", ims.base())] = json!(true);
    let body = expect_error(
        exchange_claims(&ims, &foreign_scope).await,
        400,
        "invalid_scope",
    )
    .await;
    assert_eq!(
        body["error_description"],
        "The metascopes in the JWT are not a subset of the metascopes in the binding."
    );

    let mut no_scope = good_claims(&ims);
    no_scope
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !k.contains("/s/"));
    expect_error(exchange_claims(&ims, &no_scope).await, 400, "invalid_scope").await;
}

#[tokio::test]
async fn signature_errors() {
    let ims = start().await;
    let other_key = include_str!("../../fixtures/signing-key-2.pem");
    let forged = sign_with(&good_claims(&ims), other_key);
    let response = exchange(
        &ims,
        "/ims/exchange/jwt",
        d::JWT_CLIENT_ID,
        d::JWT_CLIENT_SECRET,
        &forged,
    )
    .await;
    expect_error(response, 400, "invalid_signature").await;
    let response = exchange(
        &ims,
        "/ims/exchange/jwt",
        d::JWT_CLIENT_ID,
        d::JWT_CLIENT_SECRET,
        "not.a.jwt",
    )
    .await;
    expect_error(response, 400, "invalid_token").await;
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good_claims(&ims),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let response = exchange(
        &ims,
        "/ims/exchange/jwt",
        d::JWT_CLIENT_ID,
        d::JWT_CLIENT_SECRET,
        &hs,
    )
    .await;
    expect_error(response, 400, "invalid_token").await;
}

#[tokio::test]
async fn jti_replay_is_refused() {
    let ims = start().await;
    let mut c = good_claims(&ims);
    c["jti"] = json!("unique-1");
    assert_eq!(exchange_claims(&ims, &c).await.status(), StatusCode::OK);
    expect_error(exchange_claims(&ims, &c).await, 400, "invalid_jti").await;
    c["jti"] = json!("unique-2");
    assert_eq!(exchange_claims(&ims, &c).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn client_errors() {
    let ims = start().await;
    let jwt = sign(&good_claims(&ims));
    let response = exchange(&ims, "/ims/exchange/jwt", d::JWT_CLIENT_ID, "wrong", &jwt).await;
    expect_error(response, 401, "invalid_client").await;
    let response = exchange(&ims, "/ims/exchange/jwt", "nobody", "x", &jwt).await;
    expect_error(response, 400, "invalid_client").await;
    // A client that is not a JWT service account.
    let response = exchange(
        &ims,
        "/ims/exchange/jwt",
        d::S2S_CLIENT_ID,
        d::S2S_CLIENT_SECRET,
        &jwt,
    )
    .await;
    expect_error(response, 400, "invalid_client").await;
    let response = http()
        .post(ims.url("/ims/exchange/jwt"))
        .form(&[
            ("client_id", d::JWT_CLIENT_ID),
            ("client_secret", d::JWT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_token").await;
    let response = http()
        .post(ims.url("/ims/exchange/jwt"))
        .form(&[("client_id", d::JWT_CLIENT_ID), ("jwt_token", jwt.as_str())])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "bad_request").await;
}

#[tokio::test]
async fn exchanged_token_validates_and_reads_organizations() {
    let ims = start().await;
    let body: Value = exchange_claims(&ims, &good_claims(&ims))
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(validate(&ims, token, "access_token").await["valid"], true);
    let orgs: Value = http()
        .get(ims.url("/ims/organizations/v6"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orgs[0]["orgRef"]["ident"], "A1B2C3D4E5F6A7B8C9D0E1F2");
}
