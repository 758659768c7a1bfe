//! The admin handlers get with an accepted token ([`Authenticated::admin`])
//! is kept with the token's hot entry and read again with it: a change of
//! the admin that the change feed reports — a new name, a lock, a lost role,
//! a new address — reaches the next request, never a stale copy.
#![allow(clippy::unwrap_used)]

mod support;

use ims_api::{AdminUserId, Change, FeedEvent};
use support::{Harness, T0};
use webapi_ims::{AuthError, Authenticated, WebApiConfig};

const TOKEN: &str = "tok";

/// An instance whose cached entries wait for the feed: nothing is read
/// again by time within these tests.
fn harness() -> Harness {
    let h = Harness::new(WebApiConfig::default());
    h.auth.apply(&FeedEvent::Resumed);
    h.ims
        .add(TOKEN, "jane@example.com", T0 + time::Duration::hours(24));
    h
}

fn warm(h: &Harness) -> Option<Result<Authenticated, AuthError>> {
    let header = format!("Bearer {TOKEN}");
    h.auth.authenticate_from_memory(&[header.as_bytes()])
}

fn admin_changed(h: &Harness) {
    h.auth
        .apply(&FeedEvent::Changed(Change::Admin(AdminUserId(1))));
}

#[tokio::test]
async fn the_admin_comes_with_the_token_from_memory() {
    let h = harness();
    h.edit_admin(1, |a| {
        a.first_name = "Jane".into();
        a.last_name = "Doe".into();
    });
    let first = h.call(TOKEN).await.unwrap();
    assert_eq!(first.admin.id, AdminUserId(1));
    assert_eq!(first.admin.email, "jane@example.com");
    assert_eq!(first.admin.username, "jane");
    assert_eq!(first.admin.first_name, "Jane");
    assert_eq!(first.admin.last_name, "Doe");
    assert_eq!(first.admin.role.as_deref(), Some("Administrators"));
    let warm = warm(&h).expect("decided from memory").unwrap();
    assert_eq!(warm.admin, first.admin);
}

#[tokio::test]
async fn a_changed_name_is_read_in_after_the_event_without_ims() {
    let h = harness();
    h.call(TOKEN).await.unwrap();
    let calls = h.ims.counts();
    h.edit_admin(1, |a| a.first_name = "Janet".into());
    // Before the event the entry answers as it was read.
    assert_eq!(warm(&h).unwrap().unwrap().admin.first_name, "");
    admin_changed(&h);
    assert!(warm(&h).is_none(), "stale: read again first");
    assert_eq!(h.call(TOKEN).await.unwrap().admin.first_name, "Janet");
    assert_eq!(
        warm(&h).unwrap().unwrap().admin.first_name,
        "Janet",
        "and kept"
    );
    assert_eq!(h.ims.counts(), calls, "no IMS call");
}

#[tokio::test]
async fn a_new_role_with_permissions_is_read_in_after_the_event() {
    let h = harness();
    h.call(TOKEN).await.unwrap();
    h.edit_admin(1, |a| a.role = Some("Support".into()));
    admin_changed(&h);
    assert_eq!(
        h.call(TOKEN).await.unwrap().admin.role.as_deref(),
        Some("Support")
    );
}

#[tokio::test]
async fn a_lock_ends_access_after_the_event() {
    let h = harness();
    h.call(TOKEN).await.unwrap();
    h.edit_admin(1, |a| {
        a.login_failures.lock_expires = Some(T0 + time::Duration::hours(1));
    });
    admin_changed(&h);
    assert!(matches!(
        h.call(TOKEN).await,
        Err(AuthError::InvalidToken(_))
    ));
    assert!(
        !matches!(warm(&h), Some(Ok(_))),
        "no stale admin from memory"
    );
}

#[tokio::test]
async fn a_role_that_grants_nothing_ends_access_after_the_event() {
    let h = harness();
    h.call(TOKEN).await.unwrap();
    h.edit_admin(1, |a| a.role = None);
    admin_changed(&h);
    assert!(matches!(
        h.call(TOKEN).await,
        Err(AuthError::InvalidToken(_))
    ));
}

#[tokio::test]
async fn a_new_address_ends_access_after_the_event() {
    // The account may be someone else's now: the token, mapped by the old
    // address, is refused rather than answered with the new one.
    let h = harness();
    h.call(TOKEN).await.unwrap();
    h.edit_admin(1, |a| a.email = "someone.else@example.com".into());
    admin_changed(&h);
    assert!(matches!(
        h.call(TOKEN).await,
        Err(AuthError::InvalidToken(_))
    ));
    assert!(!matches!(warm(&h), Some(Ok(_))));
}
