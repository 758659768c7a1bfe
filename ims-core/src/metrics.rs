//! The metrics ims-core records, through the [`metrics`] facade: the
//! names, what they mean, and the small helpers the modules that record
//! them call. No exporter here: a host installs one (the demo installs a
//! Prometheus recorder) and calls [`describe`] once.
//!
//! Labels only ever carry small closed sets (an endpoint's name, a status
//! class, an outcome): never a token, an e-mail, an id or a URL.

use std::time::Duration;

/// Every HTTP attempt at IMS (retries included), by `endpoint` (the name
/// of the IMS endpoint: `token`, `validate_token`, `keys`, `certificate`,
/// …, `other`) and `status` (`2xx`, `3xx`, `4xx`, `5xx`, or `error` when
/// no answer came: connect error, timeout).
pub const IMS_REQUESTS_TOTAL: &str = "ims_http_requests_total";
/// How long an HTTP attempt at IMS took until its answer's headers (or its
/// failure), in seconds, by `endpoint`.
pub const IMS_REQUEST_DURATION_SECONDS: &str = "ims_http_request_duration_seconds";
/// IMS calls given up as unavailable (retries or deadline spent), by
/// `endpoint`: what a caller saw as an IMS outage.
pub const IMS_UNAVAILABLE_TOTAL: &str = "ims_http_unavailable_total";
/// Fetches of IMS's signing keys (the JWKS or a certificate), by `source`
/// (`jwks`, `certificate`) and `outcome` (`ok`, `error`).
pub const KEY_REFRESHES_TOTAL: &str = "ims_key_refreshes_total";
/// Validations (`CachedValidator`) that missed the cache, then took the
/// verdict of a flight already asking IMS the same thing instead of asking
/// again.
pub const FLIGHTS_COALESCED_TOTAL: &str = "ims_validation_flights_coalesced_total";
/// Service-token requests to the token provider, by `outcome`: `cache_hit`
/// (a valid token from the cache), `coalesced` (the token another caller's
/// flight just obtained), `fetched` (this caller led the flight that obtained
/// it: from IMS, or from another process's refresh), `error` (the flight
/// failed).
pub const SERVICE_TOKENS_TOTAL: &str = "ims_service_tokens_total";

/// Describes every metric above to the installed recorder (units and help
/// text); call once after installing it.
pub fn describe() {
    ::metrics::describe_counter!(
        IMS_REQUESTS_TOTAL,
        ::metrics::Unit::Count,
        "HTTP attempts at IMS (retries included) by endpoint and status class"
    );
    ::metrics::describe_histogram!(
        IMS_REQUEST_DURATION_SECONDS,
        ::metrics::Unit::Seconds,
        "Latency of HTTP attempts at IMS until the answer's headers, by endpoint"
    );
    ::metrics::describe_counter!(
        IMS_UNAVAILABLE_TOTAL,
        ::metrics::Unit::Count,
        "IMS calls given up as unavailable after retries or the deadline, by endpoint"
    );
    ::metrics::describe_counter!(
        KEY_REFRESHES_TOTAL,
        ::metrics::Unit::Count,
        "Fetches of IMS signing keys by source (jwks, certificate) and outcome"
    );
    ::metrics::describe_counter!(
        FLIGHTS_COALESCED_TOTAL,
        ::metrics::Unit::Count,
        "IMS validations that joined a flight in progress instead of asking IMS again"
    );
    ::metrics::describe_counter!(
        SERVICE_TOKENS_TOTAL,
        ::metrics::Unit::Count,
        "Service-token requests by outcome (cache_hit, coalesced, fetched, error)"
    );
}

/// The closed set of endpoint names a URL path maps to (see
/// [`endpoint_name`]).
const ENDPOINTS: &[(&str, &str)] = &[
    ("/ims/token/v4", "token_exchange"),
    ("/ims/token/v3", "token"),
    ("/ims/token/v2", "token"),
    ("/ims/token/v1", "token"),
    ("/ims/token", "token"),
    ("/ims/exchange/jwt", "jwt_exchange"),
    ("/ims/authorize/v2", "authorize"),
    ("/ims/validate_token/v1", "validate_token"),
    ("/ims/invalidate_token/v2", "invalidate_token"),
    ("/ims/revoke", "revoke"),
    ("/ims/logout/v1", "logout"),
    ("/ims/logout", "logout"),
    ("/ims/profile/v1", "profile"),
    ("/ims/userinfo/v2", "userinfo"),
    ("/ims/userinfo/v1", "userinfo"),
    ("/ims/organizations/v6", "organizations"),
    ("/ims/register", "register"),
    ("/ims/admin_profile/v1", "admin_profile"),
    ("/ims/admin_organizations/v5", "admin_organizations"),
    ("/ims/keys", "keys"),
];

/// The endpoint's name for a label: matched on the end of the path (an
/// IMS base URL may have a path of its own), `certificate` for a key
/// certificate (`.cer`, `.pem`), `other` otherwise — never the path itself,
/// which may carry ids.
pub(crate) fn endpoint_name(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    for (suffix, name) in ENDPOINTS {
        if path.ends_with(suffix) {
            return name;
        }
    }
    if path.ends_with(".cer") || path.ends_with(".pem") {
        return "certificate";
    }
    "other"
}

/// The status class of an answer.
fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// Records one HTTP attempt: `status` is `None` when no answer came.
pub(crate) fn attempt(endpoint: &'static str, status: Option<u16>, took: Duration) {
    let status = status.map_or("error", status_class);
    ::metrics::counter!(IMS_REQUESTS_TOTAL, "endpoint" => endpoint, "status" => status)
        .increment(1);
    ::metrics::histogram!(IMS_REQUEST_DURATION_SECONDS, "endpoint" => endpoint)
        .record(took.as_secs_f64());
}

/// Records a call given up as unavailable.
pub(crate) fn unavailable(endpoint: &'static str) {
    ::metrics::counter!(IMS_UNAVAILABLE_TOTAL, "endpoint" => endpoint).increment(1);
}

/// Records a fetch of signing keys.
pub(crate) fn key_refresh(source: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    ::metrics::counter!(KEY_REFRESHES_TOTAL, "source" => source, "outcome" => outcome).increment(1);
}

/// Records a validation that joined a flight in progress.
pub(crate) fn flight_coalesced() {
    ::metrics::counter!(FLIGHTS_COALESCED_TOTAL).increment(1);
}

/// Records a service-token request's outcome.
pub(crate) fn service_token(outcome: &'static str) {
    ::metrics::counter!(SERVICE_TOKENS_TOTAL, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_a_closed_set_whatever_the_path() {
        assert_eq!(endpoint_name("/ims/token/v3"), "token");
        assert_eq!(
            endpoint_name("/base/ims/validate_token/v1"),
            "validate_token"
        );
        assert_eq!(endpoint_name("/ims/token/v4"), "token_exchange");
        assert_eq!(endpoint_name("/ims/keys"), "keys");
        assert_eq!(
            endpoint_name("/keys/nonprod/some-kid-123.cer"),
            "certificate"
        );
        // A path with an id, or anything unknown, never becomes a label.
        assert_eq!(endpoint_name("/ims/profile/v1/user@example.com"), "other");
        assert_eq!(endpoint_name("/anything/else"), "other");
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(302), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(99), "other");
    }
}
