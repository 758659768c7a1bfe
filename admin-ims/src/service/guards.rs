//! What the integration forbids while it is enabled: password sign-in,
//! password resets, and edits of the fields IMS owns.

use ims_api::AdminUser;

use super::{AdminIms, LOG_TARGET};
use crate::error::{ImsOwnedField, PasswordLoginRefused};

impl AdminIms {
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
