//! The framework-neutral service: sign-in, callback, session re-validation,
//! re-authentication and logout.

mod guards;
mod login;
mod logout;
mod reauth;
mod session_check;

use std::fmt;
use std::sync::Arc;

use ims_api::{
    AdminMailer, AdminUserDirectory, AdminUserId, AuthorizeUrlBuilder, ClientCredentials, Clock,
    ImsProbe, ImsSettings, ImsSettingsStore, OrgId, OrganizationReader, ProfileReader, TokenGrants,
    TokenRevoker, TokenValidator, UserProfileRepository,
};
use time::OffsetDateTime;

pub(crate) use crate::LOG_TARGET;
use crate::error::LoginError;
use crate::hooks::IntegrationHooks;
use crate::{AdminImsConfig, session::Purpose};
use session_check::Revalidations;

/// What the service needs from the host: the IMS side (usually one
/// `ims_core::ImsClient` for all six traits) and the host side (usually
/// `ims-store`).
#[derive(Clone)]
#[non_exhaustive]
pub struct AdminImsServices {
    /// Builds the authorize URL.
    pub authorize: Arc<dyn AuthorizeUrlBuilder>,
    /// Exchanges the code.
    pub grants: Arc<dyn TokenGrants>,
    /// Re-validates session tokens and re-authentication tokens.
    pub validator: Arc<dyn TokenValidator>,
    /// Logs tokens out at IMS.
    pub revoker: Arc<dyn TokenRevoker>,
    /// Reads the signed-in user's profile.
    pub profiles: Arc<dyn ProfileReader>,
    /// Checks organization membership.
    pub organizations: Arc<dyn OrganizationReader>,
    /// The host's admin users.
    pub admins: Arc<dyn AdminUserDirectory>,
    /// The integration's settings.
    pub settings: Arc<dyn ImsSettingsStore>,
    /// The `adobe_user_profile` record, updated on every sign-in (optional).
    pub user_profiles: Option<Arc<dyn UserProfileRepository>>,
    /// What `enable` asks of the host beyond the settings (optional).
    pub hooks: Option<Arc<dyn IntegrationHooks>>,
    /// Sends the welcome e-mail to admins created at sign-in (optional).
    pub mailer: Option<Arc<dyn AdminMailer>>,
    /// The HTTP probe `enable` sends to IMS (required by `enable`; set by
    /// [`new`](Self::new) to the IMS implementation).
    pub probe: Option<Arc<dyn ImsProbe>>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl AdminImsServices {
    /// The services, with one implementation of every IMS trait (such as
    /// `ims_core::ImsClient`), which is also the probe `enable` sends.
    pub fn new<I>(
        ims: Arc<I>,
        admins: Arc<dyn AdminUserDirectory>,
        settings: Arc<dyn ImsSettingsStore>,
        clock: Arc<dyn Clock>,
    ) -> Self
    where
        I: AuthorizeUrlBuilder
            + TokenGrants
            + TokenValidator
            + TokenRevoker
            + ProfileReader
            + OrganizationReader
            + ImsProbe
            + 'static,
    {
        AdminImsServices {
            authorize: ims.clone(),
            grants: ims.clone(),
            validator: ims.clone(),
            revoker: ims.clone(),
            profiles: ims.clone(),
            organizations: ims.clone(),
            admins,
            settings,
            user_profiles: None,
            hooks: None,
            mailer: None,
            probe: Some(ims),
            clock,
        }
    }

    /// Keeps the `adobe_user_profile` record up to date.
    pub fn with_user_profiles(mut self, repository: Arc<dyn UserProfileRepository>) -> Self {
        self.user_profiles = Some(repository);
        self
    }

    /// The host's hooks for `enable`.
    pub fn with_hooks(mut self, hooks: Arc<dyn IntegrationHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Sends Magento's welcome e-mail to every admin a sign-in creates
    /// ([`ProvisioningPolicy`](crate::ProvisioningPolicy)).
    pub fn with_mailer(mut self, mailer: Arc<dyn AdminMailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Another probe for `enable` than the IMS implementation's.
    pub fn with_probe(mut self, probe: Arc<dyn ImsProbe>) -> Self {
        self.probe = Some(probe);
        self
    }
}

impl fmt::Debug for AdminImsServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminImsServices")
            .field("user_profiles", &self.user_profiles.is_some())
            .field("hooks", &self.hooks.is_some())
            .field("mailer", &self.mailer.is_some())
            .field("probe", &self.probe.is_some())
            .finish_non_exhaustive()
    }
}

/// A completed sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginSuccess {
    /// The signed-in admin.
    pub admin_id: AdminUserId,
    /// Where to send the browser (a path inside the host).
    pub redirect_to: String,
    /// Always `true`: the host must give the session a new id now (session
    /// fixation). The axum adapter does.
    pub rekey_session: bool,
}

/// A callback whose `state` matched a sign-in or re-authentication in flight
/// of the session, now spent there: what
/// [`AdminIms::claim_login`]/[`AdminIms::claim_reauth`] give and
/// [`AdminIms::finish_login`]/[`AdminIms::finish_reauth`] take. `Debug`
/// shows no code, state or verifier.
pub struct ClaimedCallback {
    pub(crate) pending: crate::session::Pending,
    pub(crate) query: crate::CallbackQuery,
}

impl fmt::Debug for ClaimedCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedCallback")
            .field("purpose", &self.pending.purpose)
            .finish_non_exhaustive()
    }
}

/// Which flow a callback completes: decided by the pending authorization
/// its `state` names, not by the route it came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackFlow {
    /// A sign-in.
    Login,
    /// A re-authentication before a sensitive action.
    Reauth,
}

impl ClaimedCallback {
    /// The flow this callback completes.
    pub fn flow(&self) -> CallbackFlow {
        match self.pending.purpose {
            Purpose::Login => CallbackFlow::Login,
            Purpose::Reauth => CallbackFlow::Reauth,
        }
    }
}

/// A completed callback, sign-in or re-authentication
/// ([`AdminIms::finish_callback`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackSuccess {
    /// The admin.
    pub admin_id: AdminUserId,
    /// Where to send the browser (a path inside the host).
    pub redirect_to: String,
    /// The flow completed.
    pub flow: CallbackFlow,
    /// Whether the host must give the session a new id now (after a
    /// sign-in: session fixation).
    pub rekey_session: bool,
}

/// A completed re-authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReauthSuccess {
    /// The admin.
    pub admin_id: AdminUserId,
    /// Where to send the browser back to (a path inside the host).
    pub redirect_to: String,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// IMS says the token is no longer valid (logged out, revoked, expired).
    TokenInvalid,
    /// IMS could not be reached and the outage policy ends the session.
    ImsUnavailable,
    /// The integration was disabled.
    Disabled,
    /// The admin user is gone, inactive, locked or without a role that
    /// grants anything.
    UserUnavailable,
    /// IMS says the signed-in user is no longer a member of the configured
    /// organization.
    NotMember,
}

impl SessionEnd {
    /// A stable reason for logs.
    pub fn reason(self) -> &'static str {
        match self {
            SessionEnd::TokenInvalid => "token_invalid",
            SessionEnd::ImsUnavailable => "ims_unavailable",
            SessionEnd::Disabled => "disabled",
            SessionEnd::UserUnavailable => "user_unavailable",
            SessionEnd::NotMember => "not_a_member",
        }
    }
}

/// The verdict on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// An admin is signed in.
    Valid(AdminUserId),
    /// The session was signed in and has just been ended: sign in again.
    Ended(SessionEnd),
    /// Nobody is signed in.
    NeedsLogin,
}

/// What a logout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutOutcome {
    /// The admin who was signed in, if any.
    pub admin_id: Option<AdminUserId>,
    /// Whether IMS confirmed the back-channel logout of the token.
    pub logged_out_at_ims: bool,
}

/// "Sign in with Adobe ID" for a host's admin area.
///
/// Framework-neutral: each method takes the [`AdminSession`](crate::AdminSession) the host keeps
/// for the browser and changes it in place; the host stores it back. See the
/// crate documentation for the flow.
pub struct AdminIms {
    pub(crate) services: AdminImsServices,
    pub(crate) config: AdminImsConfig,
    revalidations: Revalidations,
}

impl fmt::Debug for AdminIms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminIms")
            .field("config", &self.config)
            .field("services", &self.services)
            .finish()
    }
}

/// The enabled settings' credentials and organization.
struct Active {
    credentials: ClientCredentials,
    org: OrgId,
}

impl AdminIms {
    /// The service.
    pub fn new(services: AdminImsServices, config: AdminImsConfig) -> Self {
        AdminIms {
            services,
            config,
            revalidations: Revalidations::default(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AdminImsConfig {
        &self.config
    }

    fn now(&self) -> OffsetDateTime {
        self.services.clock.now()
    }

    async fn active_settings(&self) -> Result<Active, LoginError> {
        let settings = self
            .services
            .settings
            .load()
            .await
            .map_err(LoginError::Storage)?;
        active(&settings)
    }

    /// Where a sign-in without a return path lands: the configured home, or
    /// `/` if that is not a path inside the host.
    fn home(&self) -> String {
        crate::sanitize_return_path(&self.config.home_path).unwrap_or_else(|| "/".to_owned())
    }

    fn return_path(&self, candidate: Option<&str>) -> Option<String> {
        candidate.and_then(crate::sanitize_return_path)
    }
}

fn active(settings: &ImsSettings) -> Result<Active, LoginError> {
    if !settings.enabled {
        return Err(LoginError::Disabled);
    }
    let credentials = settings.credentials().ok_or_else(|| {
        LoginError::Misconfigured("the client id or client secret is not configured".into())
    })?;
    let org = settings
        .org_id
        .clone()
        .ok_or_else(|| LoginError::Misconfigured("the organization id is not configured".into()))?;
    Ok(Active { credentials, org })
}

impl AdminIms {
    /// Logs a refused or failed sign-in: the reason, the detail, and
    /// Magento's own message for it (what its log says).
    fn log_refusal(&self, event: &'static str, err: &LoginError) {
        self.log_refusal_for(event, err, err.admin_id());
    }

    fn log_refusal_for(
        &self,
        event: &'static str,
        err: &LoginError,
        admin_id: Option<AdminUserId>,
    ) {
        let admin_id = admin_id.or(err.admin_id()).map(|id| id.0);
        let message = err.log_message(&self.config.messages.product_name);
        if err.is_technical() {
            tracing::error!(target: LOG_TARGET, event, admin_id, reason = err.reason(), detail = %err, magento_message = %message, "Adobe ID sign-in failed");
        } else {
            tracing::warn!(target: LOG_TARGET, event, admin_id, reason = err.reason(), detail = %err, magento_message = %message, "Adobe ID sign-in refused");
        }
    }
}

pub(crate) fn to_time(duration: std::time::Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}
