//! A record found by another instance is checked against its admin's
//! current address without asking IMS: the record keeps the SHA-256 of the
//! address the token's profile gave. Records saved before it was kept are
//! still checked against the profile.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;

use ims_api::{AdminUserId, TokenHash, TokenRejection};
use support::{Harness, T0};
use webapi_ims::{AuthError, WebApiConfig};

fn sha256(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}

fn profiles(h: &Harness) -> usize {
    h.ims.profile_calls.load(Ordering::SeqCst)
}

async fn on(auth: &webapi_ims::WebApiAuthenticator, token: &str) -> Result<AdminUserId, AuthError> {
    let header = format!("Bearer {token}");
    auth.authenticate(&[header.as_bytes()])
        .await
        .map(|a| a.admin_user_id)
}

/// Jane's token, accepted on the harness's instance.
async fn accepted(h: &Harness) {
    h.ims
        .add("tok", " Jane@Example.com", T0 + time::Duration::hours(24));
    assert_eq!(h.call("tok").await.unwrap().admin_user_id, AdminUserId(1));
    assert_eq!(profiles(h), 1);
}

#[tokio::test]
async fn the_record_keeps_the_digest_of_the_profiles_address_normalised() {
    let h = Harness::new(WebApiConfig::default());
    accepted(&h).await;
    let row = h.tokens.rows.lock().unwrap()[&sha256("tok")].clone();
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"jane@example.com");
    assert_eq!(
        row.admin_email_sha256.as_ref().map(|d| d.as_slice()),
        Some(expected.as_ref())
    );
}

#[tokio::test]
async fn another_instance_trusts_the_record_without_asking_for_the_profile() {
    let h = Harness::new(WebApiConfig::default());
    accepted(&h).await;
    let other = h.another_instance(WebApiConfig::default());
    assert_eq!(on(&other, "tok").await, Ok(AdminUserId(1)));
    assert_eq!(h.ims.counts(), (1, 1), "no validation, no profile call");
}

#[tokio::test]
async fn a_record_whose_admins_address_changed_is_refused_without_a_profile_call() {
    for swap in [false, true] {
        let h = Harness::new(WebApiConfig::default());
        accepted(&h).await;
        h.edit_admin(1, |a| a.email = "successor@example.com".into());
        if swap {
            // Jane's address now belongs to another admin.
            h.admins
                .0
                .lock()
                .unwrap()
                .push(support::admin(6, "jane@example.com", true));
        }
        let other = h.another_instance(WebApiConfig::default());
        assert_eq!(
            on(&other, "tok").await,
            Err(AuthError::InvalidToken(TokenRejection::UnknownUser)),
            "swap {swap}"
        );
        assert_eq!(profiles(&h), 1, "swap {swap}: refused without IMS");
        let row = h.tokens.rows.lock().unwrap()[&sha256("tok")].clone();
        assert!(
            row.is_invalidated(),
            "swap {swap}: no instance trusts it again"
        );
    }
}

#[tokio::test]
async fn records_without_the_digest_are_checked_against_the_profile() {
    let h = Harness::new(WebApiConfig::default());
    accepted(&h).await;
    // As an older build saved it.
    h.tokens
        .rows
        .lock()
        .unwrap()
        .get_mut(&sha256("tok"))
        .unwrap()
        .admin_email_sha256 = None;
    let other = h.another_instance(WebApiConfig::default());
    assert_eq!(on(&other, "tok").await, Ok(AdminUserId(1)));
    assert_eq!(profiles(&h), 2, "the profile says whose token it is");
    h.edit_admin(1, |a| a.email = "successor@example.com".into());
    let third = h.another_instance(WebApiConfig::default());
    assert_eq!(
        on(&third, "tok").await,
        Err(AuthError::InvalidToken(TokenRejection::UnknownUser))
    );
    assert_eq!(profiles(&h), 3);
}
