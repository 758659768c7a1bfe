//! The IMS fault matrix for `webapi-ims`, one table, on the real stack
//! (emulator, ims-core, ims-store, the axum layer): for every fault kind —
//! IMS down, 5xx, 429 with `Retry-After`, latency past the timeout, dropped
//! connections — the documented outcome (`docs/src/reliability.md`):
//!
//! - a token never checked gets **503** with `Retry-After` (IMS's when it
//!   gave one, else `WebApiConfig::retry_after`), never 401, and is not
//!   remembered as refused: it works once IMS is back;
//! - a known token due for its re-validation keeps working within
//!   `outage_grace` (**200**), and gets **503** once its last check is older.
//!
//! The same behaviour with an in-memory IMS, and the deadline, is in
//! `authenticator.rs` (`an_outage_on_first_sight_is_503_not_401`,
//! `known_tokens_ride_out_an_outage_within_the_grace_window`,
//! `no_request_waits_past_the_deadline`).
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

mod real_stack;

use std::time::Duration;

use http::StatusCode;
use ims_core::{HttpPolicy, VerifierConfig};
use ims_emulator::{FaultSpec, default_seed as seed};
use real_stack::{App, PROFILE, VALIDATE, app_with_policies};
use webapi_ims::WebApiConfig;

/// One retry, attempts far shorter than the injected latency, a deadline
/// shorter than the authenticator's: the transport decides, and IMS's
/// `Retry-After` reaches the answer.
fn http() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.max_retries = 1;
    policy.initial_backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(20);
    policy.attempt_timeout = Duration::from_millis(300);
    policy.deadline = Duration::from_secs(2);
    policy
}

fn config() -> WebApiConfig {
    let mut config = WebApiConfig::default();
    config.ims_deadline = Duration::from_secs(4);
    config
}

enum Fault {
    /// The emulator stops: connections are refused.
    Down,
    /// A persistent emulator fault on every `/ims` path.
    Inject(FaultSpec),
}

struct Row {
    name: &'static str,
    fault: Fault,
    /// The `Retry-After` of the 503s.
    retry_after: &'static str,
    /// Validation calls IMS sees for a first sight (`None` when it is down).
    first_sight_calls: Option<u64>,
}

fn matrix() -> Vec<Row> {
    let ims = FaultSpec::new("/ims");
    let budget = u64::from(http().max_retries) + 1;
    vec![
        Row {
            name: "IMS down",
            fault: Fault::Down,
            retry_after: "30",
            first_sight_calls: None,
        },
        Row {
            name: "500",
            fault: Fault::Inject(ims.clone().status(500)),
            retry_after: "30",
            first_sight_calls: Some(budget),
        },
        Row {
            name: "503 with Retry-After: 1",
            fault: Fault::Inject(ims.clone().status(503).retry_after(1)),
            retry_after: "1",
            first_sight_calls: Some(budget),
        },
        Row {
            name: "429 with Retry-After: 7",
            fault: Fault::Inject(ims.clone().status(429).retry_after(7)),
            retry_after: "7",
            // Waiting 7 s does not fit the deadline: one call, no retry.
            first_sight_calls: Some(1),
        },
        Row {
            name: "latency past the attempt timeout",
            fault: Fault::Inject(ims.clone().latency_ms(10_000)),
            retry_after: "30",
            first_sight_calls: Some(budget),
        },
        Row {
            name: "dropped connections",
            fault: Fault::Inject(ims.drop_connection()),
            retry_after: "30",
            first_sight_calls: Some(budget),
        },
    ]
}

async fn start() -> (App, String, String) {
    let app = app_with_policies(true, VerifierConfig::default(), http(), config()).await;
    let known = app.mint(seed::MEMBER_EMAIL);
    let fresh = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&known).await, StatusCode::OK);
    app.ims.reset_stats();
    (app, known, fresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_has_its_documented_outcome() {
    let grace = config().outage_grace;
    let revalidate = config().revalidate_after;
    for row in matrix() {
        let name = row.name;
        let (mut app, known, fresh) = start().await;
        match &row.fault {
            Fault::Down => app.take_ims_down().await,
            Fault::Inject(spec) => app.ims.inject_fault(spec.clone()).unwrap(),
        }

        // First sight during the outage: 503 with Retry-After, not 401.
        let (status, retry_after) = app.get_with_retry_after(&fresh).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{name}: first sight"
        );
        assert_eq!(
            retry_after.as_deref(),
            Some(row.retry_after),
            "{name}: Retry-After"
        );
        if let Some(calls) = row.first_sight_calls {
            assert_eq!(app.calls(VALIDATE), calls, "{name}: validations");
            assert_eq!(
                app.calls(PROFILE),
                0,
                "{name}: no profile without a verdict"
            );
        }

        // A known token due for re-validation rides out the outage...
        app.clock.advance(revalidate + Duration::from_secs(1));
        assert_eq!(
            app.get(&known).await,
            StatusCode::OK,
            "{name}: within grace"
        );
        // ...until its last check is older than the grace window.
        app.clock.advance(grace);
        let (status, retry_after) = app.get_with_retry_after(&known).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{name}: past the grace window"
        );
        assert_eq!(retry_after.as_deref(), Some(row.retry_after), "{name}");

        // IMS back: both tokens work, neither was remembered as refused.
        if matches!(row.fault, Fault::Inject(_)) {
            app.ims.clear_faults();
            assert_eq!(app.get(&fresh).await, StatusCode::OK, "{name}: after");
            assert_eq!(app.get(&known).await, StatusCode::OK, "{name}: after");
        }
    }
}
