//! The command's errors and the exit code of each kind.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// Any other failure (files, I/O).
pub const OTHER: u8 = 1;
/// A usage error (clap's own code).
pub const USAGE: u8 = 2;
/// The configuration is wrong (`Misconfigured`, `InvalidInput`).
pub const CONFIGURATION: u8 = 3;
/// IMS refused the request, or the token is not valid.
pub const REFUSED: u8 = 4;
/// IMS is unavailable.
pub const UNAVAILABLE: u8 = 5;
/// A user context has no usable token: sign in (`ims login`). Distinct from
/// [`CONFIGURATION`]: nothing is wrong with the context.
pub const NOT_SIGNED_IN: u8 = 6;

/// Why a command failed: a message that never holds a token or secret, a
/// hint on how to fix it, and the exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// From the IMS libraries.
    #[error("{error}")]
    Ims {
        /// The error.
        error: ims_api::Error,
        /// What to do about it, if we know.
        hint: Option<String>,
    },
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Configuration the command needs is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// Local I/O failed.
    #[error("{0}")]
    Io(String),
    /// A user context has no usable access or refresh token.
    #[error(
        "context {context} is not signed in: it has no valid access token and no usable refresh token"
    )]
    NotSignedIn {
        /// The context.
        context: String,
    },
    /// Anything else (a sign-in that timed out or was cancelled).
    #[error("{0}")]
    Other(String),
}

impl From<ims_api::Error> for CliError {
    fn from(error: ims_api::Error) -> Self {
        let hint = default_hint(&error);
        CliError::Ims { error, hint }
    }
}

impl CliError {
    /// Replaces the hint of an IMS error.
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            CliError::Ims { error, .. } => CliError::Ims {
                error,
                hint: Some(hint.into()),
            },
            other => other,
        }
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Ims { hint, .. } => hint.clone(),
            CliError::NotSignedIn { context } => {
                Some(format!("sign in with `ims login --context {context}`"))
            }
            _ => None,
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Ims { error, .. } => code_of(error),
            CliError::Usage(_) => USAGE,
            CliError::Config(_) => CONFIGURATION,
            CliError::NotSignedIn { .. } => NOT_SIGNED_IN,
            CliError::Io(_) | CliError::Other(_) => OTHER,
        }
    }

    /// A stable machine-readable name of the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Ims { error, .. } => error.code(),
            CliError::Usage(_) => "usage",
            CliError::Config(_) => "misconfigured",
            CliError::NotSignedIn { .. } => "not_signed_in",
            CliError::Io(_) => "io",
            CliError::Other(_) => "other",
        }
    }

    /// The exit code as a process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

/// The exit code of an IMS library error.
pub fn code_of(error: &ims_api::Error) -> u8 {
    match error {
        ims_api::Error::Misconfigured(_) | ims_api::Error::InvalidInput(_) => CONFIGURATION,
        ims_api::Error::Refused(_) | ims_api::Error::InvalidToken(_) => REFUSED,
        ims_api::Error::Unavailable { .. } => UNAVAILABLE,
        _ => OTHER,
    }
}

fn default_hint(error: &ims_api::Error) -> Option<String> {
    match error {
        ims_api::Error::Refused(refusal) if refusal.error == "invalid_client" => Some(
            "check the context's client_id and client secret (`ims context get`, `ims context set`)"
                .to_owned(),
        ),
        ims_api::Error::Refused(refusal) if refusal.error == "invalid_scope" => {
            Some("check the context's scopes against the client's configuration".to_owned())
        }
        ims_api::Error::Refused(refusal) if refusal.error == "redirect_refused" => Some(
            "IMS answers directly, never with a redirect: check the IMS URL (--ims-url, --env, the context's ims_url/env)"
                .to_owned(),
        ),
        ims_api::Error::Unavailable { .. } => Some(
            "check the network and the IMS URL (--ims-url, --env, the context's ims_url/env), then try again"
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ims_api::{Error, ImsRefusal, InvalidValue, TokenRejection};

    #[test]
    fn codes_by_kind() {
        let unavailable = Error::Unavailable {
            detail: "down".to_owned(),
            retry_after: None,
        };
        assert_eq!(code_of(&unavailable), UNAVAILABLE);
        assert_eq!(
            code_of(&Error::Misconfigured("x".to_owned())),
            CONFIGURATION
        );
        assert_eq!(
            code_of(&Error::InvalidInput(InvalidValue::new(
                "client id",
                "empty"
            ))),
            CONFIGURATION
        );
        assert_eq!(
            code_of(&Error::Refused(ImsRefusal::new(401, "invalid_client"))),
            REFUSED
        );
        assert_eq!(
            code_of(&Error::InvalidToken(TokenRejection::UnknownKey)),
            REFUSED
        );
        assert_eq!(
            code_of(&Error::Storage {
                message: "disk".to_owned(),
                source: None
            }),
            OTHER
        );
        assert_eq!(CliError::Usage("x".to_owned()).code(), USAGE);
        assert_eq!(CliError::Config("x".to_owned()).code(), CONFIGURATION);
        assert_eq!(CliError::Io("x".to_owned()).code(), OTHER);
        let not_signed_in = CliError::NotSignedIn {
            context: "me".to_owned(),
        };
        assert_eq!(not_signed_in.code(), NOT_SIGNED_IN);
        assert_ne!(NOT_SIGNED_IN, CONFIGURATION);
        assert_eq!(not_signed_in.kind(), "not_signed_in");
        assert!(
            not_signed_in
                .hint()
                .is_some_and(|h| h.contains("ims login --context me"))
        );
        assert_eq!(OK, 0);
    }

    #[test]
    fn refusals_get_hints() {
        let err = CliError::from(Error::Refused(ImsRefusal::new(401, "invalid_client")));
        assert!(err.hint().is_some_and(|h| h.contains("client secret")));
    }
}
