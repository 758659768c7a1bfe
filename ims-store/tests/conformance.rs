//! One conformance suite, run against every backend: SQLite always,
//! PostgreSQL and MySQL/MariaDB when `IMS_TEST_POSTGRES_URL` /
//! `IMS_TEST_MYSQL_URL` are set (each test prints why it skips otherwise).
//!
//! Every case gets a fresh database (SQLite file, PostgreSQL schema, MySQL
//! database), so runs sharing a server never see each other's rows.

#![allow(clippy::unwrap_used)] // the cases run inside the generated #[test] functions

mod support;

use std::time::Duration;

use ims_api::{
    AccessToken, AdminUser, AdminUserDirectory, AdminUserId, ClientId, ClientSecret, ContextName,
    ContextTokens, Error, ExpiringToken, FirstSight, FirstSightOutcome, ImsSettings,
    ImsSettingsStore, InvalidationReason, LockoutPolicy, NewAdminUser, OrgId, Page, Password,
    RefreshToken, TokenCache, TokenHash, TokenStatus, UserProfileRecord, UserProfileRepository,
    WebApiToken, WebApiTokenRepository,
};
use ims_store::{Backend, PasswordSignIn, Store};
use std::sync::Arc;
use support::TestDb;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

fn hash(n: u8) -> TokenHash {
    TokenHash::from_digest([n; 32])
}

async fn admin(store: &Store, name: &str) -> AdminUser {
    store
        .admin_users()
        .create(
            &NewAdminUser::new(
                name,
                format!("{name}@Example.com"),
                "First",
                "Last",
                Password::new(format!("{name}-password")),
            )
            .with_role("Administrators"),
        )
        .await
        .unwrap()
}

mod cases {
    use super::*;

    pub(crate) async fn admin_users_create_find_list(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let jane = admin(&store, "jane").await;
        assert_eq!(jane.email, "jane@Example.com");
        assert_eq!(jane.role.as_deref(), Some("Administrators"));
        assert!(jane.is_active && jane.has_permissions());
        let bob = admins
            .create(&NewAdminUser::new(
                "bob",
                "bob@example.com",
                "Bob",
                "B",
                Password::new("pw"),
            ))
            .await
            .unwrap();
        assert_eq!(bob.role, None);

        let found = admins
            .find_by_email("JANE@example.COM")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, jane);
        assert_eq!(admins.find_by_id(bob.id).await.unwrap().unwrap(), bob);
        assert!(
            admins
                .find_by_id(AdminUserId(i64::MAX))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            admins
                .find_by_email("nobody@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            admins.list().await.unwrap(),
            vec![jane.clone(), bob.clone()]
        );

        let same_email =
            NewAdminUser::new("jane2", "JANE@example.com", "J", "D", Password::new("x"));
        let err = admins.create(&same_email).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(
            err.to_string().contains("e-mail address is already used"),
            "{err}"
        );
        let same_name =
            NewAdminUser::new("jane", "other@example.com", "J", "D", Password::new("x"));
        let err = admins.create(&same_name).await.unwrap_err();
        assert!(
            err.to_string().contains("user name is already used"),
            "{err}"
        );
        let no_at = NewAdminUser::new("x", "not-an-email", "J", "D", Password::new("x"));
        assert!(matches!(
            admins.create(&no_at).await.unwrap_err(),
            Error::InvalidInput(_)
        ));

        assert!(admins.delete(bob.id).await.unwrap());
        assert!(!admins.delete(bob.id).await.unwrap());
        assert!(admins.find_by_id(bob.id).await.unwrap().is_none());
    }

    /// What admin-ims's provisioning asks, exactly on every backend
    /// (MySQL's collations ignore case and trailing spaces; the answers
    /// must not).
    pub(crate) async fn admin_users_by_user_name_and_roles_that_exist(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        assert!(!admins.role_exists(ims_api::ADOBE_IMS_ROLE).await.unwrap());
        let declared = admins.clone().with_roles([ims_api::ADOBE_IMS_ROLE]);
        assert!(declared.role_exists(ims_api::ADOBE_IMS_ROLE).await.unwrap());
        assert!(!declared.role_exists("adobe ims").await.unwrap());

        let kim = admin(&store, "kim").await;
        assert!(admins.role_exists("Administrators").await.unwrap(), "held");
        for near in ["administrators", "Administrators ", "ADMINISTRATORS", ""] {
            assert!(!admins.role_exists(near).await.unwrap(), "{near:?}");
        }
        let found = admins.find_by_username("kim").await.unwrap().unwrap();
        assert_eq!(found.id, kim.id);
        for near in ["Kim", "KIM", "kim ", " kim", "kim@Example.com", ""] {
            assert!(
                admins.find_by_username(near).await.unwrap().is_none(),
                "{near:?}"
            );
        }
    }

    pub(crate) async fn admin_users_set_active(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let jane = admin(&store, "jane").await;
        admins.set_active(jane.id, false).await.unwrap();
        assert!(!admins.find_by_id(jane.id).await.unwrap().unwrap().is_active);
        admins.set_active(jane.id, false).await.unwrap();
        admins.set_active(jane.id, true).await.unwrap();
        assert!(admins.find_by_id(jane.id).await.unwrap().unwrap().is_active);
        let err = admins
            .set_active(AdminUserId(i64::MAX), true)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }

    pub(crate) async fn admin_users_lockout(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let jane = admin(&store, "jane").await;
        let policy = LockoutPolicy {
            max_failures: 3,
            lock_duration: Duration::from_secs(60),
        };
        let one = admins
            .record_login_failure(jane.id, &policy, T0)
            .await
            .unwrap();
        assert_eq!((one.count, one.first_failure), (1, Some(T0)));
        let two = admins
            .record_login_failure(jane.id, &policy, T0 + secs(10))
            .await
            .unwrap();
        assert_eq!(two.count, 2);
        assert!(!two.is_locked(T0 + secs(10)));
        let three = admins
            .record_login_failure(jane.id, &policy, T0 + secs(20))
            .await
            .unwrap();
        assert_eq!(three.count, 3);
        assert_eq!(three.lock_expires, Some(T0 + secs(80)));

        let stored = admins.find_by_id(jane.id).await.unwrap().unwrap();
        assert_eq!(stored.login_failures, three);
        assert!(stored.is_locked(T0 + secs(79)));
        assert!(!stored.is_locked(T0 + secs(80)));

        admins.reset_login_failures(jane.id).await.unwrap();
        let reset = admins.find_by_id(jane.id).await.unwrap().unwrap();
        assert_eq!(reset.login_failures, Default::default());

        // A failure after the window restarts the count.
        admins
            .record_login_failure(jane.id, &policy, T0)
            .await
            .unwrap();
        let later = admins
            .record_login_failure(jane.id, &policy, T0 + secs(61))
            .await
            .unwrap();
        assert_eq!(later.count, 1);

        let unknown = AdminUserId(i64::MAX);
        assert!(
            admins
                .record_login_failure(unknown, &policy, T0)
                .await
                .is_err()
        );
        assert!(admins.reset_login_failures(unknown).await.is_err());
    }

    pub(crate) async fn admin_users_concurrent_failures_are_counted_once_each(db: &TestDb) {
        let store = db.store().await;
        let jane = admin(&store, "jane").await;
        let policy = LockoutPolicy {
            max_failures: 0,
            lock_duration: Duration::from_secs(3600),
        };
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let admins = store.admin_users();
                tokio::spawn(async move {
                    admins
                        .record_login_failure(jane.id, &policy, T0)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let stored = store
            .admin_users()
            .find_by_id(jane.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.login_failures.count, 20);
    }

    pub(crate) async fn admin_users_verify_password(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let jane = admin(&store, "jane").await;
        let right = Password::new("jane-password");
        let by_name = admins.verify_password("jane", &right).await.unwrap();
        assert_eq!(by_name.map(|u| u.id), Some(jane.id));
        let by_email = admins
            .verify_password("JANE@example.com", &right)
            .await
            .unwrap();
        assert_eq!(by_email.map(|u| u.id), Some(jane.id));
        assert!(
            admins
                .verify_password("jane", &Password::new("nope"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            admins
                .verify_password("nobody", &right)
                .await
                .unwrap()
                .is_none()
        );

        let new = Password::new("a new password");
        admins.set_password(jane.id, &new).await.unwrap();
        assert!(
            admins
                .verify_password("jane", &right)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            admins
                .verify_password("jane", &new)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            admins
                .set_password(AdminUserId(i64::MAX), &new)
                .await
                .is_err()
        );
    }

    /// The attack: guess a password by user name, ten times. Each guess
    /// counts against the user the login resolved to (user name, e-mail in
    /// any case, padded), and the lock then refuses even the right
    /// password without hashing it.
    pub(crate) async fn admin_users_wrong_passwords_by_user_name_lock(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let pat = admin(&store, "pat").await;
        let policy = LockoutPolicy::default();
        let logins = ["pat", " pat ", "PAT@example.com"];
        for (n, login) in logins.iter().cycle().take(10).enumerate() {
            let outcome = admins
                .sign_in_with_password(login, &Password::new(format!("guess-{n}")), &policy)
                .await
                .unwrap();
            let expected_count = u32::try_from(n + 1).unwrap();
            match outcome {
                PasswordSignIn::WrongPassword { user, failures } => {
                    assert_eq!(user, pat.id);
                    assert_eq!(failures.count, expected_count);
                }
                PasswordSignIn::Locked { user, until } => {
                    assert_eq!(user, pat.id);
                    assert!(n >= 6 && until > T0, "locked after {n} guesses");
                }
                other => panic!("guess {n}: {other:?}"),
            }
        }
        let stored = admins.find_by_id(pat.id).await.unwrap().unwrap();
        assert_eq!(stored.login_failures.count, policy.max_failures);
        assert!(stored.is_locked(T0), "{:?}", stored.login_failures);

        // Locked: the right password is refused, and no argon2 runs for it.
        let before = store.password_hash_stats().completed;
        let outcome = admins
            .sign_in_with_password("pat", &Password::new("pat-password"), &policy)
            .await
            .unwrap();
        assert!(matches!(outcome, PasswordSignIn::Locked { user, .. } if user == pat.id));
        assert_eq!(store.password_hash_stats().completed, before);

        // Once the lock has passed, the right password signs in and clears
        // the count.
        db.clock
            .advance(policy.lock_duration + Duration::from_secs(1));
        let outcome = admins
            .sign_in_with_password("pat", &Password::new("pat-password"), &policy)
            .await
            .unwrap();
        let PasswordSignIn::SignedIn(user) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(user.id, pat.id);
        assert_eq!(user.login_failures, ims_api::LoginFailures::default());
        let stored = admins.find_by_id(pat.id).await.unwrap().unwrap();
        assert_eq!(stored.login_failures, ims_api::LoginFailures::default());
    }

    /// Deactivated users are refused before hashing too; unknown logins
    /// verify against a dummy hash (comparable time) and count nothing; a
    /// user name that is another user's e-mail address counts against the
    /// user name's owner.
    pub(crate) async fn admin_users_sign_in_refusals(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let policy = LockoutPolicy::default();
        let jane = admin(&store, "jane").await;
        admins.set_active(jane.id, false).await.unwrap();
        let before = store.password_hash_stats().completed;
        let outcome = admins
            .sign_in_with_password("jane", &Password::new("jane-password"), &policy)
            .await
            .unwrap();
        assert_eq!(outcome, PasswordSignIn::Inactive { user: jane.id });
        assert_eq!(store.password_hash_stats().completed, before);

        let outcome = admins
            .sign_in_with_password("nobody", &Password::new("x"), &policy)
            .await
            .unwrap();
        assert_eq!(outcome, PasswordSignIn::UnknownLogin);
        assert_eq!(store.password_hash_stats().completed, before + 1);

        // "bob@example.com" is Ann's user name and Bob's e-mail address.
        let bob = admin(&store, "bob").await;
        let ann = admins
            .create(&NewAdminUser::new(
                "bob@example.com",
                "ann@example.com",
                "Ann",
                "A",
                Password::new("ann-password"),
            ))
            .await
            .unwrap();
        let outcome = admins
            .sign_in_with_password("bob@example.com", &Password::new("bob-password"), &policy)
            .await
            .unwrap();
        assert!(
            matches!(outcome, PasswordSignIn::WrongPassword { user, .. } if user == ann.id),
            "{outcome:?}"
        );
        let bob = admins.find_by_id(bob.id).await.unwrap().unwrap();
        assert_eq!(bob.login_failures.count, 0);
        let stats = store.password_hash_stats();
        assert!(stats.peak_running <= stats.concurrency, "{stats:?}");
    }

    /// Concurrent guesses beyond the lock: those that queued for a hash
    /// while the others locked the user get no hash of their own.
    pub(crate) async fn admin_users_concurrent_guesses_stop_at_the_lock(db: &TestDb) {
        let store = db.store().await;
        let admins = store.admin_users();
        let pat = admin(&store, "pat").await;
        let policy = LockoutPolicy {
            max_failures: 3,
            lock_duration: Duration::from_secs(3600),
        };
        let before = store.password_hash_stats().completed;
        let guesses: Vec<_> = (0..32)
            .map(|n| {
                let admins = admins.clone();
                tokio::spawn(async move {
                    admins
                        .sign_in_with_password("pat", &Password::new(format!("g{n}")), &policy)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut wrong = 0;
        for guess in guesses {
            match guess.await.unwrap() {
                PasswordSignIn::WrongPassword { .. } => wrong += 1,
                PasswordSignIn::Locked { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        let stats = store.password_hash_stats();
        let hashed = stats.completed - before;
        assert_eq!(hashed, wrong, "one hash per counted guess");
        // At most the bound's worth of guesses can be past the check when
        // the lock lands.
        assert!(
            wrong < 3 + stats.concurrency as u64,
            "{wrong} guesses were hashed with a lock at 3 ({stats:?})"
        );
        let stored = admins.find_by_id(pat.id).await.unwrap().unwrap();
        assert!(stored.is_locked(T0));
    }

    pub(crate) async fn webapi_tokens_save_find_replace(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        let record = WebApiToken::validated(jane.id, hash(1), T0 + secs(3600), T0);
        tokens.save(&record).await.unwrap();

        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(found.admin_user_id, jane.id);
        assert_eq!(found.access_token_hash, hash(1));
        assert!(found.access_token.is_none());
        assert_eq!(found.created_at, T0);
        assert_eq!(found.updated_at, T0);
        assert_eq!(found.last_check_time, T0);
        assert_eq!(found.access_token_expires_at, T0 + secs(3600));
        assert_eq!(found.status, TokenStatus::Validated);
        assert!(tokens.find_by_hash(&hash(2)).await.unwrap().is_none());

        let mut replaced = record
            .clone()
            .with_access_token(AccessToken::new("eyJ.replaced"));
        replaced.access_token_expires_at = T0 + secs(7200);
        replaced.updated_at = T0 + secs(5);
        tokens.save(&replaced).await.unwrap();
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(found.access_token_expires_at, T0 + secs(7200));
        assert_eq!(found.updated_at, T0 + secs(5));
        assert_eq!(found.access_token.unwrap().expose_secret(), "eyJ.replaced");
        assert_eq!(tokens.list(Page::first(10)).await.unwrap().len(), 1);

        // A token row needs an admin (foreign key).
        let orphan = WebApiToken::validated(AdminUserId(i64::MAX), hash(3), T0, T0);
        assert!(matches!(
            tokens.save(&orphan).await.unwrap_err(),
            Error::Storage { .. }
        ));
    }

    pub(crate) async fn webapi_tokens_record_check(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        tokens
            .save(&WebApiToken::validated(jane.id, hash(1), T0 + secs(60), T0))
            .await
            .unwrap();
        tokens
            .record_check(&hash(1), T0 + secs(600), T0 + secs(9000))
            .await
            .unwrap();
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(found.last_check_time, T0 + secs(600));
        assert_eq!(found.updated_at, T0 + secs(600));
        assert_eq!(found.access_token_expires_at, T0 + secs(9000));
        assert_eq!(found.created_at, T0);
        // An unknown token is not an error.
        tokens.record_check(&hash(9), T0, T0).await.unwrap();
    }

    pub(crate) async fn webapi_tokens_invalidate(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        let bob = admin(&store, "bob").await;
        for (n, who) in [(1, &jane), (2, &jane), (3, &jane), (4, &bob)] {
            tokens
                .save(&WebApiToken::validated(
                    who.id,
                    hash(n),
                    T0 + secs(3600),
                    T0,
                ))
                .await
                .unwrap();
        }
        let at = T0 + secs(30);
        assert!(
            tokens
                .invalidate(&hash(1), &InvalidationReason::FailedValidation, at)
                .await
                .unwrap()
        );
        assert!(
            !tokens
                .invalidate(&hash(1), &InvalidationReason::Revoked, at)
                .await
                .unwrap()
        );
        assert!(
            !tokens
                .invalidate(&hash(9), &InvalidationReason::Revoked, at)
                .await
                .unwrap()
        );
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(
            found.status,
            TokenStatus::Invalidated {
                at,
                reason: InvalidationReason::FailedValidation
            }
        );
        assert!(found.is_invalidated());
        assert_eq!(found.updated_at, at);

        let other = InvalidationReason::Other("role changed".to_owned());
        assert_eq!(
            tokens
                .invalidate_all_for_admin(jane.id, &other, at)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            tokens
                .invalidate_all_for_admin(jane.id, &other, at)
                .await
                .unwrap(),
            0
        );
        let janes = tokens.list_by_admin(jane.id).await.unwrap();
        assert_eq!(janes.len(), 3);
        assert!(janes.iter().all(WebApiToken::is_invalidated));
        let two = tokens.find_by_hash(&hash(2)).await.unwrap().unwrap();
        assert_eq!(two.status, TokenStatus::Invalidated { at, reason: other });
        let bobs = tokens.list_by_admin(bob.id).await.unwrap();
        assert_eq!(bobs.len(), 1);
        assert_eq!(bobs[0].status, TokenStatus::Validated);

        // Deleting the admin cascades to their rows.
        assert!(store.admin_users().delete(jane.id).await.unwrap());
        assert!(tokens.list_by_admin(jane.id).await.unwrap().is_empty());
        assert!(tokens.find_by_hash(&hash(1)).await.unwrap().is_none());
    }

    pub(crate) async fn webapi_tokens_save_never_revives_an_invalidated_row(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        let org = OrgId::parse("0123456789ABCDEF01234567@AdobeOrg").unwrap();
        let first = WebApiToken::validated(jane.id, hash(1), T0 + secs(3600), T0)
            .with_organization(org.clone());
        tokens.save(&first).await.unwrap();
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(found.organization, Some(org.clone()), "kept with the row");
        assert!(
            tokens
                .invalidate(&hash(1), &InvalidationReason::Revoked, T0 + secs(1))
                .await
                .unwrap()
        );
        // A first sight that was validated before the invalidation and
        // saves after it.
        let late = WebApiToken::validated(jane.id, hash(1), T0 + secs(7200), T0 + secs(2));
        tokens.save(&late).await.unwrap();
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(
            found.status,
            TokenStatus::Invalidated {
                at: T0 + secs(1),
                reason: InvalidationReason::Revoked
            }
        );
        assert_eq!(found.access_token_expires_at, T0 + secs(3600), "unchanged");
        assert_eq!(found.last_check_time, T0, "unchanged");
        assert_eq!(found.organization, Some(org), "unchanged");
        // A row without an organization (saved by an older build) reads as
        // such.
        tokens
            .save(&WebApiToken::validated(jane.id, hash(2), T0 + secs(60), T0))
            .await
            .unwrap();
        let found = tokens.find_by_hash(&hash(2)).await.unwrap().unwrap();
        assert_eq!(found.organization, None);
    }

    pub(crate) async fn webapi_tokens_revocation_time_is_kept(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        let bob = admin(&store, "bob").await;
        assert_eq!(tokens.last_revocation(jane.id).await.unwrap(), None);
        // Recorded even when the admin has no row yet (a first sight may be
        // in flight).
        assert_eq!(
            tokens
                .invalidate_all_for_admin(jane.id, &InvalidationReason::Revoked, T0 + secs(10))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            tokens.last_revocation(jane.id).await.unwrap(),
            Some(T0 + secs(10))
        );
        assert_eq!(tokens.last_revocation(bob.id).await.unwrap(), None);
        // The latest stands, whatever the order instances write in.
        tokens
            .invalidate_all_for_admin(jane.id, &InvalidationReason::Revoked, T0 + secs(30))
            .await
            .unwrap();
        tokens
            .invalidate_all_for_admin(jane.id, &InvalidationReason::Revoked, T0 + secs(20))
            .await
            .unwrap();
        assert_eq!(
            tokens.last_revocation(jane.id).await.unwrap(),
            Some(T0 + secs(30))
        );
        // An unknown admin is no error, and leaves nothing behind.
        let ghost = AdminUserId(i64::MAX);
        assert_eq!(
            tokens
                .invalidate_all_for_admin(ghost, &InvalidationReason::Revoked, T0)
                .await
                .unwrap(),
            0
        );
        assert_eq!(tokens.last_revocation(ghost).await.unwrap(), None);
        // Deleting the admin takes the record along.
        assert!(store.admin_users().delete(jane.id).await.unwrap());
        assert_eq!(tokens.last_revocation(jane.id).await.unwrap(), None);
    }

    pub(crate) async fn webapi_tokens_list_newest_first(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        for n in 1..=5u8 {
            let created = T0 + secs(i64::from(n));
            tokens
                .save(&WebApiToken::validated(
                    jane.id,
                    hash(n),
                    T0 + secs(3600),
                    created,
                ))
                .await
                .unwrap();
        }
        let order = |page: Vec<WebApiToken>| -> Vec<TokenHash> {
            page.into_iter().map(|t| t.access_token_hash).collect()
        };
        assert_eq!(
            order(tokens.list(Page::first(2)).await.unwrap()),
            vec![hash(5), hash(4)]
        );
        let page = Page {
            offset: 2,
            limit: 2,
        };
        assert_eq!(
            order(tokens.list(page).await.unwrap()),
            vec![hash(3), hash(2)]
        );
        let page = Page {
            offset: 4,
            limit: 100,
        };
        assert_eq!(order(tokens.list(page).await.unwrap()), vec![hash(1)]);
        assert!(
            tokens
                .list(Page {
                    offset: 5,
                    limit: 10
                })
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            order(tokens.list_by_admin(jane.id).await.unwrap()),
            vec![hash(5), hash(4), hash(3), hash(2), hash(1)]
        );
    }

    pub(crate) async fn webapi_tokens_purge_expired(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        for (n, expires) in [(1, 10), (2, 20), (3, 30)] {
            tokens
                .save(&WebApiToken::validated(
                    jane.id,
                    hash(n),
                    T0 + secs(expires),
                    T0,
                ))
                .await
                .unwrap();
        }
        tokens
            .invalidate(&hash(1), &InvalidationReason::Revoked, T0)
            .await
            .unwrap();
        assert_eq!(tokens.purge_expired(T0 + secs(20)).await.unwrap(), 1);
        assert!(tokens.find_by_hash(&hash(1)).await.unwrap().is_none());
        assert!(tokens.find_by_hash(&hash(2)).await.unwrap().is_some());
        assert_eq!(tokens.purge_expired(T0 + secs(31)).await.unwrap(), 2);
        assert_eq!(tokens.purge_expired(T0 + secs(31)).await.unwrap(), 0);
    }

    pub(crate) async fn webapi_access_token_encrypted_at_rest(db: &TestDb) {
        let store = db.store().await;
        let jane = admin(&store, "jane").await;
        let plaintext = "eyJhbGciOiJSUzI1NiJ9.very-secret-token";
        let record = WebApiToken::validated(jane.id, hash(7), T0 + secs(60), T0)
            .with_access_token(AccessToken::new(plaintext));
        store.webapi_tokens().save(&record).await.unwrap();

        let raw = db
            .raw_bytes(format!(
                "SELECT access_token FROM admin_adobe_ims_webapi WHERE access_token_hash = '{}'",
                hash(7).as_str()
            ))
            .await
            .unwrap();
        assert!(raw.len() > plaintext.len());
        assert!(
            !raw.windows(plaintext.len())
                .any(|w| w == plaintext.as_bytes())
        );

        // Another key: a clear error, not garbage.
        let other = db
            .store_with_key(Some(&ims_store::EncryptionKey::generate()))
            .await;
        let err = other
            .webapi_tokens()
            .find_by_hash(&hash(7))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        assert!(err.to_string().contains("encryption key"), "{err}");
        assert!(!err.to_string().contains(plaintext));

        // No key: the token is refused, a record without it is fine.
        let keyless = db.store_with_key(None).await;
        let err = keyless.webapi_tokens().save(&record).await.unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        let mut bare = record.clone();
        bare.access_token = None;
        bare.access_token_hash = hash(8);
        keyless.webapi_tokens().save(&bare).await.unwrap();
    }

    pub(crate) async fn user_profiles_save_find_delete(db: &TestDb) {
        let store = db.store().await;
        let profiles = store.user_profiles();
        let jane = admin(&store, "jane").await;
        assert!(profiles.find_by_admin(jane.id).await.unwrap().is_none());

        let mut record = UserProfileRecord::new(jane.id, "Jane Doe", "jane@example.com", T0);
        record.image = Some("https://example.com/jane.png".to_owned());
        record.account_type = Some("ent".to_owned());
        record.access_token = Some(AccessToken::new("profile-access-secret"));
        record.refresh_token = Some(RefreshToken::new("profile-refresh-secret"));
        record.access_token_expires_at = Some(T0 + secs(86_400));
        profiles.save(&record).await.unwrap();

        let found = profiles.find_by_admin(jane.id).await.unwrap().unwrap();
        assert_eq!(found.admin_user_id, jane.id);
        assert_eq!(found.name, "Jane Doe");
        assert_eq!(found.email, "jane@example.com");
        assert_eq!(found.image, record.image);
        assert_eq!(found.account_type.as_deref(), Some("ent"));
        assert_eq!(
            found.access_token.unwrap().expose_secret(),
            "profile-access-secret"
        );
        assert_eq!(
            found.refresh_token.unwrap().expose_secret(),
            "profile-refresh-secret"
        );
        assert_eq!(found.access_token_expires_at, Some(T0 + secs(86_400)));
        assert_eq!((found.created_at, found.updated_at), (T0, T0));

        for column in ["access_token", "refresh_token"] {
            let raw = db
                .raw_bytes(format!(
                    "SELECT {column} FROM adobe_user_profile WHERE admin_user_id = {}",
                    jane.id
                ))
                .await
                .unwrap();
            assert!(!raw.windows(6).any(|w| w == b"secret"), "{column} in clear");
        }

        // Replace: tokens dropped, name changed.
        let mut replaced = UserProfileRecord::new(jane.id, "Jane D.", "jane@example.com", T0);
        replaced.updated_at = T0 + secs(1);
        profiles.save(&replaced).await.unwrap();
        let found = profiles.find_by_admin(jane.id).await.unwrap().unwrap();
        assert_eq!(found.name, "Jane D.");
        assert!(found.access_token.is_none() && found.refresh_token.is_none());
        assert_eq!(found.updated_at, T0 + secs(1));

        // Without a key, tokens are refused.
        let keyless = db.store_with_key(None).await;
        assert!(matches!(
            keyless.user_profiles().save(&record).await.unwrap_err(),
            Error::Misconfigured(_)
        ));

        assert!(profiles.delete_by_admin(jane.id).await.unwrap());
        assert!(!profiles.delete_by_admin(jane.id).await.unwrap());
        assert!(profiles.find_by_admin(jane.id).await.unwrap().is_none());

        // Cascade from admin_user.
        profiles.save(&replaced).await.unwrap();
        store.admin_users().delete(jane.id).await.unwrap();
        assert!(profiles.find_by_admin(jane.id).await.unwrap().is_none());
    }

    pub(crate) async fn settings_round_trip_and_encryption(db: &TestDb) {
        let store = db.store().await;
        let settings = store.settings();
        let defaults = settings.load().await.unwrap();
        assert!(!defaults.enabled && defaults.client_id.is_none());
        assert!(defaults.client_secret.is_none() && defaults.org_id.is_none());

        let secret = "p8e-very-secret-client-secret";
        let saved = ImsSettings::enabled(
            ClientId::parse("my_client").unwrap(),
            ClientSecret::new(secret),
            OrgId::parse("0123456789ABCDEF01234567@AdobeOrg").unwrap(),
        );
        settings.save(&saved).await.unwrap();
        let loaded = settings.load().await.unwrap();
        assert!(loaded.enabled && loaded.two_factor_confirmed);
        assert_eq!(loaded.client_id, saved.client_id);
        assert_eq!(loaded.org_id, saved.org_id);
        assert_eq!(
            loaded.client_secret.as_ref().unwrap().expose_secret(),
            secret
        );
        assert!(!format!("{loaded:?}").contains(secret));
        assert!(!format!("{store:?} {settings:?}").contains(secret));
        assert!(!format!("{store:?}").contains(&db.key.expose_base64()));

        let raw = db
            .raw_bytes("SELECT client_secret FROM adobe_ims_settings WHERE id = 1".to_owned())
            .await
            .unwrap();
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));

        let wrong = db
            .store_with_key(Some(&ims_store::EncryptionKey::generate()))
            .await;
        let err = wrong.settings().load().await.unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        assert!(
            err.to_string().contains("not the one it was stored with"),
            "{err}"
        );

        let keyless = db.store_with_key(None).await;
        let err = keyless.settings().save(&saved).await.unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        assert!(err.to_string().contains("configure"), "{err}");
        let err = keyless.settings().load().await.unwrap_err();
        assert!(err.to_string().contains("no encryption key"), "{err}");

        // Disabling without a secret needs no key.
        let mut disabled = ImsSettings::default();
        disabled.client_id = saved.client_id.clone();
        keyless.settings().save(&disabled).await.unwrap();
        let loaded = settings.load().await.unwrap();
        assert!(!loaded.enabled && loaded.client_secret.is_none());
        assert_eq!(loaded.client_id, saved.client_id);
    }

    pub(crate) async fn token_cache_store_load_clear(db: &TestDb) {
        let store = db.store().await;
        let cache = store.token_cache();
        let ctx = ContextName::parse("MyService").unwrap();
        assert!(cache.load(&ctx).await.unwrap().access_token.is_none());

        let tokens = ContextTokens {
            access_token: Some(ExpiringToken::new(
                AccessToken::new("cached-access"),
                T0 + secs(60),
            )),
            refresh_token: Some(ExpiringToken::new(
                RefreshToken::new("cached-refresh"),
                T0 + secs(600),
            )),
        };
        cache.store(&ctx, &tokens).await.unwrap();
        let loaded = cache
            .load(&ContextName::parse("myservice").unwrap())
            .await
            .unwrap();
        let access = loaded.access_token.unwrap();
        assert_eq!(access.token.expose_secret(), "cached-access");
        assert_eq!(access.expires_at, T0 + secs(60));
        let refresh = loaded.refresh_token.unwrap();
        assert_eq!(refresh.token.expose_secret(), "cached-refresh");
        assert_eq!(refresh.expires_at, T0 + secs(600));

        let raw = db
            .raw_bytes(format!(
                "SELECT access_token FROM ims_token_cache WHERE context_name = '{}'",
                ctx.as_str()
            ))
            .await
            .unwrap();
        assert!(!raw.windows(6).any(|w| w == b"cached"));

        // Replacing with only an access token drops the refresh token.
        let only_access = ContextTokens {
            access_token: Some(ExpiringToken::new(
                AccessToken::new("second"),
                T0 + secs(90),
            )),
            refresh_token: None,
        };
        cache.store(&ctx, &only_access).await.unwrap();
        let loaded = cache.load(&ctx).await.unwrap();
        assert_eq!(loaded.access_token.unwrap().token.expose_secret(), "second");
        assert!(loaded.refresh_token.is_none());

        cache.clear(&ctx).await.unwrap();
        let cleared = cache.load(&ctx).await.unwrap();
        assert!(cleared.access_token.is_none() && cleared.refresh_token.is_none());
        cache
            .clear(&ContextName::parse("never-stored").unwrap())
            .await
            .unwrap();

        let keyless = db.store_with_key(None).await;
        assert!(matches!(
            keyless
                .token_cache()
                .store(&ctx, &tokens)
                .await
                .unwrap_err(),
            Error::Misconfigured(_)
        ));
        keyless
            .token_cache()
            .store(&ctx, &ContextTokens::default())
            .await
            .unwrap();
    }

    pub(crate) async fn token_cache_leases(db: &TestDb) {
        let store = db.store().await;
        let cache = store.token_cache();
        let ctx = ContextName::parse("leased").unwrap();
        let ttl = Duration::from_secs(30);
        assert!(cache.try_lease(&ctx, "a", ttl).await.unwrap());
        assert!(!cache.try_lease(&ctx, "b", ttl).await.unwrap());
        assert!(
            cache.try_lease(&ctx, "a", ttl).await.unwrap(),
            "the holder renews"
        );
        cache.release_lease(&ctx, "b").await.unwrap();
        assert!(
            !cache.try_lease(&ctx, "b", ttl).await.unwrap(),
            "b cannot release a's lease"
        );
        cache.release_lease(&ctx, "a").await.unwrap();
        assert!(cache.try_lease(&ctx, "b", ttl).await.unwrap());

        // Storing tokens keeps the lease.
        cache.store(&ctx, &ContextTokens::default()).await.unwrap();
        assert!(!cache.try_lease(&ctx, "a", ttl).await.unwrap());

        // An expired lease can be taken over.
        db.clock.advance(Duration::from_secs(29));
        assert!(!cache.try_lease(&ctx, "a", ttl).await.unwrap());
        db.clock.advance(Duration::from_secs(1));
        assert!(cache.try_lease(&ctx, "a", ttl).await.unwrap());
        assert!(!cache.try_lease(&ctx, "b", ttl).await.unwrap());

        // Leases are per context.
        let other = ContextName::parse("other").unwrap();
        assert!(cache.try_lease(&other, "b", ttl).await.unwrap());

        // Concurrent contenders: exactly one wins.
        let fresh = ContextName::parse("contended").unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|n| {
                let cache = store.token_cache();
                let fresh = fresh.clone();
                tokio::spawn(async move { cache.try_lease(&fresh, &format!("h{n}"), ttl).await })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(task.await.unwrap().unwrap());
        }
        assert_eq!(winners, 1);
    }

    /// Several instances on one database (two pools): each sees the other's
    /// writes at once, and a lease held through one excludes the other.
    pub(crate) async fn two_pools_see_each_other(db: &TestDb) {
        let first = db.store().await;
        // The second instance names the same database by the scheme's alias.
        let alias = match db.backend {
            Backend::Postgres => db.url.replacen("postgres:", "postgresql:", 1),
            Backend::MySql => db.url.replacen("mysql:", "mariadb:", 1),
            _ => db.url.clone(),
        };
        let clock: Arc<dyn ims_api::Clock> = db.clock.clone();
        let second = Store::connect(&alias, support::options(Some(&db.key), Some(clock)))
            .await
            .unwrap();
        assert_eq!(second.backend(), db.backend);
        let jane = admin(&first, "jane").await;
        let seen = second
            .admin_users()
            .find_by_email("jane@example.com")
            .await
            .unwrap();
        assert_eq!(seen.map(|u| u.id), Some(jane.id));

        second
            .webapi_tokens()
            .save(&WebApiToken::validated(jane.id, hash(1), T0 + secs(60), T0))
            .await
            .unwrap();
        assert!(
            first
                .webapi_tokens()
                .find_by_hash(&hash(1))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            first
                .webapi_tokens()
                .invalidate(&hash(1), &InvalidationReason::Revoked, T0)
                .await
                .unwrap()
        );
        assert!(
            second
                .webapi_tokens()
                .find_by_hash(&hash(1))
                .await
                .unwrap()
                .unwrap()
                .is_invalidated()
        );

        let secret = ImsSettings::enabled(
            ClientId::parse("fleet").unwrap(),
            ClientSecret::new("fleet-secret"),
            OrgId::parse("0123456789ABCDEF01234567").unwrap(),
        );
        first.settings().save(&secret).await.unwrap();
        let loaded = second.settings().load().await.unwrap();
        assert_eq!(
            loaded.client_secret.unwrap().expose_secret(),
            "fleet-secret"
        );

        let ctx = ContextName::parse("fleet").unwrap();
        let ttl = Duration::from_secs(30);
        assert!(
            first
                .token_cache()
                .try_lease(&ctx, "instance-1", ttl)
                .await
                .unwrap()
        );
        assert!(
            !second
                .token_cache()
                .try_lease(&ctx, "instance-2", ttl)
                .await
                .unwrap()
        );
        first
            .token_cache()
            .release_lease(&ctx, "instance-1")
            .await
            .unwrap();
        assert!(
            second
                .token_cache()
                .try_lease(&ctx, "instance-2", ttl)
                .await
                .unwrap()
        );
        assert!(
            !first
                .token_cache()
                .try_lease(&ctx, "instance-1", ttl)
                .await
                .unwrap()
        );

        first.close().await;
        second.close().await;
    }

    /// A hundred writers at once, through two pools (two instances of the
    /// host): every write lands — no row lost, no failure surfaced (SQLite's
    /// "database is locked" included), no update of a shared row lost, one
    /// lease per context.
    pub(crate) async fn a_hundred_concurrent_writers_lose_no_row(db: &TestDb) {
        const WRITERS: u8 = 100;
        let stores = [db.store().await, db.store().await];
        let owner = admin(&stores[0], "owner").await;
        let policy = LockoutPolicy {
            max_failures: 0,
            lock_duration: Duration::from_secs(60),
        };
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| {
                let store = stores[usize::from(n % 2)].clone();
                tokio::spawn(async move {
                    let user = store
                        .admin_users()
                        .create(&NewAdminUser::new(
                            format!("writer{n}"),
                            format!("writer{n}@example.com"),
                            "First",
                            "Last",
                            Password::new("unused"),
                        ))
                        .await?;
                    let token = WebApiToken::validated(user.id, hash(n), T0 + secs(60), T0);
                    store.webapi_tokens().save(&token).await?;
                    store
                        .admin_users()
                        .record_login_failure(owner.id, &policy, T0)
                        .await?;
                    let ctx = ContextName::parse(&format!("ctx{}", n % 5)).unwrap();
                    let tokens = ContextTokens {
                        access_token: Some(ExpiringToken::new(AccessToken::new("t"), T0)),
                        refresh_token: None,
                    };
                    store.token_cache().store(&ctx, &tokens).await?;
                    store
                        .token_cache()
                        .try_lease(&ctx, &format!("w{n}"), Duration::from_secs(600))
                        .await
                })
            })
            .collect();
        let mut leases = 0;
        for writer in writers {
            match writer.await.unwrap() {
                Ok(leased) => leases += usize::from(leased),
                Err(err) => {
                    let text = format!("{err} {:?}", std::error::Error::source(&err));
                    assert!(!text.contains("database is locked"), "{text}");
                    panic!("a writer failed: {text}");
                }
            }
        }
        assert_eq!(leases, 5, "one lease per context");
        let users = stores[0].admin_users().list().await.unwrap();
        assert_eq!(users.len(), usize::from(WRITERS) + 1);
        for n in 0..WRITERS {
            let name = format!("writer{n}");
            assert!(users.iter().any(|u| u.username == name), "{name} lost");
            let token = stores[1].webapi_tokens().find_by_hash(&hash(n)).await;
            assert!(token.unwrap().is_some(), "the token of {name} lost");
        }
        let owner = stores[1]
            .admin_users()
            .find_by_id(owner.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            owner.login_failures.count,
            u32::from(WRITERS),
            "no lost update"
        );
    }

    pub(crate) async fn webapi_tokens_keep_the_email_digest(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let jane = admin(&store, "jane").await;
        let digest = [0xa5; 32];
        let with = WebApiToken::validated(jane.id, hash(1), T0 + secs(60), T0)
            .with_admin_email_sha256(digest);
        tokens.save(&with).await.unwrap();
        let found = tokens.find_by_hash(&hash(1)).await.unwrap().unwrap();
        assert_eq!(found.admin_email_sha256, Some(digest));
        // Rows saved without it (by older builds) read back without it.
        let without = WebApiToken::validated(jane.id, hash(2), T0 + secs(60), T0);
        tokens.save(&without).await.unwrap();
        let found = tokens.find_by_hash(&hash(2)).await.unwrap().unwrap();
        assert_eq!(found.admin_email_sha256, None);
        // A replaced validated row takes the new digest.
        let other = [0x0f; 32];
        tokens
            .save(&without.with_admin_email_sha256(other))
            .await
            .unwrap();
        let listed = tokens.list_by_admin(jane.id).await.unwrap();
        let digests: Vec<_> = listed.iter().map(|t| t.admin_email_sha256).collect();
        assert!(digests.contains(&Some(digest)) && digests.contains(&Some(other)));
    }

    pub(crate) async fn webapi_first_sight_lease(db: &TestDb) {
        let store = db.store().await;
        let tokens = store.webapi_tokens();
        let lease = Duration::from_secs(15);
        let token = hash(1);
        let lead = |holder: &'static str| {
            let tokens = tokens.clone();
            let token = token.clone();
            async move {
                tokens
                    .begin_first_sight(&token, holder, lease)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(lead("a").await, FirstSight::Lead);
        assert_eq!(
            lead("b").await,
            FirstSight::Follow {
                until: T0 + secs(15)
            }
        );
        assert_eq!(
            lead("a").await,
            FirstSight::Lead,
            "the holder takes its own again"
        );
        // Another token is another lease.
        assert_eq!(
            tokens
                .begin_first_sight(&hash(2), "b", lease)
                .await
                .unwrap(),
            FirstSight::Lead
        );
        // Only the holder ends it.
        tokens
            .end_first_sight(&token, "b", &FirstSightOutcome::Recorded)
            .await
            .unwrap();
        assert!(matches!(lead("b").await, FirstSight::Follow { .. }));
        tokens
            .end_first_sight(&token, "a", &FirstSightOutcome::Recorded)
            .await
            .unwrap();
        assert_eq!(lead("b").await, FirstSight::Lead, "released once recorded");
        tokens
            .end_first_sight(&token, "b", &FirstSightOutcome::Undecided)
            .await
            .unwrap();
        assert_eq!(lead("c").await, FirstSight::Lead, "released undecided");

        // A refusal stands for its time, even against its own holder.
        let refused = FirstSightOutcome::Refused {
            reason: "IMS said token_revoked".into(),
            remembered_for: Duration::from_secs(60),
        };
        tokens.end_first_sight(&token, "c", &refused).await.unwrap();
        for holder in ["a", "c"] {
            assert_eq!(
                lead(holder).await,
                FirstSight::Refused {
                    reason: "IMS said token_revoked".into()
                }
            );
        }
        db.clock.advance(Duration::from_secs(59));
        assert!(matches!(lead("a").await, FirstSight::Refused { .. }));
        db.clock.advance(Duration::from_secs(1));
        assert_eq!(lead("a").await, FirstSight::Lead, "the refusal expired");

        // A leader that died releases nothing: its lease expires and is
        // taken over; the dead leader's late end changes nothing.
        db.clock.advance(lease - Duration::from_secs(1));
        assert!(matches!(lead("b").await, FirstSight::Follow { .. }));
        db.clock.advance(Duration::from_secs(1));
        assert_eq!(lead("b").await, FirstSight::Lead, "taken over");
        tokens
            .end_first_sight(&token, "a", &FirstSightOutcome::Undecided)
            .await
            .unwrap();
        tokens.end_first_sight(&token, "a", &refused).await.unwrap();
        assert!(matches!(lead("c").await, FirstSight::Follow { .. }));

        // A long refusal is cut, not refused.
        tokens
            .end_first_sight(
                &token,
                "b",
                &FirstSightOutcome::Refused {
                    reason: "é".repeat(1000),
                    remembered_for: Duration::from_secs(60),
                },
            )
            .await
            .unwrap();
        assert!(
            matches!(lead("c").await, FirstSight::Refused { reason } if reason.chars().count() == 200)
        );

        // Holders are plain names.
        for bad in ["", "a b", "x'; DROP TABLE t; --", &"h".repeat(65)] {
            assert!(matches!(
                tokens.begin_first_sight(&token, bad, lease).await,
                Err(Error::InvalidInput(_))
            ));
            assert!(matches!(
                tokens
                    .end_first_sight(&token, bad, &FirstSightOutcome::Undecided)
                    .await,
                Err(Error::InvalidInput(_))
            ));
        }

        // Expired leases and refusals are purged; standing ones are not.
        let now = ims_api::Clock::now(db.clock.as_ref());
        assert_eq!(
            tokens.purge_first_sights(now).await.unwrap(),
            1,
            "hash(2)'s lease expired long ago"
        );
        assert_eq!(tokens.purge_first_sights(now).await.unwrap(), 0);
        db.clock.advance(Duration::from_secs(60));
        assert_eq!(
            tokens
                .begin_first_sight(&hash(3), "d", Duration::from_secs(600))
                .await
                .unwrap(),
            FirstSight::Lead
        );
        let now = ims_api::Clock::now(db.clock.as_ref());
        assert_eq!(
            tokens.purge_first_sights(now).await.unwrap(),
            1,
            "hash(1)'s refusal ended"
        );
        assert!(matches!(
            tokens
                .begin_first_sight(&hash(3), "e", lease)
                .await
                .unwrap(),
            FirstSight::Follow { .. }
        ));
    }

    /// Two instances (two stores, two pools) race for one token's lease,
    /// many callers each: exactly one leads.
    pub(crate) async fn webapi_first_sight_two_stores_race(db: &TestDb) {
        let stores = [db.store().await, db.store().await];
        for round in 0..5u8 {
            let token = hash(round);
            let tasks: Vec<_> = (0..32)
                .map(|n| {
                    let tokens = stores[n % 2].webapi_tokens();
                    let token = token.clone();
                    tokio::spawn(async move {
                        tokens
                            .begin_first_sight(&token, &format!("i{n}"), Duration::from_secs(15))
                            .await
                    })
                })
                .collect();
            let mut leaders = 0;
            for task in tasks {
                match task.await.unwrap().unwrap() {
                    FirstSight::Lead => leaders += 1,
                    FirstSight::Follow { .. } => {}
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(leaders, 1, "round {round}");
        }
        // Takeover of an expired lease is raced the same way.
        db.clock.advance(Duration::from_secs(15));
        let tasks: Vec<_> = (0..32)
            .map(|n| {
                let tokens = stores[n % 2].webapi_tokens();
                tokio::spawn(async move {
                    tokens
                        .begin_first_sight(&hash(0), &format!("late{n}"), Duration::from_secs(15))
                        .await
                })
            })
            .collect();
        let mut leaders = 0;
        for task in tasks {
            leaders += usize::from(task.await.unwrap().unwrap() == FirstSight::Lead);
        }
        assert_eq!(leaders, 1, "one takes the expired lease over");
        for store in stores {
            store.close().await;
        }
    }

    /// Instances starting together on a fresh database all migrate it.
    pub(crate) async fn concurrent_connects_migrate_once(db: &TestDb) {
        let connects: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url.clone();
                tokio::spawn(
                    async move { Store::connect(&url, support::options(None, None)).await },
                )
            })
            .collect();
        for connect in connects {
            let store = connect.await.unwrap().unwrap();
            assert!(store.admin_users().list().await.unwrap().is_empty());
            store.close().await;
        }
        // And again, on the migrated database.
        let again = db.store().await;
        assert_eq!(again.backend(), db.backend);
        assert!(again.admin_users().list().await.unwrap().is_empty());
    }
}

/// The session store's cases (feature `sessions`): the same on every
/// backend, "instance A and B" being two `Store`s on one database.
#[cfg(feature = "sessions")]
mod session_cases {
    use super::*;
    use ims_api::Clock as _;
    use ims_api::SessionLimits;
    use ims_store::tower_sessions_core::session::{Id, Record};
    use ims_store::tower_sessions_core::{ExpiredDeletion, SessionStore};
    use ims_store::{PendingRule, SqlSessionStore};
    use serde_json::json;

    /// The cases' own rule, shaped for the sessions below: a session is
    /// pending until somebody is signed in. (admin-ims's rule lives in
    /// admin-ims, which this crate cannot use: ims-demo wires it.)
    fn rule() -> PendingRule {
        PendingRule::new(|record| {
            record
                .data
                .values()
                .all(|value| value.get("signed_in").is_none())
        })
    }

    fn record(data: serde_json::Value, expiry: OffsetDateTime) -> Record {
        Record {
            id: Id::default(),
            data: serde_json::from_value(data).unwrap(),
            expiry_date: expiry,
        }
    }

    /// A sign-in in flight: what an anonymous visitor makes (some 500 bytes).
    fn pending(return_to: &str, expiry: OffsetDateTime) -> Record {
        record(
            json!({ "admin_ims": { "pending": [{ "purpose": "Login", "state": "s".repeat(43),
                "verifier": "v".repeat(43), "return_to": return_to,
                "expires_at": "2026-06-01T12:10:00Z" }] } }),
            expiry,
        )
    }

    /// A signed-in admin (some 1,700 bytes, an access token among them).
    fn signed_in(expiry: OffsetDateTime) -> Record {
        record(
            json!({ "admin_ims": { "signed_in": { "admin_id": 1, "email": "a@example.com",
                "access_token": "TOKEN".repeat(300), "last_check": "2026-06-01T12:00:00Z" } } }),
            expiry,
        )
    }

    /// Two instances on the test's database, on its clock.
    async fn instances(db: &TestDb) -> (Store, Store) {
        (db.store().await, db.store().await)
    }

    fn sha256_hex(id: &Id) -> String {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &id.0.to_le_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub(crate) async fn sessions_create_load_save_delete(db: &TestDb) {
        let store = db.store().await;
        let sessions = store.sessions(rule());
        let mut admin = signed_in(T0 + secs(3600));
        let given = admin.id;
        sessions.create(&mut admin).await.unwrap();
        assert_eq!(admin.id, given, "a free id is kept");
        let loaded = sessions.load(&admin.id).await.unwrap().unwrap();
        assert_eq!(loaded, admin);

        // The row is keyed by the id's hash and its data is encrypted.
        let raw = db
            .raw_bytes(format!(
                "SELECT data FROM ims_admin_session WHERE id_hash = '{}'",
                sha256_hex(&admin.id)
            ))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("TOKEN"), "the session data is in clear");
        assert!(!text.contains("signed_in"), "the session data is in clear");

        let mut updated = admin.clone();
        updated.data.insert("note".to_owned(), json!("kept"));
        updated.expiry_date = T0 + secs(7200);
        sessions.save(&updated).await.unwrap();
        assert_eq!(sessions.load(&admin.id).await.unwrap().unwrap(), updated);

        sessions.delete(&admin.id).await.unwrap();
        assert!(sessions.load(&admin.id).await.unwrap().is_none());
        sessions.delete(&admin.id).await.unwrap();
        assert!(sessions.load(&Id::default()).await.unwrap().is_none());

        // Ids never show in Debug.
        let debug = format!("{sessions:?}");
        assert!(!debug.contains(&admin.id.to_string()), "{debug}");
        assert!(!debug.contains(&admin.id.0.to_string()), "{debug}");

        // A session is data that needs the key: without one, nothing is written.
        // (These stores run on the system clock: a day from now is live.)
        let live = OffsetDateTime::now_utc() + time::Duration::days(1);
        let keyless = db.store_with_key(None).await.sessions(rule());
        let mut other = signed_in(live);
        let err = keyless.create(&mut other).await.unwrap_err();
        assert!(err.to_string().contains("encryption key"), "{err}");
        // The wrong key reads nothing back.
        let mut kept = signed_in(live);
        sessions.create(&mut kept).await.unwrap();
        let wrong = db
            .store_with_key(Some(&ims_store::EncryptionKey::generate()))
            .await
            .sessions(rule());
        assert!(wrong.load(&kept.id).await.is_err());
    }

    pub(crate) async fn sessions_create_regenerates_a_taken_id(db: &TestDb) {
        let (a, b) = instances(db).await;
        let mut first = signed_in(T0 + secs(3600));
        a.sessions(rule()).create(&mut first).await.unwrap();
        let mut second = pending("/x", T0 + secs(3600));
        second.id = first.id;
        b.sessions(rule()).create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id, "the taken id was given again");
        assert_eq!(
            a.sessions(rule()).load(&first.id).await.unwrap().unwrap(),
            first
        );
        let loaded = a.sessions(rule()).load(&second.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, second.data);
        // An expired row still holds its id until swept: not overwritten.
        let mut old = signed_in(T0 + secs(10));
        a.sessions(rule()).create(&mut old).await.unwrap();
        db.clock.advance(Duration::from_secs(10));
        let mut again = signed_in(T0 + secs(3600));
        again.id = old.id;
        a.sessions(rule()).create(&mut again).await.unwrap();
        assert_ne!(again.id, old.id);
    }

    pub(crate) async fn sessions_are_shared_by_instances(db: &TestDb) {
        let (a, b) = instances(db).await;
        let mut admin = signed_in(T0 + secs(3600));
        a.sessions(rule()).create(&mut admin).await.unwrap();
        let on_b = b.sessions(rule()).load(&admin.id).await.unwrap().unwrap();
        assert_eq!(on_b, admin);
        let mut changed = on_b.clone();
        changed.data.insert("seen_by".to_owned(), json!("b"));
        b.sessions(rule()).save(&changed).await.unwrap();
        assert_eq!(
            a.sessions(rule()).load(&admin.id).await.unwrap().unwrap(),
            changed
        );
        // A restart: a new Store on the same database still has it.
        a.close().await;
        let restarted = db.store().await;
        assert_eq!(
            restarted
                .sessions(rule())
                .load(&admin.id)
                .await
                .unwrap()
                .unwrap(),
            changed
        );
        b.sessions(rule()).delete(&admin.id).await.unwrap();
        assert!(
            restarted
                .sessions(rule())
                .load(&admin.id)
                .await
                .unwrap()
                .is_none()
        );
    }

    /// A logout on A while B finishes a request with the old session: B's
    /// save must not bring the session back — in order, and raced.
    pub(crate) async fn sessions_a_late_save_never_resurrects(db: &TestDb) {
        let (a, b) = instances(db).await;
        let (a, b) = (a.sessions(rule()), b.sessions(rule()));
        let mut admin = signed_in(T0 + secs(3600));
        a.create(&mut admin).await.unwrap();
        let loaded_on_b = b.load(&admin.id).await.unwrap().unwrap();
        a.delete(&admin.id).await.unwrap();
        b.save(&loaded_on_b).await.unwrap();
        assert!(a.load(&admin.id).await.unwrap().is_none(), "resurrected");
        assert!(b.load(&admin.id).await.unwrap().is_none(), "resurrected");

        // A save of an id never created stores nothing.
        let made_up = signed_in(T0 + secs(3600));
        b.save(&made_up).await.unwrap();
        assert!(a.load(&made_up.id).await.unwrap().is_none(), "made up");

        // Nor of an expired one, swept or not.
        let mut short = signed_in(T0 + secs(10));
        a.create(&mut short).await.unwrap();
        db.clock.advance(Duration::from_secs(10));
        short.expiry_date = T0 + secs(3600);
        b.save(&short).await.unwrap();
        assert!(a.load(&short.id).await.unwrap().is_none(), "expired");

        // Raced: whichever runs first, the session ends deleted.
        let far = db.clock.now() + secs(3600);
        for round in 0..30 {
            let mut session = signed_in(far);
            a.create(&mut session).await.unwrap();
            let stale = b.load(&session.id).await.unwrap().unwrap();
            let (deleter, saver) = (a.clone(), b.clone());
            let id = session.id;
            let delete = tokio::spawn(async move { deleter.delete(&id).await });
            let save = tokio::spawn(async move { saver.save(&stale).await });
            delete.await.unwrap().unwrap();
            save.await.unwrap().unwrap();
            assert!(
                a.load(&session.id).await.unwrap().is_none(),
                "round {round}: resurrected"
            );
        }
    }

    pub(crate) async fn sessions_expire_and_are_swept(db: &TestDb) {
        let (a, b) = instances(db).await;
        let limits = SessionLimits::default().with_pending_ttl(Duration::from_secs(600));
        let (a, b) = (
            a.sessions(rule()).with_limits(limits),
            b.sessions(rule()).with_limits(limits),
        );
        let far = T0 + time::Duration::weeks(2);
        let mut started = pending("/a", far);
        a.create(&mut started).await.unwrap();
        let loaded = b.load(&started.id).await.unwrap().unwrap();
        assert_eq!(loaded.expiry_date, T0 + secs(600), "pending: the state TTL");
        let mut admin = signed_in(far);
        a.create(&mut admin).await.unwrap();
        assert_eq!(b.load(&admin.id).await.unwrap().unwrap().expiry_date, far);

        db.clock.advance(Duration::from_secs(599));
        assert!(b.load(&started.id).await.unwrap().is_some());
        db.clock.advance(Duration::from_secs(1));
        assert!(
            b.load(&started.id).await.unwrap().is_none(),
            "expired, before any sweep"
        );
        // A write extends a pending session's life from the write.
        let mut others = Vec::new();
        for _ in 0..5 {
            let mut record = pending("/b", far);
            a.create(&mut record).await.unwrap();
            others.push(record);
        }
        db.clock.advance(Duration::from_secs(300));
        b.save(&others[0]).await.unwrap();
        db.clock.advance(Duration::from_secs(300));
        assert!(b.load(&others[0].id).await.unwrap().is_some(), "extended");
        assert!(b.load(&others[1].id).await.unwrap().is_none());
        // The sweep deletes what expired (started, others[1..]), of every
        // instance, and nothing else.
        assert_eq!(b.sweep().await.unwrap(), 5);
        assert_eq!(a.sweep().await.unwrap(), 0);
        let stats = a.stats().await.unwrap();
        assert_eq!((stats.pending_sessions, stats.established_sessions), (1, 1));
        // Established sessions keep their own expiry; ExpiredDeletion sweeps.
        db.clock.advance(Duration::from_secs(14 * 24 * 3600));
        assert!(a.load(&admin.id).await.unwrap().is_none());
        a.delete_expired().await.unwrap();
        assert_eq!(a.sweep().await.unwrap(), 0);
        let stats = b.stats().await.unwrap();
        assert_eq!((stats.pending_sessions, stats.established_sessions), (0, 0));
        // A session already expired is not kept; saving one ends it.
        let now = db.clock.now();
        let mut gone = signed_in(now);
        a.create(&mut gone).await.unwrap();
        assert!(a.load(&gone.id).await.unwrap().is_none());
        let mut live = signed_in(now + secs(60));
        a.create(&mut live).await.unwrap();
        live.expiry_date = now;
        b.save(&live).await.unwrap();
        assert_eq!(a.sweep().await.unwrap(), 0, "deleted by the save");
        // The background sweep.
        let mut short = signed_in(now + secs(1));
        a.create(&mut short).await.unwrap();
        db.clock.advance(Duration::from_secs(1));
        let sweep = b.spawn_sweep(Duration::from_secs(3600));
        for _ in 0..500 {
            if sweep.runs() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!((sweep.runs(), sweep.failures(), sweep.deleted()), (1, 0, 1));
    }

    /// A flood of anonymous starts, from two instances, stays within the
    /// pending budget, recycles the oldest starts and never evicts a
    /// signed-in admin; established sessions have a budget of their own.
    pub(crate) async fn sessions_pending_flood_stays_bounded(db: &TestDb) {
        let (a, b) = instances(db).await;
        let limits = SessionLimits::default()
            .with_pending_bytes(16 << 10)
            .with_established_bytes(4 * 2_400);
        let (a, b) = (
            a.sessions(rule()).with_limits(limits),
            b.sessions(rule()).with_limits(limits),
        );
        let far = T0 + time::Duration::weeks(2);
        let mut admin = signed_in(far);
        a.create(&mut admin).await.unwrap();
        let long = format!("/{}", "A".repeat(1_000));
        let mut started = Vec::new();
        for i in 0..120 {
            db.clock.advance(Duration::from_secs(1));
            let store = if i % 2 == 0 { &a } else { &b };
            let mut record = pending(if i % 3 == 0 { &long } else { "/admin" }, far);
            store.create(&mut record).await.unwrap();
            started.push(record.id);
            let stats = a.stats().await.unwrap();
            assert!(stats.pending_bytes <= 16 << 10, "{i}: {stats:?}");
        }
        let stats = b.stats().await.unwrap();
        assert!(stats.pending_sessions >= 10, "{stats:?}");
        assert_eq!(stats.established_sessions, 1, "the admin was never evicted");
        assert!(b.load(&admin.id).await.unwrap().is_some());
        // The newest starts are kept, the oldest recycled.
        assert!(a.load(started.last().unwrap()).await.unwrap().is_some());
        assert!(a.load(&started[0]).await.unwrap().is_none());
        let gone = started.len() - usize::try_from(stats.pending_sessions).unwrap();
        for id in &started[..gone] {
            assert!(b.load(id).await.unwrap().is_none(), "an old start kept");
        }
        for id in &started[gone..] {
            assert!(b.load(id).await.unwrap().is_some(), "a new start evicted");
        }
        let evicted = a.stats().await.unwrap().evicted + b.stats().await.unwrap().evicted;
        assert_eq!(evicted, gone as u64);

        // Established sessions: a full budget drops those closest to expiry,
        // never the one being written.
        let mut admins = vec![admin.id];
        for n in 1..=5 {
            let mut other = signed_in(far + secs(n));
            a.create(&mut other).await.unwrap();
            admins.push(other.id);
            let stats = b.stats().await.unwrap();
            assert!(stats.established_bytes <= 4 * 2_400, "{stats:?}");
        }
        assert!(
            a.load(&admins[0]).await.unwrap().is_none(),
            "closest to expiry"
        );
        assert!(a.load(&admins[5]).await.unwrap().is_some());
        let mut closest = signed_in(db.clock.now() + secs(3600));
        a.create(&mut closest).await.unwrap();
        assert!(
            a.load(&closest.id).await.unwrap().is_some(),
            "the one written"
        );
        // Pending sessions were not touched by the established budget.
        assert!(a.load(started.last().unwrap()).await.unwrap().is_some());

        // A session larger than allowed is refused.
        let mut huge = pending(&"x".repeat(20_000), far);
        assert!(a.create(&mut huge).await.is_err());
        assert!(a.load(&huge.id).await.unwrap().is_none());

        // Upgraded in place (no new id): it leaves the pending class.
        let last = *started.last().unwrap();
        let upgraded = Record {
            id: last,
            ..signed_in(far)
        };
        let before = a.stats().await.unwrap();
        b.save(&upgraded).await.unwrap();
        let after = a.stats().await.unwrap();
        assert_eq!(after.pending_sessions + 1, before.pending_sessions);

        // A budget big enough to be weighed only now and then (each time a
        // store has written 1/64th of it): each instance overshoots by at
        // most that much, plus the session it is writing.
        let roomy = limits.with_pending_bytes(64 << 10);
        let (c, d) = (a.clone().with_limits(roomy), b.clone().with_limits(roomy));
        for i in 0..300 {
            let store = if i % 2 == 0 { &c } else { &d };
            let mut record = pending(if i % 3 == 0 { &long } else { "/admin" }, far);
            store.create(&mut record).await.unwrap();
            let stats = c.stats().await.unwrap();
            assert!(
                stats.pending_bytes <= (64 << 10) + 2 * (1 << 10) + 2_000,
                "{i}: {stats:?}"
            );
        }
        assert!(c.stats().await.unwrap().pending_bytes > 60 << 10);

        // A host's own rule: here nothing is pending.
        let strict = a.clone().with_pending_rule(PendingRule::new(|_| false));
        let mut anonymous = pending("/c", far);
        strict.create(&mut anonymous).await.unwrap();
        assert_eq!(
            strict
                .load(&anonymous.id)
                .await
                .unwrap()
                .unwrap()
                .expiry_date,
            far,
            "established: no pending TTL"
        );
    }

    #[allow(dead_code)]
    fn assert_store_is_a_session_store(store: SqlSessionStore) -> impl SessionStore {
        store
    }
}

/// Runs every case of [`cases`] against one backend: `$setup` is an async
/// function from the test's name to its database (`None`: skipped, and it
/// has said why).
macro_rules! conformance_suite {
    ($backend:ident, $setup:path) => {
        mod $backend {
            conformance_suite!(@cases $backend, $setup, cases;
                admin_users_create_find_list,
                admin_users_by_user_name_and_roles_that_exist,
                admin_users_set_active,
                admin_users_lockout,
                admin_users_concurrent_failures_are_counted_once_each,
                admin_users_verify_password,
                admin_users_wrong_passwords_by_user_name_lock,
                admin_users_sign_in_refusals,
                admin_users_concurrent_guesses_stop_at_the_lock,
                webapi_tokens_save_find_replace,
                webapi_tokens_record_check,
                webapi_tokens_invalidate,
                webapi_tokens_save_never_revives_an_invalidated_row,
                webapi_tokens_revocation_time_is_kept,
                webapi_tokens_list_newest_first,
                webapi_tokens_purge_expired,
                webapi_access_token_encrypted_at_rest,
                webapi_tokens_keep_the_email_digest,
                webapi_first_sight_lease,
                webapi_first_sight_two_stores_race,
                user_profiles_save_find_delete,
                settings_round_trip_and_encryption,
                token_cache_store_load_clear,
                token_cache_leases,
                two_pools_see_each_other,
                a_hundred_concurrent_writers_lose_no_row,
                concurrent_connects_migrate_once,
            );
            #[cfg(feature = "sessions")]
            conformance_suite!(@cases $backend, $setup, session_cases;
                sessions_create_load_save_delete,
                sessions_create_regenerates_a_taken_id,
                sessions_are_shared_by_instances,
                sessions_a_late_save_never_resurrects,
                sessions_expire_and_are_swept,
                sessions_pending_flood_stays_bounded,
            );
        }
    };
    (@cases $backend:ident, $setup:path, $module:ident; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let name = concat!(stringify!($backend), "::", stringify!($case));
                let Some(db) = $setup(name).await else {
                    return;
                };
                crate::$module::$case(&db).await;
                db.finish().await;
            }
        )*
    };
}

async fn sqlite_db(_test: &str) -> Option<TestDb> {
    TestDb::sqlite().await
}

conformance_suite!(sqlite, crate::sqlite_db);
conformance_suite!(postgres, crate::support::TestDb::postgres);
conformance_suite!(mysql, crate::support::TestDb::mysql);
