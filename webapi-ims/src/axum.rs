//! The tower/axum adapter (feature `axum`): two ways to authenticate the
//! requests of a route, over the same [`WebApiAuthenticator`](crate::WebApiAuthenticator) and with the
//! same answers.
//!
//! - [`ImsAuthLayer`], a [`Layer`](tower_layer::Layer) that authenticates
//!   every request of the routes it wraps; handlers read the admin with
//!   [`TokenAdmin`]. A route added to the group is covered without a
//!   change to its handler: the choice for an API of many routes.
//! - [`BearerAdmin`], an extractor that authenticates the request itself,
//!   with the authenticator from the router's state. No route layer and no
//!   request extension: on the warm path it costs about half of what the
//!   layer does (axum's route layer and extensions map are most of the
//!   layer's cost), but only handlers that take it are protected.
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
//!
//! The same route with the extractor (the router's state holds the
//! authenticator, or implements [`FromRef`](axum_core::extract::FromRef)
//! for it):
//!
//! ```no_run
//! # async fn demo(authenticator: webapi_ims::WebApiAuthenticator) {
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use webapi_ims::axum::BearerAdmin;
//!
//! async fn me(BearerAdmin(admin): BearerAdmin) -> String {
//!     format!("admin {}", admin.admin_user_id)
//! }
//!
//! let app: Router = Router::new()
//!     .route("/rest/V1/me", get(me))
//!     .with_state(Arc::new(authenticator));
//! # }
//! ```

mod extract;
mod layer;
mod response;

pub use extract::{BearerAdmin, BearerRejection, TokenAdmin};
pub use layer::{ImsAuthFuture, ImsAuthLayer, ImsAuthService};
pub use response::error_response;
