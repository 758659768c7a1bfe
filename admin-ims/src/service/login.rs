//! Signing in: the authorize URL, the callback, matching the IMS account
//! to an admin user (or provisioning one), and the profile kept of it.

use ims_api::{
    ADOBE_IMS_ROLE, AdminUser, AuthorizeRequest, ClientId, CodeExchange, NewAdminUser, Profile,
    TokenResponse, UserProfileRecord, WelcomeMail, constant_time_eq,
};
use time::OffsetDateTime;
use url::Url;

use super::{
    Active, AdminIms, CallbackFlow, CallbackSuccess, ClaimedCallback, LOG_TARGET, LoginSuccess,
    to_time,
};
use crate::callback::loggable;
use crate::error::LoginError;
use crate::password::random_password;
use crate::session::{Pending, Purpose, SessionSecret, SignedIn};
use crate::{AdminSession, CallbackQuery, ProvisioningPolicy};

impl AdminIms {
    /// Records a pending authorization and builds its authorize URL.
    pub(super) async fn begin(
        &self,
        session: &mut AdminSession,
        purpose: Purpose,
        return_to: Option<&str>,
        client_id: ClientId,
    ) -> Result<Url, LoginError> {
        let now = self.now();
        let redirect_uri = match purpose {
            Purpose::Login => self.config.callback_url.clone(),
            Purpose::Reauth => self.config.reauth_callback_url.clone(),
        };
        // The state and the PKCE pair come from the builder (ims-core's
        // `pkce` module): the one place they are made.
        let mut request = AuthorizeRequest::new(client_id, redirect_uri, String::new())
            .with_scopes(self.config.scopes.clone());
        if let Some(locale) = &self.config.locale {
            request = request.with_locale(locale.clone());
        }
        if purpose == Purpose::Reauth {
            request = request.for_reauth();
            // IMS pre-fills the signed-in admin's e-mail address.
            if let Some(signed_in) = &session.signed_in {
                request = request.with_login_hint(signed_in.email.clone());
            }
        }
        let redirect = self
            .services
            .authorize
            .begin_authorization(request)
            .await
            .map_err(LoginError::Ims)?;
        session.pending.retain(|p| p.expires_at > now);
        let keep = self.config.max_pending.max(1);
        while session.pending.len() >= keep {
            session.pending.remove(0);
        }
        session.pending.push(Pending {
            purpose,
            state: SessionSecret::new(redirect.state),
            verifier: SessionSecret::new(redirect.verifier.expose_secret()),
            return_to: self.return_path(return_to),
            expires_at: now.saturating_add(to_time(self.config.state_ttl)),
        });
        Ok(redirect.url)
    }

    /// Consumes the pending authorization the callback's state names.
    pub(super) fn take_pending(
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
                if constant_time_eq(pending.state.expose().as_bytes(), state.as_bytes())
                    && found.is_none()
                {
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

    pub(super) async fn exchange(
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

    /// Starts a sign-in: the IMS authorize URL to send the browser to, with a
    /// fresh `state` (256 bits, single use, expiring after
    /// [`state_ttl`](crate::AdminImsConfig::state_ttl)) and a PKCE S256 challenge,
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
                self.log_refusal("login_refused", &err);
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
            self.log_refusal("login_refused", err);
        }
        result
    }

    /// The first step of any callback (sign-in or re-authentication), without
    /// I/O: the pending authorization the `state` names decides which flow
    /// it completes ([`ClaimedCallback::flow`]). Store `session` right
    /// after, whatever the result: the state is single use.
    pub fn claim_callback(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ClaimedCallback, LoginError> {
        match self.pending_purpose(session, query) {
            Some(Purpose::Reauth) => self.claim_reauth(session, query),
            _ => self.claim_login(session, query),
        }
    }

    /// The second step of any callback: [`finish_login`](Self::finish_login)
    /// or [`finish_reauth`](Self::finish_reauth), as the claimed flow says.
    /// After a sign-in ([`CallbackSuccess::rekey_session`]) the host gives
    /// the session a new id.
    pub async fn finish_callback(
        &self,
        session: &mut AdminSession,
        claimed: ClaimedCallback,
    ) -> Result<CallbackSuccess, LoginError> {
        match claimed.flow() {
            CallbackFlow::Login => {
                let success = self.finish_login(session, claimed).await?;
                Ok(CallbackSuccess {
                    admin_id: success.admin_id,
                    redirect_to: success.redirect_to,
                    flow: CallbackFlow::Login,
                    rekey_session: success.rekey_session,
                })
            }
            CallbackFlow::Reauth => {
                let success = self.finish_reauth(session, claimed).await?;
                Ok(CallbackSuccess {
                    admin_id: success.admin_id,
                    redirect_to: success.redirect_to,
                    flow: CallbackFlow::Reauth,
                    rekey_session: false,
                })
            }
        }
    }

    /// The purpose of the pending authorization the callback's state names,
    /// compared in constant time with each; spends nothing.
    fn pending_purpose(&self, session: &AdminSession, query: &CallbackQuery) -> Option<Purpose> {
        let state = query.state()?;
        let mut found = None;
        for pending in &session.pending {
            if constant_time_eq(pending.state.expose().as_bytes(), state.as_bytes())
                && found.is_none()
            {
                found = Some(pending.purpose);
            }
        }
        found
    }

    /// Completes a sign-in from IMS's callback:
    /// [`claim_login`](Self::claim_login) then
    /// [`finish_login`](Self::finish_login) on the same session data.
    ///
    /// Prefer the two steps, storing the session in between: then the
    /// callback's state stays spent even when the answer is an error the
    /// host's session layer does not save (tower-sessions saves nothing on
    /// a 5xx). The axum adapter does.
    pub async fn complete_login(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<LoginSuccess, LoginError> {
        let claimed = self.claim_login(session, query)?;
        self.finish_login(session, claimed).await
    }

    /// The first step of a sign-in callback, without I/O: spends the
    /// pending sign-in the callback's `state` names (and every expired
    /// one) in `session`, and checks the callback (no IMS error such as a
    /// Cancel, a code present). Store `session` right after, whatever the
    /// result: the state is single use.
    pub fn claim_login(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ClaimedCallback, LoginError> {
        let result = self.take_pending(session, query, Purpose::Login);
        match result {
            Ok(pending) => Ok(ClaimedCallback {
                pending,
                query: query.clone(),
            }),
            Err(err) => {
                self.log_refusal("login_refused", &err);
                Err(err)
            }
        }
    }

    /// The second step of a sign-in callback: exchanges the code, reads the
    /// profile and membership, matches the admin user.
    ///
    /// On success the session holds the admin, the access token and the time
    /// of its check, and [`LoginSuccess::rekey_session`] tells the host to
    /// give the session a new id. On a failure after the code exchange the
    /// IMS token is logged out at IMS.
    pub async fn finish_login(
        &self,
        session: &mut AdminSession,
        claimed: ClaimedCallback,
    ) -> Result<LoginSuccess, LoginError> {
        let result = self.complete_login_inner(session, claimed).await;
        crate::metrics::sign_in(match &result {
            Ok(_) => "success",
            Err(err) => err.outcome().kind(),
        });
        match &result {
            Ok(success) => tracing::info!(
                target: LOG_TARGET,
                event = "login",
                admin_id = success.admin_id.0,
                "admin signed in with Adobe ID"
            ),
            Err(err) => self.log_refusal("login_refused", err),
        }
        result
    }

    async fn complete_login_inner(
        &self,
        session: &mut AdminSession,
        claimed: ClaimedCallback,
    ) -> Result<LoginSuccess, LoginError> {
        if claimed.pending.purpose != Purpose::Login {
            return Err(LoginError::InvalidState(
                "the state belongs to another flow",
            ));
        }
        let ClaimedCallback { pending, query } = claimed;
        let active = self.active_settings().await?;
        let tokens = self
            .exchange(&query, &pending, &active, &self.config.callback_url)
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
            .map(|email| email.trim_matches(|c: char| c.is_ascii_whitespace()))
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
        let user = match user {
            Some(user) if user.email_matches(&email) => user,
            Some(_) => {
                // The directory matched more loosely than "the same mailbox"
                // (Unicode case folding, an accent-insensitive collation):
                // that admin is someone else, and the address is taken, so
                // nobody is provisioned and nobody's failures are counted.
                return Err(LoginError::NoMatchingUser);
            }
            None => self.provision(&email, &profile).await?,
        };
        let now = self.now();
        let refusal = if user.is_locked(now) {
            Some(LoginError::Locked { admin_id: user.id })
        } else if !user.is_active {
            Some(LoginError::Inactive { admin_id: user.id })
        } else if !user.has_permissions() && !self.signs_in_without_permissions(&user) {
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

    /// Whether `user`, who has no permissions, signs in all the same:
    /// Magento's policy, for the role it gives the users it creates.
    pub(super) fn signs_in_without_permissions(&self, user: &AdminUser) -> bool {
        self.config.provisioning == ProvisioningPolicy::SignInWithoutPermissions
            && user.role.as_deref() == Some(ADOBE_IMS_ROLE)
    }

    /// No user has the e-mail address: create one as the policy says (the
    /// user to sign in, or the refusal).
    async fn provision(&self, email: &str, profile: &Profile) -> Result<AdminUser, LoginError> {
        let policy = self.config.provisioning;
        if policy == ProvisioningPolicy::Off {
            return Err(LoginError::NoMatchingUser);
        }
        let skip = |why: &'static str| {
            tracing::info!(target: LOG_TARGET, event = "provisioning_skipped", why, "no admin user created for a new Adobe ID");
            LoginError::NoMatchingUser
        };
        let username = provisioned_username(email);
        if username.is_empty() {
            return Err(skip("the e-mail address has no local part"));
        }
        let admins = &self.services.admins;
        if admins
            .find_by_username(&username)
            .await
            .map_err(LoginError::Storage)?
            .is_some()
        {
            return Err(skip("another admin user has the user name"));
        }
        if policy == ProvisioningPolicy::SignInWithoutPermissions
            && !admins
                .role_exists(ADOBE_IMS_ROLE)
                .await
                .map_err(LoginError::Storage)?
        {
            return Err(skip("the Adobe Ims role does not exist"));
        }
        let user = NewAdminUser::new(
            username,
            email,
            profile.first_name.clone().unwrap_or_default(),
            profile.last_name.clone().unwrap_or_default(),
            random_password(),
        )
        .with_role(ADOBE_IMS_ROLE);
        let created = admins.create(&user).await.map_err(LoginError::Storage)?;
        tracing::info!(
            target: LOG_TARGET,
            event = "admin_provisioned",
            admin_id = created.id.0,
            role = ADOBE_IMS_ROLE,
            "created an admin user without permissions for a new Adobe ID"
        );
        self.send_welcome(&created).await;
        match policy {
            ProvisioningPolicy::SignInWithoutPermissions => Ok(created),
            _ => Err(LoginError::Provisioned {
                admin_id: created.id,
            }),
        }
    }

    /// Magento's welcome e-mail to an admin created while the integration
    /// is on; a failure is logged, never fatal.
    async fn send_welcome(&self, user: &AdminUser) {
        let Some(mailer) = &self.services.mailer else {
            return;
        };
        let product = format!("Adobe {}", self.config.messages.product_name);
        let mut mail = WelcomeMail::new(
            user.email.clone(),
            user.username.clone(),
            user.first_name.clone(),
            user.last_name.clone(),
            &product,
        );
        if let Ok(home) = self.config.callback_url.join(&self.home()) {
            mail = mail.with_sign_in_url(home);
        }
        if let Err(err) = mailer.send_welcome(&mail).await {
            tracing::error!(target: LOG_TARGET, event = "welcome_mail_failed", admin_id = user.id.0, error = %err, "could not send the welcome e-mail to a new admin");
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
}

/// Magento's user name for an Adobe ID's admin: the e-mail's local part,
/// lower-cased (`SaveImsUser`).
fn provisioned_username(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::provisioned_username;

    #[test]
    fn the_user_name_is_the_lower_cased_local_part() {
        assert_eq!(provisioned_username("Jane.Doe@Example.com"), "jane.doe");
        assert_eq!(provisioned_username("@example.com"), "");
        assert_eq!(provisioned_username("no-at-sign"), "no-at-sign");
    }
}
