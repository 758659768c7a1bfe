//! # admin-ims
//!
//! "Sign in with Adobe ID" for a host application's admin area: what Magento's
//! `AdminAdobeIms` (admin side) and `AdminAdobeImsTwoFactorAuth` modules do —
//! login, callback, re-authentication for sensitive actions, logout, session
//! re-validation, and enabling or disabling the integration.
//!
//! The service is framework-neutral and talks to IMS and to the host's storage
//! only through [`ims_api`] traits; framework adapters (axum) are features.
//!
//! ## What this crate must never do
//!
//! - Depend on `ims-core` or `ims-store` (except as dev-dependencies for tests):
//!   the host wires implementations in, so either can be swapped.
//! - Redirect anywhere outside the host after sign-in (no open redirects).
//! - Log or display an IMS token, client secret or password.
//!
//! The service arrives with the admin-ims issue.

pub use ims_api;
