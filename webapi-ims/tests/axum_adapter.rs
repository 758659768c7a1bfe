//! The tower layer and extractor in an axum app.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use support::{Harness, T0};
use tower::ServiceExt as _;
use webapi_ims::WebApiConfig;
use webapi_ims::axum::{ImsAuthLayer, TokenAdmin};

async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}

fn app(h: &Harness) -> Router {
    Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(h.auth.clone()))
}

async fn send(app: Router, authorization: &[&str], path: &str) -> axum::response::Response {
    let mut request = Request::get(path);
    for value in authorization {
        request = request.header("authorization", *value);
    }
    app.oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn accepted_tokens_reach_the_handler() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(1));
    let response = send(app(&h), &["Bearer tok"], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "admin 1");
}

#[tokio::test]
async fn refusals_answer_401_with_a_challenge_and_magentos_message() {
    let h = Harness::new(WebApiConfig::default());
    let response = send(app(&h), &["Bearer forged"], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body(response).await;
    assert!(
        body.contains("The consumer isn't authorized to access %resources."),
        "{body}"
    );

    let response = send(app(&h), &[], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    let response = send(app(&h), &["Bearer a", "Bearer b"], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn outages_answer_503_with_retry_after() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(1));
    h.ims.set_down(true);
    let response = send(app(&h), &["Bearer tok"], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "7");
    assert!(response.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn unknown_routes_still_404() {
    let h = Harness::new(WebApiConfig::default());
    let response = send(app(&h), &[], "/rest/V1/nope").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
