//! Refusals, each with the message the user sees (Magento's wording) and a
//! separate detail for the log. Neither ever holds a token or secret.

use ims_api::AdminUserId;

/// The headline of Magento's sign-in error page: what a failed sign-in
/// shows by default ([`LoginMessages`]).
pub const MSG_ERROR_SIGNING_IN: &str = "Error signing in";
/// The text of Magento's sign-in error page: what a failed sign-in shows by
/// default, whatever the reason (the reason goes to the log).
pub const MSG_SIGN_IN_FAILED: &str = "Something went wrong and we could not sign you in. Please try again or contact your administrator.";
/// The product the detailed "no access" message names by default.
pub const DEFAULT_PRODUCT_NAME: &str = "Commerce";
/// "Invalid state": the callback's `state` is missing, unknown, expired or
/// already used.
pub const MSG_INVALID_STATE: &str = "Invalid state";
/// The integration is disabled.
pub const MSG_DISABLED: &str = "Adobe Sign-In is disabled.";
/// The IMS user may not use this host (inactive, locked, no role): Magento's
/// message for user failures, with the default product name.
pub const MSG_NO_ACCESS: &str = "You don't have access to this Commerce instance";
/// Organization failures (not a member) in Magento's log, and anything
/// else that went wrong on the way (IMS down, bad answers) in detailed
/// messages.
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
/// `Display` is the detail for the log, [`log_message`](Self::log_message)
/// Magento's own wording of it there; [`user_message`](Self::user_message)
/// is what the user sees by default (Magento's generic page).
///
/// ```
/// use admin_ims::{LoginError, MSG_SIGN_IN_FAILED};
///
/// let err = LoginError::NotMember;
/// assert_eq!(err.user_message(), MSG_SIGN_IN_FAILED);
/// assert_eq!(err.log_message("Commerce"), "Unable to sign in with the Adobe ID");
/// let locked = LoginError::Locked { admin_id: admin_ims::ims_api::AdminUserId(7) };
/// assert_eq!(locked.log_message("Shop"), "You don't have access to this Shop instance");
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
    /// The message the user sees by default (Magento's wording): that of
    /// its [`outcome`](Self::outcome).
    pub fn user_message(&self) -> &'static str {
        self.outcome().user_message()
    }

    /// Magento's message for this failure in its log
    /// (`AdobeImsAdminTokenUserService`): organization failures "Unable to
    /// sign in with the Adobe ID", failures of the admin account "You don't
    /// have access to this `product` instance"; for the others, the
    /// outcome's detailed message.
    pub fn log_message(&self, product: &str) -> String {
        match self {
            LoginError::NotMember => MSG_UNABLE.to_owned(),
            LoginError::NoMatchingUser
            | LoginError::Provisioned { .. }
            | LoginError::NoPermissions { .. }
            | LoginError::Inactive { .. }
            | LoginError::Locked { .. }
            | LoginError::DifferentUser { .. } => no_access(product),
            _ => self.outcome().detailed_message(product),
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
        self.outcome().http_status()
    }

    /// What the user is told, as a [`LoginOutcome`]: its
    /// [`kind`](LoginOutcome::kind) travels in a redirect to the host's page
    /// (`?ims_error=`), its [`http_status`](LoginOutcome::http_status) is
    /// this error's.
    ///
    /// ```
    /// use admin_ims::{LoginError, LoginOutcome};
    ///
    /// let cancel = LoginError::ImsDenied { error: "access_denied".into(), description: String::new() };
    /// assert_eq!(cancel.outcome(), LoginOutcome::Cancelled);
    /// assert_eq!(cancel.outcome().kind(), "cancelled");
    /// assert_eq!(LoginOutcome::from_kind("cancelled"), Some(LoginOutcome::Cancelled));
    /// ```
    pub fn outcome(&self) -> LoginOutcome {
        match self {
            LoginError::InvalidState(_)
            | LoginError::ExpiredState
            | LoginError::MalformedCallback(_) => LoginOutcome::InvalidState,
            LoginError::ImsDenied { error, .. } => match error.as_str() {
                "access_denied" => LoginOutcome::Cancelled,
                "server_error" => LoginOutcome::ImsFailed,
                "temporarily_unavailable" => LoginOutcome::ImsUnavailable,
                _ => LoginOutcome::Refused,
            },
            LoginError::CodeExchange(ims_api::Error::Refused(refusal))
                if refusal.error == "invalid_grant" =>
            {
                LoginOutcome::CodeRejected
            }
            LoginError::CodeExchange(err) | LoginError::Ims(err) => match err {
                ims_api::Error::Storage { .. } | ims_api::Error::Misconfigured(_) => {
                    LoginOutcome::Internal
                }
                _ => LoginOutcome::ImsFailed,
            },
            LoginError::Disabled => LoginOutcome::Disabled,
            LoginError::NotSignedIn => LoginOutcome::ReauthRequired,
            LoginError::NotMember
            | LoginError::Inactive { .. }
            | LoginError::Locked { .. }
            | LoginError::DifferentUser { .. } => LoginOutcome::NoAccess,
            LoginError::NoMatchingUser => LoginOutcome::NoMatchingUser,
            LoginError::Provisioned { .. } | LoginError::NoPermissions { .. } => {
                LoginOutcome::MorePermissions
            }
            LoginError::NoEmail | LoginError::ReauthTokenInvalid(_) => LoginOutcome::Refused,
            LoginError::Misconfigured(_) | LoginError::Storage(_) => LoginOutcome::Internal,
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

/// What a sign-in or re-authentication ended with, as the user is told:
/// the typed form of a [`LoginError`] a host renders in its own style. Its
/// [`kind`](Self::kind) is stable (it travels in `?ims_error=` to the
/// host's page), its [`http_status`](Self::http_status) says who is at
/// fault: 4xx for the browser, the user or their account (Cancel at IMS, a
/// bad or expired state, an outsider), 5xx only when IMS or the host
/// failed.
///
/// ```
/// use admin_ims::LoginOutcome;
///
/// for outcome in LoginOutcome::ALL {
///     assert_eq!(LoginOutcome::from_kind(outcome.kind()), Some(*outcome));
/// }
/// assert_eq!(LoginOutcome::Cancelled.http_status(), 403);
/// assert_eq!(LoginOutcome::InvalidState.http_status(), 400);
/// assert_eq!(LoginOutcome::ImsFailed.http_status(), 502);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The callback's state is missing, unknown, used or expired, or the
    /// callback is malformed: [`MSG_INVALID_STATE`], 400.
    InvalidState,
    /// IMS refused the authorization code (replayed, expired):
    /// [`MSG_UNABLE`], 400.
    CodeRejected,
    /// The user pressed Cancel on IMS's page (`error=access_denied`):
    /// [`MSG_UNABLE`], 403.
    Cancelled,
    /// IMS or the account refused otherwise (another IMS error, no e-mail,
    /// a re-authentication token IMS rejects): [`MSG_UNABLE`], 403.
    Refused,
    /// The integration is disabled: [`MSG_DISABLED`], 403.
    Disabled,
    /// Not a member of the organization; an inactive or locked admin; a
    /// re-authentication by someone else: [`MSG_NO_ACCESS`], 403.
    NoAccess,
    /// No admin has the Adobe ID's e-mail: [`MSG_NO_MATCHING_USER`], 403.
    NoMatchingUser,
    /// The admin has no role that grants anything:
    /// [`MSG_MORE_PERMISSIONS`], 403.
    MorePermissions,
    /// Re-authentication needs a signed-in admin, or a sensitive action a
    /// fresh re-authentication: [`MSG_REAUTH_REQUIRED`], 403.
    ReauthRequired,
    /// IMS failed (unreachable, an error answer): [`MSG_UNABLE`], 502.
    ImsFailed,
    /// IMS says it is temporarily unavailable: [`MSG_UNABLE`], 503.
    ImsUnavailable,
    /// The host failed (storage, configuration): [`MSG_UNABLE`], 500.
    Internal,
}

impl LoginOutcome {
    /// Every outcome.
    pub const ALL: &'static [LoginOutcome] = &[
        LoginOutcome::InvalidState,
        LoginOutcome::CodeRejected,
        LoginOutcome::Cancelled,
        LoginOutcome::Refused,
        LoginOutcome::Disabled,
        LoginOutcome::NoAccess,
        LoginOutcome::NoMatchingUser,
        LoginOutcome::MorePermissions,
        LoginOutcome::ReauthRequired,
        LoginOutcome::ImsFailed,
        LoginOutcome::ImsUnavailable,
        LoginOutcome::Internal,
    ];

    /// The stable kind (`invalid_state`, `cancelled`, `no_access`, …).
    pub fn kind(self) -> &'static str {
        match self {
            LoginOutcome::InvalidState => "invalid_state",
            LoginOutcome::CodeRejected => "code_rejected",
            LoginOutcome::Cancelled => "cancelled",
            LoginOutcome::Refused => "refused",
            LoginOutcome::Disabled => "disabled",
            LoginOutcome::NoAccess => "no_access",
            LoginOutcome::NoMatchingUser => "no_matching_user",
            LoginOutcome::MorePermissions => "more_permissions",
            LoginOutcome::ReauthRequired => "reauth_required",
            LoginOutcome::ImsFailed => "ims_failed",
            LoginOutcome::ImsUnavailable => "ims_unavailable",
            LoginOutcome::Internal => "internal",
        }
    }

    /// The outcome of a [`kind`](Self::kind); `None` for anything else.
    pub fn from_kind(kind: &str) -> Option<Self> {
        LoginOutcome::ALL
            .iter()
            .copied()
            .find(|outcome| outcome.kind() == kind)
    }

    /// The message the user sees by default, as Magento shows it: its
    /// generic sign-in error page ([`MSG_SIGN_IN_FAILED`], under the
    /// headline [`MSG_ERROR_SIGNING_IN`]) for every failure — the reason
    /// goes to the log — except a disabled integration
    /// ([`MSG_DISABLED`]) and a re-authentication to do
    /// ([`MSG_REAUTH_REQUIRED`]). [`LoginMessages`] switches to
    /// [`detailed_message`](Self::detailed_message).
    ///
    /// ```
    /// use admin_ims::{LoginOutcome, MSG_SIGN_IN_FAILED};
    ///
    /// assert_eq!(LoginOutcome::NoAccess.user_message(), MSG_SIGN_IN_FAILED);
    /// assert_eq!(LoginOutcome::Disabled.user_message(), "Adobe Sign-In is disabled.");
    /// ```
    pub fn user_message(self) -> &'static str {
        match self {
            LoginOutcome::Disabled => MSG_DISABLED,
            LoginOutcome::ReauthRequired => MSG_REAUTH_REQUIRED,
            _ => MSG_SIGN_IN_FAILED,
        }
    }

    /// The detailed message, naming the reason (what
    /// [`LoginMessages::detailed`] shows): "Invalid state", "You don't have
    /// access to this `product` instance", "No matching admin user found
    /// for Adobe ID.", "More permissions are needed to access this.",
    /// "Unable to sign in with the Adobe ID" for the rest.
    ///
    /// ```
    /// use admin_ims::LoginOutcome;
    ///
    /// assert_eq!(
    ///     LoginOutcome::NoAccess.detailed_message("Shop"),
    ///     "You don't have access to this Shop instance"
    /// );
    /// ```
    pub fn detailed_message(self, product: &str) -> String {
        match self {
            LoginOutcome::InvalidState => MSG_INVALID_STATE.to_owned(),
            LoginOutcome::Disabled => MSG_DISABLED.to_owned(),
            LoginOutcome::NoAccess => no_access(product),
            LoginOutcome::NoMatchingUser => MSG_NO_MATCHING_USER.to_owned(),
            LoginOutcome::MorePermissions => MSG_MORE_PERMISSIONS.to_owned(),
            LoginOutcome::ReauthRequired => MSG_REAUTH_REQUIRED.to_owned(),
            LoginOutcome::CodeRejected
            | LoginOutcome::Cancelled
            | LoginOutcome::Refused
            | LoginOutcome::ImsFailed
            | LoginOutcome::ImsUnavailable
            | LoginOutcome::Internal => MSG_UNABLE.to_owned(),
        }
    }

    /// The HTTP status of a page showing it.
    pub fn http_status(self) -> u16 {
        match self {
            LoginOutcome::InvalidState | LoginOutcome::CodeRejected => 400,
            LoginOutcome::Cancelled
            | LoginOutcome::Refused
            | LoginOutcome::Disabled
            | LoginOutcome::NoAccess
            | LoginOutcome::NoMatchingUser
            | LoginOutcome::MorePermissions
            | LoginOutcome::ReauthRequired => 403,
            LoginOutcome::Internal => 500,
            LoginOutcome::ImsFailed => 502,
            LoginOutcome::ImsUnavailable => 503,
        }
    }

    /// Whether the user (or their browser or account) caused it, rather
    /// than IMS or the host (a 4xx).
    pub fn is_client_caused(self) -> bool {
        self.http_status() < 500
    }
}

/// "You don't have access to this `product` instance".
fn no_access(product: &str) -> String {
    format!("You don't have access to this {product} instance")
}

/// How failed sign-ins are worded for the user: Magento's generic page by
/// default (the reason only in the log), or the detailed message of each
/// outcome, with the product's name in "You don't have access to this …
/// instance".
///
/// ```
/// use admin_ims::{LoginMessages, LoginOutcome, MSG_SIGN_IN_FAILED};
///
/// let default = LoginMessages::default();
/// assert_eq!(default.user_message(LoginOutcome::NoAccess), MSG_SIGN_IN_FAILED);
/// assert_eq!(default.headline(), "Error signing in");
///
/// let detailed = LoginMessages::detailed("Shop");
/// assert_eq!(
///     detailed.user_message(LoginOutcome::NoAccess),
///     "You don't have access to this Shop instance"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginMessages {
    /// Show each outcome's [`detailed_message`](LoginOutcome::detailed_message)
    /// instead of the generic page (default `false`, as Magento). The
    /// details tell an outsider whether an e-mail address has an admin
    /// account: leave it off on a public host.
    pub detailed: bool,
    /// The product the messages name (default [`DEFAULT_PRODUCT_NAME`]).
    pub product_name: String,
}

impl Default for LoginMessages {
    fn default() -> Self {
        LoginMessages {
            detailed: false,
            product_name: DEFAULT_PRODUCT_NAME.to_owned(),
        }
    }
}

impl LoginMessages {
    /// Detailed messages naming `product_name`.
    pub fn detailed(product_name: impl Into<String>) -> Self {
        LoginMessages {
            detailed: true,
            product_name: product_name.into(),
        }
    }

    /// The message shown for `outcome`.
    pub fn user_message(&self, outcome: LoginOutcome) -> String {
        if self.detailed {
            outcome.detailed_message(&self.product_name)
        } else {
            outcome.user_message().to_owned()
        }
    }

    /// The headline above it: Magento's "Error signing in".
    pub fn headline(&self) -> &'static str {
        MSG_ERROR_SIGNING_IN
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
