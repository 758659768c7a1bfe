//! The browser leg of OAuth2: building the IMS authorize URL.

use async_trait::async_trait;
use url::Url;

use crate::{ClientId, PkceVerifier, Result, Scopes};

/// How the authorization code comes back (`response_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the query string (the default).
    Query,
    /// In the URL fragment.
    Fragment,
}

impl ResponseMode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
        }
    }
}

/// Whether IMS may, must or must not show its sign-in page (`prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prompt {
    /// Never show a page: answer `login_required` if there is no IMS session.
    None,
    /// Always ask for credentials, even with an IMS session.
    Login,
}

impl Prompt {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::None => "none",
            Prompt::Login => "login",
        }
    }
}

/// The PKCE method of a code challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `S256`: the challenge is the base64url SHA-256 of the verifier.
    S256,
    /// `plain`: the challenge is the verifier (avoid).
    Plain,
}

impl PkceMethod {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }
}

/// A PKCE code challenge (the verifier, a [`PkceVerifier`](crate::PkceVerifier),
/// stays with the client until the code exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge {
    /// The challenge as sent in `code_challenge`.
    pub challenge: String,
    /// How it was derived from the verifier.
    pub method: PkceMethod,
}

/// Everything an authorize URL carries.
///
/// ```
/// use ims_api::{AuthorizeRequest, ClientId, Scopes};
/// use url::Url;
///
/// let request = AuthorizeRequest::new(
///     ClientId::parse("my_client")?,
///     Url::parse("https://shop.example/admin/ims/callback")?,
///     "opaque-state",
/// )
/// .with_scopes(Scopes::admin_default())
/// .with_locale("en_US")
/// .for_reauth();
/// assert!(request.reauth);
/// assert_eq!(request.response_type, "code");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// The client asking.
    pub client_id: ClientId,
    /// Where IMS sends the browser back (must be registered for the client).
    pub redirect_uri: Url,
    /// Scopes asked for.
    pub scopes: Scopes,
    /// The CSRF `state`, echoed back on the redirect.
    pub state: String,
    /// `response_type`, `code` unless changed.
    pub response_type: String,
    /// The PKCE challenge.
    pub pkce: Option<PkceChallenge>,
    /// The OIDC `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// UI locale (`en_US`).
    pub locale: Option<String>,
    /// `prompt`.
    pub prompt: Option<Prompt>,
    /// `response_mode`.
    pub response_mode: Option<ResponseMode>,
    /// `reauth=check`: ask the user to confirm their identity again.
    pub reauth: bool,
    /// `login_hint`: the e-mail address IMS pre-fills on its sign-in page
    /// (re-authentication of a known admin).
    pub login_hint: Option<String>,
}

impl AuthorizeRequest {
    /// A code request with no scopes and nothing optional.
    pub fn new(client_id: ClientId, redirect_uri: Url, state: impl Into<String>) -> Self {
        AuthorizeRequest {
            client_id,
            redirect_uri,
            scopes: Scopes::default(),
            state: state.into(),
            response_type: "code".to_owned(),
            pkce: None,
            nonce: None,
            locale: None,
            prompt: None,
            response_mode: None,
            reauth: false,
            login_hint: None,
        }
    }

    /// Sets the scopes.
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets the PKCE challenge.
    pub fn with_pkce(mut self, challenge: PkceChallenge) -> Self {
        self.pkce = Some(challenge);
        self
    }

    /// Sets the OIDC nonce.
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Sets the locale.
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Sets `prompt`.
    pub fn with_prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Sets `response_mode`.
    pub fn with_response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = Some(mode);
        self
    }

    /// Asks for re-authentication (`reauth=check`).
    pub fn for_reauth(mut self) -> Self {
        self.reauth = true;
        self
    }

    /// Sets `login_hint`, the e-mail address IMS pre-fills.
    pub fn with_login_hint(mut self, email: impl Into<String>) -> Self {
        self.login_hint = Some(email.into());
        self
    }
}

/// An authorize URL and what the client keeps until IMS's callback: the
/// fresh `state` the URL carries and the PKCE verifier of its S256
/// challenge. `Debug` shows neither.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthorizeRedirect {
    /// Where to send the browser.
    pub url: Url,
    /// The `state` in `url` (256 random bits, base64url).
    pub state: String,
    /// The verifier of the challenge in `url`, for the code exchange.
    pub verifier: PkceVerifier,
}

impl AuthorizeRedirect {
    /// A redirect (for implementations of [`AuthorizeUrlBuilder`]).
    pub fn new(url: Url, state: impl Into<String>, verifier: PkceVerifier) -> Self {
        AuthorizeRedirect {
            url,
            state: state.into(),
            verifier,
        }
    }
}

impl std::fmt::Debug for AuthorizeRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeRedirect")
            .field("url", &self.url.path())
            .finish_non_exhaustive()
    }
}

/// Builds the URL that sends a browser to IMS's sign-in.
///
/// Magento's `ImsConnection`/`GetAuthorizationUrl`; implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuthorizeUrlBuilder: Send + Sync {
    /// The authorize URL (`/ims/authorize/v2?client_id=…&state=…`) of
    /// `request` as it is.
    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<Url>;

    /// Starts a browser sign-in: `request` with a fresh `state` and a fresh
    /// PKCE S256 challenge in place of whatever it carried, its URL, and the
    /// state and verifier the client keeps for the callback. The one place
    /// those random values are made (`ims-core`'s `pkce` module).
    async fn begin_authorization(&self, request: AuthorizeRequest) -> Result<AuthorizeRedirect>;
}

/// The answer to an [`ImsProbe`]: status and `Location`, nothing followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

impl ProbeAnswer {
    /// An answer.
    pub fn new(status: u16, location: Option<String>) -> Self {
        ProbeAnswer { status, location }
    }
}

/// One HTTP GET of an authorize URL that does not follow redirects: how an
/// operator's `enable` checks that IMS accepts the client before saving it
/// (Magento's `testAuth`). Implemented by `ims-core` over its one transport.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImsProbe: Send + Sync {
    /// GETs `url` and reports the status and `Location`.
    async fn get_without_redirects(&self, url: &Url) -> Result<ProbeAnswer>;
}
