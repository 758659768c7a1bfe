//! `get_token` when the cached token is fresh: the path every API call of a
//! service takes. With the memory cache, and with aio's files (which are read
//! and parsed on every call, so that other processes' tokens are seen).

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ims_api::mock::{MockTokenGrants, MockTokenRevoker};
use ims_api::{
    AccessToken, ContextName, ContextTokens, ExpiringToken, SystemClock, TokenCache, TokenProvider,
};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache,
    MemoryTokenCache, ProviderConfig,
};

fn provider(config: &AioConfig, cache: Arc<dyn TokenCache>) -> ContextTokenProvider {
    ContextTokenProvider::new(
        Arc::new(AioContextStore::new(config.clone())),
        cache,
        // No expectations: a call to IMS would panic the bench.
        Arc::new(MockTokenGrants::new()),
        Arc::new(MockTokenRevoker::new()),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    )
}

fn cached_get_token(c: &mut Criterion) {
    // A current-thread runtime measures the path itself, not the hand-off
    // between the bench thread and a worker.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = AioConfig::with_env(
        ConfigPaths::new(dir.path().join("aio")).with_local(dir.path().join(".aio")),
        [
            ("AIO_IMS_CONTEXTS_SVC_CLIENT__ID", "bench-client"),
            (
                "AIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS",
                r#"["bench-secret"]"#,
            ),
            ("AIO_IMS_CONTEXTS_SVC_SCOPES", r#"["openid","AdobeID"]"#),
        ],
    );
    let svc = ContextName::parse("svc").expect("name");
    let tokens = ContextTokens {
        access_token: Some(ExpiringToken::new(
            AccessToken::new("a".repeat(1200)),
            time::OffsetDateTime::now_utc() + Duration::from_secs(24 * 3600),
        )),
        refresh_token: None,
    };

    let memory = Arc::new(MemoryTokenCache::new());
    let files = Arc::new(FileTokenCache::new(config.clone()));
    runtime.block_on(async {
        memory.store(&svc, &tokens).await.expect("store");
        files.store(&svc, &tokens).await.expect("store");
    });

    let mut group = c.benchmark_group("get_token_cached");
    let memory_provider = provider(&config, memory);
    group.bench_function("memory_cache", |b| {
        b.to_async(&runtime)
            .iter(|| async { memory_provider.get_token(&svc).await.expect("token") });
    });
    let file_provider = provider(&config, files);
    group.bench_function("file_cache", |b| {
        b.to_async(&runtime)
            .iter(|| async { file_provider.get_token(&svc).await.expect("token") });
    });
    group.finish();
}

criterion_group!(benches, cached_get_token);
criterion_main!(benches);
