//! One module per command.

pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod login;
pub(crate) mod login_manual;
pub(crate) mod logout;
pub(crate) mod orgs;
pub(crate) mod profile;
pub(crate) mod redeem;
pub(crate) mod token;

use std::io::{BufRead as _, IsTerminal as _};

use crate::exit::CliError;

/// A token argument, or the first line of stdin for `-`.
pub(crate) fn token_arg(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    if std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "`-` reads the token from stdin, but stdin is a terminal; pipe the token in".to_owned(),
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| CliError::Io(format!("cannot read the token from stdin: {err}")))?;
    let token = line.trim().to_owned();
    if token.is_empty() {
        return Err(CliError::Usage("no token on stdin".to_owned()));
    }
    Ok(token)
}
