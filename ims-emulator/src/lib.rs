//! # ims-emulator
//!
//! ```
//! use ims_emulator::{Emulator, MintTokenRequest, default_seed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ims_emulator::EmulatorError> {
//! let ims = Emulator::builder().start().await?; // default seed, 127.0.0.1:<free port>
//! let token_endpoint = ims.url("/ims/token/v3");
//! assert!(token_endpoint.starts_with("http://127.0.0.1:"));
//!
//! // Mint a token directly, without a browser.
//! let token = ims.mint_access_token(
//!     &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
//!         .scope("AdobeID,openid"),
//! )?;
//! assert_eq!(token.split('.').count(), 3);
//! # Ok(())
//! # }
//! // Dropping `ims` stops the server.
//! ```
//!
//! A faithful local Adobe IMS: it speaks IMS's wire protocol closely enough that Adobe's own
//! clients would accept it, so every crate of this workspace is tested against it over real HTTP,
//! and integrators can test their apps.
//!
//! It must never be used as a production identity provider: its default seed ships demo keys and
//! passwords as labelled test fixtures.
//!
//! The server replaces Adobe's hosts: discovery at `<base>/ims/.well-known/openid-configuration`,
//! JWT-exchange audience `<base>/c/<client_id>`, meta-scope claims `<base>/s/<meta_scope>`,
//! membership at `<base>/<orgId>@AdobeOrg/membership`, certificates at `<base>/keys/prod/<x5u>`.
//! See the crate's README for every endpoint, the default seed and the control API.

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod control;
pub mod default_seed;
mod error;
mod faults;
mod html;
mod keys;
mod locks;
mod middleware;
mod params;
mod routes;
mod seed;
mod server;
mod sign_in_form;
mod state;
mod stats;
mod tokens;

pub use control::{ControlHandle, MintTokenRequest};
pub use error::EmulatorError;
pub use faults::FaultSpec;
pub use seed::{
    GRANT_CLUSTER_EXCHANGE, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE, Seed, SeedClient, SeedOrg,
    SeedUser, TechnicalAccount,
};
pub use server::{Emulator, EmulatorBuilder, RunningEmulator};
pub use sign_in_form::SignInForm;
pub use stats::Stats;
