//! The authenticator's behaviour, with in-memory fakes of IMS and the host.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use ims_api::{AdminUserId, TokenRejection, TokenStatus, WebApiTokenRepository};
use support::{Harness, T0};
use webapi_ims::{AuthError, WebApiConfig};

fn hours(h: i64) -> time::Duration {
    time::Duration::hours(h)
}

#[tokio::test]
async fn disabled_integration_accepts_no_ims_token() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.settings.0.lock().unwrap().enabled = false;
    assert_eq!(h.call("tok").await.unwrap_err(), AuthError::Disabled);
    assert_eq!(h.ims.counts(), (0, 0));
}

#[tokio::test]
async fn first_sight_validates_once_and_records_the_token() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    let admin = h.call("tok").await.unwrap();
    assert_eq!(admin.admin_user_id, AdminUserId(1));
    assert_eq!(admin.expires_at, T0 + hours(24));
    assert!(!admin.degraded);
    assert_eq!(h.ims.counts(), (1, 1));
    let row = h
        .tokens
        .find_by_hash(&admin.token_hash())
        .await
        .unwrap()
        .expect("a row is saved");
    assert_eq!(row.admin_user_id, AdminUserId(1));
    assert_eq!(row.last_check_time, T0);
    assert!(
        row.access_token.is_some(),
        "tokens are stored by default (FlushUserTokens logs them out)"
    );
    assert_eq!(row.status, TokenStatus::Validated);
}

#[tokio::test]
async fn known_tokens_cost_no_ims_call_until_the_interval() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    for _ in 0..10 {
        h.clock.advance(Duration::from_secs(59));
        h.call("tok").await.unwrap();
    }
    assert_eq!(h.ims.counts(), (1, 1), "no call inside 600 s");
    assert_eq!(
        h.ims.verify_calls.load(Ordering::SeqCst),
        1,
        "verified once"
    );
    h.clock.advance(Duration::from_secs(11));
    let admin = h.call("tok").await.unwrap();
    assert_eq!(h.ims.counts(), (2, 1), "exactly one re-validation");
    assert_eq!(admin.last_check, T0 + time::Duration::seconds(601));
    let row = h
        .tokens
        .find_by_hash(&admin.token_hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.last_check_time, admin.last_check);
}

#[tokio::test]
async fn a_token_revoked_at_ims_fails_at_the_next_check_and_stays_refused() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    let admin = h.call("tok").await.unwrap();
    h.ims.revoke("tok");
    h.call("tok").await.unwrap();
    h.clock.advance(Duration::from_secs(601));
    let err = h.call("tok").await.unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken(TokenRejection::RejectedByIms(r)) if r == "token_revoked"),
        "{err:?}"
    );
    let row = h
        .tokens
        .find_by_hash(&admin.token_hash())
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_invalidated());
    let calls = h.ims.counts();
    assert!(h.call("tok").await.is_err());
    assert_eq!(h.ims.counts(), calls, "refused without asking IMS");
}

#[tokio::test]
async fn unknown_and_inactive_users_are_refused() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("stranger", "nobody@example.com", T0 + hours(24));
    h.ims.add("idle", "idle@example.com", T0 + hours(24));
    for token in ["stranger", "idle"] {
        let err = h.call(token).await.unwrap_err();
        assert_eq!(err, AuthError::InvalidToken(TokenRejection::UnknownUser));
        assert_eq!(err.status(), 401);
    }
    assert!(
        h.tokens.rows.lock().unwrap().is_empty(),
        "no row for refused tokens"
    );
}

#[tokio::test]
async fn a_profile_without_email_is_refused() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "x@example.com", T0 + hours(24));
    h.ims.tokens.lock().unwrap().get_mut("tok").unwrap().email = None;
    assert_eq!(
        h.call("tok").await.unwrap_err(),
        AuthError::InvalidToken(TokenRejection::UnknownUser)
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_from_the_hot_cache() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("tok", "jane@example.com", T0 + time::Duration::minutes(5));
    h.call("tok").await.unwrap();
    h.clock.advance(Duration::from_secs(301));
    let err = h.call("tok").await.unwrap_err();
    assert!(
        matches!(err, AuthError::InvalidToken(TokenRejection::Expired { .. })),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "invalid token: Token has expired");
}

#[tokio::test]
async fn badly_signed_tokens_are_refused_and_remembered() {
    let h = Harness::new(WebApiConfig::default());
    for _ in 0..5 {
        assert_eq!(
            h.call("forged").await.unwrap_err(),
            AuthError::InvalidToken(TokenRejection::BadSignature)
        );
    }
    assert_eq!(h.ims.verify_calls.load(Ordering::SeqCst), 1);
    assert_eq!(h.ims.counts(), (0, 0));
}

#[tokio::test]
async fn malformed_headers_are_refused_before_anything() {
    let h = Harness::new(WebApiConfig::default());
    for header in [&b"Bearer  x"[..], b"Basic x", b"Bearer \xff"] {
        let err = h.auth.authenticate(&[header]).await.unwrap_err();
        assert_eq!(err.status(), 401);
    }
    assert!(matches!(
        h.auth.authenticate(&[]).await,
        Err(AuthError::MissingCredentials)
    ));
    assert_eq!(h.ims.verify_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sights_make_one_validation_and_one_profile_call() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    *h.ims.latency.lock().unwrap() = Duration::from_millis(100);
    let auth = h.auth.clone();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.authenticate(&[b"Bearer tok"]).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().admin_user_id, AdminUserId(1));
    }
    assert_eq!(h.ims.counts(), (1, 1));
    assert_eq!(h.tokens.rows.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_outage_on_first_sight_is_503_not_401() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.ims.set_down(true);
    let err = h.call("tok").await.unwrap_err();
    assert_eq!(err.status(), 503);
    assert_eq!(
        err.retry_after_secs(),
        Some(7),
        "IMS's Retry-After passes through"
    );
    // Not remembered as a refusal: it works once IMS is back.
    h.ims.set_down(false);
    assert!(h.call("tok").await.is_ok());
}

#[tokio::test]
async fn known_tokens_ride_out_an_outage_within_the_grace_window() {
    let config = {
        let mut c = WebApiConfig::default();
        c.outage_grace = Duration::from_secs(1800);
        c
    };
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.ims.set_down(true);
    h.clock.advance(Duration::from_secs(900));
    let admin = h.call("tok").await.unwrap();
    assert!(admin.degraded);
    h.clock.advance(Duration::from_secs(901));
    let err = h.call("tok").await.unwrap_err();
    assert_eq!(err.status(), 503);
    h.ims.set_down(false);
    let admin = h.call("tok").await.unwrap();
    assert!(!admin.degraded);
}

#[tokio::test]
async fn no_request_waits_past_the_deadline() {
    let config = {
        let mut c = WebApiConfig::default();
        c.ims_deadline = Duration::from_millis(100);
        c
    };
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    *h.ims.latency.lock().unwrap() = Duration::from_secs(30);
    let started = std::time::Instant::now();
    let err = h.call("tok").await.unwrap_err();
    assert_eq!(err.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn revoking_an_admins_tokens_logs_them_out_and_refuses_them_at_once() {
    let config = {
        let mut c = WebApiConfig::default();
        c.store_tokens = true;
        c
    };
    let h = Harness::new(config);
    h.ims.add("a", "jane@example.com", T0 + hours(24));
    h.ims.add("b", "jane@example.com", T0 + hours(24));
    h.call("a").await.unwrap();
    h.call("b").await.unwrap();
    let report = h.auth.revoke_admin_tokens(AdminUserId(1)).await.unwrap();
    assert_eq!(report.invalidated, 2);
    assert_eq!(report.logged_out_at_ims, 2);
    assert_eq!(h.ims.logout_calls.load(Ordering::SeqCst), 2);
    let calls = h.ims.counts();
    for token in ["a", "b"] {
        let err = h.call(token).await.unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidToken(TokenRejection::Invalidated(_))),
            "{err:?}"
        );
    }
    assert_eq!(h.ims.counts(), calls);
}

#[tokio::test]
async fn a_row_invalidated_elsewhere_is_refused_without_ims() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    let admin = h.call("tok").await.unwrap();
    // Another instance invalidates the row; this instance's hot cache
    // expires after its TTL.
    h.tokens
        .invalidate(
            &admin.token_hash(),
            &ims_api::InvalidationReason::UserRemoved,
            T0,
        )
        .await
        .unwrap();
    let fresh = Harness::new(WebApiConfig::default());
    *fresh.tokens.rows.lock().unwrap() = h.tokens.rows.lock().unwrap().clone();
    fresh.ims.add("tok", "jane@example.com", T0 + hours(24));
    let err = fresh.call("tok").await.unwrap_err();
    assert_eq!(
        err,
        AuthError::InvalidToken(TokenRejection::Invalidated("user_removed".into()))
    );
    assert_eq!(fresh.ims.counts(), (0, 0));
}

#[tokio::test]
async fn enabling_applies_after_reload() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.settings.0.lock().unwrap().enabled = false;
    assert_eq!(h.call("tok").await.unwrap_err(), AuthError::Disabled);
    h.settings.0.lock().unwrap().enabled = true;
    h.auth.reload_settings();
    assert!(h.call("tok").await.is_ok());
}

#[tokio::test]
async fn purge_removes_expired_rows() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("short", "jane@example.com", T0 + hours(1));
    h.ims.add("long", "jane@example.com", T0 + hours(48));
    h.call("short").await.unwrap();
    h.call("long").await.unwrap();
    h.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(h.auth.purge_expired().await.unwrap(), 1);
    assert_eq!(h.tokens.rows.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn debug_output_shows_no_token() {
    let h = Harness::new(WebApiConfig::default());
    h.ims
        .add("secret-token-value", "jane@example.com", T0 + hours(24));
    let admin = h.call("secret-token-value").await.unwrap();
    let shown = format!("{:?} {:?}", h.auth, admin);
    assert!(!shown.contains("secret-token-value"), "{shown}");
}

#[tokio::test]
async fn an_invalidation_by_another_instance_is_seen_once_the_hot_entry_is_stale() {
    let config = WebApiConfig::default();
    let ttl = config.hot_cache_ttl;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    let admin = h.call("tok").await.unwrap();
    // Another instance, sharing the record, invalidates the token.
    h.tokens
        .invalidate(
            &admin.token_hash(),
            &ims_api::InvalidationReason::UserRemoved,
            T0,
        )
        .await
        .unwrap();
    h.clock.advance(ttl - Duration::from_secs(1));
    assert!(
        h.call("tok").await.is_ok(),
        "trusted from memory within hot_cache_ttl"
    );
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.call("tok").await.unwrap_err(),
        AuthError::InvalidToken(TokenRejection::Invalidated("user_removed".into()))
    );
    assert_eq!(h.ims.counts(), (1, 1), "the record decided, not IMS");
    assert_eq!(
        h.ims.verify_calls.load(Ordering::SeqCst),
        1,
        "re-reading the record verifies nothing again"
    );
}

#[tokio::test]
async fn the_warm_path_answers_from_memory_only_when_nothing_is_due() {
    let config = WebApiConfig::default();
    let (ttl, revalidate_after) = (config.hot_cache_ttl, config.revalidate_after);
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    let header = b"Bearer tok".as_slice();
    assert!(
        h.auth.authenticate_from_memory(&[header]).is_none(),
        "a new token needs IMS"
    );
    assert!(matches!(
        h.auth.authenticate_from_memory(&[b"Basic abc".as_slice()]),
        Some(Err(AuthError::InvalidToken(_)))
    ));
    h.call("tok").await.unwrap();
    let known = h.auth.authenticate_from_memory(&[header]).unwrap().unwrap();
    assert_eq!(known.admin_user_id, AdminUserId(1));
    assert_eq!(
        known.token_hash(),
        h.call("tok").await.unwrap().token_hash()
    );

    h.clock.advance(ttl);
    assert!(
        h.auth.authenticate_from_memory(&[header]).is_none(),
        "a stale entry needs its record"
    );
    h.call("tok").await.unwrap();
    assert!(h.auth.authenticate_from_memory(&[header]).is_some());

    h.clock.advance(revalidate_after);
    assert!(
        h.auth.authenticate_from_memory(&[header]).is_none(),
        "a check is due"
    );
    assert_eq!(h.auth.hot_cache_len(), 1);
}
