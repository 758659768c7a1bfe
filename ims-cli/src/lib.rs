//! # ims-cli
//!
//! ```
//! use clap::Parser;
//! use ims_cli::cli::{Cli, Command, TokenCommand};
//! use ims_cli::exit;
//!
//! // `ims token get --context svc --ims-url http://127.0.0.1:9800`, parsed as
//! // the binary parses it…
//! let cli = Cli::try_parse_from([
//!     "ims", "token", "get", "--context", "svc", "--ims-url", "http://127.0.0.1:9800",
//! ])?;
//! assert_eq!(cli.global.ims_url.as_deref(), Some("http://127.0.0.1:9800"));
//! let Command::Token(TokenCommand::Get(get)) = cli.command else {
//!     unreachable!("parsed as `token get`")
//! };
//! assert_eq!(get.context.as_deref(), Some("svc"));
//! assert!(!get.force);
//!
//! // …and a failure's kind decides the exit code scripts can test.
//! assert_eq!(exit::code_of(&ims_api::Error::Misconfigured("no such context".into())), exit::CONFIGURATION);
//! // A user context without a usable token is not a misconfiguration.
//! assert_eq!(exit::CliError::NotSignedIn { context: "me".into() }.code(), exit::NOT_SIGNED_IN);
//! # Ok::<(), clap::Error>(())
//! ```
//!
//! The `ims` command: Adobe IMS tokens on the configuration contexts the
//! `aio` CLI already keeps (`ims.contexts.<name>` in aio's global file and
//! `./.aio`), through `ims-core`'s aio-compatible store, token cache and
//! token provider. Tokens are written where aio reads them.
//!
//! The binary's `main` only calls [`run`]; the commands live in this library
//! so that they are tested and documented like any other code. The exit codes
//! are in [`exit`].
//!
//! ## What this crate must never do
//!
//! - Hold IMS logic: that is `ims-core`'s.
//! - Print a token or secret, except the token `ims token get` is asked for
//!   (and secrets `ims context get --show-secrets` and `ims config get|list
//!   --show-secrets` are asked for); error messages and warnings never
//!   contain one.

// docs.rs builds with `--cfg docsrs`: feature-gated items show their features.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cli;
mod commands;
mod complete;
pub mod exit;
mod mask;
pub mod output;

use std::process::ExitCode;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _};
use ims_api::{
    AccessToken, ContextCredentials, ContextName, ContextStore as _, ContextTokens, ExpiringToken,
    ImsContext, ImsEnvironment, SystemClock, TokenCache as _, TokenProvider as _,
};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache, HttpPolicy,
    ImsClient, ImsClients, ProviderConfig,
};

use crate::cli::{Cli, Command, EnvName, GlobalArgs};
use crate::exit::CliError;
use crate::output::Output;

/// Parses the process's arguments, runs the command and returns its exit
/// code (see [`exit`]).
pub fn run() -> ExitCode {
    // `COMPLETE=bash ims ...`: the shell asks for completions (context names
    // read from aio's files); answers and exits.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => {
            // Help and version go to stdout with 0, usage errors to stderr
            // with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(exit::USAGE);
        }
    };
    init_logging(cli.global.verbose);
    let out = Output::new(cli.global.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            out.error(&CliError::Io(format!(
                "cannot start the async runtime: {err}"
            )));
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(dispatch(cli, &matches, out)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            out.error(&err);
            err.exit_code()
        }
    }
}

fn init_logging(verbose: u8) {
    if verbose == 0 {
        return;
    }
    let level = if verbose == 1 { "debug" } else { "trace" };
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "warn,ims_cli={level},ims_core={level},ims_api={level}"
    ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dispatch(cli: Cli, matches: &ArgMatches, out: Output) -> Result<(), CliError> {
    let command = match cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "ims", &mut std::io::stdout());
            return Ok(());
        }
        // aio's files as they are: the IMS flags play no part, and a broken
        // `cli.env` can be repaired with `ims config set cli.env prod`.
        Command::Config(command) => return commands::config::run(&aio_config(None)?, out, command),
        command => command,
    };
    let app = App::new(&cli.global, matches, out).await?;
    match command {
        Command::Context(command) => commands::context::run(&app, command).await,
        Command::Token(command) => commands::token::run(&app, command).await,
        Command::Login(args) => commands::login::run(&app, args).await,
        Command::Logout(args) => commands::logout::run(&app, args).await,
        Command::Orgs(args) => commands::orgs::run(&app, args.context.as_deref()).await,
        Command::Profile(args) => commands::profile::run(&app, args.context.as_deref()).await,
        Command::Completions { .. } | Command::Config(_) => Ok(()),
    }
}

/// What every command works with: aio's contexts and token cache, the
/// default IMS environment, and the output.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) store: Arc<AioContextStore>,
    pub(crate) cache: Arc<FileTokenCache>,
    /// For contexts that name no environment and commands without a context.
    pub(crate) default_env: ImsEnvironment,
    /// The environment `ims context set` writes: only one typed on the
    /// command line.
    pub(crate) pinned_env: Option<ImsEnvironment>,
    pub(crate) out: Output,
}

impl App {
    async fn new(global: &GlobalArgs, matches: &ArgMatches, out: Output) -> Result<Self, CliError> {
        let from_flags = environment_of(global.ims_url.as_deref(), global.environment)?;
        let store = AioContextStore::new(aio_config(from_flags.as_ref())?);
        let default_env = match from_flags {
            Some(env) => env,
            // aio's own default: `cli.env` in its config, from the trusted
            // sources only (the global file, the environment): a project's
            // `.aio` or `.env` does not choose where the user's contexts go.
            None => match store
                .config()
                .read_trusted()?
                .get("cli.env")
                .cloned()
            {
                Some(serde_json::Value::String(name)) if !name.trim().is_empty() => name.parse().map_err(|err| {
                    CliError::Config(format!(
                        "cli.env in the aio config is not usable ({err}); set it to prod or stage"
                    ))
                })?,
                _ => ImsEnvironment::Prod,
            },
        };
        let typed = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let pinned_env = environment_of(
            global.ims_url.as_deref().filter(|_| typed("ims_url")),
            global.environment.filter(|_| typed("environment")),
        )?;
        let cache = FileTokenCache::new(store.config().clone());
        Ok(App {
            store: Arc::new(store),
            cache: Arc::new(cache),
            default_env,
            pinned_env,
            out,
        })
    }

    /// A token provider over aio's files that talks to the IMS each context
    /// names.
    pub(crate) fn provider(&self) -> ContextTokenProvider {
        ContextTokenProvider::with_clients(
            self.store.clone(),
            self.cache.clone(),
            ImsClients::new(self.default_env.clone(), HttpPolicy::default()),
            Arc::new(SystemClock),
            ProviderConfig::default(),
        )
    }

    /// An IMS client for a context's environment (the default for `None`).
    pub(crate) fn client(&self, env: Option<&ImsEnvironment>) -> Result<ImsClient, CliError> {
        Ok(ImsClient::new(env.unwrap_or(&self.default_env).clone())?)
    }

    /// The context named on the command line, else the current one.
    pub(crate) async fn context_name(&self, given: Option<&str>) -> Result<ContextName, CliError> {
        match given {
            Some(name) => parse_name(name),
            None => self.store.current().await?.ok_or_else(|| {
                CliError::Config(
                    "no context given and no current context; pass --context NAME or run `ims context use NAME` (see `ims context list`)"
                        .to_owned(),
                )
            }),
        }
    }

    /// The configured context `name`, with a clear error if there is none.
    pub(crate) async fn context(&self, name: &ContextName) -> Result<ImsContext, CliError> {
        self.store
            .get(name)
            .await
            .map_err(|err| match err {
                ims_api::Error::Misconfigured(_) => CliError::from(err).with_hint(format!(
                    "`ims context get {name} --show-origin` shows which file or variable set each key"
                )),
                other => CliError::from(other),
            })?
            .ok_or_else(|| unknown_context(name))
    }

    /// What a command acting as the context's user needs: the context, a
    /// valid access token (through the provider), and a client for the
    /// context's IMS.
    pub(crate) async fn signed_in(&self, given: Option<&str>) -> Result<SignedIn, CliError> {
        let name = self.context_name(given).await?;
        let context = self.context(&name).await?;
        let token = self.access_token(&name, &context, false).await?.token;
        let client = self.client(context.environment.as_ref())?;
        Ok(SignedIn {
            name,
            context,
            token,
            client,
        })
    }
}

impl App {
    /// A valid access token for the context, through the provider: the
    /// stored one (unless `force`), else a refreshed one, else one from the
    /// context's flow. A user context that has neither a valid access token
    /// nor a usable refresh token is [`CliError::NotSignedIn`].
    pub(crate) async fn access_token(
        &self,
        name: &ContextName,
        context: &ImsContext,
        force: bool,
    ) -> Result<ExpiringToken<AccessToken>, CliError> {
        let forgotten = if force {
            // Forget the stored access token only: a user context's refresh
            // token brings the new one.
            let tokens = self.cache.load(name).await?;
            let kept = ContextTokens {
                access_token: None,
                refresh_token: tokens.refresh_token,
            };
            self.cache.store(name, &kept).await?;
            tokens.access_token
        } else {
            None
        };
        let result = self.provider().get_token(name).await;
        if let (Err(_), Some(old)) = (&result, forgotten) {
            // No new token: the old one, still valid at IMS, is not lost.
            self.restore_access_token(name, old).await;
        }
        match result {
            // The provider's only configuration error for a user context
            // that exists (`context` was read) is that it needs a sign-in.
            Err(ims_api::Error::Misconfigured(_)) if needs_sign_in(&context.credentials) => {
                Err(CliError::NotSignedIn {
                    context: name.to_string(),
                })
            }
            other => other.with_context_hint(name),
        }
    }

    /// Puts back an access token `--force` set aside, beside the refresh
    /// token stored now (the provider may have dropped a refused one). A
    /// failure is only logged: the command's own error matters more.
    async fn restore_access_token(&self, name: &ContextName, old: ExpiringToken<AccessToken>) {
        let restored = async {
            let now = self.cache.load(name).await?;
            if now.access_token.is_some() {
                return Ok(());
            }
            let tokens = ContextTokens {
                access_token: Some(old),
                refresh_token: now.refresh_token,
            };
            self.cache.store(name, &tokens).await
        };
        if let Err(err) = restored.await {
            tracing::warn!(context = %name, error = %err, "could not put the stored access token back");
        }
    }
}

/// Whether the context's tokens come from a person's sign-in.
pub(crate) fn needs_sign_in(credentials: &ContextCredentials) -> bool {
    matches!(
        credentials,
        ContextCredentials::OAuthUser(_) | ContextCredentials::Cli(_)
    )
}

/// A context with a valid access token and its IMS client.
pub(crate) struct SignedIn {
    pub(crate) name: ContextName,
    pub(crate) context: ImsContext,
    pub(crate) token: ims_api::AccessToken,
    pub(crate) client: ImsClient,
}

/// The error for a context that is not configured.
pub(crate) fn unknown_context(name: &ContextName) -> CliError {
    CliError::Config(format!(
        "no context named \"{name}\"; see `ims context list`, or create it with `ims context set {name} --kind ...`"
    ))
}

/// A context name from the command line.
pub(crate) fn parse_name(name: &str) -> Result<ContextName, CliError> {
    ContextName::parse(name).map_err(|err| CliError::Usage(format!("{err}")))
}

/// aio's files and this process's environment; an environment chosen by
/// flag replaces aio's default (`cli.env`, which `AIO_CLI_ENV` also sets) for
/// contexts that name none: `--env` becomes `cli.env`, and `--ims-url`
/// clears it so that those contexts use the default client.
fn aio_config(from_flags: Option<&ImsEnvironment>) -> Result<AioConfig, CliError> {
    let paths = ConfigPaths::from_process()?;
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let Some(chosen) = from_flags else {
        return Ok(AioConfig::with_env(paths, vars));
    };
    let mut env: Vec<(String, String)> = vars
        .filter(|(k, _)| !k.eq_ignore_ascii_case("AIO_CLI_ENV"))
        .collect();
    let cli_env = match chosen {
        ImsEnvironment::Prod => "prod",
        ImsEnvironment::Stage => "stage",
        // Not an environment name: contexts naming none get no environment,
        // hence the default client, which is this URL.
        _ => "",
    };
    env.push(("AIO_CLI_ENV".to_owned(), cli_env.to_owned()));
    Ok(AioConfig::with_env(paths, env))
}

fn environment_of(
    ims_url: Option<&str>,
    env: Option<EnvName>,
) -> Result<Option<ImsEnvironment>, CliError> {
    if let Some(url) = ims_url {
        let env = ImsEnvironment::custom(url)
            .map_err(|err| CliError::Usage(format!("--ims-url / IMS_URL: {err}")))?;
        if !ims_core::ims_url_is_allowed(&env.base_url()) {
            return Err(CliError::Usage(
                "--ims-url / IMS_URL must be https, or http to a loopback address (127.0.0.0/8, localhost, [::1]): credentials are sent to it"
                    .to_owned(),
            ));
        }
        return Ok(Some(env));
    }
    Ok(env.map(|env| match env {
        EnvName::Prod => ImsEnvironment::Prod,
        EnvName::Stage => ImsEnvironment::Stage,
    }))
}

/// Turns an IMS error about a context into a [`CliError`] whose hint names
/// the context.
pub(crate) trait ContextHint<T> {
    /// The error, with a hint naming `name` where one helps.
    fn with_context_hint(self, name: &ContextName) -> Result<T, CliError>;
}

impl<T> ContextHint<T> for Result<T, ims_api::Error> {
    fn with_context_hint(self, name: &ContextName) -> Result<T, CliError> {
        self.map_err(|error| {
            let hint = match &error {
                ims_api::Error::Refused(refusal) if refusal.error == "invalid_client" => Some(
                    format!(
                        "check the client_id and client secret of context {name} (`ims context get {name}`) and fix them with `ims context set {name} ...`"
                    ),
                ),
                ims_api::Error::Refused(refusal)
                    if matches!(refusal.error.as_str(), "invalid_scope" | "unauthorized_client") =>
                {
                    Some(format!(
                        "check the scopes and kind of context {name} against the client's configuration"
                    ))
                }
                ims_api::Error::Refused(refusal) if refusal.error == "invalid_grant" => Some(
                    format!("sign in again with `ims login --context {name}`"),
                ),
                ims_api::Error::InvalidToken(_) => Some(format!(
                    "IMS no longer accepts the token of context {name}: run `ims token invalidate --context {name} --force`, \
                     then `ims token get` (or `ims login` for a user context)"
                )),
                _ => None,
            };
            let err = CliError::from(error);
            match hint {
                Some(hint) => err.with_hint(hint),
                None => err,
            }
        })
    }
}
