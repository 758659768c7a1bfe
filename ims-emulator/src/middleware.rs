//! The request middlewares: fault injection and request counting. Above the state they read
//! (`state`, `faults`, `stats`), which do not know about HTTP middleware.

use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ImsError;
use crate::faults::ConnHandle;
use crate::state::AppState;
use crate::stats::is_control_path;

fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "too_many_requests",
        503 => "temporarily_unavailable",
        500 => "server_error",
        s if s >= 500 => "server_error",
        _ => "injected_fault",
    }
}

/// Middleware: applies the first matching fault.
pub(crate) async fn apply_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if is_control_path(&path) {
        return next.run(request).await;
    }
    let Some(fault) = state.faults.take(&path) else {
        return next.run(request).await;
    };
    if let Some(ms) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if fault.drop_connection {
        if let Some(ConnectInfo(conn)) = request.extensions().get::<ConnectInfo<ConnHandle>>() {
            conn.kill();
        }
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(status) => {
            let mut error =
                ImsError::new(status, error_code(status), "fault injected by ims-emulator");
            error.retry_after = fault
                .retry_after
                .or_else(|| matches!(status.as_u16(), 429 | 503).then_some(1));
            error.into_response()
        }
        None => next.run(request).await,
    }
}

/// Middleware: counts every non-control request.
pub(crate) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let key = format!("{} {}", request.method(), request.uri().path());
    if !is_control_path(request.uri().path()) {
        state.stats.record(key.clone());
    }
    let response = next.run(request).await;
    tracing::debug!(request = %key, status = response.status().as_u16(), "handled");
    response
}
