//! # ims-demo
//!
//! The reference host application: an admin area with "Sign in with Adobe ID"
//! and a REST API that accepts IMS bearer tokens, wiring `ims-core`,
//! `admin-ims`, `webapi-ims`, `ims-store` and `ims-emulator` together.
//!
//! - [`wiring`] is the one module where every crate is wired in: read it
//!   first, copy it into your host.
//! - [`cli`] is the command line (`cargo run -p ims-demo -- --help`);
//!   [`commands`] the operator subcommands with Magento's names
//!   (`admin:adobe-ims:enable|disable|status|info`,
//!   `admin:user:create|lock|unlock`) and `service-token`.
//! - The pages (`src/pages/`), the REST routes (`src/rest.rs`) and the
//!   password sign-in (`src/password_login.rs`) are small and call the
//!   library crates for everything IMS-related.
//!
//! It must never be the only place a behaviour lives: everything it shows is
//! done by a library crate, so integrators get it too.

use std::process::ExitCode;

mod admins;
pub mod cli;
pub mod commands;
mod health;
pub mod mailer;
pub mod metrics;
mod pages;
mod password_login;
mod rest;
pub mod server;
mod service_token;
pub mod sessions;
mod settings_origin;
mod state;
pub mod wiring;

/// Runs the command line: the server without a subcommand, else the
/// subcommand. Errors are printed as one readable line.
pub async fn run(cli: cli::Cli) -> ExitCode {
    init_logging(cli.command.is_some());
    let result = match cli.command {
        None => wiring::serve(cli.common, cli.serve).await,
        Some(command) => commands::run(cli.common, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ims-demo: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr: `RUST_LOG`, else `info` for the server and only the
/// demo's own warnings for an operator command (whose errors are one line:
/// the libraries' events about the same failure would repeat it). Colours
/// only when stderr is a terminal.
fn init_logging(operator_command: bool) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let default = if operator_command {
        "ims_demo=warn"
    } else {
        "info,sqlx=warn,ims_emulator=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A second initialisation (tests run several apps) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
