//! # ims-api
//!
//! Checking the lifetime of a token's claims, with an injected clock:
//!
//! ```
//! use std::time::Duration;
//! use ims_api::{Clock, ManualClock, OrgId, TokenClaims, TokenRejection};
//! use time::macros::datetime;
//!
//! let org = OrgId::parse("0123456789ABCDEF01234567@AdobeOrg")?;
//! assert_eq!(org.as_str(), "0123456789ABCDEF01234567");
//!
//! let claims: TokenClaims = serde_json::from_str(r#"{
//!     "type": "access_token", "client_id": "my_client", "as": "ims-na1",
//!     "created_at": "1767225600000", "expires_in": "86400000"
//! }"#)?;
//! let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
//! assert!(claims.check_lifetime(clock.now(), Duration::ZERO).is_ok());
//!
//! clock.advance(Duration::from_secs(24 * 3600));
//! let err = claims.check_lifetime(clock.now(), Duration::ZERO).unwrap_err();
//! assert!(matches!(err, TokenRejection::Expired { .. }));
//! assert_eq!(err.to_string(), "Token has expired");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The contracts of the Adobe IMS toolkit: traits and domain types, and no
//! I/O. This is Magento's `AdobeImsApi` module for Rust.
//!
//! Every other crate speaks through these types. `admin-ims` and `webapi-ims`
//! depend on this crate only; a host application wires in implementations —
//! `ims-core` for the IMS side, `ims-store` for the host side, or its own —
//! as `Arc<dyn Trait>`, so any of them can be swapped.
//!
//! ## What is here
//!
//! - **IMS side**: [`AuthorizeUrlBuilder`], [`TokenGrants`] (code exchange,
//!   refresh, client credentials, JWT exchange), [`TokenValidator`] (remote),
//!   [`TokenVerifier`] (local), [`TokenRevoker`] (invalidate, revoke, logout),
//!   [`ProfileReader`], [`OrganizationReader`], and for configuration
//!   contexts [`TokenProvider`], [`ContextStore`] and [`TokenCache`].
//! - **Host side**: [`AdminUserDirectory`], [`WebApiTokenRepository`]
//!   (`admin_adobe_ims_webapi`), [`UserProfileRepository`]
//!   (`adobe_user_profile`), [`ImsSettingsStore`], and a [`Clock`]; the
//!   budgets of an admin session store, [`SessionLimits`]; the
//!   [`AdminMailer`] that sends new admins their [`WelcomeMail`].
//! - **Domain types**: secrets whose `Debug` is redacted ([`AccessToken`],
//!   [`ClientSecret`], …), typed [`TokenClaims`] (milliseconds parsed from
//!   strings), [`TokenResponse`] with `expires_in` resolved, [`Profile`],
//!   [`Organization`], validated [`OrgId`] and [`ClientId`], the
//!   [`ImsEnvironment`], and one [`Error`].
//! - **One helper**: [`constant_time_eq`], the workspace's one constant-time
//!   comparison of secrets.
//!
//! ## What this crate must never do
//!
//! Perform I/O (network, files, databases) or depend on a crate that does:
//! no reqwest, sqlx, axum, actix-web, hyper or tokio runtime. It holds no
//! IMS logic beyond what a type needs to be valid (parsing, expiry
//! arithmetic).
//!
//! Every trait is object-safe, `Send + Sync` and, where it may do I/O,
//! `#[async_trait]`. With the `mock` feature, each has a `mockall` mock
//! (`MockTokenVerifier`, …) for hosts' tests.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `mock` | no | `mockall` mocks of every trait (the `mock` module) for hosts' tests |

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorize;
mod changes;
mod claims;
mod clock;
mod constant_time;
mod context;
mod environment;
mod error;
mod grants;
pub mod host;
mod ids;
mod mailer;
mod organization;
mod profile;
mod revocation;
mod scopes;
mod secret;
mod session_limits;
mod tokens;
mod validation;

pub use authorize::{
    AuthorizeRedirect, AuthorizeRequest, AuthorizeUrlBuilder, ImsProbe, PkceChallenge, PkceMethod,
    ProbeAnswer, Prompt, ResponseMode,
};
pub use changes::{Change, ChangeFeed, ChangeSubscription, FeedEvent};
pub use claims::{ClaimScalar, TokenClaims, TokenType, from_unix_millis, to_unix_millis};
pub use clock::{Clock, ManualClock, SystemClock};
pub use constant_time::constant_time_eq;
pub use context::{
    CliContext, ConfigLocation, ContextCredentials, ContextStore, ImsContext, JwtContext,
    OAuthUserContext, PrivateKeySource, ServerToServerContext, TokenCache, TokenProvider,
};
pub use environment::{CustomEnvironment, ImsEnvironment, PROD_AUTHORITY};
pub use error::{Error, ImsRefusal, InvalidValue, Result, TokenRejection};
pub use grants::{
    ClientCredentials, CodeExchange, JwtServiceAccount, RefreshRequest, ServerToServer, TokenGrants,
};
pub use host::admin_user::{
    ADOBE_IMS_ROLE, AdminUser, AdminUserDirectory, LockoutPolicy, LoginFailures, NewAdminUser,
    same_email,
};
pub use host::settings::{ImsSettings, ImsSettingsStore};
pub use host::user_profile::{UserProfileRecord, UserProfileRepository};
pub use host::webapi_token::{
    FirstSight, FirstSightOutcome, InvalidationReason, Page, TokenStatus, WebApiToken,
    WebApiTokenRepository, normalized_email,
};
pub use ids::{AdminUserId, ClientId, ContextName, OrgId, TokenHash};
pub use mailer::{AdminMailer, WelcomeMail};
pub use organization::{OrgGroup, OrgRef, Organization, OrganizationReader};
pub use profile::{Address, Profile, ProfileReader, ProfileRole, UserInfo};
pub use revocation::{InvalidateRequest, TokenRevoker};
pub use scopes::Scopes;
pub use secret::{
    AccessToken, AnyToken, AuthorizationCode, ClientSecret, IdToken, Passphrase, Password,
    PkceVerifier, PrivateKeyPem, RefreshToken,
};
pub use session_limits::SessionLimits;
pub use tokens::{ContextTokens, ExpiresInUnit, ExpiringToken, TokenProfile, TokenResponse};
pub use validation::{TokenValidator, TokenValidity, TokenVerifier, VerifiedToken};

/// The `mockall` mocks of every trait (feature `mock`).
#[cfg(feature = "mock")]
pub mod mock {
    pub use crate::authorize::{MockAuthorizeUrlBuilder, MockImsProbe};
    pub use crate::changes::MockChangeFeed;
    pub use crate::clock::MockClock;
    pub use crate::context::{MockContextStore, MockTokenCache, MockTokenProvider};
    pub use crate::grants::MockTokenGrants;
    pub use crate::host::admin_user::MockAdminUserDirectory;
    pub use crate::host::settings::MockImsSettingsStore;
    pub use crate::host::user_profile::MockUserProfileRepository;
    pub use crate::host::webapi_token::MockWebApiTokenRepository;
    pub use crate::mailer::MockAdminMailer;
    pub use crate::organization::MockOrganizationReader;
    pub use crate::profile::MockProfileReader;
    pub use crate::revocation::MockTokenRevoker;
    pub use crate::validation::{MockTokenValidator, MockTokenVerifier};
}

#[cfg(test)]
mod contract_tests {
    use super::*;
    use std::sync::Arc;

    /// Every trait is object-safe and `Send + Sync`: hosts hold them as
    /// `Arc<dyn Trait>` across tasks.
    #[allow(dead_code)]
    struct Wiring {
        authorize: Arc<dyn AuthorizeUrlBuilder>,
        grants: Arc<dyn TokenGrants>,
        validator: Arc<dyn TokenValidator>,
        verifier: Arc<dyn TokenVerifier>,
        revoker: Arc<dyn TokenRevoker>,
        profiles: Arc<dyn ProfileReader>,
        organizations: Arc<dyn OrganizationReader>,
        provider: Arc<dyn TokenProvider>,
        contexts: Arc<dyn ContextStore>,
        token_cache: Arc<dyn TokenCache>,
        admins: Arc<dyn AdminUserDirectory>,
        webapi_tokens: Arc<dyn WebApiTokenRepository>,
        user_profiles: Arc<dyn UserProfileRepository>,
        settings: Arc<dyn ImsSettingsStore>,
        clock: Arc<dyn Clock>,
        changes: Arc<dyn ChangeFeed>,
    }

    fn assert_send_sync<T: Send + Sync + ?Sized>() {}

    #[test]
    fn wiring_is_send_and_sync() {
        assert_send_sync::<Wiring>();
    }
}

#[cfg(all(test, feature = "mock"))]
mod mock_tests {
    use super::mock::*;
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn mocks_stand_in_for_the_traits() {
        let mut verifier = MockTokenVerifier::new();
        verifier
            .expect_verify()
            .times(1)
            .returning(|_| Err(Error::InvalidToken(TokenRejection::BadSignature)));
        let verifier: Arc<dyn TokenVerifier> = Arc::new(verifier);
        let err = verifier.verify(&AccessToken::new("x")).await.unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidToken(TokenRejection::BadSignature)
        ));

        let mut directory = MockAdminUserDirectory::new();
        directory
            .expect_find_by_email()
            .withf(|email| email == "jane@example.com")
            .returning(|_| Ok(None));
        assert!(
            directory
                .find_by_email("jane@example.com")
                .await
                .unwrap()
                .is_none()
        );

        let mut clock = MockClock::new();
        let now = time::OffsetDateTime::UNIX_EPOCH;
        clock.expect_now().return_const(now);
        assert_eq!(clock.now(), now);

        let mut cache = MockTokenCache::new();
        cache.expect_try_lease().returning(|_, _, _| Ok(true));
        let name = ContextName::parse("ctx").unwrap();
        assert!(
            cache
                .try_lease(&name, "me", Duration::from_secs(5))
                .await
                .unwrap()
        );
    }
}
