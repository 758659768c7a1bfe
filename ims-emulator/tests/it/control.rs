use std::time::{Duration, Instant};

use ims_emulator::{Emulator, FaultSpec, MintTokenRequest, Seed, default_seed as d};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::discovery::verify_with_jwks;
use crate::support::*;

#[tokio::test]
async fn seed_is_served_with_secrets() {
    let ims = start().await;
    let seed: Value = http()
        .get(ims.url("/__emulator/seed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["orgs", "users", "clients"] {
        assert!(seed[key].is_array(), "{key}");
    }
    let text = seed.to_string();
    assert!(text.contains(d::WEB_CLIENT_SECRET));
    assert!(text.contains(d::MEMBER_PASSWORD));
    assert!(text.contains("BEGIN PRIVATE KEY"));
    let parsed: Seed = serde_json::from_value(seed).unwrap();
    assert_eq!(&parsed, ims.seed());
}

#[tokio::test]
async fn stats_count_ims_requests_only() {
    let ims = start().await;
    for _ in 0..3 {
        validate(&ims, "x", "access_token").await;
    }
    http().get(ims.url("/ims/keys")).send().await.unwrap();
    http()
        .get(ims.url("/__emulator/seed"))
        .send()
        .await
        .unwrap();
    let stats: Value = http()
        .get(ims.url("/__emulator/stats"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["POST /ims/validate_token/v1"], 3);
    assert_eq!(stats["requests"]["GET /ims/keys"], 1);
    assert_eq!(stats["total"], 4);
    assert_eq!(ims.stats().count("POST /ims/validate_token/v1"), 3);
    let response = http()
        .delete(ims.url("/__emulator/stats"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(ims.stats().total, 0);
    s2s_token(&ims).await;
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    ims.reset_stats();
    assert_eq!(ims.stats().total, 0);
}

#[tokio::test]
async fn mint_tokens_over_http() {
    let ims = start().await;
    let response = http()
        .post(ims.url("/__emulator/tokens"))
        .json(&json!({"email": d::MEMBER_EMAIL, "client_id": d::WEB_CLIENT_ID, "scope": "AdobeID,openid", "expires_in_ms": 60000}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["user_id"], d::MEMBER_USER_ID);
    assert_eq!(c["expires_in"], "60000");
    assert_eq!(validate(&ims, token, "access_token").await["valid"], true);

    let expired = http()
        .post(ims.url("/__emulator/tokens"))
        .json(
            &json!({"user_id": d::MEMBER_USER_ID, "client_id": d::WEB_CLIENT_ID, "scope": "AdobeID",
                      "expires_in_ms": 1000, "created_at_ms": 1_000_000_000_000u64}),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let body = validate(
        &ims,
        expired["access_token"].as_str().unwrap(),
        "access_token",
    )
    .await;
    assert_eq!(body["valid"], false);

    for bad in [
        json!({"email": "nobody@example.com", "client_id": d::WEB_CLIENT_ID}),
        json!({"client_id": d::WEB_CLIENT_ID}),
        json!({"email": d::MEMBER_EMAIL}),
        json!({"email": d::MEMBER_EMAIL, "client_id": d::WEB_CLIENT_ID, "surprise": 1}),
    ] {
        let response = http()
            .post(ims.url("/__emulator/tokens"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_request").await;
    }
    let response = http()
        .post(ims.url("/__emulator/tokens"))
        .json(&json!({"email": d::MEMBER_EMAIL, "client_id": "nobody"}))
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_client").await;
    let response = http()
        .post(ims.url("/__emulator/tokens"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn fault_status_retry_after_and_count() {
    let ims = start().await;
    let response = http()
        .post(ims.url("/__emulator/faults"))
        .json(&json!({"path_prefix": "/ims/token", "status": 503, "retry_after": 7, "count": 2}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    for _ in 0..2 {
        let response = http()
            .post(ims.url("/ims/token/v3"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["retry-after"], "7");
        expect_error(response, 503, "temporarily_unavailable").await;
    }
    s2s_token(&ims).await; // the third one passes
    // Faulted requests are counted too.
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 3);

    ims.inject_fault(FaultSpec::new("/ims/validate_token").status(429))
        .unwrap();
    for _ in 0..3 {
        let response = http()
            .get(ims.url("/ims/validate_token/v1"))
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("retry-after"));
        expect_error(response, 429, "too_many_requests").await;
    }
    let response = http()
        .delete(ims.url("/__emulator/faults"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(validate(&ims, "x", "access_token").await["valid"], false);
    // Other paths were never affected; control requests never are.
    let response = http()
        .post(ims.url("/__emulator/faults"))
        .json(&json!({"path_prefix": "/", "status": 500}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(
        http()
            .get(ims.url("/__emulator/stats"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    expect_error(
        http().get(ims.url("/ims/keys")).send().await.unwrap(),
        500,
        "server_error",
    )
    .await;
    ims.clear_faults();
    assert_eq!(
        http()
            .get(ims.url("/ims/keys"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn fault_latency_and_drop() {
    let ims = start().await;
    ims.inject_fault(FaultSpec::new("/ims/keys").latency_ms(300).count(1))
        .unwrap();
    let started = Instant::now();
    let response = http().get(ims.url("/ims/keys")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    http().get(ims.url("/ims/keys")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));

    ims.inject_fault(FaultSpec::new("/ims/token").drop_connection().count(1))
        .unwrap();
    let result = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    let error = result.expect_err("the connection is dropped without a response");
    assert!(!error.is_status());
    s2s_token(&ims).await;
}

#[tokio::test]
async fn bad_faults_are_refused() {
    let ims = start().await;
    for bad in [
        json!({"path_prefix": "ims", "status": 500}),
        json!({"path_prefix": "/ims", "status": 200}),
        json!({"path_prefix": "/ims"}),
        json!({"path_prefix": "/ims", "status": 500, "count": 0}),
        json!({"status": 500}),
    ] {
        let response = http()
            .post(ims.url("/__emulator/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn key_rotation() {
    let ims = start().await;
    let old = s2s_token(&ims).await;
    assert_eq!(header(&old)["kid"], "ims_na1-key-at-1");
    let response = http()
        .post(ims.url("/__emulator/keys/rotate"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["kid"], "ims_na1-key-at-3");
    let new = s2s_token(&ims).await;
    assert_eq!(header(&new)["kid"], "ims_na1-key-at-3");
    assert_eq!(header(&new)["x5u"], "ims_na1-key-at-3.cer");
    // Both verify through the JWKS; the old one stays valid.
    verify_with_jwks(&ims, &old).await;
    verify_with_jwks(&ims, &new).await;
    assert_eq!(validate(&ims, &old, "access_token").await["valid"], true);
    let response = http()
        .get(ims.url("/keys/prod/ims_na1-key-at-3.cer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Rotating again withdraws key 1.
    let kid = ims.rotate_keys().unwrap();
    assert_eq!(kid, "ims_na1-key-at-4");
    assert_eq!(
        ims.control().published_kids(),
        vec!["ims_na1-key-at-3", "ims_na1-key-at-4"]
    );
    let body = validate(&ims, &old, "access_token").await;
    assert_eq!(body["valid"], false);
    assert_eq!(body["reason"], "bad_signature");
    assert_eq!(validate(&ims, &new, "access_token").await["valid"], true);
}

#[tokio::test]
async fn no_control_hides_the_api_and_authority_is_configurable() {
    let ims = Emulator::builder()
        .control(false)
        .authority("ims-na1-stg1")
        .start()
        .await
        .unwrap();
    let response = http()
        .get(ims.url("/__emulator/seed"))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "not_found").await;
    let token = ims
        .mint_access_token(&MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::WEB_CLIENT_ID,
        ))
        .unwrap();
    assert_eq!(claims(&token)["as"], "ims-na1-stg1");
    assert_eq!(header(&token)["kid"], "ims_na1_stg1-key-at-1");
}

#[tokio::test]
async fn custom_seed_and_shutdown() {
    let mut seed = Seed::default_seed();
    seed.users[0].password = "changed".into();
    let json = serde_json::to_string(&seed).unwrap();
    let path = std::env::temp_dir().join(format!("ims-emulator-seed-{}.json", std::process::id()));
    std::fs::write(&path, json).unwrap();
    let loaded = Seed::from_json_file(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(Seed::from_json_str("{\"orgs\": [], \"extra\": 1}").is_err());
    let ims = Emulator::builder().seed(loaded).start().await.unwrap();
    let signed_in = sign_in_as(
        &ims,
        &[
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "http://localhost:1/cb"),
        ],
        d::MEMBER_EMAIL,
        "changed",
    )
    .await;
    assert!(query_param(&signed_in.redirect, "code").is_some());
    let url = ims.url("/ims/keys");
    ims.shutdown().await;
    assert!(http().get(url).send().await.is_err());

    // Dropping stops the server too.
    let ims = start().await;
    let url = ims.url("/ims/keys");
    drop(ims);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(reqwest::Client::new().get(url).send().await.is_err());
}

/// A cross-site page can send a "simple" POST (`text/plain`, a form, a
/// multipart form) to the emulator without a CORS preflight: the control
/// API must refuse every such body, and change nothing.
#[tokio::test]
async fn control_refuses_bodies_that_are_not_json() {
    let ims = start().await;
    validate(&ims, "x", "access_token").await;
    let kid = ims.control().current_kid();
    let token_body = json!({"email": d::MEMBER_EMAIL, "client_id": d::WEB_CLIENT_ID}).to_string();
    let fault_body = json!({"path_prefix": "/", "status": 500}).to_string();
    let content_types = [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=b"),
        Some("application/jsonx"),
        Some("text/json"),
        // What a page may send without a preflight (the browser reads the
        // first as text/plain), and lists the server must not read as JSON.
        Some("text/plain; application/json"),
        Some("text/plain;a=application/json"),
        Some("application/json, text/plain"),
        Some("text/plain, application/json"),
        Some("application/json\t,text/plain"),
        None,
    ];
    let routes: [(reqwest::Method, &str, &str); 5] = [
        (reqwest::Method::POST, "/__emulator/tokens", &token_body),
        (reqwest::Method::POST, "/__emulator/faults", &fault_body),
        (reqwest::Method::POST, "/__emulator/keys/rotate", ""),
        (reqwest::Method::DELETE, "/__emulator/faults", ""),
        (reqwest::Method::DELETE, "/__emulator/stats", ""),
    ];
    for (method, path, body) in &routes {
        for content_type in content_types {
            let mut request = http()
                .request(method.clone(), ims.url(path))
                .body(body.to_string());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} {path} with {content_type:?}"
            );
            let text = response.text().await.unwrap();
            assert!(!text.contains("access_token"), "{text}");
        }
    }
    // Nothing changed: no fault, the same signing key, the counters kept.
    assert_eq!(
        http()
            .get(ims.url("/ims/keys"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(ims.control().current_kid(), kid);
    assert_eq!(ims.stats().count("POST /ims/validate_token/v1"), 1);
    // The same requests as JSON still work.
    let response = http()
        .post(ims.url("/__emulator/tokens"))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(token_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A page can also reach the emulator as JSON: through DNS rebinding (its
/// own origin then resolves to 127.0.0.1, so the request is same-origin and
/// may say `application/json`). Browsers send `Origin` on every POST and
/// DELETE; test tools do not: a state-changing control request that carries
/// one is refused, and changes nothing.
#[tokio::test]
async fn control_refuses_requests_from_browser_pages() {
    let ims = start().await;
    let kid = ims.control().current_kid();
    let token_body = json!({"email": d::MEMBER_EMAIL, "client_id": d::WEB_CLIENT_ID}).to_string();
    let fault_body = json!({"path_prefix": "/", "status": 500}).to_string();
    for origin in ["http://rebound.example:8080", "null", &ims.url("")] {
        for (method, path, body) in [
            (
                reqwest::Method::POST,
                "/__emulator/tokens",
                token_body.as_str(),
            ),
            (
                reqwest::Method::POST,
                "/__emulator/faults",
                fault_body.as_str(),
            ),
            (reqwest::Method::POST, "/__emulator/keys/rotate", ""),
            (reqwest::Method::DELETE, "/__emulator/stats", ""),
        ] {
            let response = http()
                .request(method.clone(), ims.url(path))
                .header("content-type", "application/json")
                .header("origin", origin)
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} from {origin}"
            );
            assert!(!response.text().await.unwrap().contains("access_token"));
        }
    }
    assert_eq!(
        http()
            .get(ims.url("/ims/keys"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(ims.control().current_kid(), kid);
}
