//! The provider over aio's files end to end: contexts from the files, tokens
//! stored where aio stores them, leases in files shared by two providers.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use ims_api::mock::MockTokenRevoker;
use ims_api::{
    AccessToken, CodeExchange, ContextName, Error, JwtServiceAccount, RefreshRequest,
    ServerToServer, SystemClock, TokenGrants, TokenProvider, TokenResponse,
};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache, ProviderConfig,
};

#[derive(Default)]
struct SlowGrants(AtomicUsize);

#[async_trait]
impl TokenGrants for SlowGrants {
    async fn exchange_code(&self, _: &CodeExchange) -> Result<TokenResponse, Error> {
        unreachable!()
    }
    async fn refresh(&self, _: &RefreshRequest) -> Result<TokenResponse, Error> {
        unreachable!()
    }
    async fn client_credentials(&self, request: &ServerToServer) -> Result<TokenResponse, Error> {
        assert_eq!(request.client.client_id.as_str(), "file-client");
        assert_eq!(request.scopes.to_string(), "openid,AdobeID");
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(TokenResponse::new(
            AccessToken::new(format!("file-token-{n}")),
            Duration::from_secs(86_399),
        ))
    }
    async fn exchange_jwt(&self, _: &JwtServiceAccount) -> Result<TokenResponse, Error> {
        unreachable!()
    }
}

fn provider(dir: &std::path::Path, grants: Arc<SlowGrants>) -> ContextTokenProvider {
    let config = AioConfig::with_env(
        ConfigPaths::new(dir.join("aio")).with_local(dir.join(".aio")),
        Vec::<(String, String)>::new(),
    );
    ContextTokenProvider::new(
        Arc::new(AioContextStore::new(config.clone())),
        Arc::new(FileTokenCache::new(config)),
        grants,
        Arc::new(MockTokenRevoker::new()),
        Arc::new(SystemClock),
        ProviderConfig::default().with_poll_interval(Duration::from_millis(10)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_over_the_same_files_make_one_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".aio"),
        "{\n  ims: {\n    contexts: {\n      svc: {\n        client_id: file-client\n        client_secrets: [\"s\"]\n        scopes: [\"openid\", \"AdobeID\"]\n      }\n    }\n  }\n}\n",
    )
    .unwrap();
    let grants = Arc::new(SlowGrants::default());
    let a = provider(dir.path(), grants.clone());
    let b = provider(dir.path(), grants.clone());
    let svc = ContextName::parse("svc").unwrap();
    let (ta, tb) = tokio::join!(a.get_token(&svc), b.get_token(&svc));
    let (ta, tb) = (ta.unwrap(), tb.unwrap());
    assert_eq!(grants.0.load(Ordering::SeqCst), 1);
    assert_eq!(ta.token.expose_secret(), tb.token.expose_secret());

    // Stored in the local file that defines the context, in aio's form.
    let local: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(".aio")).unwrap()).unwrap();
    let stored = &local["ims"]["contexts"]["svc"]["access_token"];
    assert_eq!(stored["token"], "file-token-0");
    assert_eq!(
        stored["expiry"].as_i64().unwrap(),
        ims_api::to_unix_millis(ta.expires_at)
    );
    assert!(!dir.path().join("aio").exists());

    // A third provider (another process) reads it without calling IMS.
    let c = provider(dir.path(), grants.clone());
    assert_eq!(
        c.get_token(&svc).await.unwrap().token.expose_secret(),
        "file-token-0"
    );
    assert_eq!(grants.0.load(Ordering::SeqCst), 1);
}
