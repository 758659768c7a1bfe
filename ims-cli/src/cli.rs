//! The command line, as clap derive types.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::complete::context_names;

/// Exit codes, shown at the end of `ims --help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (a file could not be read or written, ...)
  2  usage error (unknown command or flag, missing or conflicting arguments)
  3  configuration error (unknown context, missing or invalid properties)
  4  IMS refused the request, or the token is not valid
  5  IMS is unavailable (unreachable, timed out, 5xx or 429)
  6  not signed in: a user context has no usable token (run `ims login`)

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
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Sign out: invalidate the context's tokens at IMS and remove them.
    #[command(after_help = LOGOUT_EXAMPLES)]
    Logout(LogoutArgs),
    /// Get, set, list and delete keys of aio's configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The organizations of the context's user.
    #[command(after_help = ORGS_EXAMPLES)]
    Orgs(ContextArg),
    /// The profile of the context's user.
    #[command(after_help = PROFILE_EXAMPLES)]
    Profile(ContextArg),
    /// Print a static shell completion script (see --help for completion of
    /// context names).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
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
    #[arg(short, long, value_name = "NAME", add = ArgValueCandidates::new(context_names))]
    pub context: Option<String>,
}

/// `ims context ...`.
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the contexts: the current one marked `*`, each with its kind,
    /// token status, expiry and the file that defines it.
    #[command(after_help = CONTEXT_LIST_EXAMPLES)]
    List,
    /// Show a context's properties (secrets masked).
    #[command(after_help = CONTEXT_GET_EXAMPLES)]
    Get {
        /// The context (default: the current one).
        #[arg(add = ArgValueCandidates::new(context_names))]
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
    #[command(after_help = CONTEXT_SET_EXAMPLES)]
    Set(Box<SetArgs>),
    /// Make a context the current one (written to ./.aio, as aio does).
    #[command(after_help = CONTEXT_USE_EXAMPLES)]
    Use {
        /// The context.
        #[arg(add = ArgValueCandidates::new(context_names))]
        name: String,
    },
    /// Remove a context and its tokens.
    #[command(after_help = CONTEXT_REMOVE_EXAMPLES)]
    Remove {
        /// The context.
        #[arg(add = ArgValueCandidates::new(context_names))]
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
    #[arg(add = ArgValueCandidates::new(context_names))]
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
    #[command(after_help = TOKEN_GET_EXAMPLES)]
    Get(TokenGetArgs),
    /// Print a token's claims, without any check (`-` reads it from stdin).
    #[command(after_help = TOKEN_DECODE_EXAMPLES)]
    Decode {
        /// The token, or `-`.
        token: String,
    },
    /// Check a token: its signature against IMS's keys, type and expiry
    /// (`-` reads it from stdin).
    #[command(after_help = TOKEN_VALIDATE_EXAMPLES)]
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
    #[command(after_help = TOKEN_INVALIDATE_EXAMPLES)]
    Invalidate {
        /// The context (default: the current one).
        #[arg(short, long, value_name = "NAME", add = ArgValueCandidates::new(context_names))]
        context: Option<String>,
        /// Invalidate the refresh token too (cascading) and forget both.
        #[arg(long)]
        force: bool,
    },
}

/// `ims token get`.
#[derive(Debug, Args)]
pub struct TokenGetArgs {
    /// The context (default: the current one, `ims context use`).
    #[arg(short, long, value_name = "NAME", add = ArgValueCandidates::new(context_names))]
    pub context: Option<String>,
    /// Ignore the stored access token and obtain a new one (a user context's
    /// refresh token is kept and used).
    #[arg(long)]
    pub force: bool,
}

/// `ims login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The OAuth user context (default: the current one, else aio's `cli`).
    #[arg(short, long, value_name = "NAME", add = ArgValueCandidates::new(context_names))]
    pub context: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_open: bool,
    /// For a machine without a browser: print the sign-in URL, sign in on
    /// any other machine, then paste the address the browser was sent to
    /// (or just its code) here. No callback is served (--port is unused).
    #[arg(long, conflicts_with = "no_open")]
    pub manual: bool,
    /// Seconds to wait for the sign-in.
    #[arg(long, default_value_t = 120, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Loopback port for the callback (default: random).
    #[arg(long, env = "AIO_IMS_LOCAL_LOGIN_PORT")]
    pub port: Option<u16>,
}

/// `ims logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The context (default: the current one, `ims context use`).
    #[arg(short, long, value_name = "NAME", add = ArgValueCandidates::new(context_names))]
    pub context: Option<String>,
    /// Invalidate only the access token and keep the refresh token (the
    /// default, like aio's, invalidates both and removes both).
    #[arg(long)]
    pub no_force: bool,
}

/// Which file `ims config` reads or writes.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("file").args(["local", "global"])))]
pub struct ConfigFile {
    /// The working directory's `./.aio` only.
    #[arg(short, long)]
    pub local: bool,
    /// The global file only (`$AIO_CONFIG_FILE`, else
    /// `$XDG_CONFIG_HOME/aio`, else `~/.config/aio`).
    #[arg(short, long)]
    pub global: bool,
}

/// `ims config ...`: aio's `config get|set|list|delete`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the value of a dotted key (environment > ./.aio > global file),
    /// secrets masked.
    #[command(after_help = CONFIG_GET_EXAMPLES)]
    Get {
        /// The dotted key (`cli.env`, `ims.contexts.svc.scopes`); case does
        /// not matter.
        key: String,
        /// Read one file only.
        #[command(flatten)]
        file: ConfigFile,
        /// Show secrets and tokens instead of `****`.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Set a dotted key in the global file (or ./.aio with --local); every
    /// other key is kept.
    #[command(after_help = CONFIG_SET_EXAMPLES)]
    Set {
        /// The dotted key, or `KEY=VALUE`.
        key: String,
        /// The value (a string; JSON with --json); without it, `KEY=VALUE`
        /// or the first line of stdin (which keeps a secret out of the
        /// process list).
        value: Option<String>,
        /// Write ./.aio instead of the global file.
        #[arg(short, long)]
        local: bool,
    },
    /// List every key (environment > ./.aio > global file), secrets masked.
    #[command(visible_alias = "ls", after_help = CONFIG_LIST_EXAMPLES)]
    List {
        /// Read one file only.
        #[command(flatten)]
        file: ConfigFile,
        /// Show secrets and tokens instead of `****`.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Delete dotted keys from the global file (or ./.aio with --local).
    #[command(visible_aliases = ["del", "rm"], after_help = CONFIG_DELETE_EXAMPLES)]
    Delete {
        /// The dotted keys.
        #[arg(required = true)]
        keys: Vec<String>,
        /// Delete from ./.aio instead of the global file.
        #[arg(short, long)]
        local: bool,
    },
}

const CONTEXT_LIST_EXAMPLES: &str = "\
Examples:
  ims context list
  ims --json context list | jq -r '.[] | select(.token == \"expired\") | .name'";

const CONTEXT_GET_EXAMPLES: &str = "\
Examples:
  ims context get svc
  ims context get svc --show-origin
  ims --json context get svc --show-secrets | jq -r '.properties.client_secrets[0]'";

const CONTEXT_SET_EXAMPLES: &str = "\
Examples:
  printf '%s\\n' \"$SECRET\" | ims context set svc --kind server-to-server \\
      --client-id my-client --client-secret-stdin --scopes openid,AdobeID
  ims context set me --kind oauth-user --client-id my-app \\
      --scopes openid,AdobeID,offline_access --local";

const CONTEXT_USE_EXAMPLES: &str = "\
Examples:
  ims context use svc";

const CONTEXT_REMOVE_EXAMPLES: &str = "\
Examples:
  ims context remove old-svc";

const TOKEN_GET_EXAMPLES: &str = "\
Examples:
  curl -H \"Authorization: Bearer $(ims token get --context svc)\" https://example.adobe.io/
  ims token get --force            # a new token, whatever is stored
  ims --json token get | jq -r .expires_at";

const TOKEN_DECODE_EXAMPLES: &str = "\
Examples:
  ims token get | ims token decode -";

const TOKEN_VALIDATE_EXAMPLES: &str = "\
Examples:
  ims token get | ims token validate -
  ims token validate --remote --client-id my-client - < token.txt";

const TOKEN_INVALIDATE_EXAMPLES: &str = "\
Examples:
  ims token invalidate --context svc
  ims token invalidate --context me --force   # the refresh token too";

const LOGIN_EXAMPLES: &str = "\
Examples:
  ims login --context me
  ims login --context me --no-open    # print the URL, wait for the browser here
  ims login --context me --manual     # no browser on this machine: paste the answer";

const LOGOUT_EXAMPLES: &str = "\
Examples:
  ims logout
  ims logout --context me --no-force  # keep the refresh token";

const ORGS_EXAMPLES: &str = "\
Examples:
  ims orgs --context me
  ims --json orgs | jq -r '.[].orgName'";

const PROFILE_EXAMPLES: &str = "\
Examples:
  ims profile --context me
  ims --json profile | jq -r .email";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  ims completions bash > ~/.local/share/bash-completion/completions/ims
  ims completions zsh  > \"${fpath[1]}/_ims\"

Completion that also offers the configured context names (for --context and
NAME arguments), asked of ims itself each time:
  bash: source <(COMPLETE=bash ims)        zsh: source <(COMPLETE=zsh ims)
  fish: COMPLETE=fish ims | source";

const CONFIG_GET_EXAMPLES: &str = "\
Examples:
  ims config get cli.env
  ims config get ims.contexts.svc --global
  ims config get ims.contexts.svc.client_secrets --show-secrets";

const CONFIG_SET_EXAMPLES: &str = "\
Examples:
  ims config set cli.env stage
  ims config set ims.contexts.svc.scopes '[\"openid\",\"AdobeID\"]' --json
  printf '%s\\n' \"$SECRET\" | ims config set ims.contexts.me.client_secret --local";

const CONFIG_LIST_EXAMPLES: &str = "\
Examples:
  ims config list
  ims config list --local --json";

const CONFIG_DELETE_EXAMPLES: &str = "\
Examples:
  ims config delete cli.env
  ims config rm ims.contexts.old --local";
