//! The metrics webapi-ims records, through the [`metrics`] facade: the
//! names, what they mean, and the handles the authenticator keeps. No
//! exporter here: a host installs one and calls [`describe`] once.
//!
//! Install the recorder **before** building the
//! [`WebApiAuthenticator`](crate::WebApiAuthenticator): it registers the handles of its outcomes
//! once, when it is built, so that the warm path costs one atomic increment
//! (no key built, no registry looked up). An authenticator built before any
//! recorder counts nothing.
//!
//! Labels only ever carry small closed sets (an outcome, a reason class, a
//! flight's kind): never a token, an e-mail or an id.

use ::metrics::Counter;
use ims_api::TokenRejection;

use crate::AuthError;

/// Web API authentications by `outcome`:
///
/// - `hot`: a known token decided from memory (the warm path);
/// - `first_sight`: a token not in memory, loaded (its record read, or
///   validated at IMS for the first time) and accepted;
/// - `reread`: a known token whose entry was stale (its TTL, or a change
///   the feed reported), read again and accepted;
/// - `recheck`: a known token checked at IMS again and accepted;
/// - `degraded`: accepted during an IMS outage on the strength of a check
///   within the outage grace window;
/// - `refused`: answered 401 (see [`REFUSALS_TOTAL`] for why);
/// - `unavailable`: answered 503 (IMS unreachable, no grace);
/// - `error`: answered 500 (the host's storage or configuration).
pub const AUTHENTICATIONS_TOTAL: &str = "ims_webapi_authentications_total";
/// Web API refusals (401) by `reason` class: `missing` (no bearer token),
/// `disabled` (the integration is off), `malformed`, `signature` (unknown
/// key, bad signature, unsupported algorithm), `claims` (a claim missing or
/// wrong: type, environment, client, not yet valid), `expired`,
/// `rejected_by_ims`, `invalidated` (revoked or logged out), `unknown_user`
/// (no active admin with a role), `other`.
pub const REFUSALS_TOTAL: &str = "ims_webapi_refusals_total";
/// Requests that joined a flight already deciding on the same token instead
/// of starting their own, by `flight` (`first_sight`, `recheck`).
pub const FLIGHTS_COALESCED_TOTAL: &str = "ims_webapi_flights_coalesced_total";

/// Describes every metric above to the installed recorder (units and help
/// text); call once after installing it.
pub fn describe() {
    ::metrics::describe_counter!(
        AUTHENTICATIONS_TOTAL,
        ::metrics::Unit::Count,
        "Web API authentications by outcome (hot, first_sight, reread, recheck, degraded, refused, unavailable, error)"
    );
    ::metrics::describe_counter!(
        REFUSALS_TOTAL,
        ::metrics::Unit::Count,
        "Web API 401 refusals by reason class"
    );
    ::metrics::describe_counter!(
        FLIGHTS_COALESCED_TOTAL,
        ::metrics::Unit::Count,
        "Web API requests that joined a flight in progress for the same token"
    );
}

/// How a request was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// From memory.
    Hot,
    /// Loaded: not in memory before.
    FirstSight,
    /// Read again: its entry was stale.
    Reread,
    /// Checked at IMS again.
    Recheck,
    /// Accepted within the outage grace window.
    Degraded,
}

/// The authenticator's counters, registered once with the recorder
/// installed when it was built.
#[derive(Debug)]
pub(crate) struct AuthMetrics {
    hot: Counter,
    first_sight: Counter,
    reread: Counter,
    recheck: Counter,
    degraded: Counter,
}

impl AuthMetrics {
    /// The handles, registered with the recorder installed now.
    pub(crate) fn register() -> Self {
        let outcome = |outcome: &'static str| ::metrics::counter!(AUTHENTICATIONS_TOTAL, "outcome" => outcome);
        AuthMetrics {
            hot: outcome("hot"),
            first_sight: outcome("first_sight"),
            reread: outcome("reread"),
            recheck: outcome("recheck"),
            degraded: outcome("degraded"),
        }
    }

    /// Counts an accepted request: one atomic increment.
    #[inline]
    pub(crate) fn accepted(&self, how: Accepted) {
        match how {
            Accepted::Hot => &self.hot,
            Accepted::FirstSight => &self.first_sight,
            Accepted::Reread => &self.reread,
            Accepted::Recheck => &self.recheck,
            Accepted::Degraded => &self.degraded,
        }
        .increment(1);
    }
}

/// Counts a request answered with `err`, and hands it back.
pub(crate) fn counted(err: AuthError) -> AuthError {
    failed(&err);
    err
}

/// Counts a request answered with an error (the cold path: the key is
/// looked up in the recorder).
pub(crate) fn failed(err: &AuthError) {
    let outcome = match err {
        AuthError::Unavailable { .. } => "unavailable",
        AuthError::Internal(_) => "error",
        _ => "refused",
    };
    ::metrics::counter!(AUTHENTICATIONS_TOTAL, "outcome" => outcome).increment(1);
    if outcome == "refused" {
        ::metrics::counter!(REFUSALS_TOTAL, "reason" => reason_class(err)).increment(1);
    }
}

/// Counts a request that joined a flight in progress.
pub(crate) fn flight_coalesced(flight: &'static str) {
    ::metrics::counter!(FLIGHTS_COALESCED_TOTAL, "flight" => flight).increment(1);
}

/// The closed class of a refusal's reason.
pub(crate) fn reason_class(err: &AuthError) -> &'static str {
    match err {
        AuthError::MissingCredentials => "missing",
        AuthError::Disabled => "disabled",
        AuthError::InvalidToken(rejection) => match rejection {
            TokenRejection::Malformed(_) => "malformed",
            TokenRejection::UnsupportedAlgorithm(_)
            | TokenRejection::UnknownKey
            | TokenRejection::InvalidKeyReference
            | TokenRejection::BadSignature => "signature",
            TokenRejection::MissingClaim(_)
            | TokenRejection::InvalidClaim { .. }
            | TokenRejection::NotYetValid { .. }
            | TokenRejection::WrongType { .. }
            | TokenRejection::WrongEnvironment { .. }
            | TokenRejection::ClientNotAllowed(_) => "claims",
            TokenRejection::Expired { .. } => "expired",
            TokenRejection::RejectedByIms(_) => "rejected_by_ims",
            TokenRejection::Invalidated(_) => "invalidated",
            TokenRejection::UnknownUser => "unknown_user",
            _ => "other",
        },
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_classes_never_details() {
        let detail = "secret-looking detail user@example.com";
        for rejection in [
            TokenRejection::Malformed(detail.into()),
            TokenRejection::RejectedByIms(detail.into()),
            TokenRejection::Invalidated(detail.into()),
            TokenRejection::ClientNotAllowed(detail.into()),
        ] {
            let class = reason_class(&AuthError::InvalidToken(rejection));
            assert!(!class.contains('@') && !class.contains("secret"), "{class}");
        }
        assert_eq!(reason_class(&AuthError::MissingCredentials), "missing");
        assert_eq!(
            reason_class(&AuthError::InvalidToken(TokenRejection::BadSignature)),
            "signature"
        );
        assert_eq!(
            reason_class(&AuthError::InvalidToken(TokenRejection::UnknownUser)),
            "unknown_user"
        );
    }
}
