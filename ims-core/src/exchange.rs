//! The two token exchanges Adobe's Go client (`ims-go`) makes: on behalf of
//! a user (`POST /ims/token/v4`, RFC 8693) and the cluster access-token
//! exchange (`grant_type=cluster_at_exchange` on `/ims/token/v3`).

use ims_api::{AccessToken, ClientCredentials, Error, OrgId, Result, Scopes, TokenResponse};

use crate::client::{ClientAuth, ImsClient};
use crate::endpoints;
use crate::http::Call;

/// The RFC 8693 grant type of the on-behalf-of exchange.
const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The one token type the exchange takes and gives.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An on-behalf-of exchange: a service trades a user's access token for one
/// issued to itself, for the same user (ims-go's `OBOExchangeRequest`).
///
/// ```
/// use ims_api::{AccessToken, ClientCredentials, ClientId, ClientSecret, Scopes};
/// use ims_core::OnBehalfOf;
///
/// # fn main() -> Result<(), ims_api::InvalidValue> {
/// let request = OnBehalfOf::new(
///     ClientCredentials::new(ClientId::parse("my-service")?, ClientSecret::new("s3cr3t")),
///     AccessToken::new("the user's token"),
///     Scopes::parse("openid,AdobeID"),
/// )
/// .with_resource("https://api.example.com");
/// assert!(!format!("{request:?}").contains("s3cr3t"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OnBehalfOf {
    /// The calling service, to which the new token is issued.
    pub client: ClientCredentials,
    /// The user's access token (`subject_token`).
    pub subject_token: AccessToken,
    /// The scopes of the new token (at least one; sent comma-joined).
    pub scopes: Scopes,
    /// `resource` values (the new token's audiences), each sent as a field.
    pub resources: Vec<String>,
}

impl OnBehalfOf {
    /// An exchange of `subject_token` by `client` for `scopes`.
    pub fn new(client: ClientCredentials, subject_token: AccessToken, scopes: Scopes) -> Self {
        OnBehalfOf {
            client,
            subject_token,
            scopes,
            resources: Vec::new(),
        }
    }

    /// Adds a `resource`.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }
}

/// Which account a cluster exchange switches to: exactly one of ims-go's
/// `UserID` and `OrgID`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterTarget {
    /// `user_id`: the user's account with this id.
    User(String),
    /// `owning_org_id`: the user's account owned by this organization.
    Org(OrgId),
}

/// A cluster access-token exchange: a user's token traded for one in another
/// organization's context (ims-go's `ClusterExchangeRequest`).
///
/// ```
/// use ims_api::{AccessToken, ClientCredentials, ClientId, ClientSecret, OrgId, Scopes};
/// use ims_core::{ClusterExchange, ClusterTarget};
///
/// # fn main() -> Result<(), ims_api::InvalidValue> {
/// let request = ClusterExchange::new(
///     ClientCredentials::new(ClientId::parse("my-app")?, ClientSecret::new("s3cr3t")),
///     AccessToken::new("the user's token"),
///     ClusterTarget::Org(OrgId::parse("A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg")?),
///     Scopes::parse("AdobeID,openid"),
/// );
/// assert!(!format!("{request:?}").contains("s3cr3t"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterExchange {
    /// The calling client.
    pub client: ClientCredentials,
    /// The user's access token (`user_token`).
    pub user_token: AccessToken,
    /// The account to switch to.
    pub target: ClusterTarget,
    /// The scopes of the new token (at least one; sent comma-joined).
    pub scopes: Scopes,
    /// `resource` values, each sent as a field.
    pub resources: Vec<String>,
}

impl ClusterExchange {
    /// An exchange of `user_token` by `client` into `target`'s account.
    pub fn new(
        client: ClientCredentials,
        user_token: AccessToken,
        target: ClusterTarget,
        scopes: Scopes,
    ) -> Self {
        ClusterExchange {
            client,
            user_token,
            target,
            scopes,
            resources: Vec::new(),
        }
    }

    /// Adds a `resource`.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }
}

/// Scopes comma-joined, as ims-go sends them; none is a configuration error.
fn joined_scopes(scopes: &Scopes, what: &str) -> Result<String> {
    if scopes.is_empty() {
        return Err(Error::Misconfigured(format!(
            "{what} needs at least one scope"
        )));
    }
    Ok(scopes.iter().collect::<Vec<_>>().join(","))
}

impl ImsClient {
    /// `POST /ims/token/v4`: a new access token for the user of
    /// `subject_token`, issued to the calling client (`expires_in` in
    /// seconds). IMS's refusals (a subject token not allowed for exchange,
    /// a scope the user did not grant, bad client credentials) come back as
    /// [`Error::Refused`] with IMS's `error`; no scope is
    /// [`Error::Misconfigured`], and nothing is sent.
    pub async fn exchange_on_behalf_of(&self, request: &OnBehalfOf) -> Result<TokenResponse> {
        let scope = joined_scopes(&request.scopes, "an on-behalf-of exchange")?;
        let call = Call::post(self.url(endpoints::TOKEN_EXCHANGE))
            .field("grant_type", GRANT_TOKEN_EXCHANGE);
        let mut call = self
            .authenticate(call, &request.client)
            .field("subject_token", request.subject_token.expose_secret())
            .field("subject_token_type", ACCESS_TOKEN_TYPE)
            .field("requested_token_type", ACCESS_TOKEN_TYPE)
            .field("scope", scope);
        for resource in &request.resources {
            call = call.field("resource", resource.as_str());
        }
        self.token_call(call, endpoints::TOKEN_EXCHANGE_UNIT).await
    }

    /// `POST /ims/token/v3?client_id=…` with `grant_type=cluster_at_exchange`,
    /// as ims-go sends it: the client id in the query, the secret,
    /// `user_token`, `user_id` or `owning_org_id`, `scope` and `resource` in
    /// the body (`expires_in` in seconds). An empty user id or no scope is
    /// [`Error::Misconfigured`], and nothing is sent.
    pub async fn cluster_exchange(&self, request: &ClusterExchange) -> Result<TokenResponse> {
        let scope = joined_scopes(&request.scopes, "a cluster exchange")?;
        let mut url = self.url(endpoints::CLUSTER_EXCHANGE);
        url.query_pairs_mut()
            .append_pair("client_id", request.client.client_id.as_str());
        let call = Call::post(url).field("grant_type", "cluster_at_exchange");
        let client = &request.client;
        let call = match self.client_auth() {
            ClientAuth::Basic => call.basic(
                client.client_id.as_str(),
                client.client_secret.expose_secret(),
            ),
            _ => call.field("client_secret", client.client_secret.expose_secret()),
        };
        let mut call = call.field("user_token", request.user_token.expose_secret());
        call = match &request.target {
            ClusterTarget::User(user_id) if user_id.trim().is_empty() => {
                return Err(Error::Misconfigured(
                    "a cluster exchange to a user needs the user id".to_owned(),
                ));
            }
            ClusterTarget::User(user_id) => call.field("user_id", user_id.as_str()),
            ClusterTarget::Org(org) => call.field("owning_org_id", org.with_suffix()),
        };
        call = call.field("scope", scope);
        for resource in &request.resources {
            call = call.field("resource", resource.as_str());
        }
        self.token_call(call, endpoints::TokenEndpoint::V3.expires_in_unit())
            .await
    }
}
