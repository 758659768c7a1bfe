//! What the authenticator needs from the host: one implementation of the
//! IMS traits (usually `ims_core::ImsClient`) and a local verifier, the
//! host's storage — and a setter for each, to swap any single piece.

use std::fmt;
use std::sync::Arc;

use ims_api::{
    AdminUserDirectory, Clock, ImsSettingsStore, OrganizationReader, ProfileReader, SystemClock,
    TokenRevoker, TokenValidator, TokenVerifier, WebApiTokenRepository,
};

/// What the authenticator needs from the host: the IMS side (usually
/// `ims-core`'s client and verifier) and the host side (usually `ims-store`).
///
/// Built with [`new`](Self::new) from one implementation of the IMS traits;
/// each piece can then be swapped for the host's own with its `with_*`
/// setter:
///
/// ```
/// # use std::sync::Arc;
/// # use ims_api::{AdminUserDirectory, ImsSettingsStore, OrganizationReader, ProfileReader,
/// #     TokenRevoker, TokenValidator, TokenVerifier, WebApiTokenRepository};
/// use webapi_ims::WebApiServices;
///
/// fn wire<I>(
///     ims: Arc<I>,
///     verifier: Arc<dyn TokenVerifier>,
///     admins: Arc<dyn AdminUserDirectory>,
///     tokens: Arc<dyn WebApiTokenRepository>,
///     settings: Arc<dyn ImsSettingsStore>,
///     my_validator: Arc<dyn TokenValidator>,
/// ) -> WebApiServices
/// where
///     I: TokenValidator + ProfileReader + OrganizationReader + TokenRevoker + 'static,
/// {
///     WebApiServices::new(ims, verifier, admins, tokens, settings).with_validator(my_validator)
/// }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct WebApiServices {
    /// Local signature and claim checks (every new token).
    pub verifier: Arc<dyn TokenVerifier>,
    /// Remote validation at IMS (first sight, then every `revalidate_after`).
    pub validator: Arc<dyn TokenValidator>,
    /// The token's profile (its e-mail finds the admin).
    pub profiles: Arc<dyn ProfileReader>,
    /// Whether the token's user belongs to the configured organization
    /// (first sight), as admin sign-in requires.
    pub organizations: Arc<dyn OrganizationReader>,
    /// Logs tokens out at IMS when an admin's tokens are revoked.
    pub revoker: Arc<dyn TokenRevoker>,
    /// The host's admin users.
    pub admins: Arc<dyn AdminUserDirectory>,
    /// The `admin_adobe_ims_webapi` record.
    pub tokens: Arc<dyn WebApiTokenRepository>,
    /// Whether the integration is enabled, and its client.
    pub settings: Arc<dyn ImsSettingsStore>,
    /// The time ([`SystemClock`] unless [`with_clock`](Self::with_clock)).
    pub clock: Arc<dyn Clock>,
}

impl WebApiServices {
    /// The services, with one implementation of every IMS trait that asks
    /// IMS (such as `ims_core::ImsClient`): validation, profiles,
    /// organization membership and logout; `verifier` checks tokens locally
    /// (such as `ims_core::LocalVerifier`). The host side: its admin users,
    /// the `admin_adobe_ims_webapi` record and the integration's settings.
    /// The clock is the system's.
    pub fn new<I>(
        ims: Arc<I>,
        verifier: Arc<dyn TokenVerifier>,
        admins: Arc<dyn AdminUserDirectory>,
        tokens: Arc<dyn WebApiTokenRepository>,
        settings: Arc<dyn ImsSettingsStore>,
    ) -> Self
    where
        I: TokenValidator + ProfileReader + OrganizationReader + TokenRevoker + 'static,
    {
        WebApiServices {
            verifier,
            validator: ims.clone(),
            profiles: ims.clone(),
            organizations: ims.clone(),
            revoker: ims,
            admins,
            tokens,
            settings,
            clock: Arc::new(SystemClock),
        }
    }

    /// Swaps the local verifier.
    pub fn with_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = verifier;
        self
    }

    /// Swaps the validation at IMS.
    pub fn with_validator(mut self, validator: Arc<dyn TokenValidator>) -> Self {
        self.validator = validator;
        self
    }

    /// Swaps the profile reader.
    pub fn with_profiles(mut self, profiles: Arc<dyn ProfileReader>) -> Self {
        self.profiles = profiles;
        self
    }

    /// Swaps the organization membership check.
    pub fn with_organizations(mut self, organizations: Arc<dyn OrganizationReader>) -> Self {
        self.organizations = organizations;
        self
    }

    /// Swaps the logout at IMS.
    pub fn with_revoker(mut self, revoker: Arc<dyn TokenRevoker>) -> Self {
        self.revoker = revoker;
        self
    }

    /// Swaps the host's admin users.
    pub fn with_admins(mut self, admins: Arc<dyn AdminUserDirectory>) -> Self {
        self.admins = admins;
        self
    }

    /// Swaps the `admin_adobe_ims_webapi` record.
    pub fn with_tokens(mut self, tokens: Arc<dyn WebApiTokenRepository>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Swaps the integration's settings.
    pub fn with_settings(mut self, settings: Arc<dyn ImsSettingsStore>) -> Self {
        self.settings = settings;
        self
    }

    /// Swaps the clock (tests use a fixed one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for WebApiServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApiServices").finish_non_exhaustive()
    }
}
