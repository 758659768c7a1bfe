//! Dynamic client registration (`POST /ims/register`, RFC 7591), as Adobe's
//! Go client sends it: `{"client_name", "redirect_uris", "scope"}`.

use ims_api::{ClientCredentials, ClientId, ClientSecret, Error, ImsRefusal, Result, Scopes};
use serde::Deserialize;
use url::Url;

use crate::client::ImsClient;
use crate::endpoints;
use crate::http::Call;

/// What to register (ims-go's `DCRRequest`).
///
/// ```
/// use ims_core::ClientRegistration;
/// use url::Url;
///
/// let request = ClientRegistration::new(
///     "my-app",
///     vec![Url::parse("https://app.example/callback").unwrap()],
/// )
/// .with_scopes(ims_api::Scopes::parse("AdobeID,openid"));
/// assert_eq!(request.scopes.len(), 2);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// `client_name` (required).
    pub client_name: String,
    /// `redirect_uris` (at least one).
    pub redirect_uris: Vec<Url>,
    /// `scope`, sent space-separated; none leaves the choice to IMS.
    pub scopes: Scopes,
}

impl ClientRegistration {
    /// A registration of `client_name` with its redirect URIs.
    pub fn new(client_name: impl Into<String>, redirect_uris: Vec<Url>) -> Self {
        ClientRegistration {
            client_name: client_name.into(),
            redirect_uris,
            scopes: Scopes::default(),
        }
    }

    /// Asks for `scopes`.
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }
}

/// What IMS answered: the new client's id and, for a confidential client,
/// its secret (redacted in `Debug`), with the metadata it echoed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegisteredClient {
    /// The new client id.
    pub client_id: ClientId,
    /// Its secret, if IMS gave one.
    pub client_secret: Option<ClientSecret>,
    /// `client_name` as registered.
    pub client_name: Option<String>,
    /// `redirect_uris` as registered.
    pub redirect_uris: Vec<String>,
    /// `scope` as registered (space-separated).
    pub scope: Option<String>,
    /// `client_secret_expires_at` (seconds since the epoch; 0: never).
    pub client_secret_expires_at: Option<u64>,
}

impl RegisteredClient {
    /// The credentials to use on the token endpoints, when IMS gave a secret.
    pub fn credentials(&self) -> Option<ClientCredentials> {
        self.client_secret
            .clone()
            .map(|secret| ClientCredentials::new(self.client_id.clone(), secret))
    }
}

/// The answer as it comes off the wire.
#[derive(Deserialize)]
struct RegistrationAnswer {
    client_id: String,
    #[serde(default)]
    client_secret: Option<ClientSecret>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_secret_expires_at: Option<u64>,
}

impl ImsClient {
    /// `POST /ims/register` with a JSON body: a new client. Sent once, never
    /// retried (a retry could register a second client). An empty name or no
    /// redirect URI is [`Error::Misconfigured`], and nothing is sent; IMS's
    /// refusals (`invalid_redirect_uri`, `invalid_client_metadata`, …) come
    /// back as [`Error::Refused`].
    pub async fn register_client(&self, request: &ClientRegistration) -> Result<RegisteredClient> {
        if request.client_name.trim().is_empty() {
            return Err(Error::Misconfigured(
                "a client registration needs a client name".to_owned(),
            ));
        }
        if request.redirect_uris.is_empty() {
            return Err(Error::Misconfigured(
                "a client registration needs at least one redirect URI".to_owned(),
            ));
        }
        let mut body = serde_json::json!({
            "client_name": request.client_name,
            "redirect_uris": request.redirect_uris.iter().map(Url::as_str).collect::<Vec<_>>(),
        });
        if !request.scopes.is_empty() {
            body["scope"] = request.scopes.iter().collect::<Vec<_>>().join(" ").into();
        }
        let call = Call::post(self.url(endpoints::REGISTER))
            .json_body(body.to_string().into_bytes())
            .never_retry();
        let answer = self.transport().send(&call).await?;
        let registered: RegistrationAnswer = answer.json()?;
        let client_id = ClientId::parse(&registered.client_id).map_err(|_| {
            Error::Refused(
                ImsRefusal::new(answer.status.as_u16(), "invalid_response")
                    .with_description("the registration answer's client_id is not a client id"),
            )
        })?;
        Ok(RegisteredClient {
            client_id,
            client_secret: registered.client_secret,
            client_name: registered.client_name,
            redirect_uris: registered.redirect_uris,
            scope: registered.scope,
            client_secret_expires_at: registered.client_secret_expires_at,
        })
    }
}
