//! Single flight of `ContextTokenProvider::get_token`: N concurrent callers
//! (default 1000) ask for the token of a context whose cached token has
//! expired; the emulator counts the IMS requests (the target is exactly one).
//! The context lives in aio's files (`FileTokenCache`), as `ims` and aio keep
//! it.
//!
//! `cargo run --release -p ims-core --example token_flight [-- N]`
//!
//! Prints one JSON line: `{"callers":N,"ok":…,"distinct_tokens":…,
//! "token_requests":…,"ims_requests":{…},"ims_total":…,"key_requests":…,
//! "wall_ms":…}`; `ims_total` leaves out the key-set fetches
//! (`key_requests`) that verify cached tokens.
//! No token is printed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ims_api::{
    AccessToken, ContextName, ContextTokens, ExpiringToken, ImsEnvironment, SystemClock,
    TokenCache as _, TokenProvider as _,
};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache, HttpPolicy,
    ImsClients, ProviderConfig,
};
use ims_emulator::{Emulator, default_seed as seed};
use time::OffsetDateTime;
use tokio::sync::Barrier;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1000,
    };
    let ims = Emulator::builder().start().await?;
    let dir = tempfile::tempdir()?;
    let config = serde_json::json!({
        "ims": { "contexts": {
            "svc": {
                "ims_url": ims.base(),
                "client_id": seed::S2S_CLIENT_ID,
                "client_secrets": [seed::S2S_CLIENT_SECRET],
                "scopes": ["openid", "AdobeID"],
                "ims_org_id": seed::ORG_ID,
            },
        }}
    });
    std::fs::write(dir.path().join("aio"), config.to_string())?;
    let aio = AioConfig::with_env(
        ConfigPaths::new(dir.path().join("aio")).with_local(dir.path().join(".aio")),
        Vec::<(String, String)>::new(),
    );
    let cache = Arc::new(FileTokenCache::new(aio.clone()));
    let svc = ContextName::parse("svc")?;
    // An expired token in the context, as a day-old run would leave it.
    cache
        .store(
            &svc,
            &ContextTokens {
                access_token: Some(ExpiringToken::new(
                    AccessToken::new("expired-placeholder"),
                    OffsetDateTime::now_utc() - Duration::from_secs(3600),
                )),
                refresh_token: None,
            },
        )
        .await?;
    let provider = Arc::new(ContextTokenProvider::with_clients(
        Arc::new(AioContextStore::new(aio)),
        cache,
        // The default (prod) is never used: the context names the emulator.
        ImsClients::new(ImsEnvironment::Prod, HttpPolicy::default()),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    ));
    ims.reset_stats();

    let barrier = Arc::new(Barrier::new(n + 1));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (provider, barrier, svc) = (provider.clone(), barrier.clone(), svc.clone());
        callers.spawn(async move {
            barrier.wait().await;
            provider.get_token(&svc).await
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut ok = 0usize;
    let mut tokens = HashSet::new();
    while let Some(result) = callers.join_next().await {
        if let Ok(token) = result? {
            ok += 1;
            tokens.insert(token.token.expose_secret().to_owned());
        }
    }
    let wall = started.elapsed();

    let stats = ims.stats();
    println!(
        "{}",
        serde_json::json!({
            "callers": n,
            "ok": ok,
            "distinct_tokens": tokens.len(),
            "token_requests": stats.count("POST /ims/token/v3"),
            "ims_requests": stats.requests,
            "ims_total": stats.total - stats.count("GET /ims/keys"),
            "key_requests": stats.count("GET /ims/keys"),
            "wall_ms": wall.as_secs_f64() * 1000.0,
        })
    );
    Ok(())
}
