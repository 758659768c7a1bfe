//! The token endpoint's grants: code exchange, refresh, client credentials,
//! and the JWT exchange of legacy service accounts.

use async_trait::async_trait;
use url::Url;

use crate::{
    AuthorizationCode, ClientId, ClientSecret, OrgId, Passphrase, PkceVerifier, PrivateKeyPem,
    RefreshToken, Result, Scopes, TokenResponse,
};

/// A confidential client's credentials.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: ClientId,
    /// Its secret.
    pub client_secret: ClientSecret,
}

impl ClientCredentials {
    /// Credentials of a client.
    pub fn new(client_id: ClientId, client_secret: ClientSecret) -> Self {
        ClientCredentials {
            client_id,
            client_secret,
        }
    }
}

/// The `authorization_code` grant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodeExchange {
    /// The client.
    pub client: ClientCredentials,
    /// The code from the authorize redirect. Single use: never retried.
    pub code: AuthorizationCode,
    /// The redirect URI the authorize request used, when it sent one.
    pub redirect_uri: Option<Url>,
    /// The PKCE verifier, when the authorize request sent a challenge.
    pub code_verifier: Option<PkceVerifier>,
}

impl CodeExchange {
    /// Exchange `code` for `client`.
    pub fn new(client: ClientCredentials, code: AuthorizationCode) -> Self {
        CodeExchange {
            client,
            code,
            redirect_uri: None,
            code_verifier: None,
        }
    }

    /// Sends the redirect URI.
    pub fn with_redirect_uri(mut self, redirect_uri: Url) -> Self {
        self.redirect_uri = Some(redirect_uri);
        self
    }

    /// Sends the PKCE verifier.
    pub fn with_code_verifier(mut self, verifier: PkceVerifier) -> Self {
        self.code_verifier = Some(verifier);
        self
    }
}

/// The `refresh_token` grant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshRequest {
    /// The client the refresh token was issued to.
    pub client: ClientCredentials,
    /// The refresh token.
    pub refresh_token: RefreshToken,
    /// Narrower scopes, if wanted (empty: the original ones).
    pub scopes: Scopes,
}

impl RefreshRequest {
    /// Refresh with the original scopes.
    pub fn new(client: ClientCredentials, refresh_token: RefreshToken) -> Self {
        RefreshRequest {
            client,
            refresh_token,
            scopes: Scopes::default(),
        }
    }
}

/// The `client_credentials` grant (OAuth server-to-server).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerToServer {
    /// The client.
    pub client: ClientCredentials,
    /// The organization the token acts in (`org_id`), if any.
    pub org_id: Option<OrgId>,
    /// Scopes (required by IMS; sent comma-joined).
    pub scopes: Scopes,
}

impl ServerToServer {
    /// A client credentials request for `scopes`.
    pub fn new(client: ClientCredentials, scopes: Scopes) -> Self {
        ServerToServer {
            client,
            org_id: None,
            scopes,
        }
    }

    /// Sends `org_id`.
    pub fn with_org(mut self, org_id: OrgId) -> Self {
        self.org_id = Some(org_id);
        self
    }
}

/// A legacy JWT service account: the JWT exchange signs an assertion with
/// its private key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtServiceAccount {
    /// The client.
    pub client: ClientCredentials,
    /// The organization (`iss` of the assertion).
    pub org_id: OrgId,
    /// The technical account (`sub`, `…@techacct.adobe.com`).
    pub technical_account_id: String,
    /// Meta scopes (`ent_dataservices_sdk`, …), one claim each.
    pub meta_scopes: Vec<String>,
    /// The private key in PEM (PKCS#1, PKCS#8, or encrypted PKCS#8).
    pub private_key: PrivateKeyPem,
    /// The passphrase of an encrypted key.
    pub passphrase: Option<Passphrase>,
}

impl JwtServiceAccount {
    /// A service account with an unencrypted key.
    pub fn new(
        client: ClientCredentials,
        org_id: OrgId,
        technical_account_id: impl Into<String>,
        meta_scopes: Vec<String>,
        private_key: PrivateKeyPem,
    ) -> Self {
        JwtServiceAccount {
            client,
            org_id,
            technical_account_id: technical_account_id.into(),
            meta_scopes,
            private_key,
            passphrase: None,
        }
    }

    /// The passphrase of an encrypted key.
    pub fn with_passphrase(mut self, passphrase: Passphrase) -> Self {
        self.passphrase = Some(passphrase);
        self
    }
}

/// Obtains tokens from IMS.
///
/// Magento's `GetTokenInterface`, aio's `getAccessToken`,
/// `getAccessTokenByClientCredentials` and `exchangeJwtToken`; implemented by
/// `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenGrants: Send + Sync {
    /// Exchanges an authorization code. Implementations must not retry it:
    /// a code is single use.
    async fn exchange_code(&self, exchange: &CodeExchange) -> Result<TokenResponse>;

    /// Gets a new access token with a refresh token.
    async fn refresh(&self, request: &RefreshRequest) -> Result<TokenResponse>;

    /// Gets a service token with client credentials.
    async fn client_credentials(&self, request: &ServerToServer) -> Result<TokenResponse>;

    /// Gets a service token by the JWT exchange.
    async fn exchange_jwt(&self, account: &JwtServiceAccount) -> Result<TokenResponse>;
}
