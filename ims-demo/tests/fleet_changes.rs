//! Two demo instances on one database follow its change feed: a revocation,
//! a locked admin or the integration disabled — made through the database
//! by another instance or an operator command — is refused by every
//! instance at once, not after the Web API's 30 s hot cache.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ims_api::{
    AdminUserDirectory, ImsSettingsStore, InvalidationReason, LockoutPolicy, WebApiTokenRepository,
};
use ims_demo::wiring::RunningDemo;
use ims_emulator::default_seed as seed;
use support::{client, instance, mint_token};

async fn mint(emulator: &str) -> String {
    mint_token(&client(), emulator, seed::MEMBER_EMAIL, "emulator-web").await
}

async fn me(demo: &RunningDemo, token: &str) -> u16 {
    client()
        .get(format!("http://{}/rest/V1/me", demo.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until `demo` answers `status` for `token`: the hot cache keeps a
/// token for 30 s, so anything under a few seconds is the feed's doing.
async fn until_answered(demo: &RunningDemo, token: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        if me(demo, token).await == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still not {status} after 5 s: the change did not travel"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Fleet {
    a: RunningDemo,
    b: RunningDemo,
    emulator: String,
    _dir: tempfile::TempDir,
}

async fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("fleet.db").display());
    let a = instance(&database, None).await;
    let emulator = a.emulator_url.clone().unwrap();
    let b = instance(&database, Some(&emulator)).await;
    Fleet {
        a,
        b,
        emulator,
        _dir: dir,
    }
}

/// A token both instances accepted, with its admin.
async fn accepted(f: &Fleet) -> (String, ims_api::AdminUserId) {
    let token = mint(&f.emulator).await;
    until_answered(&f.a, &token, 200).await;
    until_answered(&f.b, &token, 200).await;
    let admin =
        f.a.store
            .admin_users()
            .find_by_email(seed::MEMBER_EMAIL)
            .await
            .unwrap()
            .unwrap();
    (token, admin.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_the_database_is_refused_by_every_instance() {
    let f = fleet().await;
    let (token, admin) = accepted(&f).await;
    // What the tokens page of instance A, or an operator command, does.
    f.a.store
        .webapi_tokens()
        .invalidate_all_for_admin(
            admin,
            &InvalidationReason::Revoked,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    until_answered(&f.b, &token, 401).await;
    until_answered(&f.a, &token, 401).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_admin_and_a_disabled_integration_are_refused_by_every_instance() {
    let f = fleet().await;
    let (token, admin) = accepted(&f).await;
    let policy = LockoutPolicy {
        max_failures: 1,
        lock_duration: Duration::from_secs(3600),
    };
    let users = f.a.store.admin_users();
    users
        .record_login_failure(admin, &policy, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    until_answered(&f.b, &token, 401).await;
    users.reset_login_failures(admin).await.unwrap();
    until_answered(&f.b, &token, 200).await;

    let settings = f.a.store.settings();
    let mut current = settings.load().await.unwrap();
    current.enabled = false;
    settings.save(&current).await.unwrap();
    let disabled = me(&f.b, &token).await;
    assert!(disabled == 200 || disabled >= 400, "{disabled}");
    let started = Instant::now();
    while me(&f.b, &token).await == 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still enabled on B"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
