//! The Redis-woken change feed against the server of `IMS_TEST_REDIS_URL`
//! (skipped, saying so, when unset), on a fresh SQLite file shared by two
//! stores. Each test uses a channel of its own.
#![cfg(all(feature = "redis", feature = "sqlite"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::io::Write as _;
use std::time::{Duration, Instant};

use ims_api::{
    AdminUserDirectory, Change, ChangeFeed, ChangeSubscription, FeedEvent, NewAdminUser, Password,
};
use ims_store::{RedisChangeFeed, Store};
use support::TestDb;

const REDIS_ENV: &str = "IMS_TEST_REDIS_URL";
const PATIENCE: Duration = Duration::from_secs(10);
/// So long that a change delivered sooner was carried by Redis.
const SLOW_SAFETY_POLL: Duration = Duration::from_secs(60);

fn redis_url(test: &str) -> Option<String> {
    let url = std::env::var(REDIS_ENV).ok();
    if url.is_none() {
        support::skip(test, REDIS_ENV);
    }
    url
}

fn feed(store: &Store, url: &str, channel: &str) -> RedisChangeFeed {
    let sql = store
        .change_feed()
        .with_safety_interval(SLOW_SAFETY_POLL)
        .with_poll_interval(SLOW_SAFETY_POLL);
    RedisChangeFeed::connect_on(sql, url, channel).unwrap()
}

async fn next(events: &mut Box<dyn ChangeSubscription>) -> FeedEvent {
    tokio::time::timeout(PATIENCE, events.next())
        .await
        .expect("the feed said nothing")
}

/// The ids of the server's pub/sub clients.
async fn pubsub_clients(url: &str) -> HashSet<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    list.lines()
        .filter_map(|line| {
            line.split(' ')
                .find_map(|field| field.strip_prefix("id="))
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_committed_on_one_store_wake_another_through_redis() {
    let Some(url) = redis_url("changes_committed_on_one_store_wake_another_through_redis") else {
        return;
    };
    let db = TestDb::sqlite().await.unwrap();
    let channel = support::unique("ims_store_test_changes");
    let (a, b) = (db.store().await, db.store().await);
    let (feed_a, feed_b) = (feed(&a, &url, &channel), feed(&b, &url, &channel));
    assert_eq!(feed_b.channel(), channel);
    assert!(!format!("{feed_b:?}").contains("redis://"));
    let mut events = feed_b.subscribe().await.unwrap();
    assert_eq!(next(&mut events).await, FeedEvent::Resumed);

    let jane = a
        .admin_users()
        .create(&NewAdminUser::new(
            "jane",
            "jane@example.com",
            "J",
            "D",
            Password::new("pw"),
        ))
        .await
        .unwrap();
    let mut samples = Vec::new();
    for round in 0..10 {
        a.admin_users()
            .set_active(jane.id, round % 2 == 1)
            .await
            .unwrap();
        let committed = Instant::now();
        assert_eq!(
            next(&mut events).await,
            FeedEvent::Changed(Change::Admin(jane.id))
        );
        samples.push(committed.elapsed());
    }
    feed_a.publish(Change::Settings).await.unwrap();
    assert_eq!(
        next(&mut events).await,
        FeedEvent::Changed(Change::Settings)
    );
    samples.sort();
    let _ = writeln!(
        std::io::stderr().lock(),
        "change feed latency through Redis on SQLite ({} changes): median {:?}, max {:?}",
        samples.len(),
        samples[samples.len() / 2],
        samples[samples.len() - 1],
    );
    drop(events);
    a.close().await;
    b.close().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_connection_is_lost_then_resumed() {
    let Some(url) = redis_url("a_killed_redis_connection_is_lost_then_resumed") else {
        return;
    };
    let db = TestDb::sqlite().await.unwrap();
    let channel = support::unique("ims_store_test_changes");
    let (a, b) = (db.store().await, db.store().await);
    let feed_b = feed(&b, &url, &channel);
    let before = pubsub_clients(&url).await;
    let mut events = feed_b.subscribe().await.unwrap();
    assert_eq!(next(&mut events).await, FeedEvent::Resumed);
    let ours: Vec<String> = pubsub_clients(&url)
        .await
        .difference(&before)
        .cloned()
        .collect();
    assert!(
        !ours.is_empty(),
        "the subscription's connection is not listed"
    );

    // Only this subscription's connection: other tests may use the server.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for id in &ours {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(next(&mut events).await, FeedEvent::Lost);
    assert_eq!(next(&mut events).await, FeedEvent::Resumed);

    // Woken through Redis again (the safety poll is a minute away).
    let feed_a = feed(&a, &url, &channel);
    feed_a.publish(Change::Settings).await.unwrap();
    assert_eq!(
        next(&mut events).await,
        FeedEvent::Changed(Change::Settings)
    );
    drop(events);
    a.close().await;
    b.close().await;
    db.finish().await;
}

/// Redis down: mutations still succeed (the log is the record), the
/// subscription stays lost without a word, and a bad URL is a clear error
/// that does not quote its password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_never_fails_a_mutation() {
    let db = TestDb::sqlite().await.unwrap();
    let store = db.store().await;
    // Nothing listens on port 1.
    let feed = RedisChangeFeed::connect(store.change_feed(), "redis://127.0.0.1:1/").unwrap();
    let mut events = feed.subscribe().await.unwrap();
    let jane = store
        .admin_users()
        .create(&NewAdminUser::new(
            "jane",
            "jane@example.com",
            "J",
            "D",
            Password::new("pw"),
        ))
        .await
        .unwrap();
    store
        .admin_users()
        .set_active(jane.id, false)
        .await
        .unwrap();
    feed.publish(Change::Settings).await.unwrap();
    if let Ok(event) = tokio::time::timeout(Duration::from_millis(500), events.next()).await {
        panic!("a subscription without Redis said {event:?}");
    }

    let err = RedisChangeFeed::connect(store.change_feed(), "redis://:hunter2@[::1").unwrap_err();
    assert!(matches!(err, ims_api::Error::Misconfigured(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    drop(events);
    store.close().await;
    db.finish().await;
}

/// Anyone who can reach the Redis server can publish on the channel: a
/// forged or garbage message, or a flood of them, only wakes subscriptions
/// to read the SQL log. It makes no change appear, and a real change after
/// the flood is delivered, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_forged_on_the_channel_deliver_nothing() {
    let Some(url) = redis_url("messages_forged_on_the_channel_deliver_nothing") else {
        return;
    };
    let db = TestDb::sqlite().await.unwrap();
    let channel = support::unique("ims_store_test_forged");
    let store = db.store().await;
    let feed = feed(&store, &url, &channel);
    let mut events = feed.subscribe().await.unwrap();
    assert_eq!(next(&mut events).await, FeedEvent::Resumed);

    let attacker = redis::Client::open(url.as_str()).unwrap();
    let mut conn = attacker.get_multiplexed_async_connection().await.unwrap();
    for payload in [
        "settings",
        "admin:1",
        "admin 1",
        "{\"kind\":\"settings\"}",
        "\0\u{ff}",
    ] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    for n in 0..2_000 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(n)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .is_err(),
        "a forged message made an event"
    );

    feed.publish(Change::Settings).await.unwrap();
    assert_eq!(
        next(&mut events).await,
        FeedEvent::Changed(Change::Settings)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), events.next())
            .await
            .is_err(),
        "the real change was delivered once"
    );
    drop(events);
    store.close().await;
    db.finish().await;
}
