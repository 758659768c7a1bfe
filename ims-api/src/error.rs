//! The one error type of the contracts, and the reasons a token is refused.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;

/// Result with the contracts' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong behind an `ims-api` trait.
///
/// The variants are the five things a caller must tell apart: IMS said no,
/// the token is not acceptable, IMS could not be reached, the configuration is
/// wrong, or storage failed (plus input that failed validation). Messages never
/// contain a token, secret or private key.
///
/// ```
/// use ims_api::{Error, TokenRejection};
///
/// let err = Error::InvalidToken(TokenRejection::BadSignature);
/// assert_eq!(err.code(), "invalid_token");
/// assert_eq!(err.to_string(), "invalid token: the token's signature does not verify");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// IMS answered, and refused the request.
    #[error("IMS refused the request: {0}")]
    Refused(ImsRefusal),
    /// The token is malformed, badly signed, expired, revoked or otherwise not
    /// acceptable.
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
    /// IMS could not be reached, timed out, or answered 5xx/429.
    #[error("IMS is unavailable: {detail}")]
    Unavailable {
        /// What happened, without URLs or secrets.
        detail: String,
        /// How long IMS asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// The configuration is incomplete or inconsistent; the message says which
    /// setting (or context) and what to do.
    #[error("misconfiguration: {0}")]
    Misconfigured(String),
    /// A value given to the toolkit failed validation.
    #[error(transparent)]
    InvalidInput(#[from] InvalidValue),
    /// The storage behind a repository or store failed.
    #[error("storage failure: {message}")]
    Storage {
        /// What the store was doing.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl Error {
    /// A storage failure with its underlying cause.
    pub fn storage(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Error::Storage {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A stable, machine-readable code for the kind of error: `ims_refused`,
    /// `invalid_token`, `ims_unavailable`, `misconfigured`, `invalid_input` or
    /// `storage`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Refused(_) => "ims_refused",
            Error::InvalidToken(_) => "invalid_token",
            Error::Unavailable { .. } => "ims_unavailable",
            Error::Misconfigured(_) => "misconfigured",
            Error::InvalidInput(_) => "invalid_input",
            Error::Storage { .. } => "storage",
        }
    }

    /// How long to wait before trying again, when IMS said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A copy of this error, for each caller that shared one operation
    /// (`Error` is not `Clone`: a storage error's source is kept as its
    /// message).
    ///
    /// ```
    /// use ims_api::Error;
    ///
    /// let err = Error::storage("saving a token", std::io::Error::other("disk full"));
    /// let copy = err.duplicate();
    /// assert_eq!(copy.to_string(), err.to_string());
    /// assert_eq!(std::error::Error::source(&copy).unwrap().to_string(), "disk full");
    /// ```
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Refused(refusal) => Error::Refused(refusal.clone()),
            Error::InvalidToken(rejection) => Error::InvalidToken(rejection.clone()),
            Error::Unavailable {
                detail,
                retry_after,
            } => Error::Unavailable {
                detail: detail.clone(),
                retry_after: *retry_after,
            },
            Error::Misconfigured(message) => Error::Misconfigured(message.clone()),
            Error::InvalidInput(value) => Error::InvalidInput(value.clone()),
            Error::Storage { message, source } => Error::Storage {
                message: message.clone(),
                source: source.as_ref().map(|source| source.to_string().into()),
            },
        }
    }

    /// Whether the same call may succeed later without any change (IMS
    /// unavailable, or a storage failure).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::Storage { .. })
    }
}

/// An error answer from IMS: its HTTP status and the `error`,
/// `error_description` and `x-debug-id` it sent.
///
/// ```
/// use ims_api::ImsRefusal;
///
/// let refusal = ImsRefusal::new(400, "invalid_grant")
///     .with_description("Code expired")
///     .with_debug_id("a1b2");
/// assert_eq!(refusal.to_string(), "400 invalid_grant: Code expired (x-debug-id a1b2)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImsRefusal {
    /// HTTP status code of the answer.
    pub status: u16,
    /// The `error` code IMS sent (`invalid_client`, `invalid_grant`, …).
    pub error: String,
    /// The `error_description` IMS sent, if any.
    pub description: Option<String>,
    /// The `x-debug-id` response header, which identifies the request at IMS.
    pub debug_id: Option<String>,
}

impl ImsRefusal {
    /// A refusal with a status and an `error` code.
    pub fn new(status: u16, error: impl Into<String>) -> Self {
        ImsRefusal {
            status,
            error: error.into(),
            description: None,
            debug_id: None,
        }
    }

    /// Adds the `error_description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds the `x-debug-id`.
    pub fn with_debug_id(mut self, debug_id: impl Into<String>) -> Self {
        self.debug_id = Some(debug_id.into());
        self
    }
}

impl fmt::Display for ImsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.error)?;
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(debug_id) = &self.debug_id {
            write!(f, " (x-debug-id {debug_id})")?;
        }
        Ok(())
    }
}

/// Why a token was refused. Each reason reads as a sentence for logs and for
/// the `error_description` of a `WWW-Authenticate` header; none quotes the
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Not a well-formed JWT (parts, base64url, JSON, size).
    Malformed(String),
    /// The header names an algorithm other than RS256.
    UnsupportedAlgorithm(String),
    /// No published key has the token's `kid`, even after a refetch.
    UnknownKey,
    /// The `x5u` header is not a bare certificate file name.
    InvalidKeyReference,
    /// The signature does not verify.
    BadSignature,
    /// A required claim is missing.
    MissingClaim(&'static str),
    /// A claim has a value of the wrong shape.
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// `created_at + expires_in` is in the past (Magento: "Token has expired").
    Expired {
        /// When the token expired.
        expired_at: OffsetDateTime,
    },
    /// `created_at` lies in the future beyond the allowed leeway.
    NotYetValid {
        /// The token's `created_at`.
        created_at: OffsetDateTime,
    },
    /// The token is of another type than expected (a refresh token, a code).
    WrongType {
        /// The type that was expected.
        expected: String,
        /// The type the token carries.
        found: String,
    },
    /// The `as` claim names another IMS environment.
    WrongEnvironment {
        /// The authority configured (`ims-na1`, …).
        expected: String,
        /// The authority in the token.
        found: String,
    },
    /// The token's client id is not on the allow-list.
    ClientNotAllowed(String),
    /// IMS said the token is not valid (revoked, logged out, …).
    RejectedByIms(String),
    /// The token was invalidated on the host side (its record says so).
    Invalidated(String),
    /// The token is valid but maps to no usable account.
    UnknownUser,
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRejection::Malformed(detail) => write!(f, "the token is malformed: {detail}"),
            TokenRejection::UnsupportedAlgorithm(alg) => {
                write!(
                    f,
                    "the token's algorithm {alg:?} is not accepted (RS256 only)"
                )
            }
            TokenRejection::UnknownKey => f.write_str("the token is signed by an unknown key"),
            TokenRejection::InvalidKeyReference => {
                f.write_str("the token's x5u is not a bare certificate name")
            }
            TokenRejection::BadSignature => f.write_str("the token's signature does not verify"),
            TokenRejection::MissingClaim(claim) => write!(f, "the token has no {claim} claim"),
            TokenRejection::InvalidClaim { claim, detail } => {
                write!(f, "the token's {claim} claim is invalid: {detail}")
            }
            TokenRejection::Expired { .. } => f.write_str("Token has expired"),
            TokenRejection::NotYetValid { .. } => {
                f.write_str("the token was created in the future")
            }
            TokenRejection::WrongType { expected, found } => {
                write!(f, "the token is a {found}, not a {expected}")
            }
            TokenRejection::WrongEnvironment { expected, found } => write!(
                f,
                "the token was issued by {found}, not by the configured {expected}"
            ),
            TokenRejection::ClientNotAllowed(client) => {
                write!(f, "IMS client {client:?} is not authorized")
            }
            TokenRejection::RejectedByIms(reason) => write!(f, "IMS rejected the token: {reason}"),
            TokenRejection::Invalidated(reason) => write!(f, "the token was invalidated: {reason}"),
            TokenRejection::UnknownUser => f.write_str("the token belongs to no known admin user"),
        }
    }
}

/// A value failed validation: an organization id, a client id, a context
/// name… The message names the kind of value and the rule, never the value
/// itself (it may be a secret).
///
/// ```
/// let err = ims_api::OrgId::parse("not-an-org").unwrap_err();
/// assert!(err.to_string().starts_with("invalid organization id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidValue {
    what: &'static str,
    reason: String,
}

impl InvalidValue {
    /// A validation failure of a `what` (e.g. "client id") for a `reason`.
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        InvalidValue {
            what,
            reason: reason.into(),
        }
    }

    /// The kind of value that failed.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The rule it broke.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
