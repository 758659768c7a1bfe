//! A fleet's first sight of a new token: instances on one database (two
//! `Store`s on one SQLite file, as two processes would have) behind one IMS
//! (the emulator, whose counters are the measure) ask IMS once per new token
//! between them; a leader that dies is taken over once its lease expires,
//! and no follower waits past `ims_deadline`; a leader's refusal is shared.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore,
    ManualClock, NewAdminUser, OrgId, Password, TokenHash, WebApiTokenRepository,
};
use ims_core::{ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, FaultSpec, MintTokenRequest, RunningEmulator, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use webapi_ims::{AuthError, Authenticated, WebApiAuthenticator, WebApiConfig, WebApiServices};

const VALIDATE: &str = "POST /ims/validate_token/v1";
const PROFILE: &str = "GET /ims/profile/v1";

/// Instances of the host on one SQLite file, and the emulator.
struct Fleet {
    ims: RunningEmulator,
    clock: Arc<ManualClock>,
    stores: Vec<Store>,
    instances: Vec<Arc<WebApiAuthenticator>>,
    dir: PathBuf,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fleet(instances: usize, config: WebApiConfig) -> Fleet {
    let ims = Emulator::builder().start().await.unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = std::env::temp_dir().join(format!(
        "webapi_fleet_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("fleet.db").display());
    let key = EncryptionKey::generate();
    let options = || {
        StoreOptions::new()
            .with_encryption_key(key.clone())
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
            .with_clock(clock.clone())
    };
    let mut stores = Vec::new();
    for _ in 0..instances {
        stores.push(Store::connect(&url, options()).await.unwrap());
    }
    for (name, email) in [
        ("member", seed::MEMBER_EMAIL),
        // An admin with a role, but no member of the organization.
        ("outsider", seed::NON_MEMBER_EMAIL),
    ] {
        stores[0]
            .admin_users()
            .create(
                &NewAdminUser::new(name, email, "Test", "User", Password::new("unused"))
                    .with_role("Administrators"),
            )
            .await
            .unwrap();
    }
    stores[0]
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::WEB_CLIENT_SECRET),
            OrgId::parse(seed::ORG_ID).unwrap(),
        ))
        .await
        .unwrap();
    let instances = stores
        .iter()
        .map(|store| {
            // Each instance its own IMS client, verifier (key cache) and pool.
            let client = Arc::new(ImsClient::new(env.clone()).unwrap());
            let verifier =
                LocalVerifier::with_clock(env.clone(), VerifierConfig::default(), clock.clone())
                    .unwrap();
            let services = WebApiServices::new(
                client.clone(),
                Arc::new(verifier),
                Arc::new(store.admin_users()),
                Arc::new(store.webapi_tokens()),
                Arc::new(store.settings()),
            )
            .with_clock(clock.clone());
            Arc::new(WebApiAuthenticator::new(services, config.clone()))
        })
        .collect();
    Fleet {
        ims,
        clock,
        stores,
        instances,
        dir,
    }
}

impl Fleet {
    fn mint(&self, email: &str) -> String {
        self.ims
            .mint_access_token(
                &MintTokenRequest::for_email(email, seed::WEB_CLIENT_ID).scope("AdobeID,openid"),
            )
            .unwrap()
    }

    fn calls(&self, what: &str) -> u64 {
        self.ims.stats().count(what)
    }

    fn memberships(&self) -> u64 {
        self.ims
            .stats()
            .requests
            .iter()
            .filter(|(call, _)| call.ends_with("/membership"))
            .map(|(_, n)| n)
            .sum()
    }

    /// `(validations, profiles, memberships)` at the emulator.
    fn ims_calls(&self) -> (u64, u64, u64) {
        (
            self.calls(VALIDATE),
            self.calls(PROFILE),
            self.memberships(),
        )
    }

    /// `per_instance` concurrent requests with `token` on every instance,
    /// all released at once.
    async fn burst(
        &self,
        token: &str,
        per_instance: usize,
    ) -> Vec<Result<Authenticated, AuthError>> {
        let barrier = Arc::new(tokio::sync::Barrier::new(
            per_instance * self.instances.len(),
        ));
        let mut tasks = Vec::new();
        for auth in &self.instances {
            for _ in 0..per_instance {
                let auth = auth.clone();
                let header = format!("Bearer {token}");
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    auth.authenticate(&[header.as_bytes()]).await
                }));
            }
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(
                tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .expect("no request hangs")
                    .unwrap(),
            );
        }
        answers
    }

    async fn rows(&self) -> usize {
        self.stores[0]
            .webapi_tokens()
            .list(ims_api::Page::first(100))
            .await
            .unwrap()
            .len()
    }
}

async fn call(auth: &WebApiAuthenticator, token: &str) -> Result<Authenticated, AuthError> {
    let header = format!("Bearer {token}");
    auth.authenticate(&[header.as_bytes()]).await
}

fn sha256(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_new_token_sent_to_two_instances_costs_one_validation_in_all() {
    let fleet = fleet(2, WebApiConfig::default()).await;
    let token = fleet.mint(seed::MEMBER_EMAIL);
    let answers = fleet.burst(&token, 200).await;
    let admin = answers[0].as_ref().unwrap().admin_user_id;
    for answer in &answers {
        assert_eq!(answer.as_ref().map(|a| a.admin_user_id), Ok(admin));
    }
    assert_eq!(
        fleet.ims_calls(),
        (1, 1, 1),
        "one validation, one profile call, one membership check for the fleet"
    );
    assert_eq!(fleet.rows().await, 1);
    // Later requests on either instance cost nothing more.
    for auth in &fleet.instances {
        call(auth, &token).await.unwrap();
    }
    assert_eq!(fleet.ims_calls(), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaders_refusal_is_shared_without_further_ims_calls() {
    let fleet = fleet(2, WebApiConfig::default()).await;
    // An admin of the host whom IMS knows, but no member of the organization.
    let token = fleet.mint(seed::NON_MEMBER_EMAIL);
    let answers = fleet.burst(&token, 100).await;
    for answer in &answers {
        assert!(
            matches!(answer, Err(AuthError::InvalidToken(_))),
            "{answer:?}"
        );
    }
    assert_eq!(fleet.ims_calls(), (1, 1, 1), "the leader asked, alone");
    // Later requests, on either instance, are refused without IMS.
    for auth in &fleet.instances {
        assert!(matches!(
            call(auth, &token).await,
            Err(AuthError::InvalidToken(_))
        ));
    }
    assert_eq!(fleet.ims_calls(), (1, 1, 1));
    assert_eq!(fleet.rows().await, 0, "a refusal saves no record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_seen_first_on_one_instance_costs_the_other_nothing() {
    let fleet = fleet(2, WebApiConfig::default()).await;
    let token = fleet.mint(seed::NON_MEMBER_EMAIL);
    assert!(call(&fleet.instances[0], &token).await.is_err());
    let asked = fleet.ims_calls();
    assert!(call(&fleet.instances[1], &token).await.is_err());
    assert_eq!(fleet.ims_calls(), asked, "the second instance asked nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_dies_mid_validation_is_taken_over_once_its_lease_expires() {
    let mut config = WebApiConfig::default();
    config.ims_deadline = Duration::from_millis(800);
    let lease = config.first_sight_lease;
    let fleet = fleet(2, config.clone()).await;
    let token = fleet.mint(seed::MEMBER_EMAIL);
    // IMS holds the first validation for a long time.
    fleet
        .ims
        .inject_fault(
            FaultSpec::new("/ims/validate_token")
                .latency_ms(20_000)
                .count(1),
        )
        .unwrap();
    let (leader_instance, follower_instance) =
        (fleet.instances[0].clone(), fleet.instances[1].clone());
    let leader = {
        let token = token.clone();
        tokio::spawn(async move { call(&leader_instance, &token).await })
    };
    // The leader is inside IMS's validation…
    tokio::time::timeout(Duration::from_secs(10), async {
        while fleet.calls(VALIDATE) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the leader asked IMS");
    // …when it dies (`kill -9` releases nothing either).
    leader.abort();
    let _ = leader.await;

    // Followers on the other instance answer 503 by their deadline: never
    // 401, never a hang.
    let started = std::time::Instant::now();
    let followers: Vec<_> = (0..100)
        .map(|_| {
            let auth = follower_instance.clone();
            let token = token.clone();
            tokio::spawn(async move { call(&auth, &token).await })
        })
        .collect();
    for follower in followers {
        let answer = tokio::time::timeout(Duration::from_secs(10), follower)
            .await
            .expect("no follower hangs")
            .unwrap();
        match answer {
            Err(err @ AuthError::Unavailable { .. }) => {
                assert_eq!(err.status(), 503);
                assert!(err.retry_after_secs().is_some());
            }
            other => panic!("a follower of a dead leader answered {other:?}"),
        }
    }
    let waited = started.elapsed();
    assert!(
        waited < config.ims_deadline + Duration::from_secs(2),
        "followers waited {waited:?} for a deadline of {:?}",
        config.ims_deadline
    );
    assert_eq!(fleet.calls(VALIDATE), 1, "followers did not ask IMS");
    assert_eq!(fleet.rows().await, 0);

    // The dead leader's lease expires: the next request takes it over and
    // validates itself.
    fleet.clock.advance(lease);
    let taken_over = call(&follower_instance, &token).await.unwrap();
    assert_eq!(fleet.calls(VALIDATE), 2);
    assert_eq!(fleet.rows().await, 1, "exactly one row");
    assert_eq!(
        call(&fleet.instances[0], &token)
            .await
            .unwrap()
            .admin_user_id,
        taken_over.admin_user_id
    );
    assert_eq!(fleet.calls(VALIDATE), 2, "the record serves the fleet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_own_first_sight_was_dropped_takes_its_lease_again_at_once() {
    let mut config = WebApiConfig::default();
    config.ims_deadline = Duration::from_millis(800);
    let fleet = fleet(2, config).await;
    let token = fleet.mint(seed::MEMBER_EMAIL);
    fleet
        .ims
        .inject_fault(
            FaultSpec::new("/ims/validate_token")
                .latency_ms(20_000)
                .count(1),
        )
        .unwrap();
    let auth = fleet.instances[0].clone();
    let dropped = {
        let token = token.clone();
        tokio::spawn(async move { call(&auth, &token).await })
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while fleet.calls(VALIDATE) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    // The request is dropped (its client went away), the process lives on.
    dropped.abort();
    let _ = dropped.await;
    // The same instance knows no first sight of its own is running.
    call(&fleet.instances[0], &token).await.unwrap();
    assert_eq!(fleet.calls(VALIDATE), 2);
    call(&fleet.instances[1], &token).await.unwrap();
    assert_eq!(fleet.calls(VALIDATE), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_found_by_another_instance_costs_no_ims_call() {
    let fleet = fleet(2, WebApiConfig::default()).await;
    let token = fleet.mint(seed::MEMBER_EMAIL);
    let first = call(&fleet.instances[0], &token).await.unwrap();
    assert_eq!(fleet.ims_calls(), (1, 1, 1));
    let row = fleet.stores[0]
        .webapi_tokens()
        .find_by_hash(&sha256(&token))
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.admin_email_sha256.is_some(),
        "the record keeps the digest"
    );
    let second = call(&fleet.instances[1], &token).await.unwrap();
    assert_eq!(second.admin_user_id, first.admin_user_id);
    assert_eq!(fleet.ims_calls(), (1, 1, 1), "not even the profile");
}

/// The leader extends its lease before each IMS call: a first sight whose
/// three calls together outlast the lease is still one first sight, and the
/// lease need only cover one call (so a dead leader is taken over soon).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_extends_its_lease_before_each_ims_call() {
    let config = WebApiConfig::default();
    let lease = config.first_sight_lease;
    let fleet = fleet(2, config).await;
    let token = fleet.mint(seed::MEMBER_EMAIL);
    for (call_path, latency) in [("/ims/validate_token", 600), ("/ims/profile", 1500)] {
        fleet
            .ims
            .inject_fault(FaultSpec::new(call_path).latency_ms(latency).count(1))
            .unwrap();
    }
    let leader = {
        let auth = fleet.instances[0].clone();
        let token = token.clone();
        tokio::spawn(async move { call(&auth, &token).await })
    };
    // Most of the lease passes while IMS validates…
    tokio::time::sleep(Duration::from_millis(200)).await;
    fleet.clock.advance(lease - Duration::from_secs(1));
    // …the leader, done validating, is asking for the profile…
    tokio::time::timeout(Duration::from_secs(10), async {
        while fleet.calls(VALIDATE) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the leader asked IMS");
    tokio::time::sleep(Duration::from_millis(900)).await;
    // …when the lease it took at first would have run out.
    fleet.clock.advance(Duration::from_secs(2));
    let follower = call(&fleet.instances[1], &token).await.unwrap();
    let led = leader.await.unwrap().unwrap();
    assert_eq!(follower.admin_user_id, led.admin_user_id);
    assert_eq!(
        fleet.ims_calls(),
        (1, 1, 1),
        "the follower waited for the leader's record instead of leading"
    );
    assert_eq!(fleet.rows().await, 1);
}
