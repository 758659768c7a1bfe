//! Named configuration contexts and the tokens obtained for them: what
//! aio-lib-ims's `context` and `getToken` do.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::{
    AccessToken, ClientId, ClientSecret, ContextName, ContextTokens, ExpiringToken, ImsEnvironment,
    OrgId, Passphrase, PrivateKeyPem, Result, Scopes,
};

/// A named context: credentials of one kind, and where IMS is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImsContext {
    /// `ims.contexts.<name>`.
    pub name: ContextName,
    /// The credentials, which decide the flow that obtains tokens.
    pub credentials: ContextCredentials,
    /// `env` / `ims_url`; `None` means the default environment.
    pub environment: Option<ImsEnvironment>,
}

impl ImsContext {
    /// A context with the default environment.
    pub fn new(name: ContextName, credentials: ContextCredentials) -> Self {
        ImsContext {
            name,
            credentials,
            environment: None,
        }
    }

    /// Sets the environment.
    pub fn with_environment(mut self, environment: ImsEnvironment) -> Self {
        self.environment = Some(environment);
        self
    }
}

/// The kinds of context, each with the properties aio uses for it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ContextCredentials {
    /// OAuth server-to-server (client credentials).
    ServerToServer(ServerToServerContext),
    /// Legacy JWT service account.
    Jwt(JwtContext),
    /// A person's browser sign-in, kept alive with a refresh token.
    OAuthUser(OAuthUserContext),
    /// aio's own `cli` context (what `aio login` writes): a person's tokens
    /// only, marked by `cli.bare-output`.
    Cli(CliContext),
}

impl ContextCredentials {
    /// `server-to-server`, `jwt`, `oauth-user` or `cli`.
    pub fn kind(&self) -> &'static str {
        match self {
            ContextCredentials::ServerToServer(_) => "server-to-server",
            ContextCredentials::Jwt(_) => "jwt",
            ContextCredentials::OAuthUser(_) => "oauth-user",
            ContextCredentials::Cli(_) => "cli",
        }
    }

    /// The client id, whatever the kind.
    pub fn client_id(&self) -> &ClientId {
        match self {
            ContextCredentials::ServerToServer(c) => &c.client_id,
            ContextCredentials::Jwt(c) => &c.client_id,
            ContextCredentials::OAuthUser(c) => &c.client_id,
            ContextCredentials::Cli(c) => &c.client_id,
        }
    }
}

/// Properties of a server-to-server context (`client_id`, `client_secrets`,
/// `ims_org_id`, `scopes`, `technical_account_*`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerToServerContext {
    /// `client_id`.
    pub client_id: ClientId,
    /// `client_secrets`: the first one is used.
    pub client_secrets: Vec<ClientSecret>,
    /// `ims_org_id`.
    pub org_id: Option<OrgId>,
    /// `scopes`.
    pub scopes: Scopes,
    /// `technical_account_id` (kept, not needed for the flow).
    pub technical_account_id: Option<String>,
    /// `technical_account_email` (kept, not needed for the flow).
    pub technical_account_email: Option<String>,
}

impl ServerToServerContext {
    /// A context with one secret and the given scopes.
    pub fn new(client_id: ClientId, client_secret: ClientSecret, scopes: Scopes) -> Self {
        ServerToServerContext {
            client_id,
            client_secrets: vec![client_secret],
            org_id: None,
            scopes,
            technical_account_id: None,
            technical_account_email: None,
        }
    }
}

/// Where a JWT context's private key is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PrivateKeySource {
    /// The PEM itself (aio also accepts it as an array of lines).
    Inline(PrivateKeyPem),
    /// A file holding the PEM.
    File(PathBuf),
}

/// Properties of a JWT context (`client_id`, `client_secret`,
/// `technical_account_id`, `meta_scopes`, `ims_org_id`, `private_key`,
/// `passphrase`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtContext {
    /// `client_id`.
    pub client_id: ClientId,
    /// `client_secret`.
    pub client_secret: ClientSecret,
    /// `technical_account_id`.
    pub technical_account_id: String,
    /// `ims_org_id`.
    pub org_id: OrgId,
    /// `meta_scopes`.
    pub meta_scopes: Vec<String>,
    /// `private_key`.
    pub private_key: PrivateKeySource,
    /// `passphrase` of an encrypted key.
    pub passphrase: Option<Passphrase>,
}

impl JwtContext {
    /// A JWT context with an unencrypted key.
    pub fn new(
        client_id: ClientId,
        client_secret: ClientSecret,
        technical_account_id: impl Into<String>,
        org_id: OrgId,
        meta_scopes: Vec<String>,
        private_key: PrivateKeySource,
    ) -> Self {
        JwtContext {
            client_id,
            client_secret,
            technical_account_id: technical_account_id.into(),
            org_id,
            meta_scopes,
            private_key,
            passphrase: None,
        }
    }
}

/// Properties of an OAuth user context (`client_id`, `client_secret`,
/// `scope`, `redirect_uri`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuthUserContext {
    /// `client_id`.
    pub client_id: ClientId,
    /// `client_secret`, for confidential clients.
    pub client_secret: Option<ClientSecret>,
    /// `scope`.
    pub scopes: Scopes,
    /// `redirect_uri`, when fixed.
    pub redirect_uri: Option<Url>,
}

impl OAuthUserContext {
    /// A user context for a public client.
    pub fn new(client_id: ClientId, scopes: Scopes) -> Self {
        OAuthUserContext {
            client_id,
            client_secret: None,
            scopes,
            redirect_uri: None,
        }
    }
}

/// Properties of aio's `cli` context: what `aio login` writes
/// (`cli.bare-output` and the tokens). Its tokens come from a browser sign-in
/// and are kept alive with the refresh token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CliContext {
    /// The client that signs in and refreshes: the context's `client_id` when
    /// set, else the one its reader chose (aio's own client).
    pub client_id: ClientId,
    /// Whether `client_id` is the context's own `client_id` property (written
    /// back) rather than a default (not written).
    pub client_id_configured: bool,
    /// `scope`, sent on sign-in and refresh when not empty.
    pub scopes: Scopes,
    /// `cli.bare-output`, as aio's `aio login --bare` wrote it.
    pub bare_output: bool,
}

impl CliContext {
    /// A `cli` context whose tokens belong to `client_id`, a default (not
    /// the context's own `client_id` property).
    pub fn new(client_id: ClientId) -> Self {
        CliContext {
            client_id,
            client_id_configured: false,
            scopes: Scopes::default(),
            bare_output: false,
        }
    }
}

/// Which configuration file a context lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigLocation {
    /// The user's global file (aio: `$AIO_CONFIG_FILE` or `~/.config/aio`).
    Global,
    /// The working directory's file (aio: `./.aio`).
    Local,
}

/// Where contexts are configured: aio's `context.get/set/keys/getCurrent/
/// setCurrent`. Implemented by `ims-core` over aio's files.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ContextStore: Send + Sync {
    /// The context, if configured. A context whose properties are incomplete
    /// is an `Error::Misconfigured` naming the context and what is missing.
    async fn get(&self, name: &ContextName) -> Result<Option<ImsContext>>;

    /// Writes a context, keeping every other key of the file.
    async fn set(&self, context: &ImsContext, location: ConfigLocation) -> Result<()>;

    /// Removes a context and its tokens; whether it existed.
    async fn remove(&self, name: &ContextName) -> Result<bool>;

    /// The names of all configured contexts.
    async fn list(&self) -> Result<Vec<ContextName>>;

    /// The current context (`ims.config.current`), if set.
    async fn current(&self) -> Result<Option<ContextName>>;

    /// Makes `name` the current context (always in the local file, as aio).
    async fn set_current(&self, name: &ContextName) -> Result<()>;
}

/// Where the tokens obtained for contexts are kept: aio's files, memory, or
/// a SQL table shared by a fleet of instances.
///
/// Besides loading and storing, a cache hands out a *lease* per context, so
/// that only one holder (across processes or instances, where the storage is
/// shared) goes to IMS while the others wait and then read its result.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenCache: Send + Sync {
    /// The tokens kept for a context (empty if none).
    async fn load(&self, context: &ContextName) -> Result<ContextTokens>;

    /// Replaces the tokens kept for a context.
    async fn store(&self, context: &ContextName, tokens: &ContextTokens) -> Result<()>;

    /// Forgets the tokens of a context.
    async fn clear(&self, context: &ContextName) -> Result<()>;

    /// Takes the context's lease for `holder` for at most `ttl`; `false` if
    /// another holder has it and it has not expired.
    async fn try_lease(&self, context: &ContextName, holder: &str, ttl: Duration) -> Result<bool>;

    /// Gives the lease back (no effect if `holder` does not hold it).
    async fn release_lease(&self, context: &ContextName, holder: &str) -> Result<()>;
}

/// Gives a valid access token for a context, obtaining one when needed:
/// aio's `getToken` and `invalidateToken`. Implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// A token with enough life left: the cached one, else a refreshed one,
    /// else one from the context's flow.
    async fn get_token(&self, context: &ContextName) -> Result<ExpiringToken<AccessToken>>;

    /// Invalidates the context's access token at IMS and forgets it; with
    /// `force`, the refresh token too (cascading) and both stored tokens.
    async fn invalidate(&self, context: &ContextName, force: bool) -> Result<()>;
}
