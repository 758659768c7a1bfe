//! [`ImsClient`]: one client for every IMS endpoint, in any environment.

use std::sync::Arc;

use async_trait::async_trait;
use ims_api::{
    AccessToken, AnyToken, AuthorizeRedirect, AuthorizeRequest, AuthorizeUrlBuilder,
    ClientCredentials, ClientId, Clock, CodeExchange, Error, ImsEnvironment, ImsRefusal,
    InvalidateRequest, JwtServiceAccount, OrgId, Organization, OrganizationReader, Profile,
    ProfileReader, RefreshRequest, Result, ServerToServer, SystemClock, TokenClaims, TokenGrants,
    TokenRejection, TokenResponse, TokenRevoker, TokenValidator, TokenValidity, UserInfo,
};
use url::Url;

use crate::assertion;
use crate::endpoints::{self, TokenEndpoint};
use crate::http::{Answer, Call, HttpPolicy, Transport};
use crate::wire::{TokenAnswer, ValidateAnswer};

/// A client of Adobe IMS: prod, stage, or any base URL (an `ims-emulator`, a
/// proxy).
///
/// It implements every IMS-side trait of `ims-api` that talks to IMS:
/// [`AuthorizeUrlBuilder`], [`TokenGrants`], [`TokenValidator`] (remote,
/// uncached — put a cache in front for request paths), [`TokenRevoker`],
/// [`ProfileReader`] and [`OrganizationReader`]. It is cheap to clone and
/// meant to be shared: one per process and environment.
///
/// Every call has a timeout, and calls that may be repeated are retried on
/// connect errors, 5xx and 429 with backoff within a deadline
/// ([`HttpPolicy`]); authorization codes are never sent twice.
///
/// ```
/// use ims_api::{AuthorizeRequest, AuthorizeUrlBuilder, ClientId, ImsEnvironment, Scopes};
/// use ims_core::{ImsClient, PkcePair, random_state};
/// use url::Url;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ImsClient::new(ImsEnvironment::custom("http://127.0.0.1:9800")?)?;
/// let pkce = PkcePair::generate();
/// let request = AuthorizeRequest::new(
///     ClientId::parse("my_client")?,
///     Url::parse("http://127.0.0.1:8080/callback")?,
///     random_state(),
/// )
/// .with_scopes(Scopes::admin_default())
/// .with_pkce(pkce.challenge.clone());
/// let url = client.authorize_url(&request).await?;
/// assert!(url.as_str().starts_with("http://127.0.0.1:9800/ims/authorize/v2?client_id=my_client"));
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct ImsClient {
    env: ImsEnvironment,
    transport: Transport,
    token_endpoint: TokenEndpoint,
    client_auth: ClientAuth,
    clock: Arc<dyn Clock>,
}

/// How a confidential client proves itself to the token and revocation
/// endpoints. IMS accepts both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form (`client_secret_post`),
    /// as Magento and aio send them.
    #[default]
    Post,
    /// `Authorization: Basic base64(client_id:client_secret)`
    /// (`client_secret_basic`).
    Basic,
}

impl std::fmt::Debug for ImsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImsClient")
            .field("environment", &self.env.name())
            .field("token_endpoint", &self.token_endpoint)
            .field("client_auth", &self.client_auth)
            .field("policy", self.transport.policy())
            .finish()
    }
}

impl ImsClient {
    /// A client for `env` with the default [`HttpPolicy`].
    pub fn new(env: ImsEnvironment) -> Result<Self> {
        Self::with_policy(env, HttpPolicy::default())
    }

    /// A client for `env` with its own timeouts and retries.
    pub fn with_policy(env: ImsEnvironment, policy: HttpPolicy) -> Result<Self> {
        Ok(ImsClient {
            env,
            transport: Transport::new(policy)?,
            token_endpoint: TokenEndpoint::default(),
            client_auth: ClientAuth::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses another version of the token endpoint (default `/ims/token/v3`).
    pub fn with_token_endpoint(mut self, endpoint: TokenEndpoint) -> Self {
        self.token_endpoint = endpoint;
        self
    }

    /// Authenticates the client with HTTP Basic instead of form fields on the
    /// token and revocation endpoints.
    pub fn with_client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Uses another clock (for the JWT assertion's `iat`/`exp`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How the client authenticates on the token endpoints.
    pub(crate) fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    /// The one transport, for the other modules of this crate.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &ImsEnvironment {
        &self.env
    }

    /// `path` on this client's IMS.
    pub(crate) fn url(&self, path: &str) -> Url {
        self.env.endpoint(path)
    }

    /// Sends a call to a token endpoint and resolves `expires_in`.
    pub(crate) async fn token_call(
        &self,
        call: Call,
        unit: ims_api::ExpiresInUnit,
    ) -> Result<TokenResponse> {
        let answer = self.transport.send(&call).await?;
        answer.json::<TokenAnswer>()?.into_response(unit)
    }

    fn token_post(&self, client: &ClientCredentials, grant_type: &'static str) -> Call {
        let call = Call::post(self.url(self.token_endpoint.path())).field("grant_type", grant_type);
        self.authenticate(call, client)
    }

    /// Adds the client's credentials the configured way.
    pub(crate) fn authenticate(&self, call: Call, client: &ClientCredentials) -> Call {
        match self.client_auth {
            ClientAuth::Post => call
                .field("client_id", client.client_id.as_str())
                .field("client_secret", client.client_secret.expose_secret()),
            ClientAuth::Basic => call.basic(
                client.client_id.as_str(),
                client.client_secret.expose_secret(),
            ),
        }
    }

    /// A GET with the token as Bearer; IMS's 401 means the token is no good.
    pub(crate) async fn bearer_get(&self, url: Url, token: &AccessToken) -> Result<Answer> {
        let call = Call::get(url).bearer(token.expose_secret());
        self.transport.send(&call).await.map_err(token_refused)
    }
}

/// IMS answering 401 to a Bearer call rejects the token itself.
pub(crate) fn token_refused(err: Error) -> Error {
    match err {
        Error::Refused(refusal) if refusal.status == 401 => {
            let reason = refusal.description.unwrap_or(refusal.error);
            Error::InvalidToken(TokenRejection::RejectedByIms(reason))
        }
        other => other,
    }
}

#[async_trait]
impl AuthorizeUrlBuilder for ImsClient {
    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<Url> {
        let mut url = self.url(endpoints::AUTHORIZE);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", request.client_id.as_str());
            query.append_pair("redirect_uri", request.redirect_uri.as_str());
            if !request.scopes.is_empty() {
                query.append_pair("scope", &request.scopes.to_string());
            }
            query.append_pair("state", &request.state);
            query.append_pair("response_type", &request.response_type);
            if let Some(locale) = &request.locale {
                query.append_pair("locale", locale);
            }
            if let Some(pkce) = &request.pkce {
                query.append_pair("code_challenge", &pkce.challenge);
                query.append_pair("code_challenge_method", pkce.method.as_str());
            }
            if let Some(nonce) = &request.nonce {
                query.append_pair("nonce", nonce);
            }
            if let Some(prompt) = request.prompt {
                query.append_pair("prompt", prompt.as_str());
            }
            if let Some(mode) = request.response_mode {
                query.append_pair("response_mode", mode.as_str());
            }
            if request.reauth {
                query.append_pair("reauth", "check");
            }
            if let Some(hint) = &request.login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        Ok(url)
    }

    async fn begin_authorization(&self, request: AuthorizeRequest) -> Result<AuthorizeRedirect> {
        crate::pkce::begin_authorization(self, request).await
    }
}

#[async_trait]
impl TokenGrants for ImsClient {
    async fn exchange_code(&self, exchange: &CodeExchange) -> Result<TokenResponse> {
        let call = self
            .token_post(&exchange.client, "authorization_code")
            .field("code", exchange.code.expose_secret())
            .field_opt(
                "redirect_uri",
                exchange.redirect_uri.as_ref().map(Url::as_str),
            )
            .field_opt(
                "code_verifier",
                exchange.code_verifier.as_ref().map(|v| v.expose_secret()),
            )
            // A code is single use: a retry could only fail, or worse.
            .never_retry();
        self.token_call(call, self.token_endpoint.expires_in_unit())
            .await
    }

    async fn refresh(&self, request: &RefreshRequest) -> Result<TokenResponse> {
        let scopes = (!request.scopes.is_empty()).then(|| request.scopes.to_string());
        let call = self
            .token_post(&request.client, "refresh_token")
            .field("refresh_token", request.refresh_token.expose_secret())
            .field_opt("scope", scopes);
        self.token_call(call, self.token_endpoint.expires_in_unit())
            .await
    }

    async fn client_credentials(&self, request: &ServerToServer) -> Result<TokenResponse> {
        if request.scopes.is_empty() {
            return Err(Error::Misconfigured(
                "client credentials need at least one scope".to_owned(),
            ));
        }
        let call = self
            .token_post(&request.client, "client_credentials")
            .field("scope", request.scopes.to_string())
            .field_opt("org_id", request.org_id.as_ref().map(OrgId::with_suffix));
        self.token_call(call, self.token_endpoint.expires_in_unit())
            .await
    }

    async fn exchange_jwt(&self, account: &JwtServiceAccount) -> Result<TokenResponse> {
        let assertion = assertion::sign(account, &self.env, self.clock.now())?;
        let call = Call::post(self.url(endpoints::JWT_EXCHANGE))
            .field("client_id", account.client.client_id.as_str())
            .field(
                "client_secret",
                account.client.client_secret.expose_secret(),
            )
            .field("jwt_token", assertion);
        self.token_call(call, endpoints::JWT_EXCHANGE_UNIT).await
    }
}

#[async_trait]
impl TokenValidator for ImsClient {
    async fn validate(&self, token: &AccessToken, client_id: &ClientId) -> Result<TokenValidity> {
        let call = Call::post(self.url(endpoints::VALIDATE))
            .header("X-IMS-ClientId", client_id.as_str())
            .field("type", "access_token")
            .field("client_id", client_id.as_str())
            .field("token", token.expose_secret());
        let answer = match self.transport.send(&call).await {
            Ok(answer) => answer,
            // Some IMS versions answer a malformed or unknown token with
            // 400/401 `invalid_token` instead of `valid: false`.
            Err(Error::Refused(refusal))
                if matches!(refusal.status, 400 | 401) && refusal.error == "invalid_token" =>
            {
                return Ok(TokenValidity::Invalid {
                    reason: refusal.description.unwrap_or(refusal.error),
                });
            }
            Err(err) => return Err(err),
        };
        let verdict: ValidateAnswer = answer.json()?;
        if !verdict.valid {
            return Ok(TokenValidity::Invalid {
                reason: verdict.reason.unwrap_or_else(|| "invalid".to_owned()),
            });
        }
        let claims = verdict
            .token
            .and_then(|token| serde_json::from_value::<TokenClaims>(token).ok());
        let expires_at = verdict
            .expires_at
            .and_then(|ms| i64::try_from(ms).ok())
            .and_then(ims_api::from_unix_millis)
            .or_else(|| claims.as_ref().map(TokenClaims::expires_at))
            .ok_or_else(|| {
                Error::Refused(
                    ImsRefusal::new(answer.status.as_u16(), "invalid_response")
                        .with_description("validate_token said valid without expires_at"),
                )
            })?;
        Ok(TokenValidity::Valid {
            expires_at,
            claims: claims.map(Box::new),
        })
    }
}

#[async_trait]
impl TokenRevoker for ImsClient {
    async fn invalidate(&self, request: &InvalidateRequest) -> Result<()> {
        let client = &request.client;
        let call = Call::post(self.url(endpoints::INVALIDATE))
            .header("X-IMS-ClientId", client.client_id.as_str())
            .field("token_type", request.token.token_type().as_str())
            .field("token", request.token.expose_secret())
            .field("client_id", client.client_id.as_str())
            .field("client_secret", client.client_secret.expose_secret())
            .field_opt("cascading", request.cascading.then_some("all"));
        self.transport.send(&call).await.map(drop)
    }

    async fn revoke(&self, client: &ClientCredentials, token: &AnyToken) -> Result<()> {
        let call = Call::post(self.url(endpoints::REVOKE)).field("token", token.expose_secret());
        let call = self.authenticate(call, client);
        self.transport.send(&call).await.map(drop)
    }

    async fn logout(&self, client: &ClientCredentials, token: &AccessToken) -> Result<()> {
        let call = Call::post(self.url(endpoints::LOGOUT))
            .field("access_token", token.expose_secret())
            .field("client_id", client.client_id.as_str())
            .field("client_secret", client.client_secret.expose_secret());
        self.transport.send(&call).await.map(drop)
    }
}

#[async_trait]
impl ProfileReader for ImsClient {
    async fn profile(&self, token: &AccessToken, client_id: &ClientId) -> Result<Profile> {
        let mut url = self.url(endpoints::PROFILE);
        url.query_pairs_mut()
            .append_pair("client_id", client_id.as_str());
        self.bearer_get(url, token).await?.json()
    }

    async fn userinfo(&self, token: &AccessToken) -> Result<UserInfo> {
        self.bearer_get(self.url(endpoints::USERINFO), token)
            .await?
            .json()
    }
}

#[async_trait]
impl OrganizationReader for ImsClient {
    async fn organizations(&self, token: &AccessToken) -> Result<Vec<Organization>> {
        self.bearer_get(self.url(endpoints::ORGANIZATIONS), token)
            .await?
            .json()
    }

    async fn is_member(&self, token: &AccessToken, org: &OrgId) -> Result<bool> {
        let base = self.env.membership_base_url();
        let url = base
            .join(&format!("{}/membership", org.with_suffix()))
            .map_err(|err| Error::Misconfigured(format!("bad identity graph URL: {err}")))?;
        let answer = self.bearer_get(url, token).await?;
        match std::str::from_utf8(&answer.body).map(str::trim) {
            Ok("true") => Ok(true),
            Ok("false") => Ok(false),
            _ => Err(Error::Refused(
                ImsRefusal::new(answer.status.as_u16(), "invalid_response")
                    .with_description("membership answer is neither true nor false"),
            )),
        }
    }
}
