//! The two user-facing endpoints ims-go and Magento call beside the OAuth
//! ones: OpenID Connect user info at `/ims/userinfo/v1`, and the unversioned
//! front-channel logout `GET /ims/logout`.

use ims_api::{AccessToken, Error, ImsRefusal, Result, UserInfo};
use url::Url;

use crate::client::ImsClient;
use crate::endpoints;
use crate::http::Call;

impl ImsClient {
    /// `GET /ims/userinfo/v1` with the token as Bearer (ims-go's
    /// `GetUserInfo`): `sub`, `email`, `email_verified`, names. A refused
    /// token is [`Error::InvalidToken`].
    pub async fn userinfo_v1(&self, token: &AccessToken) -> Result<UserInfo> {
        self.bearer_get(self.url(endpoints::USERINFO_V1), token)
            .await?
            .json()
    }

    /// `GET /ims/logout?access_token=…&redirect_uri=…` as Magento's
    /// `AdobeIms` sends it: IMS ends the token's session and answers a 302,
    /// whose `Location` this returns (never followed). Without a
    /// `redirect_uri` this sends `self` (Magento's choice: IMS gives no
    /// success answer without one).
    ///
    /// The token travels in the query string, as IMS's protocol asks; error
    /// text never carries the query. An answer that is not a redirect is
    /// [`Error::Refused`] (`invalid_response`); an unregistered
    /// `redirect_uri` is IMS's refusal (400).
    pub async fn logout_redirect(
        &self,
        token: &AccessToken,
        redirect_uri: Option<&Url>,
    ) -> Result<Url> {
        let mut url = self.url(endpoints::LOGOUT_FRONT);
        url.query_pairs_mut()
            .append_pair("access_token", token.expose_secret())
            .append_pair("redirect_uri", redirect_uri.map_or("self", Url::as_str));
        let call = Call::get(url).answer_redirects();
        let answer = self.transport().send(&call).await?;
        let not_a_redirect = |description: &str| {
            let mut refusal = ImsRefusal::new(answer.status.as_u16(), "invalid_response")
                .with_description(description.to_owned());
            refusal.debug_id = answer.debug_id.clone();
            Error::Refused(refusal)
        };
        if !answer.status.is_redirection() {
            return Err(not_a_redirect("the logout answered without a redirect"));
        }
        let location = answer
            .location
            .as_deref()
            .ok_or_else(|| not_a_redirect("the logout redirect has no Location"))?;
        // A relative Location is relative to IMS.
        self.url(endpoints::LOGOUT_FRONT)
            .join(location)
            .map_err(|_| not_a_redirect("the logout redirect's Location is not a URL"))
    }
}
