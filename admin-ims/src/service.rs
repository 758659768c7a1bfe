//! The framework-neutral service: sign-in, callback, session re-validation,
//! re-authentication and logout.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ims_api::{
    ADOBE_IMS_ROLE, AccessToken, AdminUser, AdminUserDirectory, AdminUserId, AnyToken,
    AuthorizeRequest, AuthorizeUrlBuilder, ClientCredentials, ClientId, Clock, CodeExchange,
    ImsSettings, ImsSettingsStore, InvalidateRequest, NewAdminUser, OrgId, OrganizationReader,
    Password, Profile, ProfileReader, TokenGrants, TokenResponse, TokenRevoker, TokenValidator,
    TokenValidity, UserProfileRecord, UserProfileRepository,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use url::Url;

use crate::callback::loggable;
use crate::error::{ImsOwnedField, LoginError, PasswordLoginRefused, ReauthRequired};
use crate::operator::{ImsProbe, IntegrationHooks};
use crate::random::{ct_eq, new_password, new_pkce, new_state};
use crate::session::{Pending, Purpose, ReauthProof, SessionSecret, SignedIn};
use crate::{AdminImsConfig, AdminSession, CallbackQuery, OutagePolicy, ProvisioningPolicy};

/// The `tracing` target of every event this crate emits.
pub const LOG_TARGET: &str = "admin_ims";

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
    /// The HTTP probe `enable` sends to IMS (required by `enable`).
    pub probe: Option<Arc<dyn ImsProbe>>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl AdminImsServices {
    /// The services, with one implementation of every IMS trait (such as
    /// `ims_core::ImsClient`).
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
            + 'static,
    {
        AdminImsServices {
            authorize: ims.clone(),
            grants: ims.clone(),
            validator: ims.clone(),
            revoker: ims.clone(),
            profiles: ims.clone(),
            organizations: ims,
            admins,
            settings,
            user_profiles: None,
            hooks: None,
            probe: None,
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

    /// The probe `enable` sends to IMS.
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
    /// The admin user is gone, inactive or locked.
    UserUnavailable,
}

impl SessionEnd {
    /// A stable reason for logs.
    pub fn reason(self) -> &'static str {
        match self {
            SessionEnd::TokenInvalid => "token_invalid",
            SessionEnd::ImsUnavailable => "ims_unavailable",
            SessionEnd::Disabled => "disabled",
            SessionEnd::UserUnavailable => "user_unavailable",
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

/// What IMS last said about a session token, shared by the checks of
/// concurrent requests so that one interval costs one validation.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// Valid at this time.
    Confirmed(OffsetDateTime),
    /// Not valid.
    Rejected,
    /// IMS could not be asked at this time.
    Unavailable(OffsetDateTime),
}

/// One lock per session token: concurrent checks that find the interval
/// over wait for the first one's verdict instead of asking IMS again.
type Gate = Arc<tokio::sync::Mutex<Option<Verdict>>>;

/// Gates kept at most; idle ones are dropped beyond this (costing at most
/// one extra validation each).
const MAX_GATES: usize = 10_000;

/// How long an IMS outage seen by one check spares the others the wait.
const OUTAGE_MEMORY: time::Duration = time::Duration::seconds(10);

#[derive(Debug, Default)]
struct Revalidations {
    gates: Mutex<HashMap<[u8; 32], Gate>>,
}

impl Revalidations {
    fn gate(&self, key: [u8; 32]) -> Gate {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if gates.len() >= MAX_GATES {
            gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        }
        gates.entry(key).or_default().clone()
    }

    fn forget(&self, key: &[u8; 32]) {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

fn token_key(token: &AccessToken) -> [u8; 32] {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

/// "Sign in with Adobe ID" for a host's admin area.
///
/// Framework-neutral: each method takes the [`AdminSession`] the host keeps
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

    /// Records a pending authorization and builds its authorize URL.
    async fn begin(
        &self,
        session: &mut AdminSession,
        purpose: Purpose,
        return_to: Option<&str>,
        client_id: ClientId,
    ) -> Result<Url, LoginError> {
        let now = self.now();
        let state = new_state();
        let (verifier, challenge) = new_pkce();
        let redirect_uri = match purpose {
            Purpose::Login => self.config.callback_url.clone(),
            Purpose::Reauth => self.config.reauth_callback_url.clone(),
        };
        let mut request = AuthorizeRequest::new(client_id, redirect_uri, state.clone())
            .with_scopes(self.config.scopes.clone())
            .with_pkce(challenge);
        if let Some(locale) = &self.config.locale {
            request = request.with_locale(locale.clone());
        }
        if purpose == Purpose::Reauth {
            request = request.for_reauth();
        }
        let url = self
            .services
            .authorize
            .authorize_url(&request)
            .await
            .map_err(LoginError::Ims)?;
        session.pending.retain(|p| p.expires_at > now);
        let keep = self.config.max_pending.max(1);
        while session.pending.len() >= keep {
            session.pending.remove(0);
        }
        session.pending.push(Pending {
            purpose,
            state: SessionSecret::new(state),
            verifier: SessionSecret::new(verifier.expose_secret()),
            return_to: self.return_path(return_to),
            expires_at: now.saturating_add(to_time(self.config.state_ttl)),
        });
        Ok(url)
    }

    /// Consumes the pending authorization the callback's state names.
    fn take_pending(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
        purpose: Purpose,
    ) -> Result<Pending, LoginError> {
        let now = self.now();
        // Every pending state is compared, in constant time each.
        let matched = query.state().and_then(|state| {
            let mut found = None;
            for (index, pending) in session.pending.iter().enumerate() {
                if ct_eq(pending.state.expose(), state) && found.is_none() {
                    found = Some(index);
                }
            }
            found
        });
        // Single use: a matched state is gone whatever happens next.
        let pending = matched.map(|index| session.pending.remove(index));
        session.pending.retain(|p| p.expires_at > now);
        if let Some(problem) = query.problem() {
            return Err(LoginError::MalformedCallback(problem));
        }
        if query.state().is_none() {
            return Err(LoginError::InvalidState("the callback has no state"));
        }
        let Some(pending) = pending else {
            return Err(LoginError::InvalidState(
                "the state is unknown to this session or was already used",
            ));
        };
        if pending.expires_at <= now {
            return Err(LoginError::ExpiredState);
        }
        if pending.purpose != purpose {
            return Err(LoginError::InvalidState(
                "the state belongs to another flow",
            ));
        }
        if let Some(error) = query.ims_error() {
            return Err(LoginError::ImsDenied {
                error: loggable(error),
                description: loggable(query.ims_error_description().unwrap_or_default()),
            });
        }
        if !query.has_code() {
            return Err(LoginError::MalformedCallback("the callback has no code"));
        }
        Ok(pending)
    }

    async fn exchange(
        &self,
        query: &CallbackQuery,
        pending: &Pending,
        active: &Active,
        redirect_uri: &Url,
    ) -> Result<TokenResponse, LoginError> {
        let code = query
            .code()
            .cloned()
            .ok_or(LoginError::MalformedCallback("the callback has no code"))?;
        let exchange = CodeExchange::new(active.credentials.clone(), code)
            .with_redirect_uri(redirect_uri.clone())
            .with_code_verifier(pending.verifier());
        self.services
            .grants
            .exchange_code(&exchange)
            .await
            .map_err(LoginError::CodeExchange)
    }

    /// Back-channel logout of a token, best effort; failures are logged.
    async fn logout_at_ims(
        &self,
        credentials: &ClientCredentials,
        token: &AccessToken,
        admin_id: Option<AdminUserId>,
        why: &'static str,
    ) -> bool {
        match self.services.revoker.logout(credentials, token).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(
                    target: LOG_TARGET,
                    event = "ims_logout_failed",
                    admin_id = admin_id.map(|id| id.0),
                    why,
                    error = %err,
                    "could not log the IMS token out at IMS"
                );
                false
            }
        }
    }

    /// Starts a sign-in: the IMS authorize URL to send the browser to, with a
    /// fresh `state` (256 bits, single use, expiring after
    /// [`state_ttl`](AdminImsConfig::state_ttl)) and a PKCE S256 challenge,
    /// both kept in `session`. `return_to` is kept only if it is a path
    /// inside the host ([`sanitize_return_path`](crate::sanitize_return_path)).
    pub async fn begin_login(
        &self,
        session: &mut AdminSession,
        return_to: Option<&str>,
    ) -> Result<Url, LoginError> {
        let active = match self.active_settings().await {
            Ok(active) => active,
            Err(err) => {
                log_refusal("login_refused", &err);
                return Err(err);
            }
        };
        let result = self
            .begin(
                session,
                Purpose::Login,
                return_to,
                active.credentials.client_id,
            )
            .await;
        if let Err(err) = &result {
            log_refusal("login_refused", err);
        }
        result
    }

    /// Completes a sign-in from IMS's callback.
    ///
    /// On success the session holds the admin, the access token and the time
    /// of its check, and [`LoginSuccess::rekey_session`] tells the host to
    /// give the session a new id. On a failure after the code exchange the
    /// IMS token is logged out at IMS.
    pub async fn complete_login(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<LoginSuccess, LoginError> {
        let result = self.complete_login_inner(session, query).await;
        match &result {
            Ok(success) => tracing::info!(
                target: LOG_TARGET,
                event = "login",
                admin_id = success.admin_id.0,
                "admin signed in with Adobe ID"
            ),
            Err(err) => log_refusal("login_refused", err),
        }
        result
    }

    async fn complete_login_inner(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<LoginSuccess, LoginError> {
        let pending = self.take_pending(session, query, Purpose::Login)?;
        let active = self.active_settings().await?;
        let tokens = self
            .exchange(query, &pending, &active, &self.config.callback_url)
            .await?;
        match self.admit(&tokens, &active).await {
            Ok((user, profile)) => {
                let now = self.now();
                self.save_profile(&user, &profile, &tokens, now).await;
                session.clear();
                session.signed_in = Some(SignedIn {
                    admin_id: user.id,
                    ims_user_id: profile.user_id.clone(),
                    email: user.email.clone(),
                    access_token: SessionSecret::new(tokens.access_token.expose_secret()),
                    last_check: now,
                });
                Ok(LoginSuccess {
                    admin_id: user.id,
                    redirect_to: pending.return_to.unwrap_or_else(|| self.home()),
                    rekey_session: true,
                })
            }
            Err(err) => {
                self.logout_at_ims(
                    &active.credentials,
                    &tokens.access_token,
                    err.admin_id(),
                    "sign-in refused",
                )
                .await;
                Err(err)
            }
        }
    }

    /// Profile, membership, user match and policy checks.
    async fn admit(
        &self,
        tokens: &TokenResponse,
        active: &Active,
    ) -> Result<(AdminUser, Profile), LoginError> {
        let token = &tokens.access_token;
        let profile = self
            .services
            .profiles
            .profile(token, &active.credentials.client_id)
            .await
            .map_err(LoginError::Ims)?;
        let email = profile
            .email
            .as_deref()
            .map(str::trim)
            .filter(|email| !email.is_empty())
            .ok_or(LoginError::NoEmail)?
            .to_owned();
        let member = self
            .services
            .organizations
            .is_member(token, &active.org)
            .await
            .map_err(LoginError::Ims)?;
        if !member {
            return Err(LoginError::NotMember);
        }
        let admins = &self.services.admins;
        let user = admins
            .find_by_email(&email)
            .await
            .map_err(LoginError::Storage)?;
        let Some(user) = user else {
            return Err(self.provision(&email, &profile).await);
        };
        let now = self.now();
        let refusal = if user.is_locked(now) {
            Some(LoginError::Locked { admin_id: user.id })
        } else if !user.is_active {
            Some(LoginError::Inactive { admin_id: user.id })
        } else if !user.has_permissions() {
            Some(LoginError::NoPermissions { admin_id: user.id })
        } else {
            None
        };
        if let Some(refusal) = refusal {
            // Magento counts every failed sign-in of a known user.
            if let Err(err) = admins
                .record_login_failure(user.id, &self.config.lockout, now)
                .await
            {
                tracing::error!(target: LOG_TARGET, event = "lockout_count_failed", admin_id = user.id.0, error = %err, "could not count a failed sign-in");
            }
            return Err(refusal);
        }
        admins
            .reset_login_failures(user.id)
            .await
            .map_err(LoginError::Storage)?;
        Ok((user, profile))
    }

    /// No user has the e-mail address: create one without permissions (and
    /// refuse), or just refuse.
    async fn provision(&self, email: &str, profile: &Profile) -> LoginError {
        if self.config.provisioning == ProvisioningPolicy::Off {
            return LoginError::NoMatchingUser;
        }
        let username = email.split('@').next().unwrap_or(email);
        let user = NewAdminUser::new(
            username,
            email,
            profile.first_name.clone().unwrap_or_default(),
            profile.last_name.clone().unwrap_or_default(),
            Password::new(new_password()),
        )
        .with_role(ADOBE_IMS_ROLE);
        match self.services.admins.create(&user).await {
            Ok(created) => {
                tracing::info!(
                    target: LOG_TARGET,
                    event = "admin_provisioned",
                    admin_id = created.id.0,
                    role = ADOBE_IMS_ROLE,
                    "created an admin user without permissions for a new Adobe ID"
                );
                LoginError::Provisioned {
                    admin_id: created.id,
                }
            }
            Err(err) => LoginError::Storage(err),
        }
    }

    async fn save_profile(
        &self,
        user: &AdminUser,
        profile: &Profile,
        tokens: &TokenResponse,
        now: OffsetDateTime,
    ) {
        let Some(repository) = &self.services.user_profiles else {
            return;
        };
        let name = profile
            .name
            .clone()
            .or_else(|| profile.display_name.clone())
            .unwrap_or_default();
        let mut record = UserProfileRecord::new(user.id, name, user.email.clone(), now);
        record.account_type = profile.account_type.clone();
        record.access_token = Some(tokens.access_token.clone());
        record.refresh_token = tokens.refresh_token.clone();
        record.access_token_expires_at = Some(now.saturating_add(to_time(tokens.expires_in)));
        if let Ok(Some(existing)) = repository.find_by_admin(user.id).await {
            record.created_at = existing.created_at;
            record.image = existing.image;
        }
        if let Err(err) = repository.save(&record).await {
            tracing::error!(target: LOG_TARGET, event = "profile_save_failed", admin_id = user.id.0, error = %err, "could not save the admin's IMS profile");
        }
    }

    /// Whether the session's admin is still signed in.
    ///
    /// The token is re-validated at IMS at most once per
    /// [`revalidate_after`](AdminImsConfig::revalidate_after); in between this
    /// makes no call at all, and concurrent checks of one token share one
    /// call. An invalid token ends the session; an IMS outage
    /// follows the [`OutagePolicy`]. The integration being disabled, or the
    /// admin user gone, inactive or locked, also ends the session (checked
    /// at re-validation time).
    pub async fn check_session(&self, session: &mut AdminSession) -> SessionState {
        let Some(signed_in) = session.signed_in.clone() else {
            return SessionState::NeedsLogin;
        };
        let now = self.now();
        let interval = to_time(self.config.revalidate_after);
        if now < signed_in.last_check.saturating_add(interval) {
            return SessionState::Valid(signed_in.admin_id);
        }
        let admin_id = signed_in.admin_id;
        let end = |session: &mut AdminSession, why: SessionEnd| {
            session.clear();
            tracing::info!(
                target: LOG_TARGET,
                event = "session_ended",
                admin_id = admin_id.0,
                reason = why.reason(),
                "admin session ended"
            );
            SessionState::Ended(why)
        };
        let settings = match self.services.settings.load().await {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not load the IMS settings");
                return self.outage(session, &signed_in, now, end);
            }
        };
        let active = match active(&settings) {
            Ok(active) => active,
            Err(_) => return end(session, SessionEnd::Disabled),
        };
        match self.services.admins.find_by_id(admin_id).await {
            Ok(Some(user)) if user.is_active && !user.is_locked(now) => {}
            Ok(_) => {
                self.logout_at_ims(
                    &active.credentials,
                    &signed_in.token(),
                    Some(admin_id),
                    "admin user unavailable",
                )
                .await;
                return end(session, SessionEnd::UserUnavailable);
            }
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not read the admin user");
                return self.outage(session, &signed_in, now, end);
            }
        }
        let token = signed_in.token();
        let key = token_key(&token);
        let gate = self.revalidations.gate(key);
        let mut verdict = gate.lock().await;
        match *verdict {
            Some(Verdict::Confirmed(at)) if now < at.saturating_add(interval) => {
                // A concurrent request of this session asked IMS a moment ago.
                if let Some(current) = session.signed_in.as_mut() {
                    current.last_check = at;
                }
                return SessionState::Valid(admin_id);
            }
            Some(Verdict::Rejected) => {
                drop(verdict);
                self.revalidations.forget(&key);
                return end(session, SessionEnd::TokenInvalid);
            }
            Some(Verdict::Unavailable(at)) if now < at.saturating_add(OUTAGE_MEMORY) => {
                return self.outage(session, &signed_in, now, end);
            }
            _ => {}
        }
        match self
            .services
            .validator
            .validate(&token, &active.credentials.client_id)
            .await
        {
            Ok(TokenValidity::Valid { .. }) => {
                *verdict = Some(Verdict::Confirmed(now));
                if let Some(current) = session.signed_in.as_mut() {
                    current.last_check = now;
                }
                tracing::debug!(target: LOG_TARGET, event = "session_revalidated", admin_id = admin_id.0, "IMS confirmed the session's token");
                SessionState::Valid(admin_id)
            }
            Ok(TokenValidity::Invalid { reason }) => {
                *verdict = Some(Verdict::Rejected);
                drop(verdict);
                self.revalidations.forget(&key);
                tracing::info!(target: LOG_TARGET, event = "session_token_invalid", admin_id = admin_id.0, ims_reason = %loggable(&reason), "IMS says the session's token is no longer valid");
                end(session, SessionEnd::TokenInvalid)
            }
            Ok(_) => {
                *verdict = Some(Verdict::Rejected);
                end(session, SessionEnd::TokenInvalid)
            }
            Err(err) => {
                *verdict = Some(Verdict::Unavailable(now));
                tracing::error!(target: LOG_TARGET, event = "revalidation_failed", admin_id = admin_id.0, error = %err, "could not re-validate the session's token at IMS");
                self.outage(session, &signed_in, now, end)
            }
        }
    }

    fn outage(
        &self,
        session: &mut AdminSession,
        signed_in: &SignedIn,
        now: OffsetDateTime,
        end: impl FnOnce(&mut AdminSession, SessionEnd) -> SessionState,
    ) -> SessionState {
        match self.config.outage_policy {
            OutagePolicy::KeepWithin(grace) => {
                let limit = signed_in
                    .last_check
                    .saturating_add(to_time(self.config.revalidate_after))
                    .saturating_add(to_time(grace));
                if now < limit {
                    SessionState::Valid(signed_in.admin_id)
                } else {
                    end(session, SessionEnd::ImsUnavailable)
                }
            }
            OutagePolicy::EndSession => end(session, SessionEnd::ImsUnavailable),
        }
    }

    /// Starts a re-authentication for a sensitive action: an authorize URL
    /// with `reauth=check`, state and PKCE as for sign-in. Needs a signed-in
    /// admin.
    pub async fn begin_reauth(
        &self,
        session: &mut AdminSession,
        return_to: Option<&str>,
    ) -> Result<Url, LoginError> {
        let result = async {
            if !session.is_signed_in() {
                return Err(LoginError::NotSignedIn);
            }
            let active = self.active_settings().await?;
            self.begin(
                session,
                Purpose::Reauth,
                return_to,
                active.credentials.client_id,
            )
            .await
        }
        .await;
        if let Err(err) = &result {
            log_refusal_for("reauth_refused", err, session.admin_id());
        }
        result
    }

    /// Completes a re-authentication from IMS's callback: the state is
    /// checked, the code exchanged, the new token validated at IMS and its
    /// user compared with the session's. On success the session holds a
    /// single-use proof for [`reauth_ttl`](AdminImsConfig::reauth_ttl). The
    /// re-authentication token is invalidated at IMS either way.
    pub async fn complete_reauth(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ReauthSuccess, LoginError> {
        let result = self.complete_reauth_inner(session, query).await;
        match &result {
            Ok(success) => tracing::info!(
                target: LOG_TARGET,
                event = "reauth",
                admin_id = success.admin_id.0,
                "admin re-authenticated with Adobe ID"
            ),
            Err(err) => log_refusal_for("reauth_refused", err, session.admin_id()),
        }
        result
    }

    async fn complete_reauth_inner(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ReauthSuccess, LoginError> {
        let pending = self.take_pending(session, query, Purpose::Reauth)?;
        let Some(signed_in) = session.signed_in.clone() else {
            return Err(LoginError::NotSignedIn);
        };
        let active = self.active_settings().await?;
        let tokens = self
            .exchange(query, &pending, &active, &self.config.reauth_callback_url)
            .await?;
        let verdict = self
            .confirm_same_user(&tokens.access_token, &active, &signed_in)
            .await;
        // The re-authentication token proved what it had to: end it alone
        // (a logout would end the IMS session the admin works in).
        let invalidate = InvalidateRequest::new(
            active.credentials.clone(),
            AnyToken::Access(tokens.access_token.clone()),
        );
        if let Err(err) = self.services.revoker.invalidate(&invalidate).await {
            tracing::warn!(target: LOG_TARGET, event = "ims_invalidate_failed", admin_id = signed_in.admin_id.0, error = %err, "could not invalidate the re-authentication token at IMS");
        }
        verdict?;
        let now = self.now();
        session.reauth_proof = Some(ReauthProof {
            expires_at: now.saturating_add(to_time(self.config.reauth_ttl)),
        });
        Ok(ReauthSuccess {
            admin_id: signed_in.admin_id,
            redirect_to: pending.return_to.unwrap_or_else(|| self.home()),
        })
    }

    async fn confirm_same_user(
        &self,
        token: &AccessToken,
        active: &Active,
        signed_in: &SignedIn,
    ) -> Result<(), LoginError> {
        let client_id = &active.credentials.client_id;
        match self.services.validator.validate(token, client_id).await {
            Ok(TokenValidity::Valid { .. }) => {}
            Ok(TokenValidity::Invalid { reason }) => {
                return Err(LoginError::ReauthTokenInvalid(loggable(&reason)));
            }
            Ok(_) => return Err(LoginError::ReauthTokenInvalid("unknown verdict".into())),
            Err(err) => return Err(LoginError::Ims(err)),
        }
        let profile = self
            .services
            .profiles
            .profile(token, client_id)
            .await
            .map_err(LoginError::Ims)?;
        let same = match (&signed_in.ims_user_id, &profile.user_id) {
            (Some(expected), Some(found)) => ct_eq(expected, found),
            (None, _) => profile
                .email
                .as_deref()
                .is_some_and(|email| email.trim().eq_ignore_ascii_case(&signed_in.email)),
            (Some(_), None) => false,
        };
        if same {
            Ok(())
        } else {
            Err(LoginError::DifferentUser {
                admin_id: signed_in.admin_id,
            })
        }
    }

    /// The guard a host calls before a sensitive action (creating or editing
    /// admin users, roles, integrations): consumes the session's
    /// re-authentication proof, or refuses with "Please perform the AdobeIms
    /// reAuth and try again." when there is none, it expired, or the session
    /// has no admin.
    pub fn require_reauth(&self, session: &mut AdminSession) -> Result<(), ReauthRequired> {
        let now = self.now();
        let proof = session.reauth_proof.take();
        let admin_id = session.admin_id();
        match (admin_id, proof) {
            (Some(admin_id), Some(proof)) if proof.expires_at > now => {
                tracing::info!(target: LOG_TARGET, event = "reauth_used", admin_id = admin_id.0, "re-authentication proof used for a sensitive action");
                Ok(())
            }
            (admin_id, proof) => {
                let reason = if proof.is_some() {
                    "proof_expired"
                } else {
                    "no_proof"
                };
                tracing::warn!(target: LOG_TARGET, event = "reauth_required", admin_id = admin_id.map(|id| id.0), reason, "sensitive action refused without re-authentication");
                Err(ReauthRequired)
            }
        }
    }

    /// Logs the admin out: back-channel logout of the session's token at IMS,
    /// then the session data is cleared (also when IMS is down; the failure
    /// is logged). The host then destroys its session.
    pub async fn logout(&self, session: &mut AdminSession) -> LogoutOutcome {
        let signed_in = session.signed_in.take();
        session.clear();
        let Some(signed_in) = signed_in else {
            return LogoutOutcome {
                admin_id: None,
                logged_out_at_ims: false,
            };
        };
        let admin_id = signed_in.admin_id;
        self.revalidations.forget(&token_key(&signed_in.token()));
        let logged_out_at_ims = match self.services.settings.load().await {
            Ok(settings) => match settings.credentials() {
                Some(credentials) => {
                    self.logout_at_ims(&credentials, &signed_in.token(), Some(admin_id), "logout")
                        .await
                }
                None => false,
            },
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "ims_logout_failed", admin_id = admin_id.0, error = %err, "could not load the IMS settings for logout");
                false
            }
        };
        tracing::info!(
            target: LOG_TARGET,
            event = "logout",
            admin_id = admin_id.0,
            logged_out_at_ims,
            "admin signed out"
        );
        LogoutOutcome {
            admin_id: Some(admin_id),
            logged_out_at_ims,
        }
    }

    /// Whether the integration is enabled. A storage failure counts as
    /// enabled, so password sign-in fails closed.
    async fn enabled_or_unknown(&self) -> bool {
        match self.services.settings.load().await {
            Ok(settings) => settings.enabled,
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "settings_unavailable", error = %err, "could not load the IMS settings");
                true
            }
        }
    }

    /// The host's password sign-in calls this first: while the integration is
    /// enabled it refuses with "Please sign in with Adobe ID".
    pub async fn refuse_password_login(&self) -> Result<(), PasswordLoginRefused> {
        if self.enabled_or_unknown().await {
            tracing::warn!(target: LOG_TARGET, event = "password_login_refused", reason = "ims_enabled", "password sign-in refused");
            Err(PasswordLoginRefused)
        } else {
            Ok(())
        }
    }

    /// Whether "forgot your password" may be offered (not while the
    /// integration is enabled).
    pub async fn password_reset_allowed(&self) -> bool {
        !self.enabled_or_unknown().await
    }

    /// The host's admin-user form calls this before saving: while the
    /// integration is enabled, the e-mail address and names that IMS owns
    /// cannot change once set.
    pub async fn check_profile_edit(
        &self,
        current: &AdminUser,
        email: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<(), ImsOwnedField> {
        if !self.enabled_or_unknown().await {
            return Ok(());
        }
        let changed = |old: &str, new: &str| !old.is_empty() && old != new;
        let field = if changed(&current.email, email) && !current.email.eq_ignore_ascii_case(email)
        {
            Some("email")
        } else if changed(&current.first_name, first_name) {
            Some("first name")
        } else if changed(&current.last_name, last_name) {
            Some("last name")
        } else {
            None
        };
        match field {
            Some(field) => {
                tracing::warn!(target: LOG_TARGET, event = "profile_edit_refused", admin_id = current.id.0, field, "edit of an IMS-owned profile field refused");
                Err(ImsOwnedField { field })
            }
            None => Ok(()),
        }
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

fn log_refusal(event: &'static str, err: &LoginError) {
    log_refusal_for(event, err, err.admin_id());
}

fn log_refusal_for(event: &'static str, err: &LoginError, admin_id: Option<AdminUserId>) {
    let admin_id = admin_id.or(err.admin_id()).map(|id| id.0);
    if err.is_technical() {
        tracing::error!(target: LOG_TARGET, event, admin_id, reason = err.reason(), detail = %err, "Adobe ID sign-in failed");
    } else {
        tracing::warn!(target: LOG_TARGET, event, admin_id, reason = err.reason(), detail = %err, "Adobe ID sign-in refused");
    }
}

pub(crate) fn to_time(duration: std::time::Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}
