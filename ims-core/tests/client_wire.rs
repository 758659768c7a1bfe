//! The exact requests `ImsClient` puts on the wire, and how it reads IMS's
//! answers, checked against wiremock.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use ims_api::{
    AccessToken, AnyToken, AuthorizationCode, AuthorizeRequest, AuthorizeUrlBuilder,
    ClientCredentials, ClientId, ClientSecret, CodeExchange, Error, ImsEnvironment,
    InvalidateRequest, JwtServiceAccount, ManualClock, OrgId, OrganizationReader, Passphrase,
    PkceVerifier, PrivateKeyPem, ProfileReader, Prompt, RefreshRequest, RefreshToken, ResponseMode,
    Scopes, ServerToServer, TokenGrants, TokenRejection, TokenRevoker, TokenValidator,
    TokenValidity,
};
use ims_core::{ClientAuth, HttpPolicy, ImsClient, TokenEndpoint};
use url::Url;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "s3cr3t-client-secret";
const ORG: &str = "0123456789ABCDEF01234567";

fn policy() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.initial_backoff = Duration::from_millis(1);
    policy.max_backoff = Duration::from_millis(5);
    policy.deadline = Duration::from_secs(5);
    policy.attempt_timeout = Duration::from_secs(2);
    policy
}

async fn setup() -> (MockServer, ImsClient) {
    let server = MockServer::start().await;
    let env = ImsEnvironment::custom(&server.uri()).unwrap();
    let client = ImsClient::with_policy(env, policy()).unwrap();
    (server, client)
}

fn creds() -> ClientCredentials {
    ClientCredentials::new(
        ClientId::parse("my_client").unwrap(),
        ClientSecret::new(SECRET),
    )
}

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json;charset=UTF-8")
        .set_body_string(body.to_owned())
}

#[tokio::test]
async fn authorize_url_carries_every_parameter() {
    let (_server, client) = setup().await;
    let request = AuthorizeRequest::new(
        ClientId::parse("my_client").unwrap(),
        Url::parse("http://127.0.0.1:8080/admin/callback").unwrap(),
        "st&te",
    )
    .with_scopes(Scopes::admin_default())
    .with_locale("en_US")
    .with_nonce("n1")
    .with_prompt(Prompt::Login)
    .with_response_mode(ResponseMode::Query)
    .with_pkce(ims_api::PkceChallenge {
        challenge: "abc".into(),
        method: ims_api::PkceMethod::S256,
    })
    .for_reauth();
    let url = client.authorize_url(&request).await.unwrap();
    assert_eq!(url.path(), "/ims/authorize/v2");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("client_id"), Some("my_client"));
    assert_eq!(
        get("redirect_uri"),
        Some("http://127.0.0.1:8080/admin/callback")
    );
    assert_eq!(get("scope"), Some("AdobeID,openid,email,profile,org.read"));
    assert_eq!(get("state"), Some("st&te"));
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(get("locale"), Some("en_US"));
    assert_eq!(get("code_challenge"), Some("abc"));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(get("nonce"), Some("n1"));
    assert_eq!(get("prompt"), Some("login"));
    assert_eq!(get("response_mode"), Some("query"));
    assert_eq!(get("reauth"), Some("check"));
}

#[tokio::test]
async fn code_exchange_sends_the_form_and_is_never_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .and(body_string(format!(
            "grant_type=authorization_code&client_id=my_client&client_secret={SECRET}\
             &code=the-code&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&code_verifier=ver"
        )))
        .respond_with(json(
            r#"{"access_token":"at","refresh_token":"rt","id_token":"it","token_type":"bearer","expires_in":86399}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let exchange = CodeExchange::new(creds(), AuthorizationCode::new("the-code"))
        .with_redirect_uri(Url::parse("http://127.0.0.1:8080/cb").unwrap())
        .with_code_verifier(PkceVerifier::new("ver"));
    let response = client.exchange_code(&exchange).await.unwrap();
    assert_eq!(response.access_token.expose_secret(), "at");
    assert_eq!(response.refresh_token.unwrap().expose_secret(), "rt");
    assert_eq!(response.id_token.unwrap().expose_secret(), "it");
    assert_eq!(response.expires_in, Duration::from_secs(86_399));
    server.verify().await;

    // A 503 is not retried: the code may already be spent.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.exchange_code(&exchange).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn expires_in_unit_follows_the_endpoint_version() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v1"))
        .respond_with(json(
            r#"{"access_token":"at","token_type":"bearer","expires_in":86399985,
                "sub":"X@AdobeID","email":"jane@example.com","email_verified":"true"}"#,
        ))
        .mount(&server)
        .await;
    let client = client.with_token_endpoint(TokenEndpoint::V1);
    let request = RefreshRequest::new(creds(), RefreshToken::new("rt"));
    let response = client.refresh(&request).await.unwrap();
    assert_eq!(response.expires_in, Duration::from_millis(86_399_985));
    assert_eq!(
        response.profile.unwrap().email.as_deref(),
        Some("jane@example.com")
    );
}

#[tokio::test]
async fn refresh_is_retried_on_5xx() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .and(body_string(format!(
            "grant_type=refresh_token&client_id=my_client&client_secret={SECRET}&refresh_token=rt"
        )))
        .respond_with(json(r#"{"access_token":"at2","expires_in":"60"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let response = client
        .refresh(&RefreshRequest::new(creds(), RefreshToken::new("rt")))
        .await
        .unwrap();
    assert_eq!(response.access_token.expose_secret(), "at2");
    assert_eq!(response.token_type, "bearer");
    server.verify().await;
}

#[tokio::test]
async fn client_credentials_join_scopes_with_commas_and_send_the_org() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .and(body_string(format!(
            "grant_type=client_credentials&client_id=my_client&client_secret={SECRET}\
             &scope=openid%2CAdobeID%2Cread_organizations&org_id={ORG}%40AdobeOrg"
        )))
        .respond_with(json(
            r#"{"access_token":"svc","token_type":"bearer","expires_in":86399}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let request = ServerToServer::new(creds(), Scopes::parse("openid AdobeID,read_organizations"))
        .with_org(OrgId::parse(ORG).unwrap());
    let response = client.client_credentials(&request).await.unwrap();
    assert_eq!(response.access_token.expose_secret(), "svc");
    server.verify().await;

    let empty = ServerToServer::new(creds(), Scopes::default());
    assert!(matches!(
        client.client_credentials(&empty).await,
        Err(Error::Misconfigured(_))
    ));
}

#[tokio::test]
async fn basic_client_authentication() {
    let (server, client) = setup().await;
    // base64("my_client:s3cr3t-client-secret")
    Mock::given(method("POST"))
        .and(header(
            "authorization",
            "Basic bXlfY2xpZW50OnMzY3IzdC1jbGllbnQtc2VjcmV0",
        ))
        .and(body_string("grant_type=client_credentials&scope=openid"))
        .respond_with(json(r#"{"access_token":"svc","expires_in":5}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client.with_client_auth(ClientAuth::Basic);
    client
        .client_credentials(&ServerToServer::new(creds(), Scopes::parse("openid")))
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn refusals_keep_error_description_and_debug_id_but_no_secret() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("x-debug-id", "dbg-42")
                .set_body_string(
                    r#"{"error":"invalid_client","error_description":"invalid client_secret parameter"}"#,
                ),
        )
        .mount(&server)
        .await;
    let err = client
        .client_credentials(&ServerToServer::new(creds(), Scopes::parse("openid")))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("invalid_client") && text.contains("dbg-42"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
    assert!(!format!("{client:?}").contains(SECRET));
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Receives a JWT exchange, checks the assertion against the public key, and
/// returns its claims.
async fn exchange_with_key(key: PrivateKeyPem, passphrase: Option<&str>) -> serde_json::Value {
    let (server, client) = setup().await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let client = client.with_clock(clock.clone());
    Mock::given(method("POST"))
        .and(path("/ims/exchange/jwt"))
        .respond_with(json(
            r#"{"token_type":"bearer","access_token":"jwt-at","expires_in":86399999}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut account = JwtServiceAccount::new(
        creds(),
        OrgId::parse(ORG).unwrap(),
        "TECH@techacct.adobe.com",
        vec!["ent_dataservices_sdk".into(), "ent_user_sdk".into()],
        key,
    );
    if let Some(passphrase) = passphrase {
        account = account.with_passphrase(Passphrase::new(passphrase));
    }
    let response = client.exchange_jwt(&account).await.unwrap();
    assert_eq!(response.expires_in, Duration::from_millis(86_399_999));

    let requests = server.received_requests().await.unwrap();
    let fields = form(&requests[0]);
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).unwrap().1.clone();
    assert_eq!(get("client_id"), "my_client");
    assert_eq!(get("client_secret"), SECRET);
    let assertion = get("jwt_token");
    let public =
        jsonwebtoken::DecodingKey::from_rsa_pem(fixture("rsa-public.pem").as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let base = server.uri();
    validation.set_audience(&[format!("{base}/c/my_client")]);
    let data = jsonwebtoken::decode::<serde_json::Value>(&assertion, &public, &validation).unwrap();
    let claims = data.claims;
    assert_eq!(claims["iss"], format!("{ORG}@AdobeOrg"));
    assert_eq!(claims["sub"], "TECH@techacct.adobe.com");
    assert_eq!(claims[format!("{base}/s/ent_dataservices_sdk")], true);
    assert_eq!(claims[format!("{base}/s/ent_user_sdk")], true);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 300);
    assert_eq!(
        claims["iat"].as_i64().unwrap(),
        clock.now_for_test().unix_timestamp()
    );
    claims
}

trait NowForTest {
    fn now_for_test(&self) -> time::OffsetDateTime;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> time::OffsetDateTime {
        ims_api::Clock::now(self)
    }
}

#[tokio::test]
async fn jwt_exchange_with_a_pkcs1_key() {
    exchange_with_key(PrivateKeyPem::new(fixture("rsa-pkcs1.pem")), None).await;
}

#[tokio::test]
async fn jwt_exchange_with_a_pkcs8_key() {
    exchange_with_key(PrivateKeyPem::new(fixture("rsa-pkcs8.pem")), None).await;
}

#[tokio::test]
async fn jwt_exchange_with_an_encrypted_pkcs8_key() {
    exchange_with_key(
        PrivateKeyPem::new(fixture("rsa-pkcs8-encrypted.pem")),
        Some("fixture-passphrase"),
    )
    .await;
}

/// OpenSSL's legacy encrypted PKCS#1 (`Proc-Type: 4,ENCRYPTED`), which
/// Node's crypto reads for aio's JWT contexts: each DEK-Info cipher.
#[tokio::test]
async fn jwt_exchange_with_legacy_encrypted_pkcs1_keys() {
    for file in [
        "rsa-pkcs1-encrypted-aes128.pem",
        "rsa-pkcs1-encrypted-aes256.pem",
        "rsa-pkcs1-encrypted-des3.pem",
    ] {
        exchange_with_key(
            PrivateKeyPem::new(fixture(file)),
            Some("fixture-passphrase"),
        )
        .await;
    }
}

#[tokio::test]
async fn jwt_exchange_with_escaped_newlines() {
    let escaped = fixture("rsa-pkcs8.pem").replace('\n', "\\n");
    exchange_with_key(PrivateKeyPem::new(escaped), None).await;
}

#[tokio::test]
async fn jwt_exchange_key_errors_are_clear_and_quote_no_key() {
    let (_server, client) = setup().await;
    let cases = [
        (fixture("rsa-pkcs8-encrypted.pem"), None, "passphrase"),
        (
            fixture("rsa-pkcs8-encrypted.pem"),
            Some("wrong"),
            "wrong passphrase",
        ),
        (
            fixture("rsa-pkcs1-encrypted-aes256.pem"),
            None,
            "passphrase",
        ),
        (
            fixture("rsa-pkcs1-encrypted-aes256.pem"),
            Some("wrong"),
            "wrong passphrase",
        ),
        (
            fixture("rsa-pkcs1-encrypted-des3.pem"),
            Some("wrong"),
            "wrong passphrase",
        ),
        ("not a key".to_owned(), None, "expected a PEM block"),
        (fixture("rsa-public.pem"), None, "expected a PEM block"),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".to_owned(),
            None,
            "invalid private key",
        ),
    ];
    for (pem, passphrase, expected) in cases {
        let mut account = JwtServiceAccount::new(
            creds(),
            OrgId::parse(ORG).unwrap(),
            "TECH@techacct.adobe.com",
            vec![],
            PrivateKeyPem::new(pem.clone()),
        );
        if let Some(p) = passphrase {
            account = account.with_passphrase(Passphrase::new(p));
        }
        let err = client.exchange_jwt(&account).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("MII"), "key material in {text}");
    }
}

#[tokio::test]
async fn validate_reads_valid_and_invalid_verdicts() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/ims/validate_token/v1"))
        .and(header("x-ims-clientid", "my_client"))
        .and(body_string("type=access_token&client_id=my_client&token=good"))
        .respond_with(json(
            r#"{"valid":true,"expires_at":1893456000000,"token":{"type":"access_token","client_id":"my_client","created_at":"1893369600000","expires_in":"86400000"}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/validate_token/v1"))
        .and(body_string(
            "type=access_token&client_id=my_client&token=bad",
        ))
        .respond_with(json(r#"{"valid":false,"reason":"bad_signature"}"#))
        .mount(&server)
        .await;
    let client_id = ClientId::parse("my_client").unwrap();
    match client
        .validate(&AccessToken::new("good"), &client_id)
        .await
        .unwrap()
    {
        TokenValidity::Valid { expires_at, claims } => {
            assert_eq!(ims_api::to_unix_millis(expires_at), 1_893_456_000_000);
            assert_eq!(claims.unwrap().client_id.as_deref(), Some("my_client"));
        }
        other => panic!("valid expected, got {other:?}"),
    }
    assert_eq!(
        client
            .validate(&AccessToken::new("bad"), &client_id)
            .await
            .unwrap(),
        TokenValidity::Invalid {
            reason: "bad_signature".into()
        }
    );
}

#[tokio::test]
async fn validate_during_an_outage_is_an_error_not_a_verdict() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .expect(4)
        .mount(&server)
        .await;
    let err = client
        .validate(&AccessToken::new("t"), &ClientId::parse("c").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn invalidate_revoke_and_logout_forms() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/ims/invalidate_token/v2"))
        .and(header("x-ims-clientid", "my_client"))
        .and(body_string(format!(
            "token_type=refresh_token&token=rt&client_id=my_client&client_secret={SECRET}&cascading=all"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/revoke"))
        .and(body_string(format!(
            "token=at&client_id=my_client&client_secret={SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/logout/v1"))
        .and(body_string(format!(
            "access_token=at&client_id=my_client&client_secret={SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client
        .invalidate(
            &InvalidateRequest::new(creds(), AnyToken::Refresh(RefreshToken::new("rt")))
                .cascading(),
        )
        .await
        .unwrap();
    client
        .revoke(&creds(), &AnyToken::Access(AccessToken::new("at")))
        .await
        .unwrap();
    client
        .logout(&creds(), &AccessToken::new("at"))
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn profile_userinfo_and_organizations() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/ims/profile/v1"))
        .and(query_param("client_id", "my_client"))
        .and(header("authorization", "Bearer at"))
        .respond_with(json(
            r#"{"userId":"U@AdobeID","email":"jane@example.com","emailVerified":"true","first_name":"Jane"}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ims/userinfo/v2"))
        .and(header("authorization", "Bearer at"))
        .respond_with(json(r#"{"sub":"U@AdobeID","email_verified":true}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ims/organizations/v6"))
        .respond_with(json(&format!(
            r#"[{{"orgName":"Org","orgRef":{{"ident":"{ORG}","authSrc":"AdobeOrg"}},"groups":[]}}]"#
        )))
        .mount(&server)
        .await;
    let token = AccessToken::new("at");
    let profile = client
        .profile(&token, &ClientId::parse("my_client").unwrap())
        .await
        .unwrap();
    assert_eq!(profile.email.as_deref(), Some("jane@example.com"));
    assert!(profile.email_verified);
    assert!(client.userinfo(&token).await.unwrap().email_verified);
    let orgs = client.organizations(&token).await.unwrap();
    assert_eq!(orgs[0].org_id(), format!("{ORG}@AdobeOrg"));
}

#[tokio::test]
async fn a_401_on_a_bearer_call_rejects_the_token() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(
                r#"{"error":"invalid_token","error_description":"token revoked"}"#,
            ),
        )
        .mount(&server)
        .await;
    let err = client
        .profile(&AccessToken::new("at"), &ClientId::parse("c").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidToken(TokenRejection::RejectedByIms(r)) if r == "token revoked"),
        "{err:?}"
    );
}

#[tokio::test]
async fn organization_membership_reads_true_false_and_nothing_else() {
    let (server, client) = setup().await;
    let org = OrgId::parse(ORG).unwrap();
    for (body, expected) in [
        ("true", Some(true)),
        ("false\n", Some(false)),
        ("yes", None),
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path(format!("/{ORG}@AdobeOrg/membership")))
            .and(header("authorization", "Bearer at"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let result = client.is_member(&AccessToken::new("at"), &org).await;
        match expected {
            Some(value) => assert_eq!(result.unwrap(), value),
            None => assert!(matches!(result, Err(Error::Refused(_))), "{result:?}"),
        }
    }
}

/// Issue #14 (LOW): through the public client, a 307 from the token endpoint
/// (which makes reqwest re-send the form, client secret included) reaches
/// nobody else; a profile answer larger than `MAX_ANSWER_BYTES` is refused.
#[tokio::test]
async fn a_redirecting_or_oversized_ims_gets_no_secret_and_no_memory() {
    let (server, client) = setup().await;
    let thief = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(json(r#"{"access_token":"stolen","expires_in":5}"#))
        .expect(0)
        .mount(&thief)
        .await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/steal", thief.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .client_credentials(&ServerToServer::new(creds(), Scopes::parse("openid")))
        .await
        .unwrap_err();
    let Error::Refused(refusal) = &err else {
        panic!("a refusal expected, got {err:?}");
    };
    assert_eq!(refusal.error, "redirect_refused");
    assert!(!err.to_string().contains(SECRET), "{err}");
    thief.verify().await;
    server.verify().await;

    Mock::given(method("GET"))
        .and(path("/ims/profile/v1"))
        .respond_with(json(&format!(
            r#"{{"name":"{}"}}"#,
            "x".repeat(ims_core::MAX_ANSWER_BYTES)
        )))
        .mount(&server)
        .await;
    let outcome = client
        .profile(
            &AccessToken::new("tok"),
            &ClientId::parse("my_client").unwrap(),
        )
        .await;
    match outcome {
        Err(Error::Refused(refusal)) => assert_eq!(refusal.error, "answer_too_large"),
        Err(other) => panic!("a refusal expected, got {other:?}"),
        Ok(_) => panic!("an oversized profile was read"),
    }
}
