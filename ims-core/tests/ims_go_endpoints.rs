//! The endpoints Adobe's Go client (and Magento's unversioned logout) call,
//! through `ImsClient` against `ims-emulator` over real HTTP, and the exact
//! requests they put on the wire (wiremock).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ims_api::{
    AccessToken, ClientCredentials, ClientId, ClientSecret, Error, ImsEnvironment, OrgId, Scopes,
    ServerToServer, TokenGrants, TokenValidator, TokenValidity,
};
use ims_core::{
    AdminLookup, ClientRegistration, ClusterExchange, ClusterTarget, HttpPolicy, ImsClient,
    OnBehalfOf,
};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed as seed};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn policy() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.initial_backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(20);
    policy.deadline = Duration::from_secs(5);
    policy
}

async fn start() -> (RunningEmulator, ImsClient) {
    let ims = Emulator::builder().start().await.unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    (ims, ImsClient::with_policy(env, policy()).unwrap())
}

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials::new(ClientId::parse(id).unwrap(), ClientSecret::new(secret))
}

fn web() -> ClientCredentials {
    creds(seed::WEB_CLIENT_ID, seed::WEB_CLIENT_SECRET)
}

fn s2s() -> ClientCredentials {
    creds(seed::S2S_CLIENT_ID, seed::S2S_CLIENT_SECRET)
}

fn member_token(ims: &RunningEmulator, scope: &str) -> AccessToken {
    AccessToken::new(
        ims.mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID).scope(scope),
        )
        .unwrap(),
    )
}

fn expired_member_token(ims: &RunningEmulator) -> AccessToken {
    let two_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 48 * 3600 * 1000;
    AccessToken::new(
        ims.mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid")
                .created_at_ms(two_days_ago),
        )
        .unwrap(),
    )
}

fn refused(err: &Error) -> (u16, &str) {
    match err {
        Error::Refused(refusal) => (refusal.status, refusal.error.as_str()),
        other => panic!("a refusal expected, got {other:?}"),
    }
}

async fn is_valid(client: &ImsClient, token: &AccessToken, client_id: &str) -> bool {
    let id = ClientId::parse(client_id).unwrap();
    matches!(
        client.validate(token, &id).await.unwrap(),
        TokenValidity::Valid { .. }
    )
}

#[tokio::test]
async fn userinfo_v1_reads_the_user_and_refuses_bad_tokens() {
    let (ims, client) = start().await;
    let info = client
        .userinfo_v1(&member_token(&ims, "AdobeID,openid,email,profile"))
        .await
        .unwrap();
    assert_eq!(info.sub.as_deref(), Some(seed::MEMBER_USER_ID));
    assert_eq!(info.email.as_deref(), Some(seed::MEMBER_EMAIL));
    assert!(info.email_verified);
    assert_eq!(info.given_name.as_deref(), Some("Mia"));
    assert_eq!(info.family_name.as_deref(), Some("Member"));
    for bad in [expired_member_token(&ims), AccessToken::new("a.b.c")] {
        let err = client.userinfo_v1(&bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
    }
}

#[tokio::test]
async fn logout_redirect_ends_the_session_and_refuses_unregistered_targets() {
    let (ims, client) = start().await;
    let token = member_token(&ims, "AdobeID,openid");
    let evil = Url::parse("https://evil.example/").unwrap();
    let err = client
        .logout_redirect(&token, Some(&evil))
        .await
        .unwrap_err();
    assert_eq!(refused(&err).0, 400, "{err}");
    assert!(!err.to_string().contains(token.expose_secret()), "{err}");
    assert!(is_valid(&client, &token, seed::WEB_CLIENT_ID).await);

    let back = Url::parse("http://127.0.0.1:7000/bye").unwrap();
    let location = client.logout_redirect(&token, Some(&back)).await.unwrap();
    assert_eq!(location, back);
    assert!(!is_valid(&client, &token, seed::WEB_CLIENT_ID).await);

    // Without a redirect URI: `self`, IMS's own page.
    let other = member_token(&ims, "AdobeID");
    let location = client.logout_redirect(&other, None).await.unwrap();
    assert_eq!(location.as_str(), ims.base_url().as_str());
    assert!(!is_valid(&client, &other, seed::WEB_CLIENT_ID).await);
}

#[tokio::test]
async fn on_behalf_of_issues_the_service_a_token_for_the_user() {
    let (ims, client) = start().await;
    let subject = member_token(&ims, "AdobeID,openid,email");
    let request = OnBehalfOf::new(s2s(), subject.clone(), Scopes::parse("openid,AdobeID"))
        .with_resource("https://api.example.com");
    let response = client.exchange_on_behalf_of(&request).await.unwrap();
    assert_eq!(response.expires_in, Duration::from_secs(86_399));
    let claims = ims_core::decode_unverified(response.access_token.expose_secret()).unwrap();
    assert_eq!(claims["user_id"], seed::MEMBER_USER_ID);
    assert_eq!(claims["client_id"], seed::S2S_CLIENT_ID);
    assert!(is_valid(&client, &response.access_token, seed::S2S_CLIENT_ID).await);

    // Refusals: a scope the user did not grant, a subject token not allowed
    // for exchange (expired, a service token), a wrong secret, a client
    // without the grant, and no scope at all (nothing sent).
    let wider = OnBehalfOf::new(s2s(), subject.clone(), Scopes::parse("read_organizations"));
    let err = client.exchange_on_behalf_of(&wider).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_scope"));
    let service = client
        .client_credentials(&ServerToServer::new(s2s(), Scopes::parse("openid")))
        .await
        .unwrap()
        .access_token;
    for bad in [expired_member_token(&ims), service] {
        let request = OnBehalfOf::new(s2s(), bad, Scopes::parse("openid"));
        let err = client.exchange_on_behalf_of(&request).await.unwrap_err();
        assert_eq!(refused(&err), (400, "invalid_grant"));
    }
    let wrong = OnBehalfOf::new(
        creds(seed::S2S_CLIENT_ID, "wrong-secret"),
        subject.clone(),
        Scopes::parse("openid"),
    );
    let err = client.exchange_on_behalf_of(&wrong).await.unwrap_err();
    assert_eq!(refused(&err), (401, "invalid_client"));
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
    let web_obo = OnBehalfOf::new(web(), subject.clone(), Scopes::parse("openid"));
    let err = client.exchange_on_behalf_of(&web_obo).await.unwrap_err();
    assert_eq!(refused(&err), (400, "unauthorized_client"));
    let none = OnBehalfOf::new(s2s(), subject, Scopes::default());
    let err = client.exchange_on_behalf_of(&none).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
}

#[tokio::test]
async fn cluster_exchange_switches_org_and_refuses_other_users() {
    let (ims, client) = start().await;
    let user_token = member_token(&ims, "AdobeID,openid");
    let org = OrgId::parse(seed::ORG_ID).unwrap();
    let request = ClusterExchange::new(
        web(),
        user_token.clone(),
        ClusterTarget::Org(org.clone()),
        Scopes::parse("AdobeID,openid"),
    );
    let response = client.cluster_exchange(&request).await.unwrap();
    assert_eq!(response.expires_in, Duration::from_secs(86_399));
    let claims = ims_core::decode_unverified(response.access_token.expose_secret()).unwrap();
    assert_eq!(claims["user_id"], seed::MEMBER_USER_ID);
    let own = ClusterExchange::new(
        web(),
        user_token.clone(),
        ClusterTarget::User(seed::MEMBER_USER_ID.to_owned()),
        Scopes::parse("openid"),
    );
    client.cluster_exchange(&own).await.unwrap();

    let other = ClusterExchange::new(
        web(),
        user_token.clone(),
        ClusterTarget::User(seed::NON_MEMBER_USER_ID.to_owned()),
        Scopes::parse("openid"),
    );
    let err = client.cluster_exchange(&other).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_grant"));
    let outsider = AccessToken::new(
        ims.mint_access_token(
            &MintTokenRequest::for_email(seed::NON_MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("openid"),
        )
        .unwrap(),
    );
    let not_member = ClusterExchange::new(
        web(),
        outsider,
        ClusterTarget::Org(org.clone()),
        Scopes::parse("openid"),
    );
    let err = client.cluster_exchange(&not_member).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_grant"));
    let expired = ClusterExchange::new(
        web(),
        expired_member_token(&ims),
        ClusterTarget::Org(org.clone()),
        Scopes::parse("openid"),
    );
    let err = client.cluster_exchange(&expired).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_grant"));
    let wrong = ClusterExchange::new(
        creds(seed::WEB_CLIENT_ID, "wrong-secret"),
        user_token.clone(),
        ClusterTarget::Org(org),
        Scopes::parse("openid"),
    );
    let err = client.cluster_exchange(&wrong).await.unwrap_err();
    assert_eq!(refused(&err), (401, "invalid_client"));
    let empty = ClusterExchange::new(
        web(),
        user_token,
        ClusterTarget::User(" ".to_owned()),
        Scopes::parse("openid"),
    );
    let err = client.cluster_exchange(&empty).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
}

#[tokio::test]
async fn a_registered_client_is_known_to_ims() {
    let (ims, client) = start().await;
    let registration = ClientRegistration::new(
        "ims-core test",
        vec![Url::parse("http://127.0.0.1:7001/callback").unwrap()],
    )
    .with_scopes(Scopes::parse("AdobeID,openid"));
    let registered = client.register_client(&registration).await.unwrap();
    assert_eq!(registered.client_name.as_deref(), Some("ims-core test"));
    assert_eq!(registered.scope.as_deref(), Some("AdobeID openid"));
    let credentials = registered.credentials().unwrap();
    let shown = format!("{registered:?}");
    assert!(
        !shown.contains(credentials.client_secret.expose_secret()),
        "{shown}"
    );
    // IMS knows it: a token minted for it validates for it.
    let token = AccessToken::new(
        ims.mint_access_token(&MintTokenRequest::for_email(
            seed::MEMBER_EMAIL,
            registered.client_id.as_str(),
        ))
        .unwrap(),
    );
    assert!(is_valid(&client, &token, registered.client_id.as_str()).await);

    // Refusals: IMS's (a redirect URI it does not take), and ours (nothing sent).
    let bad = ClientRegistration::new("x", vec![Url::parse("http://evil.example/cb").unwrap()]);
    let err = client.register_client(&bad).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_redirect_uri"));
    let unnamed = ClientRegistration::new(" ", vec![Url::parse("https://a.example/").unwrap()]);
    let err = client.register_client(&unnamed).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
    let nowhere = ClientRegistration::new("x", Vec::new());
    let err = client.register_client(&nowhere).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
}

#[tokio::test]
async fn admin_lookups_read_a_user_with_a_service_token() {
    let (ims, client) = start().await;
    let service = client
        .client_credentials(&ServerToServer::new(s2s(), Scopes::parse("openid")))
        .await
        .unwrap();
    assert_eq!(
        service.user_id.as_deref(),
        Some(seed::S2S_TECHNICAL_ACCOUNT_ID),
        "client credentials name the technical account"
    );
    let s2s_id = ClientId::parse(seed::S2S_CLIENT_ID).unwrap();
    let lookup = AdminLookup::new(
        s2s_id.clone(),
        service.access_token.clone(),
        "1111AAAA2222BBBB3333CCCC",
        "AdobeID",
    );
    let profile = client.admin_profile(&lookup).await.unwrap();
    assert_eq!(profile.user_id.as_deref(), Some(seed::MEMBER_USER_ID));
    assert_eq!(profile.email.as_deref(), Some(seed::MEMBER_EMAIL));
    let orgs = client.admin_organizations(&lookup).await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].org_name, seed::ORG_NAME);

    // A user outside the service's orgs; a user's token; a forged one; the
    // wrong client header.
    let outsider = AdminLookup::new(
        s2s_id.clone(),
        service.access_token.clone(),
        "4444DDDD5555EEEE6666FFFF",
        "AdobeID",
    );
    let err = client.admin_profile(&outsider).await.unwrap_err();
    assert_eq!(refused(&err), (404, "user_not_found"));
    let as_user = AdminLookup::new(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        member_token(&ims, "AdobeID"),
        "1111AAAA2222BBBB3333CCCC",
        "AdobeID",
    );
    let err = client.admin_organizations(&as_user).await.unwrap_err();
    assert_eq!(refused(&err), (403, "access_denied"));
    let forged = AdminLookup::new(
        s2s_id,
        AccessToken::new("a.b.c"),
        "1111AAAA2222BBBB3333CCCC",
        "AdobeID",
    );
    let err = client.admin_profile(&forged).await.unwrap_err();
    assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
    let wrong_client = AdminLookup::new(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        service.access_token,
        "1111AAAA2222BBBB3333CCCC",
        "AdobeID",
    );
    let err = client.admin_profile(&wrong_client).await.unwrap_err();
    assert_eq!(refused(&err), (400, "invalid_client"));
}

/// The exact requests, as ims-go sends them.
#[tokio::test]
async fn requests_on_the_wire_are_ims_go_s() {
    let server = MockServer::start().await;
    let answer = ResponseTemplate::new(200)
        .set_body_string(r#"{"access_token":"t","token_type":"bearer","expires_in":10}"#);
    Mock::given(method("POST"))
        .and(path("/ims/token/v4"))
        .respond_with(answer.clone())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .respond_with(answer)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/register"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_string(r#"{"client_id":"new","client_secret":"s"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let env = ImsEnvironment::custom(&server.uri()).unwrap();
    let client = ImsClient::with_policy(env, policy()).unwrap();
    let obo = OnBehalfOf::new(
        creds("svc", "sec"),
        AccessToken::new("user-token"),
        Scopes::parse("openid profile"),
    )
    .with_resource("https://a.example")
    .with_resource("https://b.example");
    let response = client.exchange_on_behalf_of(&obo).await.unwrap();
    assert_eq!(response.expires_in, Duration::from_secs(10));
    let cluster = ClusterExchange::new(
        creds("app", "sec"),
        AccessToken::new("old-token"),
        ClusterTarget::Org(OrgId::parse("0123456789ABCDEF01234567@AdobeOrg").unwrap()),
        Scopes::parse("yolo,test"),
    );
    client.cluster_exchange(&cluster).await.unwrap();
    let registered = client
        .register_client(
            &ClientRegistration::new("my-app", vec![Url::parse("https://e.example/cb").unwrap()])
                .with_scopes(Scopes::parse("openid,profile")),
        )
        .await
        .unwrap();
    assert_eq!(registered.client_id.as_str(), "new");
    let requests = server.received_requests().await.unwrap();
    let form = |i: usize| -> Vec<(String, String)> {
        url::form_urlencoded::parse(&requests[i].body)
            .into_owned()
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        form(0),
        pairs(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ),
            ("client_id", "svc"),
            ("client_secret", "sec"),
            ("subject_token", "user-token"),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token"
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token"
            ),
            ("scope", "openid,profile"),
            ("resource", "https://a.example"),
            ("resource", "https://b.example"),
        ])
    );
    assert_eq!(requests[1].url.query(), Some("client_id=app"));
    assert_eq!(
        form(1),
        pairs(&[
            ("grant_type", "cluster_at_exchange"),
            ("client_secret", "sec"),
            ("user_token", "old-token"),
            ("owning_org_id", "0123456789ABCDEF01234567@AdobeOrg"),
            ("scope", "yolo,test"),
        ])
    );
    assert_eq!(
        requests[2].headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: serde_json::Value = serde_json::from_slice(&requests[2].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "client_name": "my-app",
            "redirect_uris": ["https://e.example/cb"],
            "scope": "openid profile",
        })
    );
}

/// A registration is never retried: a 503 is the answer, not a second client.
#[tokio::test]
async fn registration_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ims/register"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .expect(1)
        .mount(&server)
        .await;
    let env = ImsEnvironment::custom(&server.uri()).unwrap();
    let client = ImsClient::with_policy(env, policy()).unwrap();
    let err = client
        .register_client(&ClientRegistration::new(
            "x",
            vec![Url::parse("https://e.example/cb").unwrap()],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    server.verify().await;
}
