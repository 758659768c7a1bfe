//! `ims login --manual`: a sign-in for a machine without a browser. The
//! authorization URL is printed; the person signs in on any other machine,
//! and pastes back the address IMS sent that browser to (or only its code).
//! The pasted `state` must be this sign-in's (compared in constant time),
//! and the code is exchanged with this sign-in's PKCE verifier, so a pasted
//! answer of another sign-in — an attacker's — is refused or useless.

use std::time::Duration;

use ims_api::{
    AuthorizeRequest, AuthorizeUrlBuilder as _, ClientCredentials, ClientSecret,
    ContextCredentials, Error, ImsRefusal,
};
use ims_core::{PkcePair, random_state};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use url::Url;

use crate::App;
use crate::cli::LoginArgs;
use crate::exit::CliError;

/// Where IMS sends the browser when the context names no `redirect_uri`: a
/// loopback port nothing listens on, so the answer stays in the address
/// bar to be copied (the IMS client must allow `http://127.0.0.1:*`).
const DEFAULT_REDIRECT: &str = "http://127.0.0.1:1/callback";
/// The longest answer read from stdin.
const MAX_ANSWER: u64 = 16 * 1024;
/// The longest code accepted on its own.
const MAX_CODE: usize = 4096;

pub(crate) async fn run(app: &App, args: &LoginArgs) -> Result<(), CliError> {
    let name = app.context_name(args.context.as_deref()).await?;
    let ctx = app.context(&name).await?;
    let ContextCredentials::OAuthUser(user) = &ctx.credentials else {
        return Err(CliError::Config(format!(
            "context {name} is a {} context, which gets tokens without a sign-in (`ims token get --context {name}`); \
             ims login is for oauth-user contexts",
            ctx.credentials.kind()
        )));
    };
    let redirect = match &user.redirect_uri {
        Some(uri) => uri.clone(),
        None => Url::parse(DEFAULT_REDIRECT)
            .map_err(|err| CliError::Other(format!("bad redirect URL: {err}")))?,
    };
    let client = app.client(ctx.environment.as_ref())?;
    let pkce = PkcePair::generate();
    let state = random_state();
    let request = AuthorizeRequest::new(user.client_id.clone(), redirect.clone(), state.clone())
        .with_scopes(user.scopes.clone())
        .with_pkce(pkce.challenge.clone());
    let url = client.authorize_url(&request).await?;

    app.out
        .note("Open this URL in a browser on any machine and sign in:");
    if app.out.is_json() {
        app.out.line(&json!({"url": url.as_str()}).to_string());
    } else {
        app.out.line(url.as_str());
    }
    app.out.note(&format!(
        "The browser then goes to {redirect}... (the page may not load: that is expected).\n\
         Paste that whole address here (or only its code) and press Enter:"
    ));

    let timeout = Duration::from_secs(args.timeout);
    let line = tokio::select! {
        read = tokio::time::timeout(timeout, read_answer()) => match read {
            Ok(line) => line?,
            Err(_) => {
                return Err(CliError::Other(format!(
                    "no answer within {} s; run `ims login --manual` again (--timeout SECONDS to wait longer)",
                    args.timeout
                )));
            }
        },
        _ = tokio::signal::ctrl_c() => return Err(CliError::Other("sign-in cancelled".to_owned())),
    };
    let code = match parse_answer(&line, &state) {
        Answer::Code(code) => code,
        Answer::Refused(refusal) => {
            return Err(CliError::from(Error::Refused(refusal))
                .with_hint("the sign-in did not complete; run `ims login --manual` again"));
        }
        Answer::WrongState => {
            return Err(CliError::Other(
                "the pasted address does not belong to this sign-in (its state does not match); \
                 nothing was exchanged. Paste the address of the sign-in this command printed"
                    .to_owned(),
            ));
        }
        Answer::Unusable(why) => {
            return Err(CliError::Usage(format!(
                "the pasted answer is not usable: {why}; paste the whole address the browser was sent to"
            )));
        }
    };

    let secret = user
        .client_secret
        .clone()
        .unwrap_or_else(|| ClientSecret::new(""));
    let credentials = ClientCredentials::new(user.client_id.clone(), secret);
    super::redeem::redeem_and_store(app, &client, &name, credentials, code, redirect, &pkce).await
}

/// The first non-empty line of stdin (at most [`MAX_ANSWER`] bytes read).
async fn read_answer() -> Result<String, CliError> {
    let mut stdin = BufReader::new(tokio::io::stdin().take(MAX_ANSWER));
    loop {
        let mut line = String::new();
        let n = stdin
            .read_line(&mut line)
            .await
            .map_err(|err| CliError::Io(format!("cannot read the answer from stdin: {err}")))?;
        if n == 0 {
            return Err(CliError::Usage(
                "stdin ended before an answer was pasted".to_owned(),
            ));
        }
        if !line.trim().is_empty() {
            return Ok(line.trim().to_owned());
        }
    }
}

/// What a pasted answer brought.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The authorization code.
    Code(String),
    /// IMS sent the browser back with an error.
    Refused(ImsRefusal),
    /// An address or query whose `state` is missing or not this sign-in's.
    WrongState,
    /// Neither an address with a code nor a code.
    Unusable(&'static str),
}

/// Judges a pasted answer: a full address or its query string must carry
/// this sign-in's `state`; a bare code (no `=`, no `/`) is taken as is —
/// only this sign-in's PKCE verifier can redeem it.
fn parse_answer(text: &str, expected_state: &str) -> Answer {
    let text = text.trim();
    let query = if text.contains("://") {
        match Url::parse(text) {
            Ok(url) => url.query().unwrap_or_default().to_owned(),
            Err(_) => return Answer::Unusable("it is not a valid address"),
        }
    } else if text.contains('=') || text.starts_with('?') {
        text.trim_start_matches('?').to_owned()
    } else {
        return bare_code(text);
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // A parameter IMS sends once (RFC 6749 §3.1) that comes twice: which
    // one counts would be a guess, so neither does.
    if ["state", "code", "error", "error_description"]
        .iter()
        .any(|key| pairs.iter().filter(|(k, _)| k == key).count() > 1)
    {
        return Answer::Unusable("a parameter of the answer comes more than once");
    }
    let param = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let state_ok = param("state").is_some_and(|given| {
        ims_api::constant_time_eq(given.as_bytes(), expected_state.as_bytes())
    });
    if !state_ok {
        return Answer::WrongState;
    }
    if let Some(error) = param("error") {
        let mut refusal = ImsRefusal::new(400, printable(&error));
        if let Some(description) = param("error_description") {
            refusal = refusal.with_description(printable(&description));
        }
        return Answer::Refused(refusal);
    }
    match param("code") {
        Some(code) if !code.is_empty() && code.len() <= MAX_CODE => Answer::Code(code),
        Some(code) if !code.is_empty() => Answer::Unusable("its code is too long"),
        _ => Answer::Unusable("it holds no code"),
    }
}

fn bare_code(text: &str) -> Answer {
    if text.is_empty() {
        Answer::Unusable("it is empty")
    } else if text.len() > MAX_CODE {
        Answer::Unusable("it is too long for a code")
    } else if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '&'))
    {
        Answer::Unusable("it is neither an address nor a code")
    } else {
        Answer::Code(text.to_owned())
    }
}

/// `text` without control characters (terminal escape sequences) nor the
/// invisible marks that reorder the text around them (bidirectional
/// overrides and isolates), at most 200 characters.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !is_bidi_mark(*c))
        .take(200)
        .collect()
}

fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_answer_must_carry_this_sign_ins_state() {
        let s = "s1";
        assert_eq!(
            parse_answer("http://127.0.0.1:1/callback?code=c1&state=s1", s),
            Answer::Code("c1".to_owned())
        );
        assert_eq!(
            parse_answer("  ?code=c1&state=s1\n", s),
            Answer::Code("c1".to_owned())
        );
        assert_eq!(
            parse_answer("code=c1&state=s1", s),
            Answer::Code("c1".to_owned())
        );
        // The attacker's answer: another sign-in's state, or none.
        assert_eq!(
            parse_answer("http://127.0.0.1:1/callback?code=c1&state=s2", s),
            Answer::WrongState
        );
        assert_eq!(
            parse_answer("http://127.0.0.1:1/callback?code=c1", s),
            Answer::WrongState
        );
        assert_eq!(parse_answer("code=c1&state=", s), Answer::WrongState);
        assert_eq!(
            parse_answer("http://127.0.0.1:1/callback?code=c1&state=s1x", s),
            Answer::WrongState
        );
        assert_eq!(
            parse_answer("https://x/?state=s1", s),
            Answer::Unusable("it holds no code")
        );
        match parse_answer(
            "https://x/?error=access_denied&error_description=n%1Bo&state=s1",
            s,
        ) {
            Answer::Refused(refusal) => {
                assert_eq!(refusal.error, "access_denied");
                assert_eq!(refusal.description.as_deref(), Some("no"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pasted_answer_with_a_repeated_parameter_is_refused() {
        // Which of two codes (or states) counts would be a guess: the
        // attacker's second code riding along with this sign-in's state, or
        // this sign-in's state hiding a second one, must not be exchanged.
        for answer in [
            "http://127.0.0.1:1/callback?code=c1&state=s1&code=evil",
            "http://127.0.0.1:1/callback?code=evil&code=c1&state=s1",
            "http://127.0.0.1:1/callback?code=c1&state=s1&state=s2",
            "http://127.0.0.1:1/callback?code=c1&state=s2&state=s1",
            "code=c1&state=s1&error=access_denied&error=x",
        ] {
            assert!(
                matches!(parse_answer(answer, "s1"), Answer::Unusable(_)),
                "{answer}"
            );
        }
        // The parameter in the fragment (response_mode=fragment) is no
        // second one: it is not read at all.
        assert_eq!(
            parse_answer("http://127.0.0.1:1/callback?code=c1&state=s1#code=c2", "s1"),
            Answer::Code("c1".to_owned())
        );
    }

    #[test]
    fn an_error_description_cannot_write_escape_sequences() {
        let answer = "https://x/?state=s1&error=%1B%5B2J%C2%9B31m&error_description=%E2%80%AEevil%1B]8;;http://e%07";
        match parse_answer(answer, "s1") {
            Answer::Refused(refusal) => {
                let shown = format!(
                    "{} {}",
                    refusal.error,
                    refusal.description.unwrap_or_default()
                );
                assert!(
                    !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
                    "{shown:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bare_code_is_taken_only_if_it_looks_like_one() {
        assert_eq!(
            parse_answer("eyJhbGc.x-y_z", "s"),
            Answer::Code("eyJhbGc.x-y_z".to_owned())
        );
        assert!(matches!(
            parse_answer("two words", "s"),
            Answer::Unusable(_)
        ));
        assert!(matches!(
            parse_answer("http//x/cb", "s"),
            Answer::Unusable(_)
        ));
        assert!(matches!(
            parse_answer(&"a".repeat(MAX_CODE + 1), "s"),
            Answer::Unusable(_)
        ));
        assert!(matches!(
            parse_answer("not a url://", "s"),
            Answer::Unusable(_)
        ));
    }
}
