//! The metrics admin-ims records, through the [`metrics`] facade: the
//! names and what they mean. No exporter here: a host installs one and
//! calls [`describe`] once.
//!
//! Labels only ever carry small closed sets (an outcome's kind, a session
//! end's reason): never a token, an e-mail or an id.

/// Finished sign-ins (the callback's code exchanged and the account
/// matched, or why not), by `outcome`: `success`, or the
/// [`LoginOutcome`](crate::LoginOutcome)'s kind (`invalid_state`,
/// `code_rejected`, `no_matching_user`, `ims_unavailable`, …).
pub const SIGN_INS_TOTAL: &str = "ims_admin_sign_ins_total";
/// Re-validations of an admin session's token at IMS (a check that asked
/// IMS; checks within the interval, or sharing a concurrent one's verdict,
/// do not count).
pub const SESSION_REVALIDATIONS_TOTAL: &str = "ims_admin_session_revalidations_total";
/// Admin sessions ended by a check, by `reason` (`token_invalid`,
/// `ims_unavailable`, `disabled`, `user_unavailable`, `not_a_member`).
pub const SESSIONS_ENDED_TOTAL: &str = "ims_admin_sessions_ended_total";
/// Session checks decided by the outage policy (IMS or the host's storage
/// could not answer): kept within the grace, or ended
/// (`ims_admin_sessions_ended_total{reason="ims_unavailable"}`).
pub const SESSION_OUTAGES_TOTAL: &str = "ims_admin_session_outages_total";

/// Describes every metric above to the installed recorder; call once after
/// installing it.
pub fn describe() {
    ::metrics::describe_counter!(
        SIGN_INS_TOTAL,
        ::metrics::Unit::Count,
        "Finished admin sign-ins with Adobe ID by outcome"
    );
    ::metrics::describe_counter!(
        SESSION_REVALIDATIONS_TOTAL,
        ::metrics::Unit::Count,
        "Admin session tokens re-validated at IMS"
    );
    ::metrics::describe_counter!(
        SESSIONS_ENDED_TOTAL,
        ::metrics::Unit::Count,
        "Admin sessions ended by a check, by reason"
    );
    ::metrics::describe_counter!(
        SESSION_OUTAGES_TOTAL,
        ::metrics::Unit::Count,
        "Admin session checks decided by the outage policy"
    );
}

/// Counts a finished sign-in: `success`, or the outcome's kind.
pub(crate) fn sign_in(outcome: &'static str) {
    ::metrics::counter!(SIGN_INS_TOTAL, "outcome" => outcome).increment(1);
}

/// Counts a re-validation at IMS.
pub(crate) fn session_revalidation() {
    ::metrics::counter!(SESSION_REVALIDATIONS_TOTAL).increment(1);
}

/// Counts a session ended by a check.
pub(crate) fn session_ended(reason: &'static str) {
    ::metrics::counter!(SESSIONS_ENDED_TOTAL, "reason" => reason).increment(1);
}

/// Counts a check decided by the outage policy.
pub(crate) fn session_outage() {
    ::metrics::counter!(SESSION_OUTAGES_TOTAL).increment(1);
}
