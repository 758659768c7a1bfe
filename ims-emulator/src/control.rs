//! The test-control API (`/__emulator/...`) and its in-process twin, [`ControlHandle`].

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{EmulatorError, ImsError, json_response};
use crate::faults::FaultSpec;
use crate::params::JsonBody;
use crate::seed::Seed;
use crate::state::AppState;
use crate::stats::Stats;
use crate::tokens::{ACCESS_TOKEN_TTL_MS, TokenKind, TokenSpec, now_ms, split_scopes};

/// A request to mint an access token directly (`POST /__emulator/tokens`).
///
/// ```
/// use ims_emulator::{MintTokenRequest, default_seed};
/// let request = MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
///     .scope("AdobeID,openid")
///     .expires_in_ms(60_000);
/// assert_eq!(request.expires_in_ms, Some(60_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MintTokenRequest {
    /// The user, by email (one of `email` and `user_id` is required).
    #[serde(default)]
    pub email: Option<String>,
    /// The user (or technical account), by id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The client the token is issued to (must exist in the seed).
    pub client_id: String,
    /// Scopes, comma- or space-separated (not checked against the client).
    #[serde(default)]
    pub scope: String,
    /// Lifetime in ms (default 24 h).
    #[serde(default)]
    pub expires_in_ms: Option<u64>,
    /// Creation time in ms since the epoch (default now); choose an old one for an expired token.
    #[serde(default)]
    pub created_at_ms: Option<u64>,
}

impl MintTokenRequest {
    /// A token for the user with this email.
    pub fn for_email(email: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            user_id: None,
            client_id: client_id.into(),
            scope: String::new(),
            expires_in_ms: None,
            created_at_ms: None,
        }
    }

    /// A token for the user (or technical account) with this id.
    pub fn for_user_id(user_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            email: None,
            user_id: Some(user_id.into()),
            client_id: client_id.into(),
            scope: String::new(),
            expires_in_ms: None,
            created_at_ms: None,
        }
    }

    /// Sets the scopes (comma- or space-separated).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Sets the lifetime in milliseconds.
    pub fn expires_in_ms(mut self, ms: u64) -> Self {
        self.expires_in_ms = Some(ms);
        self
    }

    /// Sets the creation time (ms since the epoch).
    pub fn created_at_ms(mut self, ms: u64) -> Self {
        self.created_at_ms = Some(ms);
        self
    }
}

fn control_error(error: &str, description: impl Into<String>) -> EmulatorError {
    EmulatorError::Control {
        error: error.to_owned(),
        description: description.into(),
    }
}

/// In-process access to the control operations of a running emulator (clonable, cheap).
#[derive(Debug, Clone)]
pub struct ControlHandle {
    pub(crate) state: AppState,
}

impl ControlHandle {
    /// The active seed (secrets included).
    pub fn seed(&self) -> &Seed {
        &self.state.seed
    }

    /// The request counters.
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Resets the request counters.
    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Mints a signed access token (expired ones too, by choosing `created_at_ms`).
    pub fn mint_access_token(&self, request: &MintTokenRequest) -> Result<String, EmulatorError> {
        let seed = &self.state.seed;
        if self.state.client(&request.client_id).is_none() {
            return Err(control_error(
                "invalid_client",
                format!("unknown client_id {}", request.client_id),
            ));
        }
        let user_id = match (&request.email, &request.user_id) {
            (Some(email), _) => seed
                .user_by_email(email)
                .map(|u| u.user_id.clone())
                .ok_or_else(|| {
                    control_error("invalid_request", format!("no user has email {email}"))
                })?,
            (None, Some(id)) => {
                if seed.user(id).is_none() && seed.client_by_technical_account(id).is_none() {
                    return Err(control_error(
                        "invalid_request",
                        format!("no user or technical account {id}"),
                    ));
                }
                id.clone()
            }
            (None, None) => {
                return Err(control_error(
                    "invalid_request",
                    "email or user_id is required",
                ));
            }
        };
        let minted = self
            .state
            .mint(&TokenSpec {
                kind: TokenKind::Access,
                client_id: request.client_id.clone(),
                user_id,
                scope: split_scopes(&request.scope),
                created_at_ms: request.created_at_ms.unwrap_or_else(now_ms),
                expires_in_ms: request.expires_in_ms.unwrap_or(ACCESS_TOKEN_TTL_MS),
                extra: Vec::new(),
            })
            .map_err(EmulatorError::Key)?;
        Ok(minted.token)
    }

    /// Injects a fault for matching requests.
    pub fn inject_fault(&self, fault: FaultSpec) -> Result<(), EmulatorError> {
        fault
            .check()
            .map_err(|e| control_error("invalid_request", e))?;
        self.state.faults.add(fault);
        Ok(())
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Adds a fresh RSA-2048 signing key that signs new tokens from now on; the previous signing
    /// key stays published until the next rotation. Returns the new `kid`.
    pub fn rotate_keys(&self) -> Result<String, EmulatorError> {
        self.state.rotate_keys()
    }

    /// The `kid` new tokens are signed with.
    pub fn current_kid(&self) -> String {
        self.state.keys().current().kid.clone()
    }

    /// Every published `kid` (the JWKS).
    pub fn published_kids(&self) -> Vec<String> {
        let jwks = self.state.keys().jwks();
        jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn to_ims(e: EmulatorError) -> ImsError {
    match e {
        EmulatorError::Control { error, description } => {
            let code = if error == "invalid_client" {
                "invalid_client"
            } else {
                "invalid_request"
            };
            ImsError::bad(code, description)
        }
        other => ImsError::internal(other.to_string()),
    }
}

async fn get_seed(State(state): State<AppState>) -> Response {
    let value = serde_json::to_value(&state.seed).unwrap_or_default();
    json_response(StatusCode::OK, &value)
}

async fn get_stats(State(state): State<AppState>) -> Response {
    let value = serde_json::to_value(state.stats.snapshot()).unwrap_or_default();
    json_response(StatusCode::OK, &value)
}

async fn delete_stats(State(state): State<AppState>) -> Response {
    state.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn post_token(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<MintTokenRequest>,
) -> Result<Response, ImsError> {
    let token = ControlHandle { state }
        .mint_access_token(&request)
        .map_err(to_ims)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "access_token": token }),
    ))
}

async fn post_fault(
    State(state): State<AppState>,
    JsonBody(fault): JsonBody<FaultSpec>,
) -> Result<Response, ImsError> {
    ControlHandle { state }
        .inject_fault(fault)
        .map_err(to_ims)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_faults(State(state): State<AppState>) -> Response {
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn rotate(State(state): State<AppState>) -> Result<Response, ImsError> {
    // RSA key generation takes a while: keep it off the async workers.
    let handle = ControlHandle {
        state: state.clone(),
    };
    let kid = tokio::task::spawn_blocking(move || handle.rotate_keys())
        .await
        .map_err(|e| ImsError::internal(e.to_string()))?
        .map_err(to_ims)?;
    let published = ControlHandle { state }.published_kids();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "kid": kid, "published": published }),
    ))
}

/// Whether a `Content-Type` names JSON: the media type `application/json`
/// (any case, parameters such as `charset` allowed), nothing else.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Every control request that changes something (any method but `GET` and
/// `HEAD`) must say `Content-Type: application/json`, or gets 415 before
/// its handler runs. A cross-site page can send a POST without a CORS
/// preflight only as `text/plain`, a form or a multipart form: none of them
/// reaches a handler, so a page the tester visits cannot mint a token,
/// inject a fault or rotate the keys of an emulator on their machine.
///
/// Such a request must not carry an `Origin` header either (403): browsers
/// send one with every POST and DELETE, test tools do not, and a page that
/// rebinds its own host name to 127.0.0.1 (DNS rebinding) sends JSON
/// same-origin.
async fn require_json(request: Request, next: Next) -> Response {
    let method = request.method();
    let reads_only = method == Method::GET || method == Method::HEAD;
    if !reads_only && request.headers().contains_key(header::ORIGIN) {
        return ImsError::new(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "the control API takes no requests from web pages",
        )
        .into_response();
    }
    if !reads_only && !is_json(request.headers().get(header::CONTENT_TYPE)) {
        return ImsError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the control API takes Content-Type: application/json only",
        )
        .into_response();
    }
    next.run(request).await
}

/// The `/__emulator/...` routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/__emulator/seed", get(get_seed))
        .route("/__emulator/stats", get(get_stats).delete(delete_stats))
        .route("/__emulator/tokens", post(post_token))
        .route("/__emulator/faults", post(post_fault).delete(delete_faults))
        .route("/__emulator/keys/rotate", post(rotate))
        .route_layer(axum::middleware::from_fn(require_json))
}
