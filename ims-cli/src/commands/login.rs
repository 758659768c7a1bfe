//! `ims login`: a browser sign-in for an OAuth user context or aio's `cli`
//! context (the default, as for `aio login`), with a loopback callback on
//! 127.0.0.1, PKCE and a `state` checked in constant time.

use std::net::Ipv4Addr;
use std::time::Duration;

use ims_api::{
    AuthorizeRequest, AuthorizeUrlBuilder as _, CliContext, ClientCredentials, ClientId,
    ClientSecret, ConfigLocation, ContextCredentials, ContextName, ContextStore as _, Error,
    ImsContext, ImsRefusal, Scopes,
};
use ims_core::{PkcePair, random_state};
use indicatif::ProgressBar;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::cli::LoginArgs;
use crate::exit::CliError;
use crate::{App, parse_name};

/// The longest request head the callback server reads.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn run(app: &App, args: LoginArgs) -> Result<(), CliError> {
    if args.manual {
        return super::login_manual::run(app, &args).await;
    }
    let name = login_context_name(app, args.context.as_deref()).await?;
    if name.as_str() == ContextName::CLI && app.store.get(&name).await?.is_none() {
        // As `aio login`: the `cli` context is created, marked by
        // `cli.bare-output`, in the global file.
        let default = ClientId::parse(AIO_CLI_CLIENT)
            .map_err(|err| CliError::Other(format!("aio's client id: {err}")))?;
        let context = ImsContext::new(
            name.clone(),
            ContextCredentials::Cli(CliContext::new(default)),
        );
        app.store.set(&context, ConfigLocation::Global).await?;
    }
    let ctx = app.context(&name).await?;
    let (client_id, client_secret, scopes) = match &ctx.credentials {
        ContextCredentials::OAuthUser(user) => (
            user.client_id.clone(),
            user.client_secret.clone(),
            user.scopes.clone(),
        ),
        ContextCredentials::Cli(cli) => {
            let scopes = if cli.scopes.is_empty() {
                Scopes::parse(CLI_DEFAULT_SCOPES)
            } else {
                cli.scopes.clone()
            };
            (cli.client_id.clone(), None, scopes)
        }
        _ => {
            return Err(CliError::Config(format!(
                "context {name} is a {} context, which gets tokens without a sign-in (`ims token get --context {name}`); \
                 ims login is for oauth-user contexts and aio's cli context",
                ctx.credentials.kind()
            )));
        }
    };
    let port = args.port.unwrap_or(0);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|err| {
            CliError::Config(format!(
                "cannot listen on 127.0.0.1:{port} for the sign-in callback ({err}); \
                 choose a free port with --port or AIO_IMS_LOCAL_LOGIN_PORT"
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|err| CliError::Io(format!("cannot read the callback address: {err}")))?
        .port();
    let redirect = Url::parse(&format!("http://127.0.0.1:{port}/callback"))
        .map_err(|err| CliError::Other(format!("bad callback URL: {err}")))?;
    let client = app.client(ctx.environment.as_ref())?;
    let pkce = PkcePair::generate();
    let state = random_state();
    let request = AuthorizeRequest::new(client_id.clone(), redirect.clone(), state.clone())
        .with_scopes(scopes)
        .with_pkce(pkce.challenge.clone());
    let url = client.authorize_url(&request).await?;

    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if in_ci && !args.no_open {
        app.out
            .note("CI is set: not opening a browser; open the URL below instead");
    }
    let opened = !args.no_open && !in_ci && webbrowser::open(url.as_str()).is_ok();
    if opened {
        app.out.note(&format!(
            "A browser was opened to sign in. If it was not, open:\n{url}"
        ));
    } else {
        app.out.note("Open this URL in a browser to sign in:");
        if app.out.is_json() {
            app.out.line(&json!({"url": url.as_str()}).to_string());
        } else {
            app.out.line(url.as_str());
        }
    }

    let spinner = if app.out.is_json() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.set_message(format!(
        "Waiting for the sign-in on http://127.0.0.1:{port}/callback (Ctrl-C to cancel) ..."
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let timeout = Duration::from_secs(args.timeout);
    let waited = tokio::select! {
        waited = tokio::time::timeout(timeout, wait_for_code(&listener, &state)) => waited,
        _ = tokio::signal::ctrl_c() => {
            spinner.finish_and_clear();
            return Err(CliError::Other("sign-in cancelled".to_owned()));
        }
    };
    spinner.finish_and_clear();
    drop(listener);
    let code = match waited {
        Ok(result) => result?,
        Err(_) => {
            return Err(CliError::Other(format!(
                "no sign-in arrived within {} s; run `ims login` again (--timeout SECONDS to wait longer)",
                args.timeout
            )));
        }
    };

    let secret = client_secret.unwrap_or_else(|| ClientSecret::new(""));
    let credentials = ClientCredentials::new(client_id, secret);
    super::redeem::redeem_and_store(app, &client, &name, credentials, code, redirect, &pkce).await
}

/// The client a new `cli` context signs in with: aio's own (the context's
/// `client_id` or `AIO_CLI_IMS_APIKEY` choose another).
const AIO_CLI_CLIENT: &str = "aio-cli-console-auth";
/// What a `cli` context without `scope` asks for: aio's login site decides
/// its scopes on the server, unseen; these give a profile, the
/// organizations and a refresh token.
const CLI_DEFAULT_SCOPES: &str = "AdobeID,openid,read_organizations,offline_access";

/// `--context`, else the current context, else `cli`, as `aio login` and
/// `aio logout`.
pub(super) async fn login_context_name(
    app: &App,
    given: Option<&str>,
) -> Result<ContextName, CliError> {
    if let Some(name) = given {
        return parse_name(name);
    }
    match app.store.current().await? {
        Some(current) => Ok(current),
        None => parse_name(ContextName::CLI),
    }
}

/// What one callback request brought.
enum Callback {
    /// The authorization code.
    Code(String),
    /// IMS sent the browser back with an error.
    Refused(ImsRefusal),
}

/// Serves the loopback callback until one request carries the right `state`:
/// other requests get an error page and are otherwise ignored.
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String, CliError> {
    loop {
        let (stream, peer) = listener
            .accept()
            .await
            .map_err(|err| CliError::Io(format!("the sign-in callback server failed: {err}")))?;
        match serve(stream, state).await {
            Ok(Some(Callback::Code(code))) => return Ok(code),
            Ok(Some(Callback::Refused(refusal))) => {
                return Err(CliError::from(Error::Refused(refusal))
                    .with_hint("the sign-in did not complete; run `ims login` again"));
            }
            Ok(None) => {
                tracing::debug!(%peer, "ignored a request that is not the sign-in callback")
            }
            Err(err) => tracing::debug!(%peer, error = %err, "a callback connection failed"),
        }
    }
}

async fn serve(mut stream: TcpStream, state: &str) -> std::io::Result<Option<Callback>> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(None),
    };
    let (status, page, outcome) = match parse_callback(&head, state) {
        Parsed::NotFound => ("404 Not Found", "Not found.", None),
        Parsed::BadState => (
            "400 Bad Request",
            "This sign-in answer does not belong to the waiting <code>ims login</code>.",
            None,
        ),
        Parsed::Code(code) => (
            "200 OK",
            "Signed in. You can close this window and return to the terminal.",
            Some(Callback::Code(code)),
        ),
        Parsed::Refused(refusal) => (
            "200 OK",
            "The sign-in failed; see the terminal. You can close this window.",
            Some(Callback::Refused(refusal)),
        ),
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ims login</title></head>\
         <body><p>{page}</p></body></html>"
    );
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(outcome)
}

/// Reads up to the end of the request head (or [`MAX_HEAD`] bytes).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_HEAD && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    NotFound,
    BadState,
    Code(String),
    Refused(ImsRefusal),
}

/// The request line of `head`, judged: only `GET /callback` with the right
/// `state` counts.
fn parse_callback(head: &str, expected_state: &str) -> Parsed {
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Parsed::NotFound;
    };
    if !target.starts_with('/') {
        return Parsed::NotFound;
    }
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Parsed::NotFound;
    };
    if url.path() != "/callback" {
        return Parsed::NotFound;
    }
    let param = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let state_ok = param("state").is_some_and(|given| {
        ims_api::constant_time_eq(given.as_bytes(), expected_state.as_bytes())
    });
    if !state_ok {
        return Parsed::BadState;
    }
    if let Some(error) = param("error") {
        let printable =
            |s: String| -> String { s.chars().filter(|c| !c.is_control()).take(200).collect() };
        let mut refusal = ImsRefusal::new(400, printable(error));
        if let Some(description) = param("error_description") {
            refusal = refusal.with_description(printable(description));
        }
        return Parsed::Refused(refusal);
    }
    match param("code") {
        Some(code) if !code.is_empty() => Parsed::Code(code),
        _ => Parsed::BadState,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_callback_with_the_right_state_counts() {
        let get = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            parse_callback(&get("/callback?code=c1&state=s1"), "s1"),
            Parsed::Code("c1".to_owned())
        );
        assert_eq!(
            parse_callback(&get("/callback?code=c1&state=s2"), "s1"),
            Parsed::BadState
        );
        assert_eq!(
            parse_callback(&get("/callback?code=c1"), "s1"),
            Parsed::BadState
        );
        assert_eq!(
            parse_callback(&get("/callback?state=s1"), "s1"),
            Parsed::BadState
        );
        assert_eq!(parse_callback(&get("/favicon.ico"), "s1"), Parsed::NotFound);
        assert_eq!(
            parse_callback("POST /callback HTTP/1.1\r\n\r\n", "s1"),
            Parsed::NotFound
        );
        assert_eq!(parse_callback("", "s1"), Parsed::NotFound);
        assert_eq!(
            parse_callback("GET http://evil/ HTTP/1.1", "s1"),
            Parsed::NotFound
        );
        match parse_callback(
            &get("/callback?error=access_denied&error_description=no&state=s1"),
            "s1",
        ) {
            Parsed::Refused(refusal) => {
                assert_eq!(refusal.error, "access_denied");
                assert_eq!(refusal.description.as_deref(), Some("no"));
            }
            other => panic!("{other:?}"),
        }
    }
}
