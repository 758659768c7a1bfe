//! # webapi-ims
//!
//! Adobe IMS bearer-token authentication for a host application's REST API:
//! what Magento's `AdminAdobeIms` does for the Web API, with the
//! `admin_adobe_ims_webapi` record of validated tokens.
//!
//! The authenticator is framework-neutral and reaches IMS and storage only
//! through [`ims_api`] traits; tower/axum and actix-web adapters are features.
//!
//! ## What this crate must never do
//!
//! - Depend on `ims-core` or `ims-store` (except as dev-dependencies for tests).
//! - Answer 401 because IMS is unreachable (that is a 503 with `Retry-After`).
//! - Store a token in clear text, or log one.
//!
//! The authenticator arrives with the webapi-ims issue.

pub use ims_api;
