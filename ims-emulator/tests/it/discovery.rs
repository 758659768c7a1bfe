use ims_emulator::default_seed as d;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn openid_configuration_points_at_the_emulator() {
    let ims = start().await;
    let response = http()
        .get(ims.url("/ims/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let c: Value = response.json().await.unwrap();
    assert_eq!(c["issuer"], ims.base());
    assert_eq!(c["authorization_endpoint"], ims.url("/ims/authorize/v2"));
    assert_eq!(c["token_endpoint"], ims.url("/ims/token/v3"));
    assert_eq!(c["userinfo_endpoint"], ims.url("/ims/userinfo/v2"));
    assert_eq!(c["revocation_endpoint"], ims.url("/ims/revoke"));
    assert_eq!(c["jwks_uri"], ims.url("/ims/keys"));
    assert_eq!(c["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        c["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Verifies an IMS token the way Adobe's services do: by `kid` against the JWKS.
pub(crate) async fn verify_with_jwks(ims: &ims_emulator::RunningEmulator, token: &str) -> Value {
    let jwks: JwkSet = http()
        .get(ims.url("/ims/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn jwks_has_two_keys_and_verifies_tokens() {
    let ims = start().await;
    let jwks: Value = http()
        .get(ims.url("/ims/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["e"], "AQAB");
        assert!(k["kid"].is_string() && k["n"].is_string());
    }
    let token = s2s_token(&ims).await;
    let claims = verify_with_jwks(&ims, &token).await;
    assert_eq!(claims["client_id"], d::S2S_CLIENT_ID);
}

#[tokio::test]
async fn certificates_by_x5u_name() {
    let ims = start().await;
    let token = s2s_token(&ims).await;
    let x5u = header(&token)["x5u"].as_str().unwrap().to_owned();
    assert!(!x5u.contains('/'));
    for dir in ["prod", "nonprod"] {
        let response = http()
            .get(ims.url(&format!("/keys/{dir}/{x5u}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let pem = response.text().await.unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        // The PEM reader accepts certificates: verify the token with it, as Magento does.
        let key = DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    }
    let response = http()
        .get(ims.url("/keys/prod/unknown.cer"))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "not_found").await;
    let response = http()
        .get(ims.url("/keys/prod/..%2F..%2Fetc%2Fpasswd"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

#[tokio::test]
async fn every_response_has_a_debug_id() {
    let ims = start().await;
    for path in ["/ims/keys", "/ims/nothing", "/__emulator/stats"] {
        let response = http().get(ims.url(path)).send().await.unwrap();
        assert!(response.headers().contains_key("x-debug-id"), "{path}");
    }
}

#[tokio::test]
async fn start_page_links_to_sign_in() {
    let ims = start().await;
    let html = http()
        .get(ims.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The page escapes `/` too (html-escape's encode_safe): read it as a
    // browser does.
    let html = html_escape::decode_html_entities(&html);
    assert!(html.contains("/ims/authorize/v2?client_id=emulator-web"));
}
