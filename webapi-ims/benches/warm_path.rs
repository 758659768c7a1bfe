//! The Web API warm path in-process: what the layer adds to a request whose
//! token is known, without the network (so its share looks larger than under
//! load over HTTP, which `cargo xtask bench` measures).
//!
//! The `fingerprint` group compares the candidates for the in-memory caches'
//! key on a token of the size IMS issues: SHA-256 (the record's key), the
//! AES-128-GCM-SIV tag (the key before) and the GMAC tag (the key now).
//!
//! What metrics cost the warm path is measured by the `metrics_cost`
//! example (interleaved rounds, a ratio) and by `warm_path_instructions`'s
//! `layer_metrics` mode (instructions).
//!
//! `cargo bench -p webapi-ims --features axum --bench warm_path`
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;
mod warm;

use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use warm::{me, plain, token};
use webapi_ims::axum::ImsAuthLayer;

fn warm_path(c: &mut Criterion) {
    let warm::Warm {
        rt,
        harness,
        header,
    } = warm::warmed();
    let auth = harness.auth.clone();
    let mut group = c.benchmark_group("warm_path");
    group.bench_function("authenticate", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(auth.authenticate(&[header.as_bytes()]).await.unwrap()) });
    });

    let bare: Router = Router::new().route("/rest/V1/me", get(plain));
    let protected: Router = Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(Arc::clone(&auth)));
    for (name, router) in [("router_bare", bare), ("router_with_layer", protected)] {
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(warm::get_me(&router, &header).await) });
        });
    }
    group.finish();
}

fn fingerprint(c: &mut Criterion) {
    use aws_lc_rs::aead::{AES_128_GCM, AES_128_GCM_SIV, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::digest;

    let token = token();
    let key = |algorithm| LessSafeKey::new(UnboundKey::new(algorithm, &[7; 16]).unwrap());
    let tag = |key: &LessSafeKey| {
        let nonce = Nonce::assume_unique_for_key([0; 12]);
        key.seal_in_place_separate_tag(nonce, Aad::from(black_box(token.as_bytes())), &mut [])
            .unwrap()
    };
    let (siv, gcm) = (key(&AES_128_GCM_SIV), key(&AES_128_GCM));
    let mut group = c.benchmark_group("fingerprint");
    group.bench_function("sha256", |b| {
        b.iter(|| digest::digest(&digest::SHA256, black_box(token.as_bytes())));
    });
    group.bench_function("gcm_siv_tag", |b| b.iter(|| tag(&siv)));
    group.bench_function("gmac_tag", |b| b.iter(|| tag(&gcm)));
    group.finish();
}

criterion_group!(benches, warm_path, fingerprint);
criterion_main!(benches);
