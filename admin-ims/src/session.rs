//! What the admin login keeps in a browser session: plain data that the host
//! (or the axum adapter) stores in its session store.

use std::fmt;

use ims_api::{AccessToken, AdminUserId, PkceVerifier};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// A secret string that must survive serialisation into the host's session
/// store (which the host keeps server-side or encrypted) but never shows in
/// `Debug`.
#[derive(Clone)]
pub(crate) struct SessionSecret(String);

impl SessionSecret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        SessionSecret(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Serialize for SessionSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Deliberate: the session store is the one place this value goes.
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SessionSecret)
    }
}

/// What a pending authorization is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Purpose {
    Login,
    Reauth,
}

/// A sign-in or re-authentication sent to IMS and not yet back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) purpose: Purpose,
    pub(crate) state: SessionSecret,
    pub(crate) verifier: SessionSecret,
    pub(crate) return_to: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) expires_at: OffsetDateTime,
}

impl Pending {
    pub(crate) fn verifier(&self) -> PkceVerifier {
        PkceVerifier::new(self.verifier.expose())
    }
}

/// The signed-in admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SignedIn {
    pub(crate) admin_id: AdminUserId,
    pub(crate) ims_user_id: Option<String>,
    pub(crate) email: String,
    pub(crate) access_token: SessionSecret,
    /// The last time IMS said the token is valid.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) last_check: OffsetDateTime,
}

impl SignedIn {
    pub(crate) fn token(&self) -> AccessToken {
        AccessToken::new(self.access_token.expose())
    }
}

/// A re-authentication that a sensitive action may consume once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReauthProof {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) expires_at: OffsetDateTime,
}

/// The admin login's part of a browser session: the signed-in admin, the
/// IMS access token and the time of its last check, sign-ins and
/// re-authentications in flight (state, PKCE verifier, return path, expiry),
/// and the single-use re-authentication proof.
///
/// It is plain data: `Serialize`/`Deserialize` so the host can keep it in any
/// session store (keep that store server-side, or encrypt the cookie: the
/// session holds an IMS access token). `Debug` never shows a token, state or
/// verifier.
///
/// ```
/// use admin_ims::AdminSession;
///
/// let session = AdminSession::default();
/// assert!(!session.is_signed_in());
/// let json = serde_json::to_string(&session)?;
/// let back: AdminSession = serde_json::from_str(&json)?;
/// assert_eq!(back.admin_id(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AdminSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signed_in: Option<SignedIn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pending: Vec<Pending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reauth_proof: Option<ReauthProof>,
}

impl fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminSession")
            .field("admin_id", &self.admin_id())
            .field("last_check", &self.last_check())
            .field("pending", &self.pending.len())
            .field("reauth_proof", &self.reauth_proof.is_some())
            .finish()
    }
}

impl AdminSession {
    /// Whether an admin is signed in (not re-validated here: use
    /// [`AdminIms::check_session`](crate::AdminIms::check_session)).
    pub fn is_signed_in(&self) -> bool {
        self.signed_in.is_some()
    }

    /// The signed-in admin.
    pub fn admin_id(&self) -> Option<AdminUserId> {
        self.signed_in.as_ref().map(|s| s.admin_id)
    }

    /// The IMS user id of the signed-in admin, when IMS gave one.
    pub fn ims_user_id(&self) -> Option<&str> {
        self.signed_in.as_ref()?.ims_user_id.as_deref()
    }

    /// When IMS last said the session's token is valid.
    pub fn last_check(&self) -> Option<OffsetDateTime> {
        self.signed_in.as_ref().map(|s| s.last_check)
    }

    /// Sign-ins and re-authentications in flight.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Whether the session holds nothing at all: no admin, no sign-in in
    /// flight, no proof (a host need not store such a session).
    pub fn is_empty(&self) -> bool {
        self.signed_in.is_none() && self.pending.is_empty() && self.reauth_proof.is_none()
    }

    /// Forgets everything (the admin, the token, pending states, proofs).
    pub fn clear(&mut self) {
        *self = AdminSession::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_and_hides_secrets_from_debug() {
        let session = AdminSession {
            signed_in: Some(SignedIn {
                admin_id: AdminUserId(7),
                ims_user_id: Some("X@AdobeID".into()),
                email: "a@example.com".into(),
                access_token: SessionSecret::new("token-value"),
                last_check: datetime!(2026-01-01 0:00 UTC),
            }),
            pending: vec![Pending {
                purpose: Purpose::Login,
                state: SessionSecret::new("state-value"),
                verifier: SessionSecret::new("verifier-value"),
                return_to: Some("/admin".into()),
                expires_at: datetime!(2026-01-01 0:10 UTC),
            }],
            reauth_proof: None,
        };
        let shown = format!("{session:?} {:?}", session.pending);
        for secret in ["token-value", "state-value", "verifier-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let json = serde_json::to_string(&session).unwrap();
        let back: AdminSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.admin_id(), Some(AdminUserId(7)));
        assert_eq!(
            back.signed_in.unwrap().token().expose_secret(),
            "token-value"
        );
        assert_eq!(back.pending[0].verifier().expose_secret(), "verifier-value");
    }
}
