//! Every flow of ims-core with logs captured at trace level: the logs must
//! say what happened, and never contain a token, a secret or a private key.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use ims_api::{
    AccessToken, AnyToken, AuthorizationCode, AuthorizeRequest, AuthorizeUrlBuilder,
    ClientCredentials, ClientId, ClientSecret, CodeExchange, ContextName, ImsEnvironment,
    InvalidateRequest, JwtServiceAccount, OrgId, OrganizationReader, PrivateKeyPem, ProfileReader,
    RefreshRequest, Scopes, ServerToServer, SystemClock, TokenGrants, TokenProvider, TokenRevoker,
    TokenValidator, TokenVerifier,
};
use ims_core::{
    AioConfig, AioContextStore, CachedValidator, ConfigPaths, ContextTokenProvider, FileTokenCache,
    HttpPolicy, ImsClient, ImsClients, LocalVerifier, PkcePair, ProviderConfig,
    ValidationCacheConfig, VerifierConfig, random_state,
};
use ims_emulator::{Emulator, FaultSpec, default_seed as seed};
use url::Url;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn web() -> ClientCredentials {
    ClientCredentials::new(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(seed::WEB_CLIENT_SECRET),
    )
}

/// The authorization code flow through the emulator's form, without a browser.
async fn sign_in(client: &ImsClient, pkce: &PkcePair, redirect: &Url) -> AuthorizationCode {
    let url = client
        .authorize_url(
            &AuthorizeRequest::new(web().client_id, redirect.clone(), random_state())
                .with_scopes(Scopes::parse("AdobeID,openid,offline_access"))
                .with_pkce(pkce.challenge.clone()),
        )
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("email".into(), seed::MEMBER_EMAIL.into()));
    form.push(("password".into(), seed::MEMBER_PASSWORD.into()));
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(url.as_str().split('?').next().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    AuthorizationCode::new(code)
}

#[tokio::test(flavor = "current_thread")]
async fn logs_of_every_flow_hold_no_token_secret_or_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let ims = Emulator::builder().start().await.unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let mut policy = HttpPolicy::default();
    policy.initial_backoff = std::time::Duration::from_millis(1);
    let client = ImsClient::with_policy(env.clone(), policy.clone()).unwrap();
    let mut secrets: Vec<String> = vec![
        seed::WEB_CLIENT_SECRET.into(),
        seed::S2S_CLIENT_SECRET.into(),
        seed::JWT_CLIENT_SECRET.into(),
        seed::MEMBER_PASSWORD.into(),
    ];

    // Code flow, refresh, profile, organizations, validation, invalidation.
    let pkce = PkcePair::generate();
    let redirect = Url::parse("http://127.0.0.1:1/cb").unwrap();
    let code = sign_in(&client, &pkce, &redirect).await;
    secrets.push(code.expose_secret().into());
    secrets.push(pkce.verifier.expose_secret().into());
    let tokens = client
        .exchange_code(
            &CodeExchange::new(web(), code)
                .with_redirect_uri(redirect)
                .with_code_verifier(pkce.verifier.clone()),
        )
        .await
        .unwrap();
    let refresh = tokens.refresh_token.clone().unwrap();
    secrets.push(tokens.access_token.expose_secret().into());
    secrets.push(refresh.expose_secret().into());
    let refreshed = client
        .refresh(&RefreshRequest::new(web(), refresh.clone()))
        .await
        .unwrap();
    secrets.push(refreshed.access_token.expose_secret().into());
    client
        .profile(&refreshed.access_token, &web().client_id)
        .await
        .unwrap();
    client.organizations(&refreshed.access_token).await.unwrap();
    let org = OrgId::parse(seed::ORG_ID).unwrap();
    client
        .is_member(&refreshed.access_token, &org)
        .await
        .unwrap();
    let verifier = LocalVerifier::new(env.clone(), VerifierConfig::default()).unwrap();
    verifier.verify(&refreshed.access_token).await.unwrap();
    let cached = CachedValidator::new(
        Arc::new(client.clone()),
        &env,
        ValidationCacheConfig::default(),
    );
    cached
        .validate(&refreshed.access_token, &web().client_id)
        .await
        .unwrap();
    // A refused and a failing call log their outcome too.
    verifier
        .verify(&AccessToken::new(format!(
            "{}x",
            refreshed.access_token.expose_secret()
        )))
        .await
        .unwrap_err();
    ims.inject_fault(FaultSpec::new("/ims/validate_token").status(503).count(1))
        .unwrap();
    client
        .validate(&tokens.access_token, &web().client_id)
        .await
        .unwrap();
    client
        .invalidate(&InvalidateRequest::new(web(), AnyToken::Refresh(refresh)).cascading())
        .await
        .unwrap();
    client
        .logout(&web(), &refreshed.access_token)
        .await
        .unwrap();

    // Service tokens: client credentials and the JWT exchange.
    let s2s = client
        .client_credentials(
            &ServerToServer::new(
                ClientCredentials::new(
                    ClientId::parse(seed::S2S_CLIENT_ID).unwrap(),
                    ClientSecret::new(seed::S2S_CLIENT_SECRET),
                ),
                Scopes::parse("openid"),
            )
            .with_org(org.clone()),
        )
        .await
        .unwrap();
    secrets.push(s2s.access_token.expose_secret().into());
    let jwt = client
        .exchange_jwt(&JwtServiceAccount::new(
            ClientCredentials::new(
                ClientId::parse(seed::JWT_CLIENT_ID).unwrap(),
                ClientSecret::new(seed::JWT_CLIENT_SECRET),
            ),
            org.clone(),
            seed::JWT_TECHNICAL_ACCOUNT_ID,
            seed::JWT_META_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            PrivateKeyPem::new(seed::jwt_private_key_pem()),
        ))
        .await
        .unwrap();
    secrets.push(jwt.access_token.expose_secret().into());

    // getToken over aio files.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aio"),
        serde_json::json!({"ims": {"contexts": {"svc": {
            "ims_url": ims.base(),
            "client_id": seed::S2S_CLIENT_ID,
            "client_secrets": [seed::S2S_CLIENT_SECRET],
            "scopes": ["openid"],
        }}}})
        .to_string(),
    )
    .unwrap();
    let config = AioConfig::with_env(
        ConfigPaths::new(dir.path().join("aio")),
        Vec::<(String, String)>::new(),
    );
    let provider = ContextTokenProvider::with_clients(
        Arc::new(AioContextStore::new(config.clone())),
        Arc::new(FileTokenCache::new(config)),
        ImsClients::new(env, policy),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    );
    let svc = ContextName::parse("svc").unwrap();
    let provided = provider.get_token(&svc).await.unwrap();
    secrets.push(provided.token.expose_secret().into());
    provider.get_token(&svc).await.unwrap();
    provider.invalidate(&svc, true).await.unwrap();

    let logs = captured.text();
    // The logs do say what happened…
    for expected in [
        "IMS answered",
        "POST",
        "/ims/token/v3",
        "obtained an access token",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    // …and none of the secrets, nor any piece of the private key.
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs"
        );
        // Tokens are JWTs: not even their signature part may appear.
        if let Some(signature) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!logs.contains(signature), "a token signature leaked");
        }
    }
    let key_body: String = seed::jwt_private_key_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !logs.contains(&key_body[..40]),
        "private key material leaked"
    );
    assert!(!logs.contains("BEGIN"), "a PEM block leaked");
}
