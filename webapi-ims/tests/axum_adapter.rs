//! The tower layer and the extractors in an axum app: every answer is the
//! same whether the layer or the `BearerAdmin` extractor decides.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use support::{Harness, T0};
use tower::ServiceExt as _;

use axum::response::IntoResponse as _;
use webapi_ims::axum::{BearerAdmin, BearerRejection, ImsAuthLayer, TokenAdmin};
use webapi_ims::{AuthError, WebApiAuthenticator, WebApiConfig};

async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}

async fn bearer_me(BearerAdmin(admin): BearerAdmin) -> String {
    format!("admin {}", admin.admin_user_id)
}

/// `/rest/V1/me` behind the layer.
fn app(h: &Harness) -> Router {
    Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(h.auth.clone()))
}

/// `/rest/V1/me` with the extractor deciding, no layer.
fn extractor_app(h: &Harness) -> Router {
    Router::new()
        .route("/rest/V1/me", get(bearer_me))
        .with_state(Arc::clone(&h.auth))
}

/// Both ways of protecting the route, named.
fn apps(h: &Harness) -> [(&'static str, Router); 2] {
    [("layer", app(h)), ("extractor", extractor_app(h))]
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
    for (way, app) in apps(&h) {
        let response = send(app, &["Bearer tok"], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::OK, "{way}");
        assert_eq!(body(response).await, "admin 1", "{way}");
    }
}

#[tokio::test]
async fn refusals_answer_401_with_a_challenge_and_magentos_message() {
    let h = Harness::new(WebApiConfig::default());
    for (way, app) in apps(&h) {
        let response = send(app.clone(), &["Bearer forged"], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{way}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{way}"
        );
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = body(response).await;
        assert!(
            body.contains("The consumer isn't authorized to access %resources."),
            "{way}: {body}"
        );

        let response = send(app.clone(), &[], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{way}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{way}");

        let response = send(app, &["Bearer a", "Bearer b"], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{way}");
    }
}

#[tokio::test]
async fn outages_answer_503_with_retry_after() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(1));
    h.ims.set_down(true);
    for (way, app) in apps(&h) {
        let response = send(app, &["Bearer tok"], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{way}");
        assert_eq!(response.headers()["retry-after"], "7", "{way}");
        assert!(response.headers().get("www-authenticate").is_none());
    }
}

#[tokio::test]
async fn unknown_routes_still_404() {
    let h = Harness::new(WebApiConfig::default());
    let response = send(app(&h), &[], "/rest/V1/nope").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_extractor_refuses_a_token_issued_to_another_client_without_asking_ims() {
    // The attacker's token: a real admin's, but issued to another client of
    // the same IMS.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add_for_client(
        "foreign",
        "jane@example.com",
        T0 + time::Duration::hours(1),
        Some("emulator-cli"),
    );
    let response = send(extractor_app(&h), &["Bearer foreign"], "/rest/V1/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.ims.counts(), (0, 0), "no IMS call for a foreign client");
}

#[tokio::test]
async fn behind_the_layer_the_extractor_takes_the_layers_decision() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(1));
    // The state's authenticator has never heard of the token: had the
    // extractor decided again, it would refuse.
    let stranger = Harness::new(WebApiConfig::default());
    let both: Router = Router::new()
        .route("/rest/V1/me", get(bearer_me))
        .route_layer(ImsAuthLayer::new(h.auth.clone()))
        .with_state(Arc::clone(&stranger.auth));
    for _ in 0..3 {
        let response = send(both.clone(), &["Bearer tok"], "/rest/V1/me").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(response).await, "admin 1");
    }
    assert_eq!(stranger.ims.counts(), (0, 0));
    assert_eq!(stranger.ims.verify_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_extractors_rejection_is_typed_and_renders_for_the_hosts_resources() {
    let h = Harness::new(WebApiConfig::default());
    let rejection = extractor_rejection(&h.auth, "Bearer forged").await;
    assert!(
        matches!(rejection.error(), AuthError::InvalidToken(_)),
        "{rejection:?}"
    );
    assert!(!format!("{rejection:?} {rejection}").contains("forged"));
    let response = rejection.clone().into_response_for("Host::rest");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let text = body(response).await;
    assert!(text.contains("Host::rest"), "{text}");
    assert_eq!(rejection.into_response().status(), StatusCode::UNAUTHORIZED);
}

/// What `BearerAdmin` refuses a request carrying `authorization` with.
async fn extractor_rejection(
    authenticator: &Arc<WebApiAuthenticator>,
    authorization: &str,
) -> BearerRejection {
    use axum::extract::FromRequestParts as _;
    let (mut parts, ()) = Request::get("/rest/V1/me")
        .header("authorization", authorization)
        .body(())
        .unwrap()
        .into_parts();
    BearerAdmin::from_request_parts(&mut parts, authenticator)
        .await
        .unwrap_err()
}
