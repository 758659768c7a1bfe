//! Magento's API-functional cases for IMS tokens on the Web API, run for
//! real: `ims-emulator` as IMS, `ims-core` for verification and IMS calls,
//! `ims-store` (SQLite) for the record, and an axum app with the layer.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

mod real_stack;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use ims_api::{
    AccessToken, AnyToken, ClientCredentials, ClientId, ClientSecret, InvalidateRequest,
    TokenRevoker, WebApiTokenRepository,
};
use ims_emulator::{MintTokenRequest, default_seed as seed};
use real_stack::{PROFILE, VALIDATE, app, hash};
use tower::ServiceExt as _;

#[tokio::test]
async fn integration_disabled_gives_401() {
    let app = app(false).await;
    let token = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.ims.stats().total, 0);
}

#[tokio::test]
async fn a_valid_token_gives_200_and_a_row() {
    let app = app(true).await;
    let token = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&token).await, StatusCode::OK);
    let row = app
        .store
        .webapi_tokens()
        .find_by_hash(&hash(&token))
        .await
        .unwrap()
        .expect("the token is recorded");
    assert!(!row.is_invalidated());
    // Kept (encrypted) by default, so a revocation can log it out at IMS.
    assert_eq!(
        row.access_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some(token.clone())
    );
}

#[tokio::test]
async fn no_admin_with_that_email_gives_401() {
    let app = app(true).await;
    let token = app.mint(seed::NON_MEMBER_EMAIL);
    assert_eq!(app.get(&token).await, StatusCode::UNAUTHORIZED);
    assert!(
        app.store
            .webapi_tokens()
            .find_by_hash(&hash(&token))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_expired_token_gives_401_without_asking_ims() {
    let app = app(true).await;
    let day = 86_400_000u64;
    let now = u64::try_from(ims_api::to_unix_millis(time::OffsetDateTime::now_utc())).unwrap();
    let token = app
        .ims
        .mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .created_at_ms(now - 2 * day)
                .expires_in_ms(day),
        )
        .unwrap();
    assert_eq!(app.get(&token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls(VALIDATE), 0);
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_gives_401() {
    let app = app(true).await;
    let genuine = app.mint(seed::MEMBER_EMAIL);
    let claims = ims_core::decode_unverified(&genuine).unwrap();
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ims-core/tests/fixtures/test-other-private.pem"
    ))
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("ims_na1-key-at-999".into());
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    assert_eq!(app.get(&forged).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls(VALIDATE), 0);
}

#[tokio::test]
async fn known_tokens_are_revalidated_once_per_interval() {
    let app = app(true).await;
    let token = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&token).await, StatusCode::OK);
    assert_eq!((app.calls(VALIDATE), app.calls(PROFILE)), (1, 1));
    for _ in 0..5 {
        app.clock.advance(Duration::from_secs(100));
        assert_eq!(app.get(&token).await, StatusCode::OK);
    }
    assert_eq!(app.calls(VALIDATE), 1, "no remote call inside 600 s");
    app.clock.advance(Duration::from_secs(101));
    assert_eq!(app.get(&token).await, StatusCode::OK);
    assert_eq!(app.get(&token).await, StatusCode::OK);
    assert_eq!(app.calls(VALIDATE), 2, "exactly one after the interval");
    assert_eq!(app.calls(PROFILE), 1);
}

#[tokio::test]
async fn a_token_revoked_at_ims_gives_401_after_the_next_check() {
    let app = app(true).await;
    let token = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&token).await, StatusCode::OK);
    let web = ClientCredentials::new(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(seed::WEB_CLIENT_SECRET),
    );
    app.client
        .invalidate(&InvalidateRequest::new(
            web,
            AnyToken::Access(AccessToken::new(token.clone())),
        ))
        .await
        .unwrap();
    assert_eq!(app.get(&token).await, StatusCode::OK, "not checked yet");
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(app.get(&token).await, StatusCode::UNAUTHORIZED);
    let row = app
        .store
        .webapi_tokens()
        .find_by_hash(&hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_invalidated(), "the record keeps the invalidation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_requests_with_a_new_token_make_one_validation_and_one_profile_call()
 {
    let app = app(true).await;
    let token = app.mint(seed::MEMBER_EMAIL);
    let requests: Vec<_> = (0..500)
        .map(|_| {
            let router = app.router.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let request = Request::get("/rest/V1/me")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(app.calls(VALIDATE), 1);
    assert_eq!(app.calls(PROFILE), 1);
}
