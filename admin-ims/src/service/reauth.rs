//! Re-authentication before a sensitive action: a fresh sign-in of the
//! same IMS account, proven to the host for a short while.

use ims_api::{
    AccessToken, AnyToken, InvalidateRequest, TokenValidity, constant_time_eq, same_email,
};
use url::Url;

use super::{Active, AdminIms, ClaimedCallback, LOG_TARGET, ReauthSuccess, to_time};
use crate::callback::loggable;
use crate::error::{LoginError, ReauthRequired};
use crate::session::{Purpose, ReauthProof, SignedIn};
use crate::{AdminSession, CallbackQuery};

impl AdminIms {
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
            self.log_refusal_for("reauth_refused", err, session.admin_id());
        }
        result
    }

    /// Completes a re-authentication from IMS's callback: the state is
    /// checked, the code exchanged, the new token validated at IMS and its
    /// user compared with the session's. On success the session holds a
    /// single-use proof for [`reauth_ttl`](crate::AdminImsConfig::reauth_ttl). The
    /// re-authentication token is invalidated at IMS either way.
    ///
    /// This is [`claim_reauth`](Self::claim_reauth) then
    /// [`finish_reauth`](Self::finish_reauth); prefer the two steps, storing
    /// the session in between, as for [`complete_login`](Self::complete_login).
    pub async fn complete_reauth(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ReauthSuccess, LoginError> {
        let claimed = self.claim_reauth(session, query)?;
        self.finish_reauth(session, claimed).await
    }

    /// The first step of a re-authentication callback, without I/O: spends
    /// the pending re-authentication the `state` names, as
    /// [`claim_login`](Self::claim_login) does. Store `session` right after.
    pub fn claim_reauth(
        &self,
        session: &mut AdminSession,
        query: &CallbackQuery,
    ) -> Result<ClaimedCallback, LoginError> {
        match self.take_pending(session, query, Purpose::Reauth) {
            Ok(pending) => Ok(ClaimedCallback {
                pending,
                query: query.clone(),
            }),
            Err(err) => {
                self.log_refusal_for("reauth_refused", &err, session.admin_id());
                Err(err)
            }
        }
    }

    /// The second step of a re-authentication callback: the code exchange,
    /// the new token's validation and user check, and the proof.
    pub async fn finish_reauth(
        &self,
        session: &mut AdminSession,
        claimed: ClaimedCallback,
    ) -> Result<ReauthSuccess, LoginError> {
        let result = self.complete_reauth_inner(session, claimed).await;
        match &result {
            Ok(success) => tracing::info!(
                target: LOG_TARGET,
                event = "reauth",
                admin_id = success.admin_id.0,
                "admin re-authenticated with Adobe ID"
            ),
            Err(err) => self.log_refusal_for("reauth_refused", err, session.admin_id()),
        }
        result
    }

    async fn complete_reauth_inner(
        &self,
        session: &mut AdminSession,
        claimed: ClaimedCallback,
    ) -> Result<ReauthSuccess, LoginError> {
        if claimed.pending.purpose != Purpose::Reauth {
            return Err(LoginError::InvalidState(
                "the state belongs to another flow",
            ));
        }
        let ClaimedCallback { pending, query } = claimed;
        let query = &query;
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
            (Some(expected), Some(found)) => {
                constant_time_eq(expected.as_bytes(), found.as_bytes())
            }
            (None, _) => profile
                .email
                .as_deref()
                .is_some_and(|email| same_email(email, &signed_in.email)),
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
}
