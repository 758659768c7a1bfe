//! [`ImsAuthLayer`]: authentication as a tower layer, deciding the warm
//! path in `call` and finishing the rest in a boxed future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use pin_project_lite::pin_project;

use super::response::{DEFAULT_RESOURCES, error_response};
use crate::WebApiAuthenticator;
use crate::authenticator::{Decision, Pending};
use crate::header::bearer_in;

/// Authenticates requests with a [`WebApiAuthenticator`]; refused requests
/// get their 401/503 answer, accepted ones reach the inner service with an
/// [`Authenticated`](crate::Authenticated) in their extensions.
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
        let raw = bearer_in(request.headers());
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
