//! Every authentication is counted by its outcome, and every refusal by its
//! reason class, with the recorder installed when the authenticator was
//! built — and nothing secret in a label.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use support::{Harness, T0};
use webapi_ims::WebApiConfig;

fn count(rendered: &str, series: &str) -> u64 {
    rendered
        .lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0)
}

fn outcome(rendered: &str, outcome: &str) -> u64 {
    count(
        rendered,
        &format!("ims_webapi_authentications_total{{outcome=\"{outcome}\"}}"),
    )
}

// One thread: the recorder is this thread's (`set_default_local_recorder`).
#[tokio::test(flavor = "current_thread")]
async fn every_outcome_is_counted_once_per_request() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let config = WebApiConfig::default();
    let revalidate_after = config.revalidate_after;
    let h = Harness::new(config);
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(24));

    h.call("tok").await.unwrap();
    h.call("tok").await.unwrap();
    h.call("tok").await.unwrap();
    // Due for a check: asked again, accepted.
    h.clock.advance(revalidate_after + Duration::from_secs(1));
    h.call("tok").await.unwrap();
    // Due again while IMS is down: accepted within the grace.
    h.ims.set_down(true);
    h.clock.advance(revalidate_after + Duration::from_secs(1));
    assert!(h.call("tok").await.unwrap().degraded);
    // A new token while IMS is down: 503.
    h.ims
        .add("new", "jane@example.com", T0 + time::Duration::hours(24));
    assert_eq!(h.call("new").await.unwrap_err().status(), 503);
    h.ims.set_down(false);
    // Refusals: no header, a header that is no bearer token, an admin
    // that is not active.
    assert_eq!(h.auth.authenticate(&[]).await.unwrap_err().status(), 401);
    assert_eq!(
        h.auth
            .authenticate(&[b"Basic dXNlcjpwYXNz"])
            .await
            .unwrap_err()
            .status(),
        401
    );
    h.ims
        .add("idle", "idle@example.com", T0 + time::Duration::hours(24));
    assert_eq!(h.call("idle").await.unwrap_err().status(), 401);

    let rendered = handle.render();
    assert_eq!(outcome(&rendered, "first_sight"), 1, "{rendered}");
    assert_eq!(outcome(&rendered, "hot"), 2, "{rendered}");
    assert_eq!(outcome(&rendered, "recheck"), 1, "{rendered}");
    assert_eq!(outcome(&rendered, "degraded"), 1, "{rendered}");
    assert_eq!(outcome(&rendered, "unavailable"), 1, "{rendered}");
    assert_eq!(outcome(&rendered, "refused"), 3, "{rendered}");
    assert_eq!(
        count(&rendered, r#"ims_webapi_refusals_total{reason="missing"}"#),
        1,
        "{rendered}"
    );
    assert_eq!(
        count(
            &rendered,
            r#"ims_webapi_refusals_total{reason="unknown_user"}"#
        ),
        1,
        "{rendered}"
    );
    assert!(!rendered.contains("tok\"") && !rendered.contains("@example.com"));
}

#[tokio::test(flavor = "current_thread")]
async fn an_authenticator_built_before_the_recorder_counts_nothing_and_never_fails() {
    let h = Harness::new(WebApiConfig::default());
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::hours(24));
    h.call("tok").await.unwrap();
    h.call("tok").await.unwrap();
    let rendered = handle.render();
    // The warm path's handles are the ones registered at build time (none).
    assert_eq!(outcome(&rendered, "hot"), 0, "{rendered}");
}
