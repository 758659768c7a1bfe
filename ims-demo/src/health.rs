//! The operator's endpoints, outside the admin session and the Web API
//! layer: `GET /healthz` (the process answers), `GET /readyz` (the
//! database answers, and IMS is reachable or the Web API's verifier holds
//! IMS's key set; the probe's result is kept for
//! [`READY_CACHE`], so a busy prober costs one probe per period) and
//! `GET /metrics` (the Prometheus text of every `ims_*` metric).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ims_api::{ImsProbe as _, ImsSettingsStore as _};
use ims_core::{ImsClient, LocalVerifier};
use ims_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Mutex;
use url::Url;

/// How long a readiness verdict is answered without probing again.
pub(crate) const READY_CACHE: Duration = Duration::from_secs(2);
/// How long the database and IMS each have to answer the readiness probe.
pub(crate) const READY_DEADLINE: Duration = Duration::from_secs(2);

/// Whether the process is 1 (ready) or 0 (not ready) at its last probe.
pub(crate) const READY_GAUGE: &str = "ims_demo_ready";

/// What the operator's endpoints read.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    ims: Arc<ImsClient>,
    /// The Web API's verifier: while it holds IMS's keys, known tokens
    /// verify through an IMS outage.
    verifier: Arc<LocalVerifier>,
    /// IMS's key set: what the Web API's verifier needs, answered by any
    /// IMS that is up.
    keys_url: Url,
    metrics: Option<PrometheusHandle>,
    /// The last verdict and when it was made; the lock makes concurrent
    /// probers wait for one probe instead of each starting their own.
    last: Mutex<Option<(Instant, Verdict)>>,
}

/// A readiness verdict: what is not ready (empty when ready), and what is
/// degraded without making the instance unready.
#[derive(Debug, Clone)]
struct Verdict {
    reasons: Vec<&'static str>,
    degraded: Vec<&'static str>,
}

/// Why an instance is not ready: IMS does not answer and the verifier holds
/// no key, so no token can be verified.
const IMS_UNREACHABLE: &str = "IMS unreachable and no key set loaded";
/// What a ready instance reports while IMS does not answer but its verifier
/// holds IMS's keys.
const IMS_DEGRADED: &str = "IMS unreachable: tokens already known are served with \
     the loaded key set; sign-ins and new tokens wait for IMS";

impl Health {
    pub(crate) fn new(
        store: Store,
        ims: Arc<ImsClient>,
        verifier: Arc<LocalVerifier>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        let keys_url = ims.environment().endpoint("/ims/keys");
        ::metrics::describe_gauge!(
            READY_GAUGE,
            "1 when the last readiness probe passed, else 0"
        );
        Health {
            inner: Arc::new(Inner {
                store,
                ims,
                verifier,
                keys_url,
                metrics,
                last: Mutex::new(None),
            }),
        }
    }

    /// The three routes, with their state: merge them outside every layer
    /// that needs a session or a token.
    pub(crate) fn routes(self) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(render_metrics))
            .with_state(self)
    }

    async fn verdict(&self) -> Verdict {
        let mut last = self.inner.last.lock().await;
        if let Some((at, verdict)) = last.as_ref()
            && at.elapsed() < READY_CACHE
        {
            return verdict.clone();
        }
        let (database, ims) = tokio::join!(self.database_answers(), self.ims_reachable());
        let mut verdict = Verdict {
            reasons: Vec::new(),
            degraded: Vec::new(),
        };
        if !database {
            verdict.reasons.push("database unavailable");
        }
        if !ims {
            // Asked after the probe: a token verified meanwhile counts.
            if self.inner.verifier.holds_keys() {
                verdict.degraded.push(IMS_DEGRADED);
            } else {
                verdict.reasons.push(IMS_UNREACHABLE);
            }
        }
        let ready = verdict.reasons.is_empty();
        ::metrics::gauge!(READY_GAUGE).set(if ready { 1.0 } else { 0.0 });
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }

    async fn database_answers(&self) -> bool {
        let settings = self.inner.store.settings();
        match tokio::time::timeout(READY_DEADLINE, settings.load()).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!("readiness: the database failed: {e}");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: the database did not answer in time");
                false
            }
        }
    }

    async fn ims_reachable(&self) -> bool {
        let probe = self.inner.ims.get_without_redirects(&self.inner.keys_url);
        match tokio::time::timeout(READY_DEADLINE, probe).await {
            // Any answer but an outage: IMS is there.
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!("readiness: IMS is unavailable: {e}");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: IMS did not answer in time");
                false
            }
        }
    }
}

/// The process is alive.
async fn healthz() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "status": "alive" })),
    )
        .into_response()
}

/// 200 when ready (with what is degraded, if anything), else 503 with
/// what is not.
async fn readyz(State(health): State<Health>) -> Response {
    let verdict = health.verdict().await;
    let (status, body) = if !verdict.reasons.is_empty() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "not ready", "reasons": verdict.reasons }),
        )
    } else if verdict.degraded.is_empty() {
        (StatusCode::OK, serde_json::json!({ "status": "ready" }))
    } else {
        (
            StatusCode::OK,
            serde_json::json!({ "status": "ready", "degraded": verdict.degraded }),
        )
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// The Prometheus text exposition of every metric.
async fn render_metrics(State(health): State<Health>) -> Response {
    let Some(handle) = &health.inner.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Without the exporter's own listener, its upkeep (draining histograms'
    // buffers) is ours: once per scrape.
    handle.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
        .into_response()
}
