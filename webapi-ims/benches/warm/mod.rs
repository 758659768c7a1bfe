//! What the warm-path bench and its callgrind twin
//! (`examples/warm_path_instructions.rs`) share: the token, the warmed-up
//! authenticator and the two handlers, so both measure the same requests.
//! Both include `tests/support` as their `support` module.
#![allow(dead_code, unreachable_pub)]

use tokio::runtime::Runtime;
use webapi_ims::WebApiConfig;
use webapi_ims::axum::{BearerAdmin, TokenAdmin};

use crate::support::{Harness, T0};

/// A runtime and an authenticator (fakes for IMS and the host) that has
/// validated [`token`] once: every request from now on takes the warm path.
pub struct Warm {
    pub rt: Runtime,
    pub harness: Harness,
    /// `Bearer <token>`, the `Authorization` value.
    pub header: String,
}

pub fn warmed() -> Warm {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = Harness::new(WebApiConfig::default());
    let token = token();
    harness
        .ims
        .add(&token, "jane@example.com", T0 + time::Duration::hours(24));
    rt.block_on(harness.call(&token)).unwrap();
    Warm {
        rt,
        harness,
        header: format!("Bearer {token}"),
    }
}

/// An IMS-sized token (real ones are 1–3 KiB): the key of the hot cache is
/// computed over all of it on every request.
pub fn token() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let part = |len: usize, seed: usize| -> String {
        (0..len)
            .map(|i| alphabet[(i * 7 + seed * 13) % alphabet.len()] as char)
            .collect()
    };
    format!("{}.{}.{}", part(120, 1), part(700, 2), part(342, 3))
}

/// One warm `GET /rest/V1/me` through `router` with the `authorization`
/// header `header`; its answer, checked to be a success.
pub async fn get_me(router: &axum::Router, header: &str) -> axum::response::Response {
    use tower::ServiceExt as _;
    let request = http::Request::get("/rest/V1/me")
        .header("authorization", header)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
    response
}

pub async fn me(TokenAdmin(admin): TokenAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}

/// The same work as `me` (formatting an admin id), without the layer.
pub async fn bearer(BearerAdmin(admin): BearerAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}

pub async fn plain() -> String {
    format!("{{\"id\":{}}}", std::hint::black_box(1_i64))
}

/// A value the size of what the layer hands handlers, for the `extension`
/// reference mode of the callgrind example.
#[derive(Clone)]
pub struct Handed([u64; 12]);

pub async fn insert_extension(
    mut request: http::Request<axum::body::Body>,
) -> http::Request<axum::body::Body> {
    request.extensions_mut().insert(Handed([1; 12]));
    request
}

pub async fn from_extension(axum::Extension(handed): axum::Extension<Handed>) -> String {
    format!("{{\"id\":{}}}", std::hint::black_box(handed.0[0]))
}
