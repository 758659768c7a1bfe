//! admin-ims's outcomes on the demo's own sign-in page: admin-ims sends a
//! failed sign-in or re-authentication to `/admin/login?ims_error=<kind>`
//! (`AdminImsWeb::with_host_page`), and each kind gets its own box here —
//! Magento's message, what it means, and what to do next — in the demo's
//! style.

use admin_ims::LoginOutcome;
use axum::http::StatusCode;

use super::escape;

/// The CSS class, a title and the advice for `outcome`.
fn look(outcome: LoginOutcome) -> (&'static str, &'static str, &'static str) {
    match outcome {
        LoginOutcome::Cancelled => (
            "notice",
            "Sign-in cancelled",
            "You cancelled on Adobe's page; nothing was changed. Sign in again when you are ready.",
        ),
        LoginOutcome::InvalidState | LoginOutcome::CodeRejected => (
            "alert",
            "This sign-in link has expired",
            "The sign-in took too long, was already used, or was started in another browser. Start again.",
        ),
        LoginOutcome::NoAccess => (
            "alert",
            "No access",
            "Your Adobe ID is not a member of this shop's organization, or your admin account is inactive or locked. Ask an administrator.",
        ),
        LoginOutcome::NoMatchingUser => (
            "alert",
            "No admin account",
            "No admin user has your Adobe ID's e-mail address. Ask an administrator to create one.",
        ),
        LoginOutcome::MorePermissions => (
            "alert",
            "No permissions yet",
            "Your admin account has no role that grants anything. Ask an administrator for a role.",
        ),
        LoginOutcome::Disabled => (
            "alert",
            "Adobe sign-in is off",
            "The Adobe IMS integration is disabled: sign in with your password.",
        ),
        LoginOutcome::ReauthRequired => (
            "alert",
            "Please confirm it is you",
            "This action needs a fresh confirmation with your Adobe ID.",
        ),
        LoginOutcome::ImsFailed | LoginOutcome::ImsUnavailable => (
            "alert",
            "Adobe sign-in is unavailable",
            "Adobe's sign-in service did not answer as expected. Try again in a moment.",
        ),
        LoginOutcome::Internal => (
            "alert",
            "Something went wrong here",
            "The shop could not complete the sign-in. Try again; if it persists, check the server log.",
        ),
        _ => ("alert", "Sign-in failed", "Try again."),
    }
}

/// The box for an `?ims_error=` kind and the page's status; `None` for a
/// kind admin-ims does not send (ignored).
pub(crate) fn ims_outcome(kind: &str) -> Option<(String, StatusCode)> {
    let outcome = LoginOutcome::from_kind(kind)?;
    let (class, title, advice) = look(outcome);
    let html = format!(
        "<div class=\"{class}\" role=\"alert\" data-ims-error=\"{}\"><strong>{}</strong><br>{}<br><span class=\"hint\">{}</span></div>",
        escape(outcome.kind()),
        escape(title),
        escape(outcome.user_message()),
        escape(advice),
    );
    let status =
        StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some((html, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_box_and_status() {
        for outcome in LoginOutcome::ALL {
            let (html, status) = ims_outcome(outcome.kind()).unwrap_or_default();
            assert!(html.contains(outcome.kind()), "{outcome:?}");
            assert_eq!(status.as_u16(), outcome.http_status());
        }
        assert!(ims_outcome("<script>").is_none());
        let (cancel, status) = ims_outcome("cancelled").unwrap_or_default();
        assert!(cancel.contains("Sign-in cancelled"));
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
