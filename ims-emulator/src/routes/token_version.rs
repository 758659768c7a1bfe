//! Which token endpoint version a request came through, and its units: the
//! token route and the exchanges built on it (cluster, on-behalf-of) answer
//! alike.

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// `/ims/token` (milliseconds, profile fields).
    Unversioned,
    /// `/ims/token/v1` (milliseconds, profile fields).
    V1,
    /// `/ims/token/v2` (seconds).
    V2,
    /// `/ims/token/v3` (seconds).
    V3,
}

impl Version {
    /// `/ims/token` and `/v1`: milliseconds and profile fields.
    pub(crate) fn is_legacy(self) -> bool {
        matches!(self, Version::Unversioned | Version::V1)
    }

    /// `expires_in` of a 24 h access token in this version's unit.
    pub(crate) fn expires_in(self, ttl_ms: u64) -> u64 {
        if self.is_legacy() {
            ttl_ms.saturating_sub(15)
        } else {
            (ttl_ms / 1000).saturating_sub(1)
        }
    }
}
