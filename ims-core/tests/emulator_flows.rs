//! Every flow of `ImsClient` end to end against `ims-emulator` over real
//! HTTP, including the faults the emulator injects.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ims_api::{
    AccessToken, AnyToken, AuthorizationCode, AuthorizeRequest, AuthorizeUrlBuilder,
    ClientCredentials, ClientId, ClientSecret, CodeExchange, Error, ImsEnvironment,
    InvalidateRequest, JwtServiceAccount, OrgId, OrganizationReader, PrivateKeyPem, ProfileReader,
    RefreshRequest, Scopes, ServerToServer, TokenGrants, TokenRejection, TokenRevoker,
    TokenValidator, TokenValidity,
};
use ims_core::{HttpPolicy, ImsClient, PkcePair, random_state};
use ims_emulator::{Emulator, FaultSpec, RunningEmulator, default_seed as seed};
use url::Url;

fn policy() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.initial_backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(20);
    policy.attempt_timeout = Duration::from_millis(800);
    policy.deadline = Duration::from_secs(5);
    policy
}

async fn start() -> (RunningEmulator, ImsClient) {
    let ims = Emulator::builder().start().await.unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let client = ImsClient::with_policy(env, policy()).unwrap();
    (ims, client)
}

fn web() -> ClientCredentials {
    ClientCredentials::new(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(seed::WEB_CLIENT_SECRET),
    )
}

fn s2s() -> ServerToServer {
    ServerToServer::new(
        ClientCredentials::new(
            ClientId::parse(seed::S2S_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::S2S_CLIENT_SECRET),
        ),
        Scopes::parse("openid,AdobeID"),
    )
    .with_org(OrgId::parse(seed::ORG_ID).unwrap())
}

/// Signs in through the emulator's form without a browser: the form posts
/// the authorize parameters with the credentials, IMS answers 302 with the
/// code.
async fn sign_in(
    client: &ImsClient,
    email: &str,
    password: &str,
    scopes: &str,
) -> (AuthorizationCode, PkcePair, Url) {
    let pkce = PkcePair::generate();
    let state = random_state();
    let redirect = Url::parse("http://127.0.0.1:1/callback").unwrap();
    let url = client
        .authorize_url(
            &AuthorizeRequest::new(web().client_id, redirect.clone(), state.clone())
                .with_scopes(Scopes::parse(scopes))
                .with_pkce(pkce.challenge.clone()),
        )
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    let response = http
        .post(url.as_str().split('?').next().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        302,
        "sign-in answered {}",
        response.status()
    );
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let get = |k: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some(state.as_str()));
    (
        AuthorizationCode::new(get("code").expect("a code")),
        pkce,
        redirect,
    )
}

#[tokio::test]
async fn authorization_code_flow_with_pkce() {
    let (ims, client) = start().await;
    let (code, pkce, redirect) = sign_in(
        &client,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "AdobeID,openid,email,profile,org.read",
    )
    .await;
    let exchange = CodeExchange::new(web(), code.clone())
        .with_redirect_uri(redirect.clone())
        .with_code_verifier(pkce.verifier.clone());
    let tokens = client.exchange_code(&exchange).await.unwrap();
    // /ims/token/v3 answers in seconds: about a day.
    assert!(tokens.expires_in > Duration::from_secs(23 * 3600));
    assert!(tokens.expires_in <= Duration::from_secs(24 * 3600));
    assert!(tokens.id_token.is_some(), "openid was asked");

    let profile = client
        .profile(&tokens.access_token, &web().client_id)
        .await
        .unwrap();
    assert_eq!(profile.email.as_deref(), Some(seed::MEMBER_EMAIL));
    let info = client.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(info.email.as_deref(), Some(seed::MEMBER_EMAIL));
    let orgs = client.organizations(&tokens.access_token).await.unwrap();
    assert!(orgs.iter().any(|org| org.org_id() == seed::ORG_ID));
    let org = OrgId::parse(seed::ORG_ID).unwrap();
    assert!(client.is_member(&tokens.access_token, &org).await.unwrap());

    // The code is single use.
    let err = client.exchange_code(&exchange).await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused(r) if r.status == 400),
        "{err:?}"
    );
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 2);
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let (_ims, client) = start().await;
    let (code, _pkce, redirect) = sign_in(
        &client,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "AdobeID,openid",
    )
    .await;
    let exchange = CodeExchange::new(web(), code)
        .with_redirect_uri(redirect)
        .with_code_verifier(PkcePair::generate().verifier);
    let err = client.exchange_code(&exchange).await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused(r) if r.error == "invalid_grant"),
        "{err:?}"
    );
}

#[tokio::test]
async fn non_members_are_not_members() {
    let (_ims, client) = start().await;
    let (code, pkce, redirect) = sign_in(
        &client,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
        "AdobeID,openid,email,profile,org.read",
    )
    .await;
    let tokens = client
        .exchange_code(
            &CodeExchange::new(web(), code)
                .with_redirect_uri(redirect)
                .with_code_verifier(pkce.verifier),
        )
        .await
        .unwrap();
    let org = OrgId::parse(seed::ORG_ID).unwrap();
    assert!(!client.is_member(&tokens.access_token, &org).await.unwrap());
}

#[tokio::test]
async fn refresh_and_cascading_invalidation() {
    let (_ims, client) = start().await;
    let (code, pkce, redirect) = sign_in(
        &client,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "AdobeID,openid,offline_access",
    )
    .await;
    let tokens = client
        .exchange_code(
            &CodeExchange::new(web(), code)
                .with_redirect_uri(redirect)
                .with_code_verifier(pkce.verifier),
        )
        .await
        .unwrap();
    let refresh = tokens
        .refresh_token
        .expect("offline_access gives a refresh token");
    let refreshed = client
        .refresh(&RefreshRequest::new(web(), refresh.clone()))
        .await
        .unwrap();
    let client_id = web().client_id;
    assert!(
        client
            .validate(&refreshed.access_token, &client_id)
            .await
            .unwrap()
            .is_valid()
    );

    client
        .invalidate(&InvalidateRequest::new(web(), AnyToken::Refresh(refresh.clone())).cascading())
        .await
        .unwrap();
    let verdict = client
        .validate(&refreshed.access_token, &client_id)
        .await
        .unwrap();
    assert!(
        !verdict.is_valid(),
        "cascading took the access token along: {verdict:?}"
    );
    let err = client
        .refresh(&RefreshRequest::new(web(), refresh))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn server_to_server_and_validation() {
    let (ims, client) = start().await;
    let tokens = client.client_credentials(&s2s()).await.unwrap();
    assert!(tokens.refresh_token.is_none());
    let client_id = ClientId::parse(seed::S2S_CLIENT_ID).unwrap();
    match client
        .validate(&tokens.access_token, &client_id)
        .await
        .unwrap()
    {
        TokenValidity::Valid { claims, .. } => {
            let claims = claims.expect("IMS returns the claims");
            assert_eq!(claims.client_id.as_deref(), Some(seed::S2S_CLIENT_ID));
            assert_eq!(claims.token_type, ims_api::TokenType::AccessToken);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ims.stats().count("POST /ims/validate_token/v1"), 1);
}

#[tokio::test]
async fn jwt_exchange_with_the_service_account_key() {
    let (_ims, client) = start().await;
    let account = JwtServiceAccount::new(
        ClientCredentials::new(
            ClientId::parse(seed::JWT_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::JWT_CLIENT_SECRET),
        ),
        OrgId::parse(seed::ORG_ID).unwrap(),
        seed::JWT_TECHNICAL_ACCOUNT_ID,
        seed::JWT_META_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        PrivateKeyPem::new(seed::jwt_private_key_pem()),
    );
    let tokens = client.exchange_jwt(&account).await.unwrap();
    // The JWT exchange answers in milliseconds: about a day.
    assert!(tokens.expires_in > Duration::from_secs(23 * 3600));
    assert!(tokens.expires_in <= Duration::from_secs(24 * 3600));

    let mut wrong = account.clone();
    wrong.meta_scopes = vec!["ent_not_bound_sdk".into()];
    let err = client.exchange_jwt(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused(r) if r.error == "invalid_scope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn logout_ends_the_token() {
    let (ims, client) = start().await;
    let token = AccessToken::new(
        ims.mint_access_token(
            &ims_emulator::MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap(),
    );
    let client_id = web().client_id;
    assert!(
        client
            .validate(&token, &client_id)
            .await
            .unwrap()
            .is_valid()
    );
    client.logout(&web(), &token).await.unwrap();
    assert!(
        !client
            .validate(&token, &client_id)
            .await
            .unwrap()
            .is_valid()
    );
    let err = client.profile(&token, &client_id).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidToken(TokenRejection::RejectedByIms(_))),
        "{err:?}"
    );
}

// Transient and persistent faults (5xx, 429 with `Retry-After`, latency,
// dropped connections, IMS down) are one table: `fault_matrix.rs`.

#[tokio::test]
async fn an_authorization_code_is_never_replayed_on_failure() {
    let (ims, client) = start().await;
    let (code, pkce, redirect) = sign_in(
        &client,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        "AdobeID,openid",
    )
    .await;
    ims.inject_fault(FaultSpec::new("/ims/token").status(502).count(1))
        .unwrap();
    let err = client
        .exchange_code(
            &CodeExchange::new(web(), code)
                .with_redirect_uri(redirect)
                .with_code_verifier(pkce.verifier),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
}
