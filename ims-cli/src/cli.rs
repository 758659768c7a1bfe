//! The command line, as clap derive types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, shown at the end of `ims --help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (a file could not be read or written, ...)
  2  usage error (unknown command or flag, missing or conflicting arguments)
  3  configuration error (unknown context, missing or invalid properties)
  4  IMS refused the request, or the token is not valid
  5  IMS is unavailable (unreachable, timed out, 5xx or 429)

Contexts are the aio CLI's: `ims.contexts.<name>` in $AIO_CONFIG_FILE
(else $XDG_CONFIG_HOME/aio, else ~/.config/aio) and ./.aio.";

/// Adobe IMS tokens and the aio CLI's configuration contexts.
#[derive(Debug, Parser)]
#[command(name = "ims", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// The options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// IMS base URL (an emulator, a proxy) for contexts that name no
    /// environment and for commands without a context; wins over --env.
    /// Typed on the command line of `ims context set`, it is written into the
    /// context as `ims_url`.
    #[arg(long, global = true, env = "IMS_URL", value_name = "URL")]
    pub ims_url: Option<String>,
    /// IMS environment for contexts that name none and for commands without
    /// a context (default: the aio config's `cli.env`, else prod). Typed on
    /// the command line of `ims context set`, it is written as `env`.
    #[arg(long = "env", global = true, env = "AIO_CLI_ENV", value_enum)]
    pub environment: Option<EnvName>,
    /// Machine-readable JSON output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Debug logs on stderr (-vv for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--env` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvName {
    /// Adobe's production IMS.
    Prod,
    /// Adobe's stage IMS.
    Stage,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, show, create, select and remove configuration contexts.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Get, decode, validate and invalidate access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sign in with a browser for an OAuth user context.
    Login(LoginArgs),
    /// The organizations of the context's user.
    Orgs(ContextArg),
    /// The profile of the context's user.
    Profile(ContextArg),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `--context NAME`.
#[derive(Debug, Args)]
pub struct ContextArg {
    /// The context (default: the current one, `ims context use`).
    #[arg(short, long, value_name = "NAME")]
    pub context: Option<String>,
}

/// `ims context ...`.
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the contexts; the current one is marked with `*`.
    List,
    /// Show a context's properties (secrets masked).
    Get {
        /// The context (default: the current one).
        name: Option<String>,
        /// Show secrets and tokens instead of `****`.
        #[arg(long)]
        show_secrets: bool,
        /// Show which file or environment variable each key came from (and
        /// whether that source is trusted), like `git config --show-origin`.
        #[arg(long)]
        show_origin: bool,
    },
    /// Create or replace a context (other keys of the file are kept).
    Set(Box<SetArgs>),
    /// Make a context the current one (written to ./.aio, as aio does).
    Use {
        /// The context.
        name: String,
    },
    /// Remove a context and its tokens.
    Remove {
        /// The context.
        name: String,
    },
}

/// The kinds of context `ims context set` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// OAuth server-to-server (client credentials).
    ServerToServer,
    /// Legacy JWT service account.
    Jwt,
    /// A person's browser sign-in (`ims login`).
    OauthUser,
}

/// `ims context set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The context.
    pub name: String,
    /// The kind of credentials.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// `client_id`.
    #[arg(long)]
    pub client_id: String,
    /// The client secret (visible to other local users in the process list:
    /// prefer the prompt or --client-secret-stdin).
    #[arg(long, conflicts_with = "client_secret_stdin")]
    pub client_secret: Option<String>,
    /// Read the client secret from the first line of stdin.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Scopes, comma-separated (server-to-server, oauth-user).
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// `ims_org_id` (server-to-server, jwt).
    #[arg(long)]
    pub org_id: Option<String>,
    /// `technical_account_id` (jwt; kept for server-to-server).
    #[arg(long)]
    pub technical_account_id: Option<String>,
    /// `technical_account_email` (kept for server-to-server).
    #[arg(long)]
    pub technical_account_email: Option<String>,
    /// Meta scopes, comma-separated (jwt).
    #[arg(long, value_delimiter = ',')]
    pub meta_scopes: Vec<String>,
    /// The PEM private key file (jwt); its path is stored, as aio accepts.
    #[arg(long, value_name = "PATH")]
    pub private_key_file: Option<PathBuf>,
    /// `redirect_uri` (oauth-user).
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,
    /// Write to ./.aio instead of the global file.
    #[arg(long)]
    pub local: bool,
}

/// `ims token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a valid access token for the context (cached, refreshed or new).
    Get(ContextArg),
    /// Print a token's claims, without any check (`-` reads it from stdin).
    Decode {
        /// The token, or `-`.
        token: String,
    },
    /// Check a token: its signature against IMS's keys, type and expiry
    /// (`-` reads it from stdin).
    Validate {
        /// The token, or `-`.
        token: String,
        /// Ask IMS's validation endpoint instead.
        #[arg(long, requires = "client_id")]
        remote: bool,
        /// The client id sent to IMS with --remote.
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Invalidate the context's access token at IMS and forget it.
    Invalidate {
        /// The context (default: the current one).
        #[arg(short, long, value_name = "NAME")]
        context: Option<String>,
        /// Invalidate the refresh token too (cascading) and forget both.
        #[arg(long)]
        force: bool,
    },
}

/// `ims login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The OAuth user context (default: the current one, else aio's `cli`).
    #[arg(short, long, value_name = "NAME")]
    pub context: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Seconds to wait for the sign-in.
    #[arg(long, default_value_t = 120, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Loopback port for the callback (default: random).
    #[arg(long, env = "AIO_IMS_LOCAL_LOGIN_PORT")]
    pub port: Option<u16>,
}
