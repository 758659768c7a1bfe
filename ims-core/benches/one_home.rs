//! Benchmark: the workspace's one cache crate and one SHA-256 (issue #16).
//!
//! - `cache/hit`: a read of a present key (`TokenHash`-sized key, a small
//!   verdict as value) in quick_cache's `sync::Cache`.
//! - `cache/coalesced_miss`: 64 tasks ask for one missing key at once and
//!   share one load (quick_cache's `get_or_insert_async` guard); the load
//!   yields once, so every task waits on the flight.
//! - `sha256/32B` and `sha256/1KiB`: `aws_lc_rs::digest`.
//!
//! The choice was measured against the alternatives (moka, sha2) with this
//! bench as it stood when both were still dependencies: see BENCHMARKS.md,
//! "One home: cache crate and SHA-256".
//!
//! `cargo bench -p ims-core --bench one_home -- --quick`

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const WAITERS: usize = 64;

#[derive(Clone)]
struct Value {
    _expires: std::time::Instant,
    _valid: bool,
}

fn value() -> Value {
    Value {
        _expires: std::time::Instant::now(),
        _valid: true,
    }
}

fn caches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = "a".repeat(64);
    let mut group = c.benchmark_group("cache");

    let quick: quick_cache::sync::Cache<String, Value> = quick_cache::sync::Cache::new(10_000);
    quick.insert(key.clone(), value());

    group.bench_function(BenchmarkId::new("hit", "quick_cache"), |b| {
        b.iter(|| black_box(quick.get(&key).is_some()));
    });

    // Each iteration: a fresh key, WAITERS concurrent tasks, one load.
    let next = Arc::new(AtomicU64::new(0));
    let loads = Arc::new(AtomicU64::new(0));
    let quick = Arc::new(quick);
    group.bench_function(BenchmarkId::new("coalesced_miss", "quick_cache"), |b| {
        b.to_async(&runtime).iter(|| {
            let cache = Arc::clone(&quick);
            let loads = Arc::clone(&loads);
            let key = format!("q{}", next.fetch_add(1, Ordering::Relaxed));
            async move {
                let mut tasks = Vec::with_capacity(WAITERS);
                for _ in 0..WAITERS {
                    let cache = Arc::clone(&cache);
                    let loads = Arc::clone(&loads);
                    let key = key.clone();
                    tasks.push(tokio::spawn(async move {
                        cache
                            .get_or_insert_async(&key, async {
                                loads.fetch_add(1, Ordering::Relaxed);
                                tokio::task::yield_now().await;
                                Ok::<_, ()>(value())
                            })
                            .await
                            .is_ok()
                    }));
                }
                for task in tasks {
                    black_box(task.await.unwrap());
                }
            }
        });
    });
    let quick_iterations = next.load(Ordering::Relaxed);
    let quick_loads = loads.load(Ordering::Relaxed);
    group.finish();
    // Coalescing is the point: one load per key.
    eprintln!("coalesced_miss loads per key: quick_cache {quick_loads}/{quick_iterations}");
}

fn sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for (name, len) in [("32B", 32usize), ("1KiB", 1024)] {
        let input = vec![0x5a_u8; len];
        group.bench_with_input(BenchmarkId::new("aws-lc-rs", name), &input, |b, input| {
            b.iter(|| {
                black_box(aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    black_box(input),
                ))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, caches, sha256);
criterion_main!(benches);
