//! The IMS fault matrix for `admin-ims`, one table, over real HTTP against
//! the emulator: for every fault kind — IMS down, 5xx, 429 with
//! `Retry-After`, latency past the timeout, dropped connections — the
//! documented outcome (`docs/src/reliability.md`):
//!
//! - **sign-in**: the code exchange fails → the sign-in error page (502,
//!   "Unable to sign in with the Adobe ID", no internals), no session, and
//!   the single-use code is sent once;
//! - **session re-validation** under `OutagePolicy::KeepWithin` (the
//!   default): the session is kept past the interval within the grace, and
//!   ended after it; under `OutagePolicy::EndSession`: ended at once;
//! - **logout**: the local session ends whatever IMS does.
//!
//! The same outcomes for single faults are also in `e2e_login.rs`
//! (`ims_down_at_callback_is_refused_and_the_token_logged_out`, which adds
//! a failure after the exchange) and `e2e_session.rs`.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use admin_ims::OutagePolicy;
use ims_core::HttpPolicy;
use ims_emulator::{FaultSpec, default_seed as seed};
use support::*;

const TOKEN: &str = "POST /ims/token/v3";
const VALIDATE: &str = "POST /ims/validate_token/v1";

/// No retries (an outage answers at once), attempts far shorter than the
/// injected latency.
fn policy() -> HttpPolicy {
    let mut policy = http_policy();
    policy.attempt_timeout = Duration::from_millis(300);
    policy.deadline = Duration::from_secs(2);
    policy
}

#[derive(Clone, Copy)]
enum Fault {
    /// The emulator stops: connections are refused.
    Down,
    Status(u16),
    TooManyRequests,
    Latency,
    Dropped,
}

const MATRIX: [(&str, Fault); 6] = [
    ("IMS down", Fault::Down),
    ("500", Fault::Status(500)),
    ("503", Fault::Status(503)),
    ("429 with Retry-After", Fault::TooManyRequests),
    ("latency past the attempt timeout", Fault::Latency),
    ("dropped connections", Fault::Dropped),
];

/// Applies `fault` to every request under `prefix` from now on.
async fn apply(h: &mut Harness, fault: Fault, prefix: &str) {
    let spec = FaultSpec::new(prefix);
    let spec = match fault {
        Fault::Down => return h.take_ims_down().await,
        Fault::Status(status) => spec.status(status),
        Fault::TooManyRequests => spec.status(429).retry_after(2),
        Fault::Latency => spec.latency_ms(5_000),
        Fault::Dropped => spec.drop_connection(),
    };
    h.ims.inject_fault(spec).unwrap();
}

async fn start(configure: impl FnOnce(&mut admin_ims::AdminImsConfig)) -> Harness {
    Harness::start_with_policy(configure, true, policy()).await
}

async fn signed_in(
    configure: impl FnOnce(&mut admin_ims::AdminImsConfig),
) -> (Harness, reqwest::Client) {
    let h = start(configure).await;
    let browser = browser();
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    h.ims.reset_stats();
    (h, browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_fails_on_an_error_page_and_spends_the_code_once() {
    for (name, fault) in MATRIX {
        let mut h = start(|_| {}).await;
        let browser = browser();
        let authorize = begin(&h, &browser, None).await;
        let callback = submit_ims_form(
            &browser,
            &authorize,
            seed::MEMBER_EMAIL,
            seed::MEMBER_PASSWORD,
            "login",
        )
        .await;
        apply(&mut h, fault, "/ims/token").await;
        let landing = land(&browser, &callback).await;
        assert_eq!(landing.status, 502, "{name}: {}", landing.body);
        assert!(
            landing.body.contains("Unable to sign in with the Adobe ID"),
            "{name}: {}",
            landing.body
        );
        for internal in ["/ims/token", "429", "500", "503", "timed out"] {
            assert!(
                !landing.body.contains(internal),
                "{name}: the page shows {internal:?}: {}",
                landing.body
            );
        }
        if !matches!(fault, Fault::Down) {
            assert_eq!(
                h.ims.stats().count(TOKEN),
                1,
                "{name}: the code is sent once"
            );
        }
        assert_eq!(
            visit(&h, &browser, "/admin").await.0,
            302,
            "{name}: no session"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_ride_out_an_outage_within_the_grace_then_end() {
    for (name, fault) in MATRIX {
        let (mut h, browser) = signed_in(|_| {}).await;
        apply(&mut h, fault, "/ims/validate_token").await;
        h.advance(601);
        assert_eq!(
            visit(&h, &browser, "/admin").await.0,
            200,
            "{name}: kept within the grace"
        );
        if !matches!(fault, Fault::Down) {
            assert_eq!(h.ims.stats().count(VALIDATE), 1, "{name}: IMS was asked");
        }
        h.advance(1800);
        assert_eq!(
            visit(&h, &browser, "/admin").await.0,
            302,
            "{name}: ended after the grace"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_once_when_the_policy_says_so() {
    for (name, fault) in MATRIX {
        let (mut h, browser) = signed_in(|c| c.outage_policy = OutagePolicy::EndSession).await;
        apply(&mut h, fault, "/ims/validate_token").await;
        h.advance(601);
        assert_eq!(visit(&h, &browser, "/admin").await.0, 302, "{name}");
        if !matches!(fault, Fault::Down) {
            assert_eq!(h.ims.stats().count(VALIDATE), 1, "{name}: IMS was asked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_local_session_whatever_ims_does() {
    for (name, fault) in MATRIX {
        let (mut h, browser) = signed_in(|_| {}).await;
        apply(&mut h, fault, "/ims/logout").await;
        let answer = browser
            .post(h.url("/admin/ims/logout"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "{name}");
        assert_eq!(
            visit(&h, &browser, "/admin").await.0,
            302,
            "{name}: signed out"
        );
    }
}
