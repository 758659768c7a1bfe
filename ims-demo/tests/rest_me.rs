//! `GET /rest/V1/me` answers from what the Web API layer keeps with the
//! token's hot entry — no query of its own — and a change of the admin made
//! through the store (their role, their address, a lock) still reaches it:
//! the change feed makes the entry stale, and the next request reads the
//! admin again, on this instance and on another one on the same database.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ims_api::{AdminUserDirectory, LockoutPolicy};
use ims_demo::wiring::RunningDemo;
use ims_emulator::default_seed as seed;
use support::{client, instance, mint_token};

async fn me(demo: &RunningDemo, token: &str) -> (u16, serde_json::Value) {
    let answer = client()
        .get(format!("http://{}/rest/V1/me", demo.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    // Success and refusal alike answer JSON, and say so.
    assert_eq!(
        answer.headers()[reqwest::header::CONTENT_TYPE],
        "application/json",
        "{status}"
    );
    let body = answer.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Waits until `demo` answers `status` for `token` (the hot cache keeps an
/// entry 30 s: anything within 5 s is the feed's doing); the last body.
async fn until_answered(demo: &RunningDemo, token: &str, status: u16) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (got, body) = me(demo, token).await;
        if got == status {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {got}, not {status}, after 5 s: the change did not travel"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_answers_the_admin_and_follows_changes_made_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("me.db").display());
    let a = instance(&database, None).await;
    let emulator = a.emulator_url.clone().unwrap();
    let b = instance(&database, Some(&emulator)).await;
    let token = mint_token(&client(), &emulator, seed::MEMBER_EMAIL, "emulator-web").await;
    let users = a.store.admin_users();
    let admin = users
        .find_by_email(seed::MEMBER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let expected = serde_json::json!({
        "id": admin.id.0,
        "email": admin.email,
        "firstname": admin.first_name,
        "lastname": admin.last_name,
    });
    assert_eq!(until_answered(&a, &token, 200).await, expected);
    assert_eq!(until_answered(&b, &token, 200).await, expected);

    // A role that grants nothing, then the role back: both instances follow.
    let role = admin.role.clone().unwrap();
    users.set_role(admin.id, None).await.unwrap();
    until_answered(&a, &token, 401).await;
    until_answered(&b, &token, 401).await;
    users.set_role(admin.id, Some(&role)).await.unwrap();
    assert_eq!(until_answered(&b, &token, 200).await, expected);
    assert_eq!(until_answered(&a, &token, 200).await, expected);

    // A lock.
    let policy = LockoutPolicy {
        max_failures: 1,
        lock_duration: Duration::from_secs(3600),
    };
    users
        .record_login_failure(admin.id, &policy, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    until_answered(&b, &token, 401).await;
    until_answered(&a, &token, 401).await;
    users.reset_login_failures(admin.id).await.unwrap();
    assert_eq!(until_answered(&b, &token, 200).await, expected);

    // A new address: the account may be someone else's now; the token,
    // mapped by the old one, is refused — never answered with the new one.
    users
        .set_email(admin.id, "someone.else@example.com")
        .await
        .unwrap();
    until_answered(&b, &token, 401).await;
    until_answered(&a, &token, 401).await;
}
