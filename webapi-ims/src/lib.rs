//! # webapi-ims
//!
//! A request's `Authorization` header is parsed strictly, and every refusal
//! carries its HTTP answer:
//!
//! ```
//! use webapi_ims::{AuthError, parse_bearer};
//!
//! let err = parse_bearer(&[b"Basic dXNlcjpwYXNz"]).unwrap_err();
//! assert_eq!(err.status(), 401);
//! assert!(err.www_authenticate().unwrap().starts_with("Bearer error=\"invalid_token\""));
//! ```
//!
//! Adobe IMS bearer-token authentication for a host application's REST API:
//! what Magento's `AdminAdobeIms` does for the Web API, with the
//! `admin_adobe_ims_webapi` record of validated tokens.
//!
//! The [`WebApiAuthenticator`] is framework-neutral and reaches IMS and
//! storage only through [`ims_api`] traits, wired in by the host
//! ([`WebApiServices`]); adapters for tower/axum (`axum` feature) and
//! actix-web (`actix` feature) are thin layers over it.
//!
//! A request's token is parsed strictly ([`parse_bearer`]), then:
//!
//! 1. refused at once if the integration is disabled or the token was
//!    refused recently;
//! 2. served from a bounded in-memory hot cache when known;
//! 3. otherwise verified locally (signature, expiry, type, environment), its
//!    `client_id` required to be the integration's (or one the host allows,
//!    [`WebApiConfig::allowed_client_ids`]) before any IMS call, and looked up
//!    in the record by its SHA-256 — an invalidated token is refused without
//!    asking IMS;
//! 4. a token never seen is validated at IMS for that client, its profile's
//!    e-mail mapped to an active, unlocked admin with a role that grants
//!    permissions (no auto-provisioning), their membership of the configured
//!    organization checked, and a row saved — once, however many requests
//!    carry it at the same moment; a revocation of the admin's tokens while
//!    it was in flight wins;
//! 5. every [`WebApiConfig::hot_cache_ttl`] a known token's record and admin
//!    are read again (a lock, a deactivation or a lost role ends its access)
//!    — and as soon as the fleet's change feed reports a change, on an
//!    instance that follows it ([`WebApiAuthenticator::follow_changes`]),
//!    which every instance of a fleet on one database must;
//! 6. a known token is validated at IMS again once its last check is
//!    [`WebApiConfig::revalidate_after`] old; during an outage, tokens checked
//!    within [`WebApiConfig::outage_grace`] keep working and others get 503.
//!
//! ## What this crate must never do
//!
//! - Depend on `ims-core` or `ims-store` (except as dev-dependencies for tests).
//! - Answer 401 because IMS is unreachable (that is a 503 with `Retry-After`).
//! - Store a token in clear text, or log one.
//! - Accept a token issued to a client the host did not configure, or ask
//!   IMS about a client the token merely names.
//! - Tell a refused token's holder why (the reason is logged, the answer is
//!   the same for every refusal).
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `axum` | no | a tower `Layer` and an axum extractor for the authenticated admin |
//! | `actix` | no | an actix-web middleware and extractor |

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
mod admin_index;
mod authenticator;
#[cfg(feature = "axum")]
pub mod axum;
mod config;
mod fingerprint;
mod guard;
mod header;
mod memory;
pub mod metrics;
mod outcome;

pub use authenticator::{
    ChangeFollower, FollowError, RevocationReport, WebApiAuthenticator, WebApiServices,
};
pub use config::WebApiConfig;
pub use guard::{ADMIN_TOKEN_DISABLED, AdminTokenGenerationDisabled, guard_password_admin_token};
pub use header::{MAX_AUTHORIZATION_LEN, parse_bearer};
pub use ims_api;
pub use outcome::{AuthError, Authenticated, CONSUMER_NOT_AUTHORIZED};
