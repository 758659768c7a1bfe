use super::*;
use std::sync::atomic::AtomicUsize;

use ims_api::mock::MockTokenRevoker;
use ims_api::{
    ClientId, ConfigLocation, ImsRefusal, JwtContext, ManualClock, OAuthUserContext, OrgId, Scopes,
    ServerToServerContext, to_unix_millis,
};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::MemoryTokenCache;

const START: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

/// Contexts in a map.
#[derive(Default)]
struct Contexts(Mutex<HashMap<ContextName, ImsContext>>);

#[async_trait]
impl ContextStore for Contexts {
    async fn get(&self, name: &ContextName) -> Result<Option<ImsContext>, Error> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
    async fn set(&self, context: &ImsContext, _: ConfigLocation) -> Result<(), Error> {
        self.0
            .lock()
            .unwrap()
            .insert(context.name.clone(), context.clone());
        Ok(())
    }
    async fn remove(&self, name: &ContextName) -> Result<bool, Error> {
        Ok(self.0.lock().unwrap().remove(name).is_some())
    }
    async fn list(&self) -> Result<Vec<ContextName>, Error> {
        Ok(self.0.lock().unwrap().keys().cloned().collect())
    }
    async fn current(&self) -> Result<Option<ContextName>, Error> {
        Ok(None)
    }
    async fn set_current(&self, _: &ContextName) -> Result<(), Error> {
        Ok(())
    }
}

/// Counts grant calls; each mints a new opaque token.
struct FakeGrants {
    refresh_calls: AtomicUsize,
    client_credentials_calls: AtomicUsize,
    jwt_calls: AtomicUsize,
    minted: AtomicUsize,
    refuse_refresh: bool,
    delay: Duration,
    expires_in: Duration,
    jwt_key: Mutex<Option<String>>,
    /// The client id, secret and scopes of the last refresh.
    last_refresh: Mutex<Option<(String, String, String)>>,
}

impl FakeGrants {
    fn new() -> Self {
        FakeGrants {
            refresh_calls: AtomicUsize::new(0),
            client_credentials_calls: AtomicUsize::new(0),
            jwt_calls: AtomicUsize::new(0),
            minted: AtomicUsize::new(0),
            refuse_refresh: false,
            delay: Duration::ZERO,
            expires_in: Duration::from_secs(24 * 3600),
            jwt_key: Mutex::new(None),
            last_refresh: Mutex::new(None),
        }
    }

    fn calls(&self) -> usize {
        self.refresh_calls.load(Ordering::SeqCst)
            + self.client_credentials_calls.load(Ordering::SeqCst)
            + self.jwt_calls.load(Ordering::SeqCst)
    }

    async fn mint(&self, prefix: &str) -> TokenResponse {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let n = self.minted.fetch_add(1, Ordering::SeqCst);
        TokenResponse::new(AccessToken::new(format!("{prefix}-{n}")), self.expires_in)
    }
}

#[async_trait]
impl TokenGrants for FakeGrants {
    async fn exchange_code(&self, _: &ims_api::CodeExchange) -> Result<TokenResponse, Error> {
        Err(Error::Misconfigured("not used".into()))
    }
    async fn refresh(&self, request: &RefreshRequest) -> Result<TokenResponse, Error> {
        self.refresh_calls.fetch_add(1, Ordering::SeqCst);
        *self.last_refresh.lock().unwrap() = Some((
            request.client.client_id.as_str().to_owned(),
            request.client.client_secret.expose_secret().to_owned(),
            request.scopes.to_string(),
        ));
        if self.refuse_refresh {
            return Err(Error::Refused(ImsRefusal::new(400, "invalid_grant")));
        }
        Ok(self
            .mint("refreshed")
            .await
            .with_refresh_token(RefreshToken::new("rt-new")))
    }
    async fn client_credentials(&self, request: &ServerToServer) -> Result<TokenResponse, Error> {
        self.client_credentials_calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(request.client.client_secret.expose_secret(), "first-secret");
        Ok(self.mint("s2s").await)
    }
    async fn exchange_jwt(&self, account: &JwtServiceAccount) -> Result<TokenResponse, Error> {
        self.jwt_calls.fetch_add(1, Ordering::SeqCst);
        *self.jwt_key.lock().unwrap() = Some(account.private_key.expose_secret().to_owned());
        Ok(self.mint("jwt").await)
    }
}

fn name(s: &str) -> ContextName {
    ContextName::parse(s).unwrap()
}

fn s2s_context(n: &str) -> ImsContext {
    let mut c = ServerToServerContext::new(
        ClientId::parse("svc-client").unwrap(),
        ClientSecret::new("first-secret"),
        Scopes::parse("openid,AdobeID"),
    );
    c.client_secrets.push(ClientSecret::new("second-secret"));
    ImsContext::new(name(n), ContextCredentials::ServerToServer(c))
}

fn user_context(n: &str) -> ImsContext {
    let c = OAuthUserContext::new(ClientId::parse("web").unwrap(), Scopes::parse("openid"));
    ImsContext::new(name(n), ContextCredentials::OAuthUser(c))
}

struct Setup {
    contexts: Arc<Contexts>,
    cache: Arc<MemoryTokenCache>,
    grants: Arc<FakeGrants>,
    clock: Arc<ManualClock>,
}

impl Setup {
    fn new(grants: FakeGrants) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        Setup {
            contexts: Arc::new(Contexts::default()),
            cache: Arc::new(MemoryTokenCache::with_clock(clock.clone())),
            grants: Arc::new(grants),
            clock,
        }
    }

    fn add(&self, context: ImsContext) {
        self.contexts
            .0
            .lock()
            .unwrap()
            .insert(context.name.clone(), context);
    }

    fn provider_with(&self, revoker: MockTokenRevoker) -> ContextTokenProvider {
        ContextTokenProvider::new(
            self.contexts.clone(),
            self.cache.clone(),
            self.grants.clone(),
            Arc::new(revoker),
            self.clock.clone(),
            ProviderConfig::default()
                .with_poll_interval(Duration::from_millis(5))
                .with_lease_ttl(Duration::from_secs(30)),
        )
    }

    fn provider(&self) -> ContextTokenProvider {
        self.provider_with(MockTokenRevoker::new())
    }

    fn in_secs(&self, secs: u64) -> OffsetDateTime {
        self.clock.now() + Duration::from_secs(secs)
    }

    async fn seed(&self, ctx: &str, access: Option<(&str, u64)>, refresh: Option<&str>) {
        self.seed_refresh_for(ctx, access, refresh, 14 * 24 * 3600)
            .await;
    }

    async fn seed_refresh_for(
        &self,
        ctx: &str,
        access: Option<(&str, u64)>,
        refresh: Option<&str>,
        refresh_secs: u64,
    ) {
        let tokens = ContextTokens {
            access_token: access
                .map(|(t, secs)| ExpiringToken::new(AccessToken::new(t), self.in_secs(secs))),
            refresh_token: refresh
                .map(|t| ExpiringToken::new(RefreshToken::new(t), self.in_secs(refresh_secs))),
        };
        self.cache.store(&name(ctx), &tokens).await.unwrap();
    }
}

#[tokio::test]
async fn a_cached_token_is_reused_without_calling_ims() {
    let s = Setup::new(FakeGrants::new());
    s.add(s2s_context("svc"));
    s.seed("svc", Some(("cached", 3600)), None).await;
    let token = s.provider().get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "cached");
    assert_eq!(s.grants.calls(), 0);
}

#[tokio::test]
async fn a_token_within_the_margin_is_refreshed() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    s.seed("web", Some(("old", 5 * 60)), Some("rt-old")).await;
    let token = s.provider().get_token(&name("web")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "refreshed-0");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.grants.calls(), 1);
    // Expiry from the response (an opaque token), stored with the new refresh token.
    assert_eq!(token.expires_at, s.in_secs(24 * 3600));
    let stored = s.cache.load(&name("web")).await.unwrap();
    assert_eq!(
        stored.access_token.unwrap().token.expose_secret(),
        "refreshed-0"
    );
    assert_eq!(
        stored.refresh_token.unwrap().token.expose_secret(),
        "rt-new"
    );
}

#[tokio::test]
async fn a_refused_refresh_drops_the_refresh_token_and_uses_the_flow() {
    let mut grants = FakeGrants::new();
    grants.refuse_refresh = true;
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    s.seed("svc", None, Some("rt-dead")).await;
    let token = s.provider().get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "s2s-0");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.grants.client_credentials_calls.load(Ordering::SeqCst), 1);
    let stored = s.cache.load(&name("svc")).await.unwrap();
    assert!(stored.refresh_token.is_none());
    assert_eq!(stored.access_token.unwrap().token.expose_secret(), "s2s-0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_flight() {
    let mut grants = FakeGrants::new();
    grants.delay = Duration::from_millis(50);
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    s.seed("svc", Some(("expired", 0)), None).await;
    let provider = Arc::new(s.provider());
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.get_token(&name("svc")).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(
            task.await
                .unwrap()
                .unwrap()
                .token
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(s.grants.calls(), 1);
    assert!(tokens.iter().all(|t| t == "s2s-0"), "{tokens:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_a_short_lived_token_too() {
    // A token with less than the margin is not stored, but the callers that
    // waited on its flight still get it rather than minting their own. The
    // grant is slow enough that every caller arrives during the flight,
    // even on a loaded machine (50 ms was not: a late caller minted again).
    let mut grants = FakeGrants::new();
    grants.delay = Duration::from_millis(1000);
    grants.expires_in = Duration::from_secs(60);
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    let provider = Arc::new(s.provider());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.get_token(&name("svc")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(s.grants.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_a_cache_make_one_call() {
    let mut grants = FakeGrants::new();
    grants.delay = Duration::from_millis(100);
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    let host_a = s.provider();
    let host_b = s.provider();
    let svc = name("svc");
    let (a, b) = tokio::join!(host_a.get_token(&svc), host_b.get_token(&svc));
    assert_eq!(s.grants.calls(), 1);
    assert_eq!(
        a.unwrap().token.expose_secret(),
        b.unwrap().token.expose_secret()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_lease_holder_is_taken_over_after_the_ttl() {
    let s = Setup::new(FakeGrants::new());
    s.add(s2s_context("svc"));
    // Another instance took the lease and died without releasing it.
    assert!(
        s.cache
            .try_lease(&name("svc"), "crashed", Duration::from_secs(30))
            .await
            .unwrap()
    );
    let provider = Arc::new(s.provider());
    let waiting = {
        let provider = provider.clone();
        tokio::spawn(async move { provider.get_token(&name("svc")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    assert_eq!(s.grants.calls(), 0);
    s.clock.advance(Duration::from_secs(31));
    let token = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(token.token.expose_secret(), "s2s-0");
    assert_eq!(s.grants.calls(), 1);
}

#[tokio::test]
async fn waiting_gives_up_after_the_wait_timeout() {
    let s = Setup::new(FakeGrants::new());
    s.add(s2s_context("svc"));
    s.cache
        .try_lease(&name("svc"), "other", Duration::from_secs(3600))
        .await
        .unwrap();
    let provider = ContextTokenProvider::new(
        s.contexts.clone(),
        s.cache.clone(),
        s.grants.clone(),
        Arc::new(MockTokenRevoker::new()),
        s.clock.clone(),
        ProviderConfig::default()
            .with_poll_interval(Duration::from_millis(5))
            .with_wait_timeout(Duration::from_millis(50)),
    );
    let err = provider.get_token(&name("svc")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("\"svc\""), "{err}");
}

#[tokio::test]
async fn invalidate_without_force_ends_the_access_token() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    s.seed("web", Some(("at", 3600)), Some("rt")).await;
    let mut revoker = MockTokenRevoker::new();
    revoker
        .expect_invalidate()
        .withf(|r| {
            !r.cascading && matches!(&r.token, AnyToken::Access(t) if t.expose_secret() == "at")
        })
        .times(1)
        .returning(|_| Ok(()));
    s.provider_with(revoker)
        .invalidate(&name("web"), false)
        .await
        .unwrap();
    let stored = s.cache.load(&name("web")).await.unwrap();
    assert!(stored.access_token.is_none());
    assert_eq!(stored.refresh_token.unwrap().token.expose_secret(), "rt");
}

#[tokio::test]
async fn invalidate_with_force_cascades_from_the_refresh_token() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    s.seed("web", Some(("at", 3600)), Some("rt")).await;
    let mut revoker = MockTokenRevoker::new();
    revoker
        .expect_invalidate()
        .withf(|r| {
            r.cascading && matches!(&r.token, AnyToken::Refresh(t) if t.expose_secret() == "rt")
        })
        .times(1)
        .returning(|_| Ok(()));
    s.provider_with(revoker)
        .invalidate(&name("web"), true)
        .await
        .unwrap();
    let stored = s.cache.load(&name("web")).await.unwrap();
    assert!(stored.access_token.is_none() && stored.refresh_token.is_none());
}

#[tokio::test]
async fn invalidate_keeps_tokens_when_ims_is_unreachable() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    s.seed("web", Some(("at", 3600)), Some("rt")).await;
    let mut revoker = MockTokenRevoker::new();
    revoker.expect_invalidate().times(1).returning(|_| {
        Err(Error::Unavailable {
            detail: "down".into(),
            retry_after: None,
        })
    });
    assert!(
        s.provider_with(revoker)
            .invalidate(&name("web"), true)
            .await
            .is_err()
    );
    assert!(
        s.cache
            .load(&name("web"))
            .await
            .unwrap()
            .refresh_token
            .is_some()
    );
}

#[tokio::test]
async fn an_oauth_user_without_refresh_token_must_log_in() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    let err = s.provider().get_token(&name("web")).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)));
    assert!(err.to_string().contains("ims login --context web"), "{err}");
    assert_eq!(s.grants.calls(), 0);

    let err = s.provider().get_token(&name("nowhere")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("context \"nowhere\" is not configured"),
        "{err}"
    );
}

#[tokio::test]
async fn a_signed_in_response_is_stored_and_then_refreshed_silently() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    let provider = s.provider();
    let response = TokenResponse::new(
        AccessToken::new("signed-in"),
        Duration::from_secs(24 * 3600),
    )
    .with_refresh_token(RefreshToken::new("rt-signed-in"));
    let access = provider
        .store_response(&name("web"), response)
        .await
        .unwrap();
    assert_eq!(access.token.expose_secret(), "signed-in");
    assert_eq!(access.expires_at, s.in_secs(24 * 3600));
    let stored = s.cache.load(&name("web")).await.unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().token.expose_secret(),
        "rt-signed-in"
    );
    // The stored access token is used as is ...
    let token = provider.get_token(&name("web")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "signed-in");
    assert_eq!(s.grants.calls(), 0);
    // ... and once it is near its end, the refresh token renews it.
    s.clock.advance(Duration::from_secs(24 * 3600 - 60));
    let token = provider.get_token(&name("web")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "refreshed-0");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_signed_in_response_that_cannot_be_stored_is_an_error() {
    struct FailingCache;
    #[async_trait]
    impl TokenCache for FailingCache {
        async fn load(&self, _: &ContextName) -> Result<ContextTokens, Error> {
            Ok(ContextTokens::default())
        }
        async fn store(&self, _: &ContextName, _: &ContextTokens) -> Result<(), Error> {
            Err(Error::Storage {
                message: "read-only".into(),
                source: None,
            })
        }
        async fn clear(&self, _: &ContextName) -> Result<(), Error> {
            Ok(())
        }
        async fn try_lease(&self, _: &ContextName, _: &str, _: Duration) -> Result<bool, Error> {
            Ok(true)
        }
        async fn release_lease(&self, _: &ContextName, _: &str) -> Result<(), Error> {
            Ok(())
        }
    }
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    let provider = ContextTokenProvider::new(
        s.contexts.clone(),
        Arc::new(FailingCache),
        s.grants.clone(),
        Arc::new(MockTokenRevoker::new()),
        s.clock.clone(),
        ProviderConfig::default(),
    );
    let response = TokenResponse::new(AccessToken::new("t"), Duration::from_secs(3600));
    let err = provider
        .store_response(&name("web"), response)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err}");
}

#[tokio::test]
async fn short_lived_tokens_are_returned_but_not_stored() {
    let mut grants = FakeGrants::new();
    grants.expires_in = Duration::from_secs(5 * 60);
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    let provider = s.provider();
    let first = provider.get_token(&name("svc")).await.unwrap();
    assert_eq!(first.expires_at, s.in_secs(300));
    assert!(
        s.cache
            .load(&name("svc"))
            .await
            .unwrap()
            .access_token
            .is_none()
    );
    provider.get_token(&name("svc")).await.unwrap();
    assert_eq!(s.grants.calls(), 2);
}

#[tokio::test]
async fn jwt_contexts_read_the_key_file_and_expiry_comes_from_claims() {
    struct JwtGrants(FakeGrants);
    #[async_trait]
    impl TokenGrants for JwtGrants {
        async fn exchange_code(&self, c: &ims_api::CodeExchange) -> Result<TokenResponse, Error> {
            self.0.exchange_code(c).await
        }
        async fn refresh(&self, r: &RefreshRequest) -> Result<TokenResponse, Error> {
            self.0.refresh(r).await
        }
        async fn client_credentials(&self, r: &ServerToServer) -> Result<TokenResponse, Error> {
            self.0.client_credentials(r).await
        }
        async fn exchange_jwt(&self, a: &JwtServiceAccount) -> Result<TokenResponse, Error> {
            self.0.exchange_jwt(a).await?;
            // A JWT whose claims say it lives 2 hours, whatever expires_in says.
            let created = to_unix_millis(START);
            Ok(TokenResponse::new(
                AccessToken::new(expiry::fake_jwt(created, 2 * 3600 * 1000)),
                Duration::from_secs(24 * 3600),
            ))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("private.key");
    std::fs::write(
        &key_path,
        "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let s = Setup::new(FakeGrants::new());
    let jwt = JwtContext::new(
        ClientId::parse("jwt-client").unwrap(),
        ClientSecret::new("first-secret"),
        "tech@techacct.adobe.com",
        OrgId::parse("0123456789ABCDEF01234567").unwrap(),
        vec!["ent_dataservices_sdk".into()],
        PrivateKeySource::File(key_path),
    );
    s.add(ImsContext::new(name("jwt"), ContextCredentials::Jwt(jwt)));
    let grants = Arc::new(JwtGrants(FakeGrants::new()));
    let provider = ContextTokenProvider::new(
        s.contexts.clone(),
        s.cache.clone(),
        grants.clone(),
        Arc::new(MockTokenRevoker::new()),
        s.clock.clone(),
        ProviderConfig::default(),
    );
    let token = provider.get_token(&name("jwt")).await.unwrap();
    assert_eq!(token.expires_at, s.in_secs(2 * 3600));
    assert_eq!(grants.0.jwt_calls.load(Ordering::SeqCst), 1);
    assert!(
        grants
            .0
            .jwt_key
            .lock()
            .unwrap()
            .as_deref()
            .unwrap()
            .contains("abc")
    );

    // A missing key file is a clear error naming the context.
    let jwt = JwtContext::new(
        ClientId::parse("jwt-client").unwrap(),
        ClientSecret::new("first-secret"),
        "tech@techacct.adobe.com",
        OrgId::parse("0123456789ABCDEF01234567").unwrap(),
        vec!["x".into()],
        PrivateKeySource::File(dir.path().join("missing.key")),
    );
    s.add(ImsContext::new(name("nokey"), ContextCredentials::Jwt(jwt)));
    let err = provider.get_token(&name("nokey")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("context \"nokey\": cannot read the private_key file"),
        "{err}"
    );
}

#[tokio::test]
async fn debug_shows_no_secrets() {
    let s = Setup::new(FakeGrants::new());
    s.add(s2s_context("svc"));
    s.seed(
        "svc",
        Some(("secret-access-token", 3600)),
        Some("secret-refresh"),
    )
    .await;
    let provider = s.provider();
    provider.get_token(&name("svc")).await.unwrap();
    let shown = format!("{provider:?} {:?} {:?}", provider.config(), s.cache);
    assert!(!shown.contains("secret"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_waits_for_a_running_flight() {
    // The per-context lock orders writes after a flight: an invalidation
    // that starts while a token is being obtained ends that very token,
    // rather than racing the flight and leaving its token stored.
    let mut grants = FakeGrants::new();
    grants.delay = Duration::from_millis(100);
    let s = Setup::new(grants);
    s.add(s2s_context("svc"));
    let mut revoker = MockTokenRevoker::new();
    revoker
        .expect_invalidate()
        .withf(|r| matches!(&r.token, AnyToken::Access(t) if t.expose_secret() == "s2s-0"))
        .times(1)
        .returning(|_| Ok(()));
    let provider = Arc::new(s.provider_with(revoker));
    let flight = {
        let provider = provider.clone();
        tokio::spawn(async move { provider.get_token(&name("svc")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    provider.invalidate(&name("svc"), false).await.unwrap();
    let token = flight.await.unwrap().unwrap();
    assert_eq!(token.token.expose_secret(), "s2s-0");
    let stored = s.cache.load(&name("svc")).await.unwrap();
    assert!(
        stored.access_token.is_none(),
        "the flight's token outlived the invalidation"
    );
    assert_eq!(s.grants.calls(), 1);
}

fn cli_context(n: &str, scopes: &str) -> ImsContext {
    let mut c = ims_api::CliContext::new(ClientId::parse("aio-cli-console-auth").unwrap());
    c.scopes = Scopes::parse(scopes);
    ImsContext::new(name(n), ContextCredentials::Cli(c))
}

#[tokio::test]
async fn a_refresh_sends_the_contexts_scope_and_its_client() {
    let s = Setup::new(FakeGrants::new());
    s.add(cli_context("cli", "openid,AdobeID"));
    s.seed("cli", None, Some("rt-cli")).await;
    let token = s.provider().get_token(&name("cli")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "refreshed-0");
    assert_eq!(
        s.grants.last_refresh.lock().unwrap().clone().unwrap(),
        (
            "aio-cli-console-auth".to_owned(),
            String::new(),
            "openid,AdobeID".to_owned()
        )
    );
    s.add(user_context("web"));
    s.seed("web", None, Some("rt-web")).await;
    s.provider().get_token(&name("web")).await.unwrap();
    let (client, _, scope) = s.grants.last_refresh.lock().unwrap().clone().unwrap();
    assert_eq!((client.as_str(), scope.as_str()), ("web", "openid"));
}

#[tokio::test]
async fn a_refresh_token_with_ten_minutes_or_less_left_is_not_used() {
    let s = Setup::new(FakeGrants::new());
    // A cli context with such a refresh token must sign in again.
    s.add(cli_context("cli", ""));
    s.seed_refresh_for("cli", None, Some("rt-short"), 10 * 60)
        .await;
    let err = s.provider().get_token(&name("cli")).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err}");
    assert!(err.to_string().contains("ims login --context cli"), "{err}");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 0);
    // ... and it is dropped.
    assert!(
        s.cache
            .load(&name("cli"))
            .await
            .unwrap()
            .refresh_token
            .is_none()
    );
    // A service context gets a new token from its flow instead.
    s.add(s2s_context("svc"));
    s.seed_refresh_for("svc", None, Some("rt-short"), 9 * 60)
        .await;
    let token = s.provider().get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "s2s-0");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 0);
    // With eleven minutes left it is used.
    s.seed_refresh_for("cli", None, Some("rt-long"), 11 * 60)
        .await;
    s.provider().get_token(&name("cli")).await.unwrap();
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 1);
}

/// A verifier that refuses the tokens it is told to, and may be down.
struct FakeVerifier {
    refuse: &'static str,
    down: bool,
    calls: AtomicUsize,
}

#[async_trait]
impl TokenVerifier for FakeVerifier {
    async fn verify(&self, token: &AccessToken) -> Result<ims_api::VerifiedToken, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(Error::Unavailable {
                detail: "keys unreachable".into(),
                retry_after: None,
            });
        }
        if token.expose_secret() == self.refuse {
            return Err(Error::InvalidToken(ims_api::TokenRejection::BadSignature));
        }
        let claims: ims_api::TokenClaims = serde_json::from_value(serde_json::json!({
            "type": "access_token", "created_at": "0", "expires_in": "1"
        }))
        .unwrap();
        Ok(ims_api::VerifiedToken::new(claims, "k1".to_owned()))
    }
}

fn verifying(s: &Setup, verifier: FakeVerifier) -> (ContextTokenProvider, Arc<FakeVerifier>) {
    let verifier = Arc::new(verifier);
    let provider = s.provider().with_verifier(verifier.clone());
    (provider, verifier)
}

#[tokio::test]
async fn a_cached_token_that_fails_local_verification_is_replaced() {
    let s = Setup::new(FakeGrants::new());
    s.add(user_context("web"));
    s.seed("web", Some(("forged", 3600)), Some("rt")).await;
    let (provider, verifier) = verifying(
        &s,
        FakeVerifier {
            refuse: "forged",
            down: false,
            calls: AtomicUsize::new(0),
        },
    );
    let token = provider.get_token(&name("web")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "refreshed-0");
    assert_eq!(s.grants.refresh_calls.load(Ordering::SeqCst), 1);
    let stored = s.cache.load(&name("web")).await.unwrap();
    assert_eq!(
        stored.access_token.unwrap().token.expose_secret(),
        "refreshed-0"
    );
    // The new token passes and is served from the cache.
    let again = provider.get_token(&name("web")).await.unwrap();
    assert_eq!(again.token.expose_secret(), "refreshed-0");
    assert_eq!(s.grants.calls(), 1);
    assert!(verifier.calls.load(Ordering::SeqCst) >= 2);

    // A service context gets a new grant.
    s.add(s2s_context("svc"));
    s.seed("svc", Some(("forged", 3600)), None).await;
    let token = provider.get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "s2s-1");
}

#[tokio::test]
async fn verification_can_be_off_and_an_unreachable_key_set_keeps_the_token() {
    let s = Setup::new(FakeGrants::new());
    s.add(s2s_context("svc"));
    s.seed("svc", Some(("cached", 3600)), None).await;
    let (provider, verifier) = verifying(
        &s,
        FakeVerifier {
            refuse: "",
            down: true,
            calls: AtomicUsize::new(0),
        },
    );
    let token = provider.get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "cached");
    assert_eq!(verifier.calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.grants.calls(), 0);

    let off = ContextTokenProvider::new(
        s.contexts.clone(),
        s.cache.clone(),
        s.grants.clone(),
        Arc::new(MockTokenRevoker::new()),
        s.clock.clone(),
        ProviderConfig::default().with_verify_cached(false),
    )
    .with_verifier(Arc::new(FakeVerifier {
        refuse: "cached",
        down: false,
        calls: AtomicUsize::new(0),
    }));
    let token = off.get_token(&name("svc")).await.unwrap();
    assert_eq!(token.token.expose_secret(), "cached");
    assert_eq!(s.grants.calls(), 0);
}
