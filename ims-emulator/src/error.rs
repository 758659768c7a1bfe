//! Errors: the public [`EmulatorError`] and the IMS-style error response used by every handler.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The `Content-Type` of every JSON response, as IMS sends it.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// What can go wrong when starting or controlling an emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding or serving the HTTP listener failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A seed file could not be read or parsed, or the seed is inconsistent.
    #[error("invalid seed: {0}")]
    Seed(String),
    /// A key (signing key, certificate or service-account key) could not be loaded or generated.
    #[error("key error: {0}")]
    Key(String),
    /// A control operation was refused (unknown user or client, bad parameters).
    #[error("{error}: {description}")]
    Control {
        /// The IMS-style error code (`invalid_request`, `invalid_client`, ...).
        error: String,
        /// A human-readable description.
        description: String,
    },
}

/// An IMS error answer: `{"error","error_description"}` with a 4xx/5xx status.
#[derive(Debug, Clone)]
pub(crate) struct ImsError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    pub(crate) www_authenticate: bool,
    pub(crate) retry_after: Option<u64>,
}

impl ImsError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            www_authenticate: false,
            retry_after: None,
        }
    }

    /// 400 with the given code.
    pub(crate) fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    /// 401 `invalid_token` with a `WWW-Authenticate: Bearer` challenge.
    pub(crate) fn unauthorized_token(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        e.www_authenticate = true;
        e
    }

    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub(crate) fn internal(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }
}

impl IntoResponse for ImsError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        if self.www_authenticate {
            let value = format!("Bearer error=\"{}\"", self.error);
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A JSON response with IMS's content type.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// A token response: JSON with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn token_response(value: &serde_json::Value) -> Response {
    let mut response = json_response(StatusCode::OK, value);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
