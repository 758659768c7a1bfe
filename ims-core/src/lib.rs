//! # ims-core
//!
//! The Adobe IMS business logic: what Magento's `AdobeIms` module and Adobe's
//! `aio-lib-ims` (with its JWT and OAuth plugins) do.
//!
//! This crate implements the IMS-side traits of [`ims_api`]: an HTTP client for
//! every IMS endpoint (prod, stage, or any base URL such as `ims-emulator`),
//! the OAuth2 flows, service tokens (client credentials and JWT exchange),
//! local RS256 verification of access tokens, a validation cache with single
//! flight, and aio-compatible configuration contexts with a token provider.
//!
//! ## What this crate must never do
//!
//! - Depend on `admin-ims`, `webapi-ims` or `ims-store`: those plug into a host
//!   through `ims-api` traits; this crate is one implementation of them.
//! - Log, `Debug`-print or put into an error message a token, client secret or
//!   private key.
//! - Replay a one-time authorization code on retry.

mod aio_config;
mod contexts;
mod http;
mod provider;
mod token_cache;

pub use aio_config::{AioConfig, ConfigPaths};
pub use contexts::AioContextStore;
pub use http::HttpPolicy;
pub use ims_api;
pub use provider::{ContextTokenProvider, ProviderConfig};
pub use token_cache::{FileTokenCache, MemoryTokenCache};
