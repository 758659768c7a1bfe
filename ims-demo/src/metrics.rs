//! The process's metrics: one Prometheus recorder installed for the whole
//! process (the libraries record through the `metrics` facade and install
//! none), rendered on request by `GET /metrics` — no HTTP listener of the
//! exporter's own, no push gateway.
//!
//! Install it before building the Web API's authenticator: that registers
//! its warm-path counters once, with the recorder in place then.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The buckets of every `_seconds` histogram: IMS calls take from a few
/// milliseconds (the emulator, a warm connection) to the transport's
/// deadline (30 s by default).
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process and describes every
/// metric of the libraries; the handle `GET /metrics` renders from. `None`
/// when another recorder was installed first (a host embedding the demo
/// with its own): the metrics then go to that recorder, and `/metrics`
/// answers 404.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            {
                Ok(builder) => builder,
                Err(e) => {
                    tracing::warn!("metrics: the histogram buckets were refused: {e}");
                    return None;
                }
            };
            match builder.install_recorder() {
                Ok(handle) => {
                    ims_core::metrics::describe();
                    webapi_ims::metrics::describe();
                    admin_ims::metrics::describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(
                        "metrics: a recorder is already installed ({e}); /metrics is off"
                    );
                    None
                }
            }
        })
        .clone()
}
