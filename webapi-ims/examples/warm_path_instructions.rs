//! The Web API warm path as a loop, for counting instructions with
//! callgrind, which timing noise cannot move:
//!
//! ```text
//! cargo build --release -p webapi-ims --features axum --example warm_path_instructions
//! valgrind --tool=callgrind --toggle-collect='*warm_path_instructions::requests*' \
//!     target/release/examples/warm_path_instructions layer 20000
//! ```
//!
//! Modes: `bare` (the endpoint without the layer), `layer` (behind
//! `ImsAuthLayer`, token known), `layer_metrics` (the same with a
//! Prometheus recorder installed first, so the warm path's counter is
//! real), `extractor` (no layer: the handler's `BearerAdmin` authenticates,
//! the authenticator in the router's state), `authenticate` (the
//! authenticator alone), and two references for
//! what axum itself costs: `noop` (a route layer that does nothing) and
//! `extension` (axum's `map_request` handing the handler a value of
//! `Authenticated`'s size through the extensions).
//! Run each with two iteration counts: the difference of the totals divided
//! by the difference of the counts is the cost of one request.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../benches/warm/mod.rs"]
mod warm;

use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use warm::{me, plain};
use webapi_ims::axum::ImsAuthLayer;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "layer".into());
    let iterations: usize = args.next().map_or(10_000, |n| n.parse().unwrap());
    if mode == "layer_metrics" {
        // Before the authenticator is built: it registers its counters then.
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .unwrap();
    }
    let warm::Warm {
        rt,
        harness,
        header,
    } = warm::warmed();
    let auth = harness.auth.clone();
    let router: Router = match mode.as_str() {
        "bare" | "authenticate" => Router::new().route("/rest/V1/me", get(plain)),
        "layer" | "layer_metrics" => Router::new()
            .route("/rest/V1/me", get(me))
            .route_layer(ImsAuthLayer::new(Arc::clone(&auth))),
        "extractor" => Router::new()
            .route("/rest/V1/me", get(warm::bearer))
            .with_state(Arc::clone(&auth)),
        // References for the layer's count: axum's own cost of one more
        // route layer (`noop`, a layer that adds nothing), and of that plus
        // handing handlers a value through the extensions (`extension`).
        "noop" => Router::new()
            .route("/rest/V1/me", get(plain))
            .route_layer(tower::layer::util::Identity::new()),
        "extension" => Router::new()
            .route("/rest/V1/me", get(warm::from_extension))
            .route_layer(axum::middleware::map_request(warm::insert_extension)),
        other => panic!(
            "unknown mode {other:?}: bare, noop, extension, layer, layer_metrics, extractor or authenticate"
        ),
    };
    requests(&rt, &mode, iterations, &auth, &router, &header);
}

/// The measured loop. `cargo xtask bench` counts only what runs inside it
/// (`--toggle-collect=*warm_path_instructions::requests*`): start-up is not
/// repeatable to the instruction (aws-lc's jitter entropy source loops as
/// long as the timing it samples says).
#[inline(never)]
fn requests(
    rt: &tokio::runtime::Runtime,
    mode: &str,
    iterations: usize,
    auth: &webapi_ims::WebApiAuthenticator,
    router: &Router,
    header: &str,
) {
    rt.block_on(async {
        for _ in 0..iterations {
            if mode == "authenticate" {
                black_box(auth.authenticate(&[header.as_bytes()]).await.unwrap());
                continue;
            }
            black_box(warm::get_me(router, header).await);
        }
    });
}
