//! The actix-web adapter (feature `actix`): a middleware that authenticates
//! every request of the scope it wraps, and an extractor for the
//! authenticated admin.
//!
//! ```no_run
//! # fn demo(authenticator: std::sync::Arc<webapi_ims::WebApiAuthenticator>) {
//! use actix_web::{App, web};
//! use webapi_ims::actix::{TokenAdmin, ImsAuth};
//!
//! async fn me(TokenAdmin(admin): TokenAdmin) -> String {
//!     format!("admin {}", admin.admin_user_id)
//! }
//!
//! let app = App::new().service(
//!     web::scope("/rest/V1")
//!         .wrap(ImsAuth::new(authenticator))
//!         .route("/me", web::get().to(me)),
//! );
//! # let _ = app;
//! # }
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::authenticator::Decision;
use crate::header::bearer_value;
use crate::{AuthError, Authenticated, WebApiAuthenticator};

const DEFAULT_RESOURCES: &str = "Magento_Backend::admin";

/// Authenticates requests with a [`WebApiAuthenticator`]; refused requests
/// get their 401/503 answer, accepted ones reach the handler with an
/// [`Authenticated`] in their extensions.
#[derive(Debug, Clone)]
pub struct ImsAuth {
    authenticator: Arc<WebApiAuthenticator>,
    resources: Arc<str>,
}

impl ImsAuth {
    /// A middleware over `authenticator`.
    pub fn new(authenticator: Arc<WebApiAuthenticator>) -> Self {
        ImsAuth {
            authenticator,
            resources: Arc::from(DEFAULT_RESOURCES),
        }
    }

    /// The resource names Magento's 401 message mentions.
    pub fn with_resources(mut self, resources: &str) -> Self {
        self.resources = Arc::from(resources);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for ImsAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ImsAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ImsAuthMiddleware {
            service: Rc::new(service),
            authenticator: self.authenticator.clone(),
            resources: self.resources.clone(),
        }))
    }
}

/// The service [`ImsAuth`] makes.
#[derive(Debug)]
pub struct ImsAuthMiddleware<S> {
    service: Rc<S>,
    authenticator: Arc<WebApiAuthenticator>,
    resources: Arc<str>,
}

impl<S, B> Service<ServiceRequest> for ImsAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let authenticator = self.authenticator.clone();
        let resources = self.resources.clone();
        Box::pin(async move {
            let decision = authenticator.decide(bearer_value(
                request
                    .headers()
                    .get_all(AUTHORIZATION)
                    .map(|value| value.as_bytes()),
            ));
            let outcome = match decision {
                Decision::Decided(outcome) => outcome,
                Decision::Pending(pending) => authenticator.finish(pending).await,
            };
            match outcome {
                Ok(admin) => {
                    request.extensions_mut().insert(admin);
                    service
                        .call(request)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(err) => {
                    let response = error_response(&err, &resources);
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

/// The HTTP answer to a refusal: status, `WWW-Authenticate`, `Retry-After`
/// and Magento's JSON message.
pub fn error_response(err: &AuthError, resources: &str) -> HttpResponse {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE, "application/json"));
    if let Some(challenge) = err.www_authenticate() {
        response.insert_header((WWW_AUTHENTICATE, challenge));
    }
    if let Some(seconds) = err.retry_after_secs() {
        response.insert_header((RETRY_AFTER, seconds.to_string()));
    }
    response.body(err.json_body(resources))
}

/// The authenticated admin, for handlers behind [`ImsAuth`].
#[derive(Debug, Clone)]
pub struct TokenAdmin(pub Authenticated);

/// [`TokenAdmin`] used without [`ImsAuth`] in front.
#[derive(Debug, thiserror::Error)]
#[error("no admin authenticated by a bearer token on this request")]
#[non_exhaustive]
pub struct MissingTokenAdmin;

impl ResponseError for MissingTokenAdmin {
    fn error_response(&self) -> HttpResponse {
        error_response(&AuthError::MissingCredentials, DEFAULT_RESOURCES)
    }
}

impl FromRequest for TokenAdmin {
    type Error = MissingTokenAdmin;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let admin = request.extensions().get::<Authenticated>().cloned();
        ready(admin.map(TokenAdmin).ok_or_else(|| {
            tracing::error!("TokenAdmin extracted on a route without ImsAuth");
            MissingTokenAdmin
        }))
    }
}
