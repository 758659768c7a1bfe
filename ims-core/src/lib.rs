//! # ims-core
//!
//! ```
//! use ims_api::{
//!     ClientCredentials, ClientId, ClientSecret, ImsEnvironment, Scopes, ServerToServer,
//!     TokenGrants, TokenVerifier,
//! };
//! use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
//! use ims_emulator::{Emulator, default_seed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A local IMS (`ImsEnvironment::Prod` in production).
//! let ims = Emulator::builder().start().await?;
//! let env = ImsEnvironment::custom(ims.base())?;
//!
//! // A server-to-server token (OAuth client credentials)…
//! let client = ImsClient::new(env.clone())?;
//! let request = ServerToServer::new(
//!     ClientCredentials::new(
//!         ClientId::parse(default_seed::S2S_CLIENT_ID)?,
//!         ClientSecret::new(default_seed::S2S_CLIENT_SECRET),
//!     ),
//!     Scopes::parse("openid,AdobeID"),
//! );
//! let token = client.client_credentials(&request).await?;
//!
//! // …verified locally: RS256 against IMS's published keys, type, `as`, expiry.
//! let verifier = LocalVerifier::new(env, VerifierConfig::default())?;
//! let verified = verifier.verify(&token.access_token).await?;
//! assert_eq!(verified.claims.client_id.as_deref(), Some(default_seed::S2S_CLIENT_ID));
//! # Ok(())
//! # }
//! ```
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
//! ## Token checks
//!
//! - [`LocalVerifier`] ([`ims_api::TokenVerifier`]): RS256 signature against
//!   IMS's published keys (`/ims/keys` by `kid`, or the certificate named by
//!   `x5u`; cached, refetched at most once per interval on an unknown `kid`),
//!   then `type`, `as`, `created_at + expires_in` and an optional client
//!   allow-list. Configured by [`VerifierConfig`].
//! - [`CachedValidator`] ([`ims_api::TokenValidator`]): remote validation
//!   behind a cache keyed by SHA-256, with separate bounded caches for valid
//!   and invalid verdicts and single flight. Configured by
//!   [`ValidationCacheConfig`].
//! - [`decode_unverified`]: a token's claims for display (aio's
//!   `getTokenData`), with no check at all.
//!
//! ## What this crate must never do
//!
//! - Depend on `admin-ims`, `webapi-ims` or `ims-store`: those plug into a host
//!   through `ims-api` traits; this crate is one implementation of them.
//! - Log, `Debug`-print or put into an error message a token, client secret or
//!   private key.
//! - Replay a one-time authorization code on retry.

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin_lookup;
mod aio_config;
mod assertion;
mod client;
mod contexts;
mod endpoints;
mod exchange;
mod front_channel;
mod http;
mod jwt;
mod keys;
pub mod metrics;
mod pkce;
mod probe;
mod provider;
mod registration;
mod token_cache;
mod validation_cache;
mod verify;
mod wire;

pub use admin_lookup::AdminLookup;
pub use aio_config::{AioConfig, ConfigPaths, MergedConfig, Origin};
pub use client::{ClientAuth, ImsClient};
pub use contexts::AioContextStore;
pub use endpoints::TokenEndpoint;
pub use exchange::{ClusterExchange, ClusterTarget, OnBehalfOf};
pub use http::{HttpPolicy, MAX_ANSWER_BYTES, ims_url_is_allowed};
pub use ims_api;
pub use jwt::{MAX_TOKEN_LEN, decode_unverified};
pub use pkce::{PkcePair, random_nonce, random_state};
pub use provider::{ContextTokenProvider, ImsClients, ProviderConfig};
pub use registration::{ClientRegistration, RegisteredClient};
pub use token_cache::{FileTokenCache, MemoryTokenCache};
pub use validation_cache::{CachedValidator, ValidationCacheConfig};
pub use verify::{LocalVerifier, VerifierConfig};
