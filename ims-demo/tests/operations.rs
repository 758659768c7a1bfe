//! The operator's endpoints of a running demo: `/healthz` answers while the
//! process lives, `/readyz` follows the database and IMS (503 with the
//! reason while IMS fails, ready again after), and `/metrics` shows the Web
//! API's and the IMS client's counters moving with the traffic — none of
//! them behind the admin session or a token.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ims_demo::wiring::RunningDemo;
use ims_emulator::{Emulator, RunningEmulator, default_seed as seed};
use support::{client, instance, mint_token};

async fn get(demo: &RunningDemo, path: &str) -> (u16, String) {
    let answer = client()
        .get(format!("http://{}{path}", demo.addr))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The value of the series `series` (name and labels as rendered) in a
/// Prometheus text exposition; 0 when absent.
fn value(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().unwrap())
        })
        .unwrap_or(0.0)
}

/// The sum of every series of `name` whose labels contain all of `labels`.
fn sum(exposition: &str, name: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|l| rest.contains(l)))
                .then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

async fn metrics(demo: &RunningDemo) -> String {
    let (status, text) = get(demo, "/metrics").await;
    assert_eq!(status, 200, "/metrics answers");
    text
}

async fn until_ready(demo: &RunningDemo, status: u16) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (got, body) = get(demo, "/readyz").await;
        if got == status {
            return serde_json::from_str(&body).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "/readyz still {got}, not {status}, after 30 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_follow_the_process_the_database_and_ims() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ops.db").display());
    let demo = instance(&database, None).await;
    let emulator = demo.emulator_url.clone().unwrap();

    // Alive and ready, without a session or a token.
    let (status, body) = get(&demo, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let ready = until_ready(&demo, 200).await;
    assert_eq!(ready["status"], "ready");

    // Web API traffic: a first sight (IMS asked), then warm hits, and a
    // refusal.
    let before = metrics(&demo).await;
    let token = mint_token(&client(), &emulator, seed::MEMBER_EMAIL, "emulator-web").await;
    for _ in 0..3 {
        let answer = client()
            .get(format!("http://{}/rest/V1/me", demo.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let refused = client()
        .get(format!("http://{}/rest/V1/me", demo.addr))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let after = metrics(&demo).await;

    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert!(
        moved(r#"ims_webapi_authentications_total{outcome="first_sight"}"#) >= 1.0,
        "a first sight is counted:\n{after}"
    );
    assert!(
        moved(r#"ims_webapi_authentications_total{outcome="hot"}"#) >= 2.0,
        "the warm hits are counted:\n{after}"
    );
    assert!(
        moved(r#"ims_webapi_authentications_total{outcome="refused"}"#) >= 1.0,
        "the refusal is counted:\n{after}"
    );
    assert!(
        moved(r#"ims_webapi_refusals_total{reason="malformed"}"#) >= 1.0,
        "with its reason class:\n{after}"
    );
    let ims_calls = |text: &str| sum(text, "ims_http_requests_total", &[r#"status="2xx""#]);
    assert!(
        ims_calls(&after) > ims_calls(&before),
        "the first sight's IMS calls are counted:\n{after}"
    );
    assert!(
        sum(&after, "ims_http_request_duration_seconds_count", &[]) >= 1.0,
        "and timed:\n{after}"
    );
    // No label carries the token or the admin's address.
    assert!(!after.contains(&token) && !after.contains(seed::MEMBER_EMAIL));
    assert!(after.contains("# TYPE ims_webapi_authentications_total counter"));
    assert!(after.contains("# TYPE ims_http_request_duration_seconds histogram"));

    // IMS fails after the key set was loaded: still ready (the known token
    // is served), degraded, while the process lives on.
    let faults = format!("{emulator}/__emulator/faults");
    let injected = client()
        .post(&faults)
        .json(&serde_json::json!({ "path_prefix": "/ims/", "status": 503 }))
        .send()
        .await
        .unwrap();
    assert!(injected.status().is_success(), "{}", injected.status());
    let degraded = until_degraded(&demo).await;
    assert_eq!(degraded["status"], "ready");
    assert_eq!(get(&demo, "/healthz").await.0, 200);
    let during = metrics(&demo).await;
    assert_eq!(value(&during, "ims_demo_ready"), 1.0, "{during}");
    assert!(
        sum(&during, "ims_http_requests_total", &[r#"status="5xx""#]) >= 1.0,
        "IMS's failures are counted:\n{during}"
    );

    // IMS is back: ready again.
    let cleared = client()
        .delete(&faults)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success(), "{}", cleared.status());
    let ready = until_healthy(&demo).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(value(&metrics(&demo).await, "ims_demo_ready"), 1.0);
    demo.stop().await;
}

/// `/readyz`'s answer once it is 200 and degraded (within 30 s).
async fn until_degraded(demo: &RunningDemo) -> serde_json::Value {
    until(demo, |status, body| {
        status == 200 && body.get("degraded").is_some()
    })
    .await
}

/// `/readyz`'s answer once it is 200 and not degraded (within 30 s).
async fn until_healthy(demo: &RunningDemo) -> serde_json::Value {
    until(demo, |status, body| {
        status == 200 && body.get("degraded").is_none()
    })
    .await
}

async fn until(
    demo: &RunningDemo,
    wanted: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (status, text) = get(demo, "/readyz").await;
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        if wanted(status, &body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "/readyz still {status} {text} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An emulator with its control API, on `addr` (port 0: any).
async fn emulator_on(addr: SocketAddr) -> RunningEmulator {
    Emulator::builder()
        .control(true)
        .addr(addr)
        .start()
        .await
        .unwrap()
}

/// A ready demo (its database in the returned directory) talking to an
/// emulator the test can stop. A first instance, on its own emulator,
/// enables the integration and makes the member an admin in the database;
/// the returned one shares that database.
async fn on_a_stoppable_emulator() -> (tempfile::TempDir, RunningEmulator, RunningDemo) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("demo.db").display());
    instance(&database, None).await.stop().await;
    let emulator = emulator_on("127.0.0.1:0".parse().unwrap()).await;
    let demo = instance(&database, Some(emulator.base())).await;
    assert_eq!(until_healthy(&demo).await["status"], "ready");
    (dir, emulator, demo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_unready_while_the_emulator_is_stopped_and_ready_once_it_is_back() {
    let (_dir, emulator, demo) = on_a_stoppable_emulator().await;
    let addr = emulator.addr();

    // Stopped before any token: nothing can be verified, so not ready, with
    // the reason; the process is alive.
    emulator.shutdown().await;
    let not_ready = until_ready(&demo, 503).await;
    assert_eq!(not_ready["status"], "not ready");
    assert_eq!(
        not_ready["reasons"],
        serde_json::json!(["IMS unreachable and no key set loaded"])
    );
    assert_eq!(get(&demo, "/healthz").await.0, 200);
    assert_eq!(value(&metrics(&demo).await, "ims_demo_ready"), 0.0);

    // Back on the same address: ready again.
    let emulator = emulator_on(addr).await;
    assert_eq!(until_healthy(&demo).await["status"], "ready");
    assert_eq!(value(&metrics(&demo).await, "ims_demo_ready"), 1.0);

    // A token verified loads IMS's key set: stopped again, the instance
    // stays ready (degraded) and keeps serving that token.
    let token = mint_token(
        &client(),
        emulator.base(),
        seed::MEMBER_EMAIL,
        "emulator-web",
    )
    .await;
    let demo_addr = demo.addr;
    let me = |token: String| async move {
        client()
            .get(format!("http://{demo_addr}/rest/V1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(me(token.clone()).await, 200);
    emulator.shutdown().await;
    let degraded = until_degraded(&demo).await;
    assert_eq!(
        degraded["degraded"][0].as_str().unwrap().split(':').next(),
        Some("IMS unreachable")
    );
    assert_eq!(me(token.clone()).await, 200, "the known token is served");

    let emulator = emulator_on(addr).await;
    assert_eq!(until_healthy(&demo).await["status"], "ready");
    emulator.shutdown().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_anonymous_readiness_probes_costs_ims_one_call_per_period() {
    // Anyone who reaches the port can ask `/readyz`: each probe must not
    // become an IMS call (nor a database read) of its own.
    let (_dir, emulator, demo) = on_a_stoppable_emulator().await;

    let keys_before = emulator.stats().count("GET /ims/keys");
    let started = Instant::now();
    let probes = 2_000;
    let client = client();
    let mut answers = tokio::task::JoinSet::new();
    for _ in 0..probes {
        let (client, addr) = (client.clone(), demo.addr);
        answers.spawn(async move {
            client
                .get(format!("http://{addr}/readyz"))
                .send()
                .await
                .map(|answer| answer.status().as_u16())
        });
    }
    let mut ok = 0;
    while let Some(answer) = answers.join_next().await {
        // The server's connection cap may refuse some; none is an error
        // status.
        if let Ok(status) = answer.unwrap() {
            assert_eq!(status, 200);
            ok += 1;
        }
    }
    let elapsed = started.elapsed();
    assert!(ok > probes / 2, "only {ok} of {probes} probes answered");
    let calls = emulator.stats().count("GET /ims/keys") - keys_before;
    // One probe per 2 s period (plus the period under way).
    let periods = elapsed.as_secs() / 2 + 2;
    assert!(
        calls <= periods,
        "{calls} IMS calls for {probes} probes in {elapsed:?}"
    );
    emulator.shutdown().await;
    demo.stop().await;
}
