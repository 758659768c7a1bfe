//! Two instances of a host on one database (ims-store on one SQLite file,
//! the emulator as IMS, one clock), each following the fleet's change feed
//! — here an in-test double over a Tokio broadcast channel, which the test
//! publishes to as a store would after each change.
//!
//! What one instance changes, the other must stop trusting as soon as the
//! event is applied; while the feed is lost it must re-read within
//! `unfollowed_reread`; at `Resumed` it re-reads everything, from the
//! database only. Without a feed, the other instance trusts its cache for
//! `hot_cache_ttl` (the bug the feed fixes, shown first).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ims_api::{
    AdminUserDirectory, AdminUserId, Change, ChangeFeed, ChangeSubscription, ClientId,
    ClientSecret, Clock, Error, FeedEvent, ImsEnvironment, ImsSettings, ImsSettingsStore,
    InvalidationReason, LockoutPolicy, ManualClock, NewAdminUser, OrgId, Password, TokenHash,
    TokenRejection, WebApiTokenRepository,
};
use ims_core::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use tokio::sync::{broadcast, watch};
use webapi_ims::{
    AuthError, Authenticated, ChangeFollower, WebApiAuthenticator, WebApiConfig, WebApiServices,
};

const VALIDATE: &str = "POST /ims/validate_token/v1";

/// The longest a test waits for the follower to take an event: a guard
/// against a hang, not a measure of speed.
const HANG_GUARD: Duration = Duration::from_secs(20);

// ------------------------------------------------------------ the feed double

/// The fleet's change feed, in memory. Each subscription reports when it
/// waits for its next event, and how many it took: as the follower asks
/// for the next event only after applying the last, a subscription waiting
/// after all events sent has applied them all.
struct TestFeed {
    inner: Mutex<FeedInner>,
    /// Subscriptions that fail before one succeeds.
    failures: AtomicUsize,
    attempts: AtomicUsize,
    /// Whether a subscription reports `Resumed` at once (a healthy feed).
    live: bool,
}

struct FeedInner {
    events: broadcast::Sender<FeedEvent>,
    sent: usize,
    /// Per subscription: events sent before it began, and `Some(taken)`
    /// while it waits for the next.
    subscriptions: Vec<(usize, watch::Receiver<Option<usize>>)>,
}

#[derive(Debug)]
struct TestSubscription {
    events: broadcast::Receiver<FeedEvent>,
    first: Option<FeedEvent>,
    taken: usize,
    waiting: watch::Sender<Option<usize>>,
}

impl TestFeed {
    fn new(live: bool) -> Arc<Self> {
        Arc::new(TestFeed {
            inner: Mutex::new(FeedInner {
                events: broadcast::channel(64).0,
                sent: 0,
                subscriptions: Vec::new(),
            }),
            failures: AtomicUsize::new(0),
            attempts: AtomicUsize::new(0),
            live,
        })
    }

    /// Sends an event to every subscription, and waits until each has
    /// applied everything sent.
    async fn send(&self, event: FeedEvent) {
        {
            let mut inner = self.inner.lock().unwrap();
            inner.sent += 1;
            let _ = inner.events.send(event);
        }
        self.settle().await;
    }

    /// Waits until every subscription has applied every event sent since
    /// it began.
    async fn settle(&self) {
        let waits: Vec<_> = {
            let inner = self.inner.lock().unwrap();
            inner
                .subscriptions
                .iter()
                .map(|(base, waiting)| (inner.sent - base, waiting.clone()))
                .collect()
        };
        for (expected, mut waiting) in waits {
            tokio::time::timeout(
                HANG_GUARD,
                waiting.wait_for(|state| *state == Some(expected)),
            )
            .await
            .expect("the follower did not take the event")
            .unwrap();
        }
    }

    /// Waits until `n` subscriptions exist and have applied everything.
    async fn subscribed(&self, n: usize) {
        tokio::time::timeout(HANG_GUARD, async {
            while self.inner.lock().unwrap().subscriptions.len() < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the follower did not subscribe");
        self.settle().await;
    }

    /// Live subscriptions (a stopped follower drops its own).
    fn receivers(&self) -> usize {
        self.inner.lock().unwrap().events.receiver_count()
    }
}

#[async_trait]
impl ChangeFeed for TestFeed {
    async fn publish(&self, change: Change) -> ims_api::Result<()> {
        self.send(FeedEvent::Changed(change)).await;
        Ok(())
    }

    async fn subscribe(&self) -> ims_api::Result<Box<dyn ChangeSubscription>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Unavailable {
                detail: "the feed double refuses this subscription".into(),
                retry_after: None,
            });
        }
        let mut inner = self.inner.lock().unwrap();
        let (waiting, watched) = watch::channel(None);
        let base = inner.sent;
        inner.subscriptions.push((base, watched));
        Ok(Box::new(TestSubscription {
            events: inner.events.subscribe(),
            first: self.live.then_some(FeedEvent::Resumed),
            taken: 0,
            waiting,
        }))
    }
}

#[async_trait]
impl ChangeSubscription for TestSubscription {
    async fn next(&mut self) -> FeedEvent {
        if let Some(first) = self.first.take() {
            return first;
        }
        self.waiting.send_replace(Some(self.taken));
        let event = loop {
            match self.events.recv().await {
                Ok(event) => break event,
                Err(broadcast::error::RecvError::Lagged(_)) => break FeedEvent::Lost,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        };
        self.waiting.send_replace(None);
        self.taken += 1;
        event
    }
}

// ------------------------------------------------------------------ the fleet

struct Fleet {
    ims: RunningEmulator,
    clock: Arc<ManualClock>,
    /// The database, as instance A sees it (B has its own connections).
    store: Store,
    /// For what the store offers no method for (an admin's role).
    sql: sqlx::SqlitePool,
    admin: AdminUserId,
    a: Arc<WebApiAuthenticator>,
    b: Arc<WebApiAuthenticator>,
    config: WebApiConfig,
    _dir: tempfile::TempDir,
}

/// One instance of the host: its own IMS client, verifier and database
/// connections, on the shared database file and clock.
fn instance(
    ims: &RunningEmulator,
    store: &Store,
    clock: &Arc<ManualClock>,
) -> Arc<WebApiAuthenticator> {
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let client = Arc::new(ImsClient::with_policy(env.clone(), HttpPolicy::default()).unwrap());
    let verifier =
        LocalVerifier::with_clock(env, VerifierConfig::default(), clock.clone()).unwrap();
    let services = WebApiServices::new(
        client.clone(),
        Arc::new(verifier),
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    )
    .with_clock(clock.clone());
    Arc::new(WebApiAuthenticator::new(services, WebApiConfig::default()))
}

async fn fleet() -> Fleet {
    let ims = Emulator::builder().start().await.unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let key = EncryptionKey::generate();
    let options = || {
        StoreOptions::new()
            .with_encryption_key(key.clone())
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
            .with_clock(clock.clone())
    };
    let store = Store::connect(&url, options()).await.unwrap();
    let store_b = Store::connect(&url, options()).await.unwrap();
    let admin = store
        .admin_users()
        .create(
            &NewAdminUser::new(
                "member",
                seed::MEMBER_EMAIL,
                "Mia",
                "Member",
                Password::new("unused-password"),
            )
            .with_role("Administrators"),
        )
        .await
        .unwrap()
        .id;
    store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::WEB_CLIENT_SECRET),
            OrgId::parse(seed::ORG_ID).unwrap(),
        ))
        .await
        .unwrap();
    let sql = sqlx::SqlitePool::connect(&url).await.unwrap();
    let a = instance(&ims, &store, &clock);
    let b = instance(&ims, &store_b, &clock);
    Fleet {
        ims,
        clock,
        store,
        sql,
        admin,
        a,
        b,
        config: WebApiConfig::default(),
        _dir: dir,
    }
}

impl Fleet {
    fn mint(&self) -> String {
        self.ims
            .mint_access_token(
                &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                    .scope("AdobeID,openid"),
            )
            .unwrap()
    }

    /// Both instances follow `feed`, and have applied its first events.
    async fn follow(&self, feed: &Arc<TestFeed>) -> (ChangeFollower, ChangeFollower) {
        let followers = (
            self.a.follow_changes(feed.clone()).unwrap(),
            self.b.follow_changes(feed.clone()).unwrap(),
        );
        feed.subscribed(2).await;
        followers
    }

    fn ims_calls(&self) -> u64 {
        self.ims.stats().total
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    async fn set_enabled(&self, enabled: bool) {
        let mut settings = self.store.settings().load().await.unwrap();
        settings.enabled = enabled;
        self.store.settings().save(&settings).await.unwrap();
    }
}

async fn call(auth: &WebApiAuthenticator, token: &str) -> Result<Authenticated, AuthError> {
    let header = format!("Bearer {token}");
    auth.authenticate(&[header.as_bytes()]).await
}

/// What the warm path answers at once (`None`: it must read something).
fn warm(auth: &WebApiAuthenticator, token: &str) -> Option<Result<Authenticated, AuthError>> {
    let header = format!("Bearer {token}");
    auth.authenticate_from_memory(&[header.as_bytes()])
}

fn is_revoked(outcome: &Result<Authenticated, AuthError>) -> bool {
    matches!(
        outcome,
        Err(AuthError::InvalidToken(TokenRejection::Invalidated(_)))
    )
}

fn is_unknown_user(outcome: &Result<Authenticated, AuthError>) -> bool {
    matches!(
        outcome,
        Err(AuthError::InvalidToken(TokenRejection::UnknownUser))
    )
}

fn hash(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}

// ---------------------------------------------------------------- no feed

#[tokio::test]
async fn without_a_feed_another_instance_trusts_a_revoked_token_for_its_hot_cache_ttl() {
    let f = fleet().await;
    let token = f.mint();
    call(&f.a, &token).await.unwrap();
    call(&f.b, &token).await.unwrap();
    f.a.revoke_admin_tokens(f.admin).await.unwrap();
    assert!(is_revoked(&call(&f.a, &token).await));
    // The bug a fleet fixes by following a feed: B does not know.
    assert!(call(&f.b, &token).await.is_ok());
    f.advance(f.config.hot_cache_ttl - Duration::from_secs(1));
    assert!(call(&f.b, &token).await.is_ok());
    f.advance(Duration::from_secs(1));
    assert!(is_revoked(&call(&f.b, &token).await));
}

// ---------------------------------------------------------- events applied

#[tokio::test]
async fn a_revocation_on_one_instance_is_refused_on_the_other_once_the_event_is_applied() {
    let f = fleet().await;
    let feed = TestFeed::new(true);
    let _followers = f.follow(&feed).await;
    let token = f.mint();
    call(&f.a, &token).await.unwrap();
    call(&f.b, &token).await.unwrap();
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))));
    f.a.revoke_admin_tokens(f.admin).await.unwrap();
    feed.publish(Change::Admin(f.admin)).await.unwrap();
    let validations = f.ims.stats().count(VALIDATE);
    assert!(
        warm(&f.b, &token).is_none(),
        "no longer answered from memory"
    );
    assert!(is_revoked(&call(&f.b, &token).await));
    assert_eq!(
        f.ims.stats().count(VALIDATE),
        validations,
        "the record said so: IMS is not asked"
    );
}

/// A change of an admin made on instance A through the store (`true`), or
/// undone (`false`).
type AdminEdit =
    for<'a> fn(&'a Fleet, bool) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

const ADMIN_EDITS: [(&str, AdminEdit); 3] = [
    ("locked", |f, lock| {
        Box::pin(async move {
            let users = f.store.admin_users();
            if lock {
                let policy = LockoutPolicy {
                    max_failures: 1,
                    lock_duration: Duration::from_secs(3600),
                };
                users
                    .record_login_failure(f.admin, &policy, f.clock.now())
                    .await
                    .unwrap();
            } else {
                users.reset_login_failures(f.admin).await.unwrap();
            }
        })
    }),
    ("role removed", |f, remove| {
        Box::pin(async move {
            // The store has no method for it: what an admin screen would do.
            sqlx::query("UPDATE admin_user SET role = ? WHERE id = ?")
                .bind((!remove).then_some("Administrators"))
                .bind(f.admin.0)
                .execute(&f.sql)
                .await
                .unwrap();
        })
    }),
    ("deactivated", |f, deactivate| {
        Box::pin(async move {
            f.store
                .admin_users()
                .set_active(f.admin, !deactivate)
                .await
                .unwrap();
        })
    }),
];

#[tokio::test]
async fn an_admin_locked_deprived_of_their_role_or_deactivated_elsewhere_is_refused_after_the_event()
 {
    for (what, edit) in ADMIN_EDITS {
        let f = fleet().await;
        let feed = TestFeed::new(true);
        let _followers = f.follow(&feed).await;
        let token = f.mint();
        call(&f.b, &token).await.unwrap();
        edit(&f, true).await;
        assert!(
            call(&f.b, &token).await.is_ok(),
            "{what}: trusted until the event"
        );
        feed.publish(Change::Admin(f.admin)).await.unwrap();
        assert!(warm(&f.b, &token).is_none(), "{what}: not from memory");
        assert!(is_unknown_user(&call(&f.b, &token).await), "{what}");
    }
}

#[tokio::test]
async fn an_admin_unlocked_given_a_role_back_or_reactivated_elsewhere_is_accepted_after_the_event()
{
    for (what, edit) in ADMIN_EDITS {
        let f = fleet().await;
        let feed = TestFeed::new(true);
        let _followers = f.follow(&feed).await;
        let token = f.mint();
        call(&f.b, &token).await.unwrap();
        edit(&f, true).await;
        feed.publish(Change::Admin(f.admin)).await.unwrap();
        assert!(is_unknown_user(&call(&f.b, &token).await), "{what}");
        assert!(
            is_unknown_user(&call(&f.b, &token).await),
            "{what}: the refusal is remembered"
        );
        let calls = f.ims_calls();
        edit(&f, false).await;
        feed.publish(Change::Admin(f.admin)).await.unwrap();
        assert!(call(&f.b, &token).await.is_ok(), "{what}: undone");
        assert!(matches!(warm(&f.b, &token), Some(Ok(_))), "{what}");
        assert_eq!(f.ims_calls(), calls, "{what}: read from the database only");
    }
}

#[tokio::test]
async fn a_token_first_refused_for_its_admins_state_is_accepted_after_the_undoing_event() {
    for (what, edit) in ADMIN_EDITS {
        let f = fleet().await;
        let feed = TestFeed::new(true);
        let _followers = f.follow(&feed).await;
        // B first sees the token through A's record, while the admin is
        // unusable, and again through IMS on a token nobody has seen.
        let known = f.mint();
        call(&f.a, &known).await.unwrap();
        let unseen = f.mint();
        edit(&f, true).await;
        feed.publish(Change::Admin(f.admin)).await.unwrap();
        assert!(is_unknown_user(&call(&f.b, &known).await), "{what}: record");
        assert!(is_unknown_user(&call(&f.b, &unseen).await), "{what}: IMS");
        edit(&f, false).await;
        feed.publish(Change::Admin(f.admin)).await.unwrap();
        // Not after negative_cache_ttl: the refusal was the admin's state.
        assert!(call(&f.b, &known).await.is_ok(), "{what}: record, undone");
        assert!(call(&f.b, &unseen).await.is_ok(), "{what}: IMS, undone");
    }
}

#[tokio::test]
async fn an_admin_event_is_a_reread_from_the_database_not_a_refusal() {
    // The change may be an unlock, or something that does not concern the
    // Web API: the token is read again, and kept, without IMS.
    let f = fleet().await;
    let feed = TestFeed::new(true);
    let _followers = f.follow(&feed).await;
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    let calls = f.ims_calls();
    feed.publish(Change::Admin(f.admin)).await.unwrap();
    assert!(warm(&f.b, &token).is_none(), "read again first");
    assert!(call(&f.b, &token).await.is_ok());
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))), "then trusted");
    assert_eq!(f.ims_calls(), calls, "no IMS call");
    // Another admin's event leaves this token alone.
    feed.publish(Change::Admin(AdminUserId(f.admin.0 + 1)))
        .await
        .unwrap();
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))));
}

#[tokio::test]
async fn disabling_and_enabling_the_integration_elsewhere_is_seen_after_the_event() {
    let f = fleet().await;
    let feed = TestFeed::new(true);
    let _followers = f.follow(&feed).await;
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    f.set_enabled(false).await;
    assert!(
        matches!(warm(&f.b, &token), Some(Ok(_))),
        "trusted until the event"
    );
    feed.publish(Change::Settings).await.unwrap();
    assert!(warm(&f.b, &token).is_none(), "the settings are read again");
    assert_eq!(call(&f.b, &token).await.unwrap_err(), AuthError::Disabled);
    assert_eq!(
        warm(&f.b, &token).unwrap().unwrap_err(),
        AuthError::Disabled
    );

    let calls = f.ims_calls();
    f.set_enabled(true).await;
    feed.publish(Change::Settings).await.unwrap();
    assert!(call(&f.b, &token).await.is_ok(), "enabled again");
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))));
    assert_eq!(f.ims_calls(), calls, "the token was kept: no IMS call");
}

// ------------------------------------------------------------- lost feed

#[tokio::test]
async fn while_the_feed_is_lost_a_change_without_any_event_is_seen_within_the_reread_interval() {
    let f = fleet().await;
    let reread = f.config.unfollowed_reread;
    let feed = TestFeed::new(true);
    let _followers = f.follow(&feed).await;
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    feed.send(FeedEvent::Lost).await;

    // Trusted for the interval, then read again — from the database only.
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))));
    f.advance(reread);
    assert!(
        warm(&f.b, &token).is_none(),
        "read again after the interval"
    );
    let calls = f.ims_calls();
    assert!(call(&f.b, &token).await.is_ok());
    assert_eq!(f.ims_calls(), calls, "a re-read costs no IMS call");

    // A revocation on A that no event announces.
    f.a.revoke_admin_tokens(f.admin).await.unwrap();
    f.advance(reread - Duration::from_millis(1));
    assert!(call(&f.b, &token).await.is_ok(), "within the interval");
    f.advance(Duration::from_millis(1));
    assert!(warm(&f.b, &token).is_none());
    assert!(is_revoked(&call(&f.b, &token).await));

    // The settings too.
    f.set_enabled(false).await;
    f.advance(reread);
    assert_eq!(call(&f.b, &token).await.unwrap_err(), AuthError::Disabled);
}

#[tokio::test]
async fn a_follower_is_lost_until_its_feed_first_resumes() {
    let f = fleet().await;
    let reread = f.config.unfollowed_reread;
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    // A feed that never gets live.
    let feed = TestFeed::new(false);
    let _follower = f.b.follow_changes(feed.clone()).unwrap();
    feed.subscribed(1).await;
    f.a.revoke_admin_tokens(f.admin).await.unwrap();
    f.advance(reread);
    assert!(warm(&f.b, &token).is_none());
    assert!(is_revoked(&call(&f.b, &token).await));
}

// ---------------------------------------------------------------- resumed

#[tokio::test]
async fn resumed_makes_everything_stale_at_once_and_the_resync_calls_no_ims() {
    let f = fleet().await;
    let feed = TestFeed::new(true);
    let _followers = f.follow(&feed).await;
    let (kept, invalidated) = (f.mint(), f.mint());
    call(&f.b, &kept).await.unwrap();
    call(&f.b, &invalidated).await.unwrap();
    let calls = f.ims_calls();

    feed.send(FeedEvent::Lost).await;
    // While the feed is down, one record is invalidated elsewhere, and no
    // event will ever say so. No time passes on this instance's clock.
    f.store
        .webapi_tokens()
        .invalidate(
            &hash(&invalidated),
            &InvalidationReason::Revoked,
            f.clock.now(),
        )
        .await
        .unwrap();
    assert!(call(&f.b, &invalidated).await.is_ok(), "not known yet");
    feed.send(FeedEvent::Resumed).await;

    assert!(warm(&f.b, &kept).is_none(), "every entry is read again");
    assert!(warm(&f.b, &invalidated).is_none());
    assert!(is_revoked(&call(&f.b, &invalidated).await));
    assert!(call(&f.b, &kept).await.is_ok());
    assert_eq!(f.ims_calls(), calls, "the resync costs no IMS call");
    // Live again: trusted beyond the lost mode's interval.
    f.advance(f.config.unfollowed_reread * 4);
    assert!(matches!(warm(&f.b, &kept), Some(Ok(_))));

    // The settings too.
    feed.send(FeedEvent::Lost).await;
    assert!(call(&f.b, &kept).await.is_ok(), "read again: lost");
    f.set_enabled(false).await;
    assert!(call(&f.b, &kept).await.is_ok(), "not known yet");
    feed.send(FeedEvent::Resumed).await;
    assert_eq!(call(&f.b, &kept).await.unwrap_err(), AuthError::Disabled);
}

// ---------------------------------------------------------------- follower

#[tokio::test]
async fn a_failing_subscription_is_retried_and_the_instance_is_lost_meanwhile() {
    let f = fleet().await;
    let reread = f.config.unfollowed_reread;
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    let feed = TestFeed::new(true);
    feed.failures.store(2, Ordering::SeqCst);
    let _follower = f.b.follow_changes(feed.clone()).unwrap();
    // Lost from the start; re-read at every interval meanwhile.
    f.advance(reread);
    assert!(warm(&f.b, &token).is_none());
    assert!(call(&f.b, &token).await.is_ok());
    feed.subscribed(1).await;
    assert_eq!(feed.attempts.load(Ordering::SeqCst), 3);
    // Live: read once more (the resync), then trusted beyond the interval.
    assert!(warm(&f.b, &token).is_none());
    assert!(call(&f.b, &token).await.is_ok());
    f.advance(reread * 4);
    assert!(matches!(warm(&f.b, &token), Some(Ok(_))));
}

#[tokio::test]
async fn a_stopped_follower_drops_its_subscription_and_leaves_the_instance_lost() {
    let f = fleet().await;
    let reread = f.config.unfollowed_reread;
    let feed = TestFeed::new(true);
    let follower = f.b.follow_changes(feed.clone()).unwrap();
    feed.subscribed(1).await;
    assert!(follower.is_running());
    let token = f.mint();
    call(&f.b, &token).await.unwrap();
    follower.stop();
    tokio::time::timeout(HANG_GUARD, async {
        while feed.receivers() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the stopped follower kept its subscription");
    f.advance(reread);
    assert!(
        warm(&f.b, &token).is_none(),
        "nothing is trusted beyond the interval once nobody listens"
    );
}
