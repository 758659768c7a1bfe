//! # admin-ims
//!
//! ```
//! use admin_ims::{AdminImsConfig, CallbackQuery, sanitize_return_path};
//! use url::Url;
//!
//! // Callbacks live under the mount prefix of the routes.
//! let config = AdminImsConfig::new(Url::parse("https://shop.example")?, "/admin/ims")?;
//! assert_eq!(config.callback_url.as_str(), "https://shop.example/admin/ims/callback");
//!
//! // Post-login return paths never leave the host…
//! assert_eq!(sanitize_return_path("//evil.example/x"), None);
//! assert_eq!(sanitize_return_path("/admin/users").as_deref(), Some("/admin/users"));
//!
//! // …and hostile callbacks are refused, never a panic.
//! assert!(CallbackQuery::parse("state=a&state=b").problem().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! "Sign in with Adobe ID" for a host application's admin area: what Magento's
//! `AdminAdobeIms` (admin side) and `AdminAdobeImsTwoFactorAuth` modules do —
//! login, callback, re-authentication for sensitive actions, logout, session
//! re-validation, and enabling or disabling the integration — fixed where
//! Magento is weak: one IMS round trip per
//! [`revalidate_after`](AdminImsConfig::revalidate_after) instead of one per
//! admin page, and IMS tokens logged out at IMS on logout and on every refused
//! sign-in.
//!
//! The service, [`AdminIms`], is framework-neutral and talks to IMS and to the
//! host's storage only through [`ims_api`] traits ([`AdminImsServices`]). Each
//! method takes the [`AdminSession`] the host keeps for the browser:
//!
//! 1. [`begin_login`](AdminIms::begin_login): an authorize URL with a fresh
//!    `state` (256 bits, single use, expiring) and PKCE S256;
//! 2. [`complete_login`](AdminIms::complete_login): state checked (constant
//!    time), code exchanged, profile and organization membership checked, the
//!    admin matched by e-mail (or provisioned without permissions), lockout
//!    counted; on success the host re-keys its session;
//! 3. [`check_session`](AdminIms::check_session) on each admin request;
//! 4. [`begin_reauth`](AdminIms::begin_reauth) /
//!    [`complete_reauth`](AdminIms::complete_reauth) /
//!    [`require_reauth`](AdminIms::require_reauth) around sensitive actions;
//! 5. [`logout`](AdminIms::logout).
//!
//! Operator operations — [`enable`](AdminIms::enable),
//! [`disable`](AdminIms::disable), [`status`](AdminIms::status),
//! [`info`](AdminIms::info) — mirror `bin/magento admin:adobe-ims:*`.
//!
//! ## Features
//!
//! - `axum`: routes, a layer and an extractor requiring a signed-in admin,
//!   and the tower-sessions cookie settings (the `admin_ims::axum` module).
//! - `log-file`: `error_log_layer`, Magento's `adminadobe-ims.log`.
//!
//! ## Logging
//!
//! Every sign-in, re-authentication, logout and refusal is a `tracing` event
//! with target [`LOG_TARGET`] (`admin_ims`), an `event` name, the admin id
//! and a reason; never a token, code, state or secret.
//!
//! ## What this crate must never do
//!
//! - Depend on `ims-core` or `ims-store` (except as dev-dependencies for tests):
//!   the host wires implementations in, so either can be swapped.
//! - Redirect anywhere outside the host after sign-in (no open redirects).
//! - Log or display an IMS token, client secret or password.

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
pub mod axum;
mod callback;
mod config;
mod error;
mod hooks;
#[cfg(feature = "log-file")]
mod log_file;
pub mod metrics;
mod operator;
mod password;
mod return_path;
mod service;
mod session;

pub use callback::{CallbackQuery, MAX_CALLBACK_QUERY_LEN};
pub use config::{AdminImsConfig, OutagePolicy, ProvisioningPolicy};
pub use error::{
    DEFAULT_PRODUCT_NAME, ImsOwnedField, LoginError, LoginMessages, LoginOutcome, MSG_DISABLED,
    MSG_ERROR_SIGNING_IN, MSG_INVALID_STATE, MSG_MORE_PERMISSIONS, MSG_NO_ACCESS,
    MSG_NO_MATCHING_USER, MSG_REAUTH_REQUIRED, MSG_SIGN_IN_FAILED, MSG_SIGN_IN_WITH_ADOBE_ID,
    MSG_UNABLE, PasswordLoginRefused, ReauthRequired,
};
pub use hooks::IntegrationHooks;
pub use ims_api;
/// The probe `enable` sends (the trait and its answer live in `ims-api`;
/// `ims_core::ImsClient` implements it over its one transport).
pub use ims_api::{ImsProbe, ProbeAnswer};
#[cfg(feature = "log-file")]
pub use log_file::{ERROR_LOG_FILE_NAME, error_log_layer};
pub use operator::{
    EnableError, EnableReport, EnableRequest, IntegrationInfo, IntegrationStatus, ProbeProblem,
};
pub use password::{PASSWORD_ALPHABET, PASSWORD_LEN, random_password};
pub use return_path::{MAX_RETURN_PATH_LEN, sanitize_return_path};
pub use service::{
    AdminIms, AdminImsServices, CallbackFlow, CallbackSuccess, ClaimedCallback, LoginSuccess,
    LogoutOutcome, ReauthSuccess, SessionEnd, SessionState,
};

/// The `tracing` target of every event this crate emits.
pub const LOG_TARGET: &str = "admin_ims";
pub use session::AdminSession;
