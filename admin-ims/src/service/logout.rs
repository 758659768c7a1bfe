//! Signing out: the session ends here and its token is logged out at IMS.

use ims_api::{AccessToken, AdminUserId, ClientCredentials};

use super::session_check::token_key;
use super::{AdminIms, LOG_TARGET, LogoutOutcome};
use crate::AdminSession;

impl AdminIms {
    /// Back-channel logout of a token, best effort; failures are logged.
    pub(super) async fn logout_at_ims(
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
}
