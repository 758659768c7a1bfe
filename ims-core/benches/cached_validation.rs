//! Benchmark: one `validate` on a warm `CachedValidator` (the token's verdict
//! is cached): hashing the key and a cache hit.
//!
//! `cargo bench -p ims-core --bench cached_validation -- --quick`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use ims_api::{AccessToken, ClientId, ImsEnvironment, TokenValidator, TokenValidity};
use ims_core::{CachedValidator, ValidationCacheConfig};
use time::OffsetDateTime;

/// Stands in for IMS: every token is valid for a day.
struct AlwaysValid;

#[async_trait]
impl TokenValidator for AlwaysValid {
    async fn validate(
        &self,
        _token: &AccessToken,
        _client_id: &ClientId,
    ) -> ims_api::Result<TokenValidity> {
        Ok(TokenValidity::Valid {
            expires_at: OffsetDateTime::now_utc() + time::Duration::days(1),
            claims: None,
        })
    }
}

fn cached_validation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cache = CachedValidator::new(
        Arc::new(AlwaysValid),
        &ImsEnvironment::Prod,
        ValidationCacheConfig::default(),
    );
    // About the size of a real IMS access token.
    let token = AccessToken::new(format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", "x".repeat(1200)));
    let client = ClientId::parse("my_client").unwrap();
    runtime.block_on(async {
        assert!(cache.validate(&token, &client).await.unwrap().is_valid());
    });
    c.bench_function("cached validation", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(cache.validate(&token, &client).await.unwrap()) });
    });
}

criterion_group!(benches, cached_validation);
criterion_main!(benches);
