//! The actix-web middleware and extractor.
#![cfg(feature = "actix")]
#![allow(clippy::unwrap_used)]

mod support;

use actix_web::{App, test, web};
use support::{Harness, T0};
use webapi_ims::WebApiConfig;
use webapi_ims::actix::{ImsAuth, TokenAdmin};

async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}

#[actix_web::test]
async fn accepts_refuses_and_leaves_other_routes_alone() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(1));
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/rest/V1")
                    .wrap(ImsAuth::new(h.auth.clone()))
                    .route("/me", web::get().to(me)),
            )
            .route("/health", web::get().to(|| async { "ok" })),
    )
    .await;

    let ok = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/rest/V1/me")
            .insert_header(("authorization", "Bearer tok"))
            .to_request(),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(test::read_body(ok).await, "admin 1");

    let refused = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/rest/V1/me")
            .insert_header(("authorization", "Bearer forged"))
            .to_request(),
    )
    .await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let body = test::read_body(refused).await;
    assert!(String::from_utf8_lossy(&body).contains("The consumer isn't authorized"));

    h.ims.set_down(true);
    h.ims
        .add("new", "jane@example.com", T0 + time::Duration::hours(1));
    let outage = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/rest/V1/me")
            .insert_header(("authorization", "Bearer new"))
            .to_request(),
    )
    .await;
    assert_eq!(outage.status(), 503);
    assert_eq!(outage.headers().get("retry-after").unwrap(), "7");

    let health =
        test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(health.status(), 200);
}
