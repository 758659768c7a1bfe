//! The change feed, run against every backend: SQLite always, PostgreSQL
//! and MySQL/MariaDB when `IMS_TEST_POSTGRES_URL` / `IMS_TEST_MYSQL_URL`
//! are set (each test says why it skips otherwise). Each case gets a fresh
//! database, and two `Store`s on it stand for two instances of a fleet.

#![allow(clippy::unwrap_used)] // the cases run inside the generated #[test] functions

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use ims_api::{
    AdminUser, AdminUserDirectory, Change, ChangeFeed, ChangeSubscription, ImsSettings,
    ImsSettingsStore, InvalidationReason, LockoutPolicy, NewAdminUser, Password, WebApiToken,
    WebApiTokenRepository,
};
use ims_api::{FeedEvent, TokenHash};
use ims_store::{Backend, SqlChangeFeed, Store};
use sqlx::AssertSqlSafe;
use support::TestDb;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// The longest a test waits for an event it expects.
const PATIENCE: Duration = Duration::from_secs(10);

fn feed(store: &Store) -> SqlChangeFeed {
    store
        .change_feed()
        .with_poll_interval(Duration::from_millis(20))
        .with_safety_interval(Duration::from_millis(200))
}

async fn next(events: &mut Box<dyn ChangeSubscription>) -> FeedEvent {
    tokio::time::timeout(PATIENCE, events.next())
        .await
        .expect("the feed said nothing")
}

/// Asserts that nothing comes for `wait`.
async fn quiet(events: &mut Box<dyn ChangeSubscription>, wait: Duration) {
    if let Ok(event) = tokio::time::timeout(wait, events.next()).await {
        panic!("unexpected {event:?}");
    }
}

/// A subscription of `store`'s feed, live.
async fn live(store: &Store) -> Box<dyn ChangeSubscription> {
    let mut events = feed(store).subscribe().await.unwrap();
    assert_eq!(next(&mut events).await, FeedEvent::Resumed);
    events
}

async fn admin(store: &Store, name: &str) -> AdminUser {
    store
        .admin_users()
        .create(&NewAdminUser::new(
            name,
            format!("{name}@example.com"),
            "First",
            "Last",
            Password::new("pw"),
        ))
        .await
        .unwrap()
}

fn changed_admin(user: &AdminUser) -> FeedEvent {
    FeedEvent::Changed(Change::Admin(user.id))
}

/// Runs statements on a connection of its own, past the store: `$hold`
/// runs while the connection is held open.
macro_rules! raw_connection {
    ($db:expr, |$conn:ident| $body:block) => {{
        use sqlx::Connection as _;
        match $db.backend {
            Backend::Sqlite => {
                let mut $conn = sqlx::SqliteConnection::connect(&$db.url).await.unwrap();
                $body
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let mut $conn = sqlx::PgConnection::connect(&$db.url).await.unwrap();
                $body
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let mut $conn = sqlx::MySqlConnection::connect(&$db.url).await.unwrap();
                $body
            }
            other => panic!("{other:?} is not compiled in"),
        }
    }};
}

mod cases {
    use super::*;

    /// Every mutation another instance may have cached reaches a subscriber
    /// on another store, in order; the others log nothing.
    pub(crate) async fn mutations_on_one_store_reach_another(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let mut events = live(&b).await;
        let jane = admin(&a, "jane").await;
        let admins = a.admin_users();

        admins.set_active(jane.id, false).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        admins.set_active(jane.id, true).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));

        let mut settings = ImsSettings::default();
        settings.enabled = true;
        a.settings().save(&settings).await.unwrap();
        assert_eq!(
            next(&mut events).await,
            FeedEvent::Changed(Change::Settings)
        );

        // Failures that do not lock log nothing; the one that locks does.
        let policy = LockoutPolicy {
            max_failures: 3,
            lock_duration: Duration::from_secs(60),
        };
        for n in 0..3 {
            admins
                .record_login_failure(jane.id, &policy, T0 + time::Duration::seconds(n))
                .await
                .unwrap();
        }
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        admins.reset_login_failures(jane.id).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));

        let token = WebApiToken::validated(
            jane.id,
            TokenHash::from_digest([1; 32]),
            T0 + time::Duration::hours(1),
            T0,
        );
        a.webapi_tokens().save(&token).await.unwrap();
        let invalidated = a
            .webapi_tokens()
            .invalidate_all_for_admin(jane.id, &InvalidationReason::Revoked, T0)
            .await
            .unwrap();
        assert_eq!(invalidated, 1);
        assert_eq!(next(&mut events).await, changed_admin(&jane));

        admins.set_role(jane.id, Some("Viewers")).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        let seen = b.admin_users().find_by_id(jane.id).await.unwrap().unwrap();
        assert_eq!(seen.role.as_deref(), Some("Viewers"));
        admins
            .set_email(jane.id, "Jane.New@Example.com")
            .await
            .unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        let seen = b
            .admin_users()
            .find_by_email("jane.new@example.com")
            .await
            .unwrap();
        assert_eq!(seen.map(|user| user.id), Some(jane.id));
        // Refused changes log nothing.
        let bob = admin(&a, "bob").await;
        let err = admins
            .set_email(bob.id, "JANE.NEW@example.com")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");
        assert!(admins.set_email(bob.id, "no-at").await.is_err());
        let unknown = ims_api::AdminUserId(i64::MAX);
        assert!(admins.set_role(unknown, None).await.is_err());

        assert!(admins.delete(jane.id).await.unwrap());
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        // Nothing changed, nothing logged.
        assert!(!admins.delete(jane.id).await.unwrap());
        admin(&a, "carol").await;
        quiet(&mut events, Duration::from_millis(300)).await;
        a.close().await;
        b.close().await;
    }

    /// `publish` reaches every subscriber, the publisher's own included.
    pub(crate) async fn publish_reaches_every_subscriber(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let mut own = live(&a).await;
        let mut other = live(&b).await;
        let feed = feed(&a);
        feed.publish(Change::Settings).await.unwrap();
        feed.publish(Change::Admin(ims_api::AdminUserId(42)))
            .await
            .unwrap();
        for events in [&mut own, &mut other] {
            assert_eq!(next(events).await, FeedEvent::Changed(Change::Settings));
            assert_eq!(
                next(events).await,
                FeedEvent::Changed(Change::Admin(ims_api::AdminUserId(42)))
            );
        }
        a.close().await;
        b.close().await;
    }

    /// Without LISTEN (PostgreSQL behind a session-less pooler), a
    /// subscription polls the epoch like the other backends.
    pub(crate) async fn polling_without_listen(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let jane = admin(&a, "jane").await;
        let mut events = feed(&b)
            .with_listen(false)
            .with_safety_interval(Duration::from_secs(60))
            .subscribe()
            .await
            .unwrap();
        assert_eq!(next(&mut events).await, FeedEvent::Resumed);
        a.admin_users().set_active(jane.id, false).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        drop(events);
        a.close().await;
        b.close().await;
    }

    /// A writer that took its epoch and has not committed holds back a
    /// second writer; the reader gets nothing until the first commits, and
    /// then both, in order: no change is skipped by a reader that saw a
    /// later one first.
    pub(crate) async fn a_late_commit_is_not_missed(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let jane = admin(&a, "jane").await;
        let mut events = live(&b).await;
        let begin = if db.backend == Backend::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        let statements = [
            begin.to_owned(),
            format!(
                "UPDATE admin_user SET is_active = false WHERE id = {}",
                jane.id.0
            ),
            "UPDATE ims_change_epoch SET epoch = epoch + 1 WHERE id = 1".to_owned(),
            format!(
                "INSERT INTO ims_change_log (epoch, kind, admin_user_id, created_at) \
                 SELECT epoch, 'admin', {}, 0 FROM ims_change_epoch WHERE id = 1",
                jane.id.0
            ),
        ];
        raw_connection!(db, |conn| {
            for statement in &statements {
                sqlx::query(AssertSqlSafe(statement.clone()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let settings = a.settings();
            let second = tokio::spawn(async move {
                let mut enabled = ImsSettings::default();
                enabled.enabled = true;
                settings.save(&enabled).await
            });
            quiet(&mut events, Duration::from_millis(400)).await;
            assert!(!second.is_finished(), "the second writer did not wait");
            sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
            second.await.unwrap().unwrap();
        });
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        assert_eq!(
            next(&mut events).await,
            FeedEvent::Changed(Change::Settings)
        );
        let seen = b.admin_users().find_by_id(jane.id).await.unwrap().unwrap();
        assert!(!seen.is_active);
        a.close().await;
        b.close().await;
    }

    /// When a change is delivered, its data is readable on the other store.
    pub(crate) async fn a_delivered_change_is_readable(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let jane = admin(&a, "jane").await;
        let mut events = live(&b).await;
        for round in 0..20 {
            let active = round % 2 == 1;
            a.admin_users().set_active(jane.id, active).await.unwrap();
            assert_eq!(next(&mut events).await, changed_admin(&jane));
            let seen = b.admin_users().find_by_id(jane.id).await.unwrap().unwrap();
            assert_eq!(seen.is_active, active, "round {round}");
        }
        a.close().await;
        b.close().await;
    }

    /// A subscriber that missed pruned changes is told to drop everything,
    /// and then follows the log again.
    pub(crate) async fn missing_pruned_changes_resume(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let jane = admin(&a, "jane").await;
        let mut events = live(&b).await;
        // While the subscriber is not reading: one change, an hour and
        // more, another; the first is pruned.
        a.admin_users().set_active(jane.id, false).await.unwrap();
        db.clock.advance(Duration::from_secs(2 * 60 * 60));
        a.admin_users().set_active(jane.id, true).await.unwrap();
        assert_eq!(feed(&a).prune().await.unwrap(), 1);
        assert_eq!(next(&mut events).await, FeedEvent::Resumed);
        a.admin_users().set_active(jane.id, false).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        // Nothing old enough to prune now.
        assert_eq!(feed(&a).prune().await.unwrap(), 0);
        a.close().await;
        b.close().await;
    }

    /// The subscriber's connection goes away: `Lost` once, then `Resumed`
    /// when it is back, and the changes flow again. (SQLite has no
    /// connection to lose: closing the store's pool makes it lost for good.)
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        allow(unreachable_code, unused_variables)
    )]
    pub(crate) async fn a_lost_connection_is_reported_and_resumed(db: &TestDb) {
        let a = db.store().await;
        let jane = admin(&a, "jane").await;
        let name = support::unique("ims_feed");
        let b = match db.backend {
            Backend::Postgres => Store::connect(
                &format!("{}&application_name={name}", db.url),
                support::options(Some(&db.key), None),
            )
            .await
            .unwrap(),
            _ => db.store().await,
        };
        let mut events = live(&b).await;
        match db.backend {
            Backend::Sqlite => {
                b.close().await;
                assert_eq!(next(&mut events).await, FeedEvent::Lost);
                quiet(&mut events, Duration::from_millis(500)).await;
                a.close().await;
                return;
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let admin_url = std::env::var(support::POSTGRES_ENV).unwrap();
                let pool = sqlx::PgPool::connect(&admin_url).await.unwrap();
                let killed = sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1",
                )
                .bind(&name)
                .fetch_all(&pool)
                .await
                .unwrap();
                assert!(!killed.is_empty());
                pool.close().await;
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                use sqlx::Row as _;
                let admin_url = std::env::var(support::MYSQL_ENV).unwrap();
                let database = db.url.rsplit('/').next().unwrap().to_owned();
                let pool = sqlx::MySqlPool::connect(&admin_url).await.unwrap();
                let ids = sqlx::query(
                    "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ?",
                )
                .bind(&database)
                .fetch_all(&pool)
                .await
                .unwrap();
                assert!(!ids.is_empty());
                for row in ids {
                    let id: i64 = row.try_get(0).unwrap();
                    // Connections may end by themselves meanwhile.
                    let _ = sqlx::query(AssertSqlSafe(format!("KILL CONNECTION {id}")))
                        .execute(&pool)
                        .await;
                }
                pool.close().await;
            }
            other => panic!("{other:?} is not compiled in"),
        }
        assert_eq!(next(&mut events).await, FeedEvent::Lost);
        assert_eq!(next(&mut events).await, FeedEvent::Resumed);
        a.admin_users().set_active(jane.id, false).await.unwrap();
        assert_eq!(next(&mut events).await, changed_admin(&jane));
        a.close().await;
        b.close().await;
    }

    /// Delivery latency from a committed change on one store to the event
    /// on another, with the default intervals, the subscriber waiting in a
    /// task of its own as a consumer does: printed, not asserted.
    pub(crate) async fn delivery_latency(db: &TestDb) {
        let (a, b) = (db.store().await, db.store().await);
        let jane = admin(&a, "jane").await;
        let mut events = b.change_feed().subscribe().await.unwrap();
        assert_eq!(next(&mut events).await, FeedEvent::Resumed);
        let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
        let consumer = tokio::spawn(async move {
            loop {
                let event = events.next().await;
                if sender.send((Instant::now(), event)).is_err() {
                    break;
                }
            }
        });
        let mut samples = Vec::new();
        for round in 0..30 {
            // Spread the changes over the poll cycle: a pause of 0 to 99 ms,
            // from the clock's nanoseconds.
            let jitter = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                % 100;
            tokio::time::sleep(Duration::from_millis(u64::from(jitter))).await;
            let active = round % 2 == 1;
            a.admin_users().set_active(jane.id, active).await.unwrap();
            let committed = Instant::now();
            let (at, event) = tokio::time::timeout(PATIENCE, received.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(event, changed_admin(&jane));
            samples.push(at.saturating_duration_since(committed));
        }
        consumer.abort();
        samples.sort();
        let _ = writeln!(
            std::io::stderr().lock(),
            "change feed latency on {:?} (default intervals, {} changes): median {:?}, p90 {:?}, max {:?}",
            db.backend,
            samples.len(),
            samples[samples.len() / 2],
            samples[samples.len() * 9 / 10],
            samples[samples.len() - 1],
        );
        a.close().await;
        b.close().await;
    }
}

macro_rules! feed_suite {
    ($backend:ident, $setup:path) => {
        feed_suite!(@cases $backend, $setup;
            mutations_on_one_store_reach_another,
            publish_reaches_every_subscriber,
            polling_without_listen,
            a_late_commit_is_not_missed,
            a_delivered_change_is_readable,
            missing_pruned_changes_resume,
            a_lost_connection_is_reported_and_resumed,
            delivery_latency,
        );
    };
    (@cases $backend:ident, $setup:path; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let name = concat!(stringify!($backend), "::", stringify!($case));
                    let Some(db) = $setup(name).await else {
                        return;
                    };
                    super::cases::$case(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

async fn sqlite_db(_test: &str) -> Option<TestDb> {
    TestDb::sqlite().await
}

feed_suite!(sqlite, crate::sqlite_db);
feed_suite!(postgres, crate::support::TestDb::postgres);
feed_suite!(mysql, crate::support::TestDb::mysql);
