//! Anonymous visitors cannot grow the session store without bound: the
//! attack of finding 3 (cookieless sign-in starts with a 2 KB `return_to`)
//! through the real router, counted in the store, not by RSS.

#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ims_emulator::default_seed as seed;
use support::*;
use tower::ServiceExt;

/// The pending sessions' budget the design promises (the default of
/// `admin_ims::axum::SessionLimits`).
const PENDING_BUDGET: usize = 8 << 20;

async fn anonymous(h: &Harness, uri: &str) -> axum::response::Response {
    h.router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hundred_thousand_anonymous_sign_in_starts_stay_within_the_pending_budget() {
    let h = Harness::start().await;
    // A signed-in admin before the flood.
    let admin = browser();
    let landing = sign_in(&h, &admin, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD, None).await;
    assert_eq!(landing.status, 303, "{}", landing.body);

    let uri = format!("/admin/ims/login?return_to=/{}", "A".repeat(2_000));
    for i in 1..=100_000 {
        let response = anonymous(&h, &uri).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        if i % 1_000 == 0 {
            let stats = h.session_stats();
            assert!(
                stats.pending_bytes <= PENDING_BUDGET,
                "after {i} starts the store holds {} bytes of pending sign-ins in {} sessions",
                stats.pending_bytes,
                stats.pending
            );
        }
    }
    let stats = h.session_stats();
    assert!(stats.pending_bytes <= PENDING_BUDGET, "{stats:?}");
    assert!(
        stats.pending >= 1_000,
        "the budget still serves many sign-ins: {stats:?}"
    );
    // The flood evicted pending sign-ins only, never the admin's session.
    assert_eq!(stats.signed_in, 1, "{stats:?}");
    assert_eq!(visit(&h, &admin, "/admin").await.0, 200);
}

#[tokio::test]
async fn anonymous_callbacks_store_nothing() {
    let h = Harness::start().await;
    for i in 0..500 {
        let uri = match i % 4 {
            0 => format!("/admin/ims/callback?code=c{i}&state=s{i}"),
            1 => format!("/admin/ims/callback?error=access_denied&state=s{i}"),
            2 => "/admin/ims/callback".to_owned(),
            _ => format!("/admin/ims/reauth/callback?code=c{i}&state=s{i}"),
        };
        let response = anonymous(&h, &uri).await;
        // A redirect to the outcome page, whose status is a 4xx.
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{uri}");
        let location = response.headers()["location"].to_str().unwrap();
        let kind = location
            .strip_prefix("/admin/ims/outcome?kind=")
            .unwrap_or_else(|| panic!("{uri}: {location}"));
        let outcome = admin_ims::LoginOutcome::from_kind(kind).unwrap();
        assert!(outcome.is_client_caused(), "{uri}: {outcome:?}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{uri}: an anonymous failed callback gets no session"
        );
    }
    let stats = h.session_stats();
    assert_eq!(stats.pending + stats.signed_in, 0, "{stats:?}");
}

#[tokio::test]
async fn pending_sign_ins_expire_with_their_state_ttl() {
    let h = Harness::start().await;
    for _ in 0..20 {
        assert_eq!(
            anonymous(&h, "/admin/ims/login").await.status(),
            StatusCode::FOUND
        );
    }
    assert_eq!(h.session_stats().pending, 20);
    // The state TTL (600 s) passes.
    h.advance(601);
    assert_eq!(
        anonymous(&h, "/admin/ims/login").await.status(),
        StatusCode::FOUND
    );
    assert_eq!(h.session_stats().pending, 1, "the expired ones are swept");
}
