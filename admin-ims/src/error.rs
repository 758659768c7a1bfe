//! Refusals, each with the message the user sees (Magento's wording) and a
//! separate detail for the log. Neither ever holds a token or secret.

use ims_api::AdminUserId;

/// "Invalid state": the callback's `state` is missing, unknown, expired or
/// already used.
pub const MSG_INVALID_STATE: &str = "Invalid state";
/// The integration is disabled.
pub const MSG_DISABLED: &str = "Adobe Sign-In is disabled.";
/// The IMS user may not use this host (not in the organization, inactive,
/// locked).
pub const MSG_NO_ACCESS: &str = "You don't have access to this Commerce instance";
/// Anything else that went wrong on the way (IMS down, bad answers).
pub const MSG_UNABLE: &str = "Unable to sign in with the Adobe ID";
/// No admin user has the IMS profile's e-mail address (provisioning off).
pub const MSG_NO_MATCHING_USER: &str = "No matching admin user found for Adobe ID.";
/// The admin user has no role that grants anything.
pub const MSG_MORE_PERMISSIONS: &str = "More permissions are needed to access this.";
/// A sensitive action was attempted without a fresh re-authentication.
pub const MSG_REAUTH_REQUIRED: &str = "Please perform the AdobeIms reAuth and try again.";
/// Password sign-in while the integration is enabled.
pub const MSG_SIGN_IN_WITH_ADOBE_ID: &str = "Please sign in with Adobe ID";

/// Why a sign-in or re-authentication was refused.
///
/// `Display` is the detail for the log; [`user_message`](Self::user_message)
/// is what the user may see.
///
/// ```
/// use admin_ims::LoginError;
///
/// let err = LoginError::NotMember;
/// assert_eq!(err.user_message(), "You don't have access to this Commerce instance");
/// assert_eq!(err.reason(), "not_member");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The callback's `state` is missing, unknown or already used.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// The callback's `state` was issued too long ago.
    #[error("the state expired before the callback came back")]
    ExpiredState,
    /// The callback's query is malformed (duplicates, over-long values, no
    /// code).
    #[error("malformed callback: {0}")]
    MalformedCallback(&'static str),
    /// IMS sent the browser back with an error instead of a code.
    #[error("IMS answered with error {error:?}: {description:?}")]
    ImsDenied {
        /// IMS's `error` (`access_denied`, …), made printable.
        error: String,
        /// IMS's `error_description`, made printable.
        description: String,
    },
    /// The integration is disabled.
    #[error("the Adobe IMS integration is disabled")]
    Disabled,
    /// The integration's settings are incomplete.
    #[error("the Adobe IMS integration is misconfigured: {0}")]
    Misconfigured(String),
    /// Re-authentication without a signed-in admin.
    #[error("no admin is signed in")]
    NotSignedIn,
    /// The code exchange failed.
    #[error("code exchange failed: {0}")]
    CodeExchange(#[source] ims_api::Error),
    /// IMS could not be asked (profile, membership, validation).
    #[error("IMS call failed during sign-in: {0}")]
    Ims(#[source] ims_api::Error),
    /// The IMS profile has no e-mail address.
    #[error("the IMS profile has no e-mail address")]
    NoEmail,
    /// The IMS user is not a member of the configured organization.
    #[error("the IMS user is not a member of the configured organization")]
    NotMember,
    /// No admin user has the profile's e-mail address, and provisioning is
    /// off.
    #[error("no admin user has the IMS profile's e-mail address")]
    NoMatchingUser,
    /// The admin user was just created with the role that grants nothing.
    #[error("admin user {admin_id} was created without permissions")]
    Provisioned {
        /// The new user.
        admin_id: AdminUserId,
    },
    /// The admin user has no role that grants anything.
    #[error("admin user {admin_id} has no permissions")]
    NoPermissions {
        /// The user.
        admin_id: AdminUserId,
    },
    /// The admin user is inactive.
    #[error("admin user {admin_id} is inactive")]
    Inactive {
        /// The user.
        admin_id: AdminUserId,
    },
    /// The admin user is locked after too many failures.
    #[error("admin user {admin_id} is locked")]
    Locked {
        /// The user.
        admin_id: AdminUserId,
    },
    /// Re-authentication: IMS says the new token is not valid.
    #[error("the re-authentication token is not valid: {0}")]
    ReauthTokenInvalid(String),
    /// Re-authentication by another IMS user than the session's.
    #[error("re-authentication by another IMS user than the session's (admin {admin_id})")]
    DifferentUser {
        /// The session's admin.
        admin_id: AdminUserId,
    },
    /// The host's storage failed.
    #[error("storage failed during sign-in: {0}")]
    Storage(#[source] ims_api::Error),
}

impl LoginError {
    /// The message the user sees (Magento's wording).
    pub fn user_message(&self) -> &'static str {
        match self {
            LoginError::InvalidState(_)
            | LoginError::ExpiredState
            | LoginError::MalformedCallback(_) => MSG_INVALID_STATE,
            LoginError::Disabled => MSG_DISABLED,
            LoginError::NotMember
            | LoginError::Inactive { .. }
            | LoginError::Locked { .. }
            | LoginError::DifferentUser { .. } => MSG_NO_ACCESS,
            LoginError::NoMatchingUser => MSG_NO_MATCHING_USER,
            LoginError::Provisioned { .. } | LoginError::NoPermissions { .. } => {
                MSG_MORE_PERMISSIONS
            }
            LoginError::NotSignedIn => MSG_REAUTH_REQUIRED,
            LoginError::ImsDenied { .. }
            | LoginError::Misconfigured(_)
            | LoginError::CodeExchange(_)
            | LoginError::Ims(_)
            | LoginError::NoEmail
            | LoginError::ReauthTokenInvalid(_)
            | LoginError::Storage(_) => MSG_UNABLE,
        }
    }

    /// The HTTP status to answer with: 400 for a bad callback (state
    /// missing, unknown, used or expired; no code; an authorization code IMS
    /// refuses as `invalid_grant`, such as a replayed one); 403 for a
    /// refusal of the user (Cancel at IMS, not a member, no or an inactive,
    /// locked or role-less admin account, disabled integration); 502 when
    /// IMS failed (503 when it redirected back with
    /// `temporarily_unavailable`); 500 for the host's own
    /// failures (storage, configuration).
    ///
    /// ```
    /// use admin_ims::LoginError;
    ///
    /// assert_eq!(LoginError::ExpiredState.http_status(), 400);
    /// assert_eq!(LoginError::NotMember.http_status(), 403);
    /// let cancel = LoginError::ImsDenied { error: "access_denied".into(), description: String::new() };
    /// assert_eq!(cancel.http_status(), 403);
    /// ```
    pub fn http_status(&self) -> u16 {
        fn ims_failure(err: &ims_api::Error) -> u16 {
            match err {
                ims_api::Error::Storage { .. } | ims_api::Error::Misconfigured(_) => 500,
                _ => 502,
            }
        }
        match self {
            LoginError::InvalidState(_)
            | LoginError::ExpiredState
            | LoginError::MalformedCallback(_) => 400,
            LoginError::ImsDenied { error, .. } => match error.as_str() {
                "server_error" => 502,
                "temporarily_unavailable" => 503,
                _ => 403,
            },
            LoginError::CodeExchange(ims_api::Error::Refused(refusal))
                if refusal.error == "invalid_grant" =>
            {
                400
            }
            LoginError::CodeExchange(err) | LoginError::Ims(err) => ims_failure(err),
            LoginError::Disabled
            | LoginError::NotSignedIn
            | LoginError::NoEmail
            | LoginError::NotMember
            | LoginError::NoMatchingUser
            | LoginError::Provisioned { .. }
            | LoginError::NoPermissions { .. }
            | LoginError::Inactive { .. }
            | LoginError::Locked { .. }
            | LoginError::ReauthTokenInvalid(_)
            | LoginError::DifferentUser { .. } => 403,
            LoginError::Misconfigured(_) | LoginError::Storage(_) => 500,
        }
    }

    /// A stable, machine-readable reason for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginError::InvalidState(_) => "invalid_state",
            LoginError::ExpiredState => "expired_state",
            LoginError::MalformedCallback(_) => "malformed_callback",
            LoginError::ImsDenied { .. } => "ims_denied",
            LoginError::Disabled => "disabled",
            LoginError::Misconfigured(_) => "misconfigured",
            LoginError::NotSignedIn => "not_signed_in",
            LoginError::CodeExchange(_) => "code_exchange_failed",
            LoginError::Ims(_) => "ims_failed",
            LoginError::NoEmail => "no_email",
            LoginError::NotMember => "not_member",
            LoginError::NoMatchingUser => "no_matching_user",
            LoginError::Provisioned { .. } => "provisioned_without_permissions",
            LoginError::NoPermissions { .. } => "no_permissions",
            LoginError::Inactive { .. } => "inactive",
            LoginError::Locked { .. } => "locked",
            LoginError::ReauthTokenInvalid(_) => "reauth_token_invalid",
            LoginError::DifferentUser { .. } => "different_user",
            LoginError::Storage(_) => "storage_failed",
        }
    }

    /// The admin user concerned, when one was matched.
    pub fn admin_id(&self) -> Option<AdminUserId> {
        match self {
            LoginError::Provisioned { admin_id }
            | LoginError::NoPermissions { admin_id }
            | LoginError::Inactive { admin_id }
            | LoginError::Locked { admin_id }
            | LoginError::DifferentUser { admin_id } => Some(*admin_id),
            _ => None,
        }
    }

    /// Whether this is a failure of a system (IMS, storage, configuration)
    /// rather than a refusal of the user: logged at error level.
    pub fn is_technical(&self) -> bool {
        matches!(
            self,
            LoginError::Misconfigured(_)
                | LoginError::CodeExchange(_)
                | LoginError::Ims(_)
                | LoginError::Storage(_)
        )
    }
}

/// A sensitive action was attempted without a fresh, unused
/// re-authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", MSG_REAUTH_REQUIRED)]
#[non_exhaustive]
pub struct ReauthRequired;

impl ReauthRequired {
    /// The message the user sees.
    pub fn user_message(&self) -> &'static str {
        MSG_REAUTH_REQUIRED
    }
}

/// Password sign-in is refused while the integration is enabled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", MSG_SIGN_IN_WITH_ADOBE_ID)]
#[non_exhaustive]
pub struct PasswordLoginRefused;

/// An edit of a profile field that IMS owns while the integration is
/// enabled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {field} of an admin user is managed by Adobe IMS and cannot be changed here")]
#[non_exhaustive]
pub struct ImsOwnedField {
    /// `email`, `first name` or `last name`.
    pub field: &'static str,
}
