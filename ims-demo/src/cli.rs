//! The command line: the server's flags, and the operator subcommands with
//! Magento's names.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `ims-demo`: the reference admin app with "Sign in with Adobe ID".
///
/// Without a subcommand it serves the admin. Without `--ims-url` it starts
/// a local IMS emulator and signs you in against it.
#[derive(Debug, Parser)]
#[command(name = "ims-demo", version, about, long_about = None)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The server's options.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// An operator subcommand instead of the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command shares.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// The database: `sqlite:<file>`, `postgres://…` or `mysql://…`
    /// (created and migrated on start).
    #[arg(
        long,
        global = true,
        env = "IMS_DEMO_DATABASE",
        default_value = "sqlite:ims-demo.db"
    )]
    pub database: String,
    /// A real IMS to use instead of the built-in emulator, e.g.
    /// `https://ims-na1.adobelogin.com`.
    #[arg(long, global = true, env = "IMS_URL")]
    pub ims_url: Option<String>,
    /// The admin's public base URL, as registered at IMS for the client's
    /// redirect URIs (default: `http://` + the bound address).
    #[arg(long, global = true, env = "IMS_DEMO_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// The server's options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen: `host:port`, the host an IP address or a name
    /// (`localhost:8080`, resolved, IPv4 first); `127.0.0.1:0` picks a free
    /// port and prints it.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    pub addr: SocketAddr,
    /// The IMS client id to enable the integration with at start (with a
    /// real IMS).
    #[arg(long, env = "IMS_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The IMS client secret (prefer the environment variable).
    #[arg(long, env = "IMS_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub client_secret: Option<ims_api::ClientSecret>,
    /// The IMS organization id (`…@AdobeOrg`).
    #[arg(long, env = "IMS_ORG_ID")]
    pub organization_id: Option<String>,
    /// Confirms that the organization enforces 2FA (needed with the
    /// credentials above, as for `admin:adobe-ims:enable -t yes`).
    #[arg(long = "2fa", value_name = "yes|no")]
    pub two_factor: Option<String>,
    /// With the emulator: start with the integration disabled (password
    /// sign-in for admins made with `admin:user:create`).
    #[arg(long)]
    pub password_only: bool,
    /// Client ids whose IMS tokens the REST API accepts besides the
    /// integration's own (repeat the flag, or separate with commas). By
    /// default only tokens issued to the integration's client pass.
    #[arg(
        long = "webapi-client-id",
        env = "IMS_DEMO_WEBAPI_CLIENT_IDS",
        value_delimiter = ',',
        value_name = "CLIENT_ID"
    )]
    pub webapi_client_ids: Vec<String>,
    /// With the emulator: serve its `/__emulator/` test-control API (mint
    /// tokens, inject faults, rotate keys). Off by default: any web page
    /// the person running the demo visits could otherwise reach it.
    #[arg(long, env = "IMS_DEMO_EMULATOR_CONTROL")]
    pub emulator_control: bool,
    /// Where admin sessions live: `database` (shared by every instance on
    /// it, kept across restarts), `memory` (this process), or `auto`: the
    /// database for PostgreSQL and MySQL, memory for SQLite (where every
    /// anonymous sign-in start would be a synchronous write to the file).
    #[arg(long, value_enum, default_value_t = SessionPlace::Auto, env = "IMS_DEMO_SESSIONS")]
    pub sessions: SessionPlace,
    /// A Redis server (`redis://host:6379`) whose pub/sub wakes the other
    /// instances at once when something changes (a revocation, the
    /// integration disabled, an admin locked). Without it, changes travel
    /// through the database alone: PostgreSQL's LISTEN/NOTIFY, or a poll of
    /// the change log several times a second on MySQL and SQLite.
    #[arg(long, env = "IMS_DEMO_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
    /// The HTTP server's limits.
    #[command(flatten)]
    pub limits: ServerLimitArgs,
}

impl ServeArgs {
    /// The options of a demo on `addr` with nothing set: its own emulator
    /// (without the control API), the integration enabled, the default
    /// limits — what `ims-demo --addr ADDR` gives without environment
    /// variables. For programs and tests that start the demo in-process.
    ///
    /// ```
    /// let serve = ims_demo::cli::ServeArgs::on("127.0.0.1:0".parse().unwrap());
    /// assert!(!serve.emulator_control && !serve.password_only);
    /// ```
    pub fn on(addr: SocketAddr) -> Self {
        ServeArgs {
            addr,
            client_id: None,
            client_secret: None,
            organization_id: None,
            two_factor: None,
            password_only: false,
            webapi_client_ids: Vec::new(),
            emulator_control: false,
            sessions: SessionPlace::Auto,
            redis_url: None,
            limits: ServerLimitArgs::default(),
        }
    }
}

/// Where admin sessions live (`--sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SessionPlace {
    /// The database for PostgreSQL and MySQL, memory for SQLite.
    Auto,
    /// The database (`ims-store`'s `SqlSessionStore`): shared by every
    /// instance on it, kept across restarts.
    Database,
    /// This process (admin-ims's `BoundedSessionStore`); always for
    /// `sqlite::memory:`.
    Memory,
}

/// The HTTP server's limits ([`ServerLimits`](crate::server::ServerLimits)).
/// Durations take `ms` or `s` (`500ms`, `10s`; a bare number is seconds).
#[derive(Debug, Clone, Args)]
pub struct ServerLimitArgs {
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// Time a client has to send a request's head (also the keep-alive
    /// idle timeout between requests).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is
    /// closed.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// Time a request may take, its body included (408 past it).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// The largest request body in bytes (413 past it, before reading it).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: usize,
}

impl Default for ServerLimitArgs {
    fn default() -> Self {
        let limits = crate::server::ServerLimits::default();
        ServerLimitArgs {
            max_connections: limits.max_connections,
            header_read_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
            request_timeout: limits.request_timeout,
            max_body_bytes: limits.max_body_bytes,
        }
    }
}

impl ServerLimitArgs {
    /// The limits these options give.
    pub fn limits(&self) -> crate::server::ServerLimits {
        crate::server::ServerLimits::default()
            .with_max_connections(self.max_connections)
            .with_header_read_timeout(self.header_read_timeout)
            .with_idle_timeout(self.idle_timeout)
            .with_request_timeout(self.request_timeout)
            .with_max_body_bytes(self.max_body_bytes)
    }
}

/// `--addr`: `ip:port`, or `host:port` with the host name resolved (an
/// IPv4 address first, so `localhost:8080` listens where browsers look
/// first).
///
/// ```
/// # use ims_demo::cli::Cli;
/// # use clap::Parser as _;
/// let cli = Cli::try_parse_from(["ims-demo", "--addr", "localhost:8080"]).unwrap();
/// assert!(cli.serve.addr.ip().is_loopback() && cli.serve.addr.port() == 8080);
/// ```
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("{text:?} is not host:port ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

/// `500ms`, `10s` or `10` (seconds); never zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, Duration::from_millis(1)),
        None => (
            text.strip_suffix('s').unwrap_or(text),
            Duration::from_secs(1),
        ),
    };
    match number.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(unit * n),
        _ => Err(format!("{text:?} is not a duration like 500ms or 10s")),
    }
}

/// The operator subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Enables the Admin Adobe IMS integration (prompts for what is missing).
    #[command(name = "admin:adobe-ims:enable")]
    Enable(EnableArgs),
    /// Disables the integration.
    #[command(name = "admin:adobe-ims:disable")]
    Disable,
    /// Says whether the integration is enabled.
    #[command(name = "admin:adobe-ims:status")]
    Status,
    /// Shows the configured client id and organization (never the secret).
    #[command(name = "admin:adobe-ims:info")]
    Info,
    /// Creates an admin user with a password (for sign-in while the
    /// integration is off).
    #[command(name = "admin:user:create")]
    CreateUser(CreateUserArgs),
    /// Locks an admin user (as too many wrong passwords do): a locked admin
    /// can neither sign in nor use the Web API until unlocked.
    #[command(name = "admin:user:lock")]
    LockUser(LockUserArgs),
    /// Unlocks an admin user and clears their failed sign-ins.
    #[command(name = "admin:user:unlock")]
    UnlockUser(UnlockUserArgs),
    /// Prints when a server-to-server context's service token expires
    /// (never the token), obtained through the database's shared token
    /// cache from `--tasks` concurrent tasks.
    #[command(name = "service-token")]
    ServiceToken(ServiceTokenArgs),
}

/// `admin:user:lock`'s options.
#[derive(Debug, Clone, Args)]
pub struct LockUserArgs {
    /// The admin's user name (or e-mail address).
    pub username: String,
    /// How long the lock lasts, in minutes (Magento's default lockout: 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub minutes: u32,
}

/// `admin:user:unlock`'s options (Magento's).
#[derive(Debug, Clone, Args)]
pub struct UnlockUserArgs {
    /// The admin's user name (or e-mail address).
    pub username: String,
}

/// `service-token`'s options: one server-to-server context.
#[derive(Debug, Clone, Args)]
pub struct ServiceTokenArgs {
    /// The context's name (its row in `ims_token_cache`).
    #[arg(long)]
    pub context: String,
    /// The context's client id.
    #[arg(long, env = "IMS_SERVICE_CLIENT_ID")]
    pub client_id: String,
    /// The context's client secret (prefer the environment variable).
    #[arg(
        long,
        env = "IMS_SERVICE_CLIENT_SECRET",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub client_secret: ims_api::ClientSecret,
    /// The scopes, comma-separated.
    #[arg(long, env = "IMS_SERVICE_SCOPES", default_value = "openid,AdobeID")]
    pub scopes: String,
    /// The organization the token acts in (`…@AdobeOrg`), if any.
    #[arg(long, env = "IMS_SERVICE_ORG_ID")]
    pub org_id: Option<String>,
    /// Concurrent tasks asking for the token (1 to 10000).
    #[arg(long, default_value_t = 1)]
    pub tasks: usize,
}

/// `admin:adobe-ims:enable`'s options (Magento's names).
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    /// Organization ID (`…@AdobeOrg`).
    #[arg(short = 'o', long)]
    pub organization_id: Option<String>,
    /// Client ID.
    #[arg(short = 'c', long)]
    pub client_id: Option<String>,
    /// Client Secret (prompted for without echo when missing).
    #[arg(short = 's', long, value_parser = parse_secret)]
    pub client_secret: Option<ims_api::ClientSecret>,
    /// Whether 2FA is enforced by the organization (`yes` is required).
    #[arg(short = 't', long = "2fa", value_name = "yes|no")]
    pub two_factor: Option<String>,
}

/// `admin:user:create`'s options (Magento's names).
#[derive(Debug, Clone, Args)]
pub struct CreateUserArgs {
    /// User name.
    #[arg(long = "admin-user", alias = "username")]
    pub username: Option<String>,
    /// E-mail address.
    #[arg(long = "admin-email", alias = "email")]
    pub email: Option<String>,
    /// First name.
    #[arg(long = "admin-firstname", alias = "first-name")]
    pub first_name: Option<String>,
    /// Last name.
    #[arg(long = "admin-lastname", alias = "last-name")]
    pub last_name: Option<String>,
    /// Password (prompted for without echo when missing).
    #[arg(long = "admin-password", alias = "password")]
    pub password: Option<String>,
    /// Role: `Administrators` (the whole admin) or `Adobe Ims` (no
    /// permissions); any other name is refused.
    #[arg(long, default_value = "Administrators")]
    pub role: String,
}

/// A client secret: its `Debug` is redacted, so the parsed command line can
/// be printed.
fn parse_secret(text: &str) -> Result<ims_api::ClientSecret, String> {
    match text.trim() {
        "" => Err("the client secret is empty".to_owned()),
        secret => Ok(ims_api::ClientSecret::new(secret.to_owned())),
    }
}

/// `yes`/`no` as Magento's `--2fa` takes it.
pub(crate) fn parse_yes_no(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    /// The parsed command line is `Debug` (and logged by hosts that copy
    /// the demo): no client secret may show in it.
    #[test]
    fn client_secrets_never_show_in_the_parsed_command_line() {
        let serve = Cli::parse_from(["ims-demo", "--client-secret", "serve-s3cret"]);
        let enable = Cli::parse_from(["ims-demo", "admin:adobe-ims:enable", "-s", "enable-s3cret"]);
        for parsed in [format!("{serve:?}"), format!("{enable:?}")] {
            assert!(!parsed.contains("s3cret"), "{parsed}");
        }
        assert_eq!(
            serve.serve.client_secret.unwrap().expose_secret(),
            "serve-s3cret"
        );
    }
}
