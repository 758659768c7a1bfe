//! Benchmark: `LocalVerifier::verify` of an IMS-shaped RS256 token with the
//! keys already cached (no request): header, signature, claims. The verifier
//! caches no verdict, so every call does the whole work; tokens are signed
//! beforehand and used in turn so that signing is not measured.
//!
//! `cargo bench -p ims-core --bench local_verification -- --quick`

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ims_api::{AccessToken, ImsEnvironment, TokenVerifier};
use ims_core::{LocalVerifier, VerifierConfig};
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn uncached_local_verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let key = support::TestKey::new("k1", support::K1_PEM);
    let (_server, verifier) = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ims/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(support::jwks(&[&key])))
            .mount(&server)
            .await;
        let env = ImsEnvironment::custom(&server.uri()).unwrap();
        let verifier = LocalVerifier::new(env, VerifierConfig::default()).unwrap();
        (server, verifier)
    });
    let tokens: Vec<AccessToken> = (0..64)
        .map(|i| {
            let mut claims = support::access_claims(OffsetDateTime::now_utc());
            claims["id"] = serde_json::json!(format!("token-{i}"));
            AccessToken::new(key.token(&claims))
        })
        .collect();
    // Loads the keys once.
    runtime.block_on(async { verifier.verify(&tokens[0]).await.unwrap() });
    let mut next = 0;
    c.bench_function("uncached local verification", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % tokens.len();
            let token = &tokens[next];
            let verifier = &verifier;
            async move { black_box(verifier.verify(token).await.unwrap()) }
        });
    });
}

criterion_group!(benches, uncached_local_verification);
criterion_main!(benches);
