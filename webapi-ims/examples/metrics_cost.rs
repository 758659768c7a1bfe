//! The warm path's wall-clock cost of metrics, side by side in one
//! process: the same router and token, one authenticator built with a
//! Prometheus recorder (its counters real) and one without, timed in
//! interleaved rounds so that the machine's drift falls on both alike.
//!
//! ```text
//! cargo run --release -p webapi-ims --features axum --example metrics_cost -- 41 20000
//! ```
//!
//! Prints one line per round (`round <i> <ns/request off> <ns/request on>`)
//! and then `ratio <median> <first quartile> <third quartile>` of on over
//! off. `cargo xtask bench --only warm-path` runs it and reports the ratio.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../benches/warm/mod.rs"]
mod warm;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use webapi_ims::axum::ImsAuthLayer;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(41, |n| n.parse().unwrap());
    let per_round: u32 = args.next().map_or(20_000, |n| n.parse().unwrap());
    let off = warm::warmed();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let on = {
        // The authenticator registers its counters when it is built: with
        // this recorder, for this thread.
        let _recorder = metrics::set_default_local_recorder(&recorder);
        warm::warmed()
    };
    let router = |warm: &warm::Warm| -> Router {
        Router::new()
            .route("/rest/V1/me", get(warm::me))
            .route_layer(ImsAuthLayer::new(Arc::clone(&warm.harness.auth)))
    };
    let (off_router, on_router) = (router(&off), router(&on));
    // Warm-up: caches, allocator, branch predictors, for both.
    time(&off, &off_router, per_round);
    time(&on, &on_router, per_round);
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate which goes first.
        let (a, b) = if round % 2 == 0 {
            let a = time(&off, &off_router, per_round);
            (a, time(&on, &on_router, per_round))
        } else {
            let b = time(&on, &on_router, per_round);
            (time(&off, &off_router, per_round), b)
        };
        println!("round {round} {a:.1} {b:.1}");
        ratios.push(b / a);
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: usize| ratios[(ratios.len() - 1) * q / 4];
    println!("ratio {:.4} {:.4} {:.4}", at(2), at(1), at(3));
    // The recorder saw the "on" side's hot hits, and only those.
    let rendered = recorder.handle().render();
    assert!(
        rendered.contains(r#"ims_webapi_authentications_total{outcome="hot"}"#),
        "{rendered}"
    );
}

/// Nanoseconds per request over `n` warm requests through `router`.
fn time(warm: &warm::Warm, router: &Router, n: u32) -> f64 {
    let started = Instant::now();
    warm.rt.block_on(async {
        for _ in 0..n {
            black_box(warm::get_me(router, &warm.header).await);
        }
    });
    started.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}
