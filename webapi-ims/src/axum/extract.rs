//! The extractors: [`TokenAdmin`] reads what [`ImsAuthLayer`] decided;
//! [`BearerAdmin`] decides itself.
//!
//! [`ImsAuthLayer`]: super::ImsAuthLayer

use std::fmt;
use std::sync::Arc;

use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use super::response::{DEFAULT_RESOURCES, error_response};
use crate::authenticator::Decision;
use crate::header::bearer_in;
use crate::{AuthError, Authenticated, WebApiAuthenticator};

/// The authenticated admin, for handlers behind [`ImsAuthLayer`].
///
/// [`ImsAuthLayer`]: super::ImsAuthLayer
#[derive(Debug, Clone)]
pub struct TokenAdmin(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for TokenAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(admin) => Ok(TokenAdmin(admin.clone())),
            None => {
                tracing::error!("TokenAdmin extracted on a route without ImsAuthLayer");
                Err(error_response(
                    &AuthError::MissingCredentials,
                    DEFAULT_RESOURCES,
                ))
            }
        }
    }
}

/// The admin the request's bearer token authenticates, decided by the
/// extractor itself with the [`WebApiAuthenticator`] of the router's state:
/// no [`ImsAuthLayer`] needed. Every check of the layer applies (the same
/// authenticator decides), and a refusal answers the same status, headers
/// and message.
///
/// The state is `Arc<WebApiAuthenticator>`, or any state that implements
/// [`FromRef`] for it. Behind an [`ImsAuthLayer`], the layer's decision is
/// taken as it is, not made twice.
///
/// Only handlers that take it are protected: for a group of routes that
/// must all be authenticated, the layer is the safer choice.
///
/// ```no_run
/// # async fn demo(authenticator: webapi_ims::WebApiAuthenticator) {
/// use std::sync::Arc;
/// use axum::extract::FromRef;
/// use axum::{Router, routing::get};
/// use webapi_ims::WebApiAuthenticator;
/// use webapi_ims::axum::BearerAdmin;
///
/// #[derive(Clone)]
/// struct AppState {
///     webapi: Arc<WebApiAuthenticator>,
/// }
///
/// impl FromRef<AppState> for Arc<WebApiAuthenticator> {
///     fn from_ref(state: &AppState) -> Self {
///         Arc::clone(&state.webapi)
///     }
/// }
///
/// async fn me(BearerAdmin(admin): BearerAdmin) -> String {
///     admin.admin.email.clone()
/// }
///
/// let app: Router = Router::new()
///     .route("/rest/V1/me", get(me))
///     .with_state(AppState { webapi: Arc::new(authenticator) });
/// # }
/// ```
///
/// [`ImsAuthLayer`]: super::ImsAuthLayer
#[derive(Debug, Clone)]
pub struct BearerAdmin(pub Authenticated);

impl<S> FromRequestParts<S> for BearerAdmin
where
    Arc<WebApiAuthenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(admin) = parts.extensions.get::<Authenticated>() {
            return Ok(BearerAdmin(admin.clone()));
        }
        let authenticator = Arc::<WebApiAuthenticator>::from_ref(state);
        let raw = bearer_in(&parts.headers);
        let decided = match authenticator.decide(raw) {
            Decision::Decided(decided) => decided,
            // Boxed: inline, the slow path's state would make this future
            // (which axum moves several times per request) kilobytes large
            // on the warm path too.
            Decision::Pending(pending) => Box::pin(authenticator.finish(pending)).await,
        };
        decided
            .map(BearerAdmin)
            .map_err(|error| BearerRejection { error })
    }
}

/// Why [`BearerAdmin`] refused a request. As a response: the status,
/// `WWW-Authenticate`, `Retry-After` and Magento's JSON message that
/// [`ImsAuthLayer`](super::ImsAuthLayer) answers (resources
/// `Magento_Backend::admin`); a host that answers otherwise reads
/// [`error`](Self::error) and renders its own.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BearerRejection {
    error: AuthError,
}

impl BearerRejection {
    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The refusal as a response naming `resources` in Magento's message.
    pub fn into_response_for(self, resources: &str) -> Response {
        error_response(&self.error, resources)
    }
}

impl fmt::Display for BearerRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for BearerRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        self.into_response_for(DEFAULT_RESOURCES)
    }
}
