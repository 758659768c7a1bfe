//! The HTTP answer to a refusal, shared by the layer and the extractors.

use axum_core::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::AuthError;

/// The resource name Magento's message names when a host gives none.
pub(super) const DEFAULT_RESOURCES: &str = "Magento_Backend::admin";

/// The HTTP answer to a refusal: status, `WWW-Authenticate`, `Retry-After`
/// and Magento's JSON message.
pub fn error_response(err: &AuthError, resources: &str) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = (status, err.json_body(resources)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(challenge) = err
        .www_authenticate()
        .and_then(|value| HeaderValue::from_str(&value).ok())
    {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    if let Some(seconds) = err.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
