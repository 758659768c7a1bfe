//! The operator's probe of IMS's authorize URL (Magento's `testAuth`),
//! sent through the one transport of [`ImsClient`]: same proxies, timeouts,
//! URL policy and user agent as every other IMS call.

use async_trait::async_trait;
use ims_api::{Error, ImsProbe, ProbeAnswer, Result};
use url::Url;

use crate::ImsClient;
use crate::http::Call;

#[async_trait]
impl ImsProbe for ImsClient {
    /// GETs `url` without following a redirect: a 3xx is the answer (status
    /// and `Location`), and so is a status IMS refuses with (4xx); an
    /// outage is [`Error::Unavailable`].
    async fn get_without_redirects(&self, url: &Url) -> Result<ProbeAnswer> {
        let call = Call::get(url.clone()).answer_redirects();
        match self.transport().send(&call).await {
            Ok(answer) => Ok(ProbeAnswer::new(answer.status.as_u16(), answer.location)),
            Err(Error::Refused(refusal)) => Ok(ProbeAnswer::new(refusal.status, None)),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use ims_api::ImsEnvironment;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn client(server: &MockServer) -> ImsClient {
        ImsClient::new(ImsEnvironment::custom(&server.uri()).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_redirect_is_the_answer_and_is_not_followed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ims/authorize/v2"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere?x=1"))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let url = Url::parse(&format!("{}/ims/authorize/v2?client_id=c", server.uri())).unwrap();
        let answer = client(&server)
            .await
            .get_without_redirects(&url)
            .await
            .unwrap();
        assert_eq!(answer, ProbeAnswer::new(302, Some("/elsewhere?x=1".into())));
    }

    #[tokio::test]
    async fn a_refusal_is_reported_with_its_status() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(400).set_body_string("{\"error\":\"invalid_client\"}"),
            )
            .mount(&server)
            .await;
        let url = Url::parse(&format!("{}/ims/authorize/v2", server.uri())).unwrap();
        let answer = client(&server)
            .await
            .get_without_redirects(&url)
            .await
            .unwrap();
        assert_eq!(answer.status, 400);
    }
}
