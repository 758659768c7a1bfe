//! The tower/axum adapter (feature `axum`): a [`Layer`](tower_layer::Layer)
//! that authenticates every request it wraps, and an extractor for the
//! authenticated admin.
//!
//! Add the layer with `route_layer`, not `layer`: `layer` also wraps the
//! fallback, so unknown paths would answer 401 instead of 404.
//!
//! ```no_run
//! # async fn demo(authenticator: webapi_ims::WebApiAuthenticator) {
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use webapi_ims::axum::{TokenAdmin, ImsAuthLayer};
//!
//! async fn me(TokenAdmin(admin): TokenAdmin) -> String {
//!     format!("admin {}", admin.admin_user_id)
//! }
//!
//! let app: Router = Router::new()
//!     .route("/rest/V1/me", get(me))
//!     .route_layer(ImsAuthLayer::new(Arc::new(authenticator)));
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use pin_project_lite::pin_project;

use crate::authenticator::{Decision, Pending};
use crate::header::bearer_value;
use crate::{AuthError, Authenticated, WebApiAuthenticator};

/// The resource name Magento's message names when a host gives none.
const DEFAULT_RESOURCES: &str = "Magento_Backend::admin";

/// Authenticates requests with a [`WebApiAuthenticator`]; refused requests
/// get their 401/503 answer, accepted ones reach the inner service with an
/// [`Authenticated`] in their extensions.
#[derive(Debug, Clone)]
pub struct ImsAuthLayer {
    layer: Arc<LayerState>,
}

/// The layer's state — its authenticator and the resource names of its
/// refusals — which every [`ImsAuthService`] holds behind one reference
/// count (axum clones the service for each request).
#[derive(Debug)]
struct LayerState {
    authenticator: Arc<WebApiAuthenticator>,
    resources: String,
}

impl ImsAuthLayer {
    /// A layer over `authenticator`.
    pub fn new(authenticator: Arc<WebApiAuthenticator>) -> Self {
        ImsAuthLayer {
            layer: Arc::new(LayerState {
                authenticator,
                resources: DEFAULT_RESOURCES.to_owned(),
            }),
        }
    }

    /// The resource names Magento's 401 message mentions
    /// (`%resources`; default `Magento_Backend::admin`).
    pub fn with_resources(self, resources: &str) -> Self {
        ImsAuthLayer {
            layer: Arc::new(LayerState {
                authenticator: self.layer.authenticator.clone(),
                resources: resources.to_owned(),
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for ImsAuthLayer {
    type Service = ImsAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ImsAuthService {
            inner,
            layer: self.layer.clone(),
        }
    }
}

/// The service [`ImsAuthLayer`] makes.
#[derive(Debug, Clone)]
pub struct ImsAuthService<S> {
    inner: S,
    layer: Arc<LayerState>,
}

impl<S, B> tower_service::Service<Request<B>> for ImsAuthService<S>
where
    S: tower_service::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ImsAuthFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The warm path: decided from memory, the inner service called at
        // once — no boxed future, no clone of it.
        let raw = bearer_value(
            request
                .headers()
                .get_all(AUTHORIZATION)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        match self.layer.authenticator.decide(raw) {
            Decision::Decided(Ok(admin)) => {
                request.extensions_mut().insert(admin);
                ImsAuthFuture::inner(self.inner.call(request))
            }
            Decision::Decided(Err(err)) => {
                ImsAuthFuture::ready(error_response(&err, &self.layer.resources))
            }
            Decision::Pending(pending) => self.call_slow(request, pending),
        }
    }
}

impl<S> ImsAuthService<S> {
    /// A request that needs I/O to decide (a token not in memory, or due for
    /// an IMS check): finished in a boxed future, from what
    /// [`call`](tower_service::Service::call) already parsed.
    fn call_slow<B>(
        &mut self,
        mut request: Request<B>,
        pending: Pending,
    ) -> ImsAuthFuture<S::Future, S::Error>
    where
        S: tower_service::Service<Request<B>, Response = Response> + Clone + Send + 'static,
        S::Future: Send + 'static,
        B: Send + 'static,
    {
        // The clone is not ready; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        ImsAuthFuture::boxed(Box::pin(async move {
            match layer.authenticator.finish(pending).await {
                Ok(admin) => {
                    request.extensions_mut().insert(admin);
                    inner.call(request).await
                }
                Err(err) => Ok(error_response(&err, &layer.resources)),
            }
        }))
    }
}

pin_project! {
    /// The future of [`ImsAuthService`]: the inner service's own future when
    /// the request was decided from memory, a ready refusal, or a boxed
    /// future when deciding needed I/O.
    pub struct ImsAuthFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, E> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response> },
        Boxed { future: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>> },
    }
}

impl<F, E> ImsAuthFuture<F, E> {
    fn inner(future: F) -> Self {
        ImsAuthFuture {
            state: State::Inner { future },
        }
    }

    fn ready(response: Response) -> Self {
        ImsAuthFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    fn boxed(future: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>) -> Self {
        ImsAuthFuture {
            state: State::Boxed { future },
        }
    }
}

impl<F, E> Future for ImsAuthFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Ready { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
            StateProjection::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, E> std::fmt::Debug for ImsAuthFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Ready { .. } => "ready",
            State::Boxed { .. } => "boxed",
        };
        f.debug_struct("ImsAuthFuture")
            .field("state", &state)
            .finish()
    }
}

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

/// The authenticated admin, for handlers behind [`ImsAuthLayer`].
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
