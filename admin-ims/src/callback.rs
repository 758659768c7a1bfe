//! The query string IMS sends the browser back with.

use std::fmt;

use ims_api::AuthorizationCode;

/// The longest callback query string accepted, in bytes.
pub const MAX_CALLBACK_QUERY_LEN: usize = 16 * 1024;

const MAX_STATE_LEN: usize = 512;
const MAX_CODE_LEN: usize = 8 * 1024;
const MAX_ERROR_LEN: usize = 256;

/// The parameters of an IMS callback (`?code=…&state=…`, or
/// `?error=…&error_description=…&state=…`), parsed from hostile input.
///
/// Parsing never fails and never panics: what is wrong with the query is
/// kept as a [`problem`](Self::problem) and refused by the service. A
/// parameter given twice, an over-long value or query, or a code together
/// with an error are problems; unknown parameters are ignored.
///
/// ```
/// use admin_ims::CallbackQuery;
///
/// let query = CallbackQuery::parse("code=abc&state=xyz");
/// assert_eq!(query.state(), Some("xyz"));
/// assert!(query.has_code());
/// assert_eq!(query.problem(), None);
///
/// let denied = CallbackQuery::parse("error=access_denied&state=xyz");
/// assert_eq!(denied.ims_error(), Some("access_denied"));
///
/// let twice = CallbackQuery::parse("state=a&state=b&code=c");
/// assert!(twice.problem().is_some());
/// ```
#[derive(Clone, Default)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<AuthorizationCode>,
    error: Option<String>,
    error_description: Option<String>,
    problem: Option<&'static str>,
}

impl fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackQuery")
            .field("state", &self.state.as_ref().map(|_| "[REDACTED]"))
            .field("code", &self.code)
            .field("error", &self.error)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl CallbackQuery {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw_query: &str) -> Self {
        let mut query = CallbackQuery::default();
        if raw_query.len() > MAX_CALLBACK_QUERY_LEN {
            query.problem = Some("the callback query is too long");
            return query;
        }
        for (key, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
            let (slot, limit, name) = match key.as_ref() {
                "state" => (&mut query.state, MAX_STATE_LEN, "state"),
                "error" => (&mut query.error, MAX_ERROR_LEN, "error"),
                "error_description" => (
                    &mut query.error_description,
                    MAX_ERROR_LEN * 4,
                    "error_description",
                ),
                "code" => {
                    if query.code.is_some() {
                        query.problem.get_or_insert("duplicate parameter: code");
                    } else if value.len() > MAX_CODE_LEN || value.is_empty() {
                        query.problem.get_or_insert("the code is empty or too long");
                    } else {
                        query.code = Some(AuthorizationCode::new(value.into_owned()));
                    }
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                query.problem.get_or_insert(match name {
                    "state" => "duplicate parameter: state",
                    "error" => "duplicate parameter: error",
                    _ => "duplicate parameter: error_description",
                });
            } else if value.len() > limit {
                query.problem.get_or_insert(match name {
                    "state" => "the state is too long",
                    _ => "the error is too long",
                });
            } else {
                *slot = Some(value.into_owned());
            }
        }
        if query.code.is_some() && query.error.is_some() {
            query
                .problem
                .get_or_insert("the callback has both a code and an error");
        }
        query
    }

    /// The `state` echoed by IMS.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Whether there is an authorization code.
    pub fn has_code(&self) -> bool {
        self.code.is_some()
    }

    /// The authorization code.
    pub(crate) fn code(&self) -> Option<&AuthorizationCode> {
        self.code.as_ref()
    }

    /// The `error` IMS sent instead of a code (`access_denied`, …).
    pub fn ims_error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The `error_description` IMS sent.
    pub fn ims_error_description(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// What is wrong with the query, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        self.problem
    }
}

/// Text from the network, made safe for a log line: printable ASCII only,
/// at most 200 characters.
pub(crate) fn loggable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_queries_are_problems_not_panics() {
        assert!(
            CallbackQuery::parse(&"a".repeat(MAX_CALLBACK_QUERY_LEN + 1))
                .problem()
                .is_some()
        );
        assert!(
            CallbackQuery::parse(&format!("state={}", "s".repeat(600)))
                .problem()
                .is_some()
        );
        assert!(
            CallbackQuery::parse("code=a&code=b&state=s")
                .problem()
                .is_some()
        );
        assert!(CallbackQuery::parse("code=&state=s").problem().is_some());
        assert!(
            CallbackQuery::parse("code=a&error=x&state=s")
                .problem()
                .is_some()
        );
        let empty = CallbackQuery::parse("");
        assert_eq!(empty.state(), None);
        assert!(!empty.has_code());
        assert_eq!(empty.problem(), None);
        let odd = CallbackQuery::parse("%FF%FE=%C0&state=%E2%82&&&==&code=x");
        assert_eq!(odd.state(), Some("\u{FFFD}"));
        assert!(odd.has_code());
    }

    #[test]
    fn debug_redacts_state_and_code() {
        let query = CallbackQuery::parse("code=secret-code&state=secret-state");
        let shown = format!("{query:?}");
        assert!(
            !shown.contains("secret-code") && !shown.contains("secret-state"),
            "{shown}"
        );
    }

    #[test]
    fn loggable_strips_control_characters() {
        assert_eq!(loggable("a\r\nb\u{1b}[31m"), "ab[31m");
        assert_eq!(loggable(&"x".repeat(500)).len(), 200);
    }

    proptest! {
        #[test]
        fn parser_never_panics(raw in any::<String>()) {
            let query = CallbackQuery::parse(&raw);
            if let Some(state) = query.state() {
                prop_assert!(state.len() <= MAX_STATE_LEN);
            }
            let _ = format!("{query:?}");
        }

        #[test]
        fn parser_reads_any_well_formed_pair(state in "[A-Za-z0-9_-]{1,64}", code in "[A-Za-z0-9._-]{1,200}") {
            let query = CallbackQuery::parse(&format!("code={code}&state={state}&extra=1"));
            prop_assert_eq!(query.state(), Some(state.as_str()));
            prop_assert!(query.has_code());
            prop_assert_eq!(query.problem(), None);
        }

        #[test]
        fn duplicated_parameters_are_always_refused(
            name in prop::sample::select(vec!["code", "state", "error"]),
            a in "[a-z]{1,8}", b in "[a-z]{1,8}",
        ) {
            let query = CallbackQuery::parse(&format!("{name}={a}&{name}={b}"));
            prop_assert!(query.problem().is_some());
        }
    }
}
