//! The Web API's trust boundary, attacked with in-memory fakes: tokens of
//! other IMS clients, admins who may not use the API, the organization,
//! revocation racing a first sight, and what a refusal tells its caller.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use ims_api::{
    AdminUserId, ClientId, OrgId, TokenHash, TokenRejection, WebApiToken, WebApiTokenRepository,
};
use support::{HOST_CLIENT, Harness, T0};
use webapi_ims::{AuthError, WebApiConfig};

fn hours(h: i64) -> time::Duration {
    time::Duration::hours(h)
}

fn sha256(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}

/// Every `client_id` claim a token of the admin could carry that is not
/// the integration's: other clients of the same IMS, case and whitespace
/// variants, an empty or absent claim.
const FOREIGN_CLIENTS: &[Option<&str>] = &[
    Some("emulator-cli"),
    Some("emulator-s2s"),
    Some("HOST_CLIENT"),
    Some("Host_Client"),
    Some(" host_client"),
    Some("host_client "),
    Some("host_client\t"),
    Some("host_client\u{0}"),
    Some("host_client.extra"),
    Some("host_clien"),
    Some(""),
    None,
];

fn is_client_refusal(err: &AuthError) -> bool {
    matches!(
        err,
        AuthError::InvalidToken(TokenRejection::ClientNotAllowed(_))
    )
}

#[tokio::test]
async fn tokens_of_other_clients_are_refused_before_any_ims_call() {
    let h = Harness::new(WebApiConfig::default());
    for (i, client) in FOREIGN_CLIENTS.iter().enumerate() {
        let token = format!("foreign-{i}");
        h.ims
            .add_for_client(&token, "jane@example.com", T0 + hours(24), *client);
        let err = h.call(&token).await.unwrap_err();
        assert!(is_client_refusal(&err), "{client:?}: {err:?}");
        assert_eq!(err.status(), 401);
        let verified = h.ims.verify_calls.load(Ordering::SeqCst);
        // A replay is refused from memory.
        assert!(is_client_refusal(&h.call(&token).await.unwrap_err()));
        assert_eq!(h.ims.verify_calls.load(Ordering::SeqCst), verified);
    }
    assert_eq!(h.ims.counts(), (0, 0), "no IMS call for a foreign client");
    assert_eq!(h.ims.membership_calls.load(Ordering::SeqCst), 0);
    assert!(h.tokens.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_record_of_a_foreign_client_token_is_not_trusted() {
    // A row saved by an older build (or another, misconfigured, instance)
    // for a token of another client.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add_for_client(
        "cli",
        "jane@example.com",
        T0 + hours(24),
        Some("emulator-cli"),
    );
    h.tokens
        .save(&WebApiToken::validated(
            AdminUserId(1),
            sha256("cli"),
            T0 + hours(24),
            T0,
        ))
        .await
        .unwrap();
    let err = h.call("cli").await.unwrap_err();
    assert!(is_client_refusal(&err), "{err:?}");
    assert_eq!(h.ims.counts(), (0, 0));
}

#[tokio::test]
async fn ims_is_always_asked_about_the_configured_client() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.clock.advance(Duration::from_secs(601));
    h.call("tok").await.unwrap();
    assert_eq!(
        *h.ims.asked_clients.lock().unwrap(),
        vec![HOST_CLIENT.to_owned(), HOST_CLIENT.to_owned()]
    );
}

#[tokio::test]
async fn a_client_the_host_allows_is_accepted_and_validated_for_itself() {
    let config =
        WebApiConfig::default().with_allowed_client_ids([ClientId::parse("partner_app").unwrap()]);
    let h = Harness::new(config);
    h.ims.add_for_client(
        "partner",
        "jane@example.com",
        T0 + hours(24),
        Some("partner_app"),
    );
    h.ims.add_for_client(
        "cli",
        "jane@example.com",
        T0 + hours(24),
        Some("emulator-cli"),
    );
    h.ims.add("own", "jane@example.com", T0 + hours(24));
    assert!(h.call("partner").await.is_ok());
    assert!(h.call("own").await.is_ok());
    assert!(is_client_refusal(&h.call("cli").await.unwrap_err()));
    h.clock.advance(Duration::from_secs(601));
    assert!(h.call("partner").await.is_ok(), "revalidated");
    assert!(h.call("own").await.is_ok(), "revalidated");
    assert_eq!(
        *h.ims.asked_clients.lock().unwrap(),
        ["partner_app", HOST_CLIENT, "partner_app", HOST_CLIENT],
        "IMS is asked about the allowed client the token names, never another"
    );
}

#[tokio::test]
async fn a_client_id_change_in_settings_ends_trust_within_the_settings_ttl() {
    let config = WebApiConfig::default();
    let settings_ttl = config.settings_ttl;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.settings.0.lock().unwrap().client_id = Some(ClientId::parse("new_client").unwrap());
    h.clock.advance(settings_ttl);
    let err = h.call("tok").await.unwrap_err();
    assert!(is_client_refusal(&err), "{err:?}");
    assert!(
        h.auth
            .authenticate_from_memory(&[b"Bearer tok".as_slice()])
            .is_none_or(|answer| answer.is_err()),
        "the warm path does not answer for it either"
    );
}

#[tokio::test]
async fn a_first_sight_in_flight_across_a_client_change_is_not_kept() {
    let config = WebApiConfig::default();
    let settings_ttl = config.settings_ttl;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.ims.add("other", "jane@example.com", T0 + hours(24));
    h.ims.gated.store(true, Ordering::SeqCst);
    let auth = h.auth.clone();
    let first = tokio::spawn(async move { auth.authenticate(&[b"Bearer tok".as_slice()]).await });
    h.ims.entered.notified().await;
    // Meanwhile the integration moves to another client, and another
    // request makes this instance read the new settings.
    h.settings.0.lock().unwrap().client_id = Some(ClientId::parse("new_client").unwrap());
    h.clock.advance(settings_ttl);
    assert!(is_client_refusal(&h.call("other").await.unwrap_err()));
    h.ims.gated.store(false, Ordering::SeqCst);
    h.ims.release.notify_one();
    let _decided_under_the_old_client = first.await.unwrap();
    // Not kept: the next request is decided under the new client.
    assert!(is_client_refusal(&h.call("tok").await.unwrap_err()));
}

// ------------------------------------------------------------ admin state

#[tokio::test]
async fn admins_without_permissions_and_locked_admins_are_refused_at_first_sight() {
    let h = Harness::new(WebApiConfig::default());
    for (token, email) in [
        ("norole", "norole@example.com"),
        ("none", "none@example.com"),
        ("locked", "locked@example.com"),
    ] {
        h.ims.add(token, email, T0 + hours(24));
        let err = h.call(token).await.unwrap_err();
        assert_eq!(err.status(), 401, "{token}");
        assert_eq!(
            err,
            AuthError::InvalidToken(TokenRejection::UnknownUser),
            "{token}"
        );
    }
    assert!(h.tokens.rows.lock().unwrap().is_empty(), "no row saved");
}

#[tokio::test]
async fn a_record_of_an_admin_who_may_no_longer_use_the_api_is_refused() {
    // The row was saved while the admin had a role; another instance (with
    // an empty memory) reads it after the role was removed.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.edit_admin(1, |a| a.role = Some(ims_api::ADOBE_IMS_ROLE.into()));
    let other = h.another_instance(WebApiConfig::default());
    let err = other.authenticate(&[b"Bearer tok".as_slice()]).await;
    assert_eq!(
        err.unwrap_err(),
        AuthError::InvalidToken(TokenRejection::UnknownUser)
    );
}

#[tokio::test]
async fn losing_the_role_being_locked_or_deactivated_ends_access_after_exactly_the_hot_cache_ttl() {
    type Change = fn(&mut ims_api::AdminUser);
    let changes: [(&str, Change); 5] = [
        ("role removed", |a| a.role = None),
        ("role emptied", |a| a.role = Some(String::new())),
        ("no-permission role", |a| {
            a.role = Some(ims_api::ADOBE_IMS_ROLE.into())
        }),
        ("locked", |a| {
            a.login_failures.lock_expires = Some(T0 + time::Duration::hours(2))
        }),
        ("deactivated", |a| a.is_active = false),
    ];
    for (what, change) in changes {
        let config = WebApiConfig::default();
        let ttl = config.hot_cache_ttl;
        let h = Harness::new(config);
        h.ims.add("tok", "jane@example.com", T0 + hours(24));
        h.call("tok").await.unwrap();
        h.edit_admin(1, change);
        h.clock.advance(ttl - Duration::from_secs(1));
        assert!(
            h.call("tok").await.is_ok(),
            "{what}: trusted within the TTL"
        );
        h.clock.advance(Duration::from_secs(1));
        assert_eq!(
            h.call("tok").await.unwrap_err(),
            AuthError::InvalidToken(TokenRejection::UnknownUser),
            "{what}: refused once the entry is stale"
        );
        assert!(
            h.auth
                .authenticate_from_memory(&[b"Bearer tok".as_slice()])
                .is_none_or(|answer| answer.is_err()),
            "{what}: not on the warm path either"
        );
    }
}

#[tokio::test]
async fn a_deleted_admin_ends_access_after_the_hot_cache_ttl() {
    let config = WebApiConfig::default();
    let ttl = config.hot_cache_ttl;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.admins.0.lock().unwrap().retain(|a| a.id.0 != 1);
    h.clock.advance(ttl);
    assert_eq!(
        h.call("tok").await.unwrap_err(),
        AuthError::InvalidToken(TokenRejection::UnknownUser)
    );
}

// ----------------------------------------------------------- organization

#[tokio::test]
async fn a_user_outside_the_configured_organization_is_refused() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.ims.outsiders.lock().unwrap().insert("tok".into());
    let err = h.call("tok").await.unwrap_err();
    assert_eq!(err.status(), 401, "{err:?}");
    assert!(h.tokens.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_enabled_integration_without_an_organization_accepts_no_token() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.settings.0.lock().unwrap().org_id = None;
    let err = h.call("tok").await.unwrap_err();
    assert!(matches!(err, AuthError::Internal(_)), "{err:?}");
    assert_eq!(h.ims.counts(), (0, 0));
}

#[tokio::test]
async fn an_organization_change_in_settings_ends_trust_in_records_checked_for_the_old_one() {
    let config = WebApiConfig::default();
    let settings_ttl = config.settings_ttl;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    // Jane belongs to the old organization only.
    let other = OrgId::parse("ABCDEFABCDEFABCDEFABCDEF").unwrap();
    h.settings.0.lock().unwrap().org_id = Some(other.clone());
    h.clock.advance(settings_ttl);
    assert_eq!(h.call("tok").await.unwrap_err().status(), 401);
    // Another instance, with an empty memory, does not trust the record
    // either.
    let fresh = h.another_instance(WebApiConfig::default());
    assert_eq!(
        fresh
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Once Jane is a member of the new one, her token is checked again and
    // accepted.
    *h.ims.member_org.lock().unwrap() = Some(other.as_str().to_owned());
    h.clock.advance(Duration::from_secs(61));
    assert!(
        fresh
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .is_ok()
    );
}

// ------------------------------------------------------------- revocation

/// Revokes Jane's tokens while the first sight of `tok` on `first` waits in
/// IMS's validation; `revoke` runs on `revoker`.
async fn revoke_during_first_sight(h: &Harness, same_instance: bool) {
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.ims.gated.store(true, Ordering::SeqCst);
    let auth = h.auth.clone();
    let first = tokio::spawn(async move { auth.authenticate(&[b"Bearer tok".as_slice()]).await });
    h.ims.entered.notified().await;
    let revoker = if same_instance {
        h.auth.clone()
    } else {
        h.another_instance(WebApiConfig::default())
    };
    revoker.revoke_admin_tokens(AdminUserId(1)).await.unwrap();
    h.ims.gated.store(false, Ordering::SeqCst);
    h.ims.release.notify_one();
    let outcome = first.await.unwrap();
    assert!(
        matches!(
            outcome,
            Err(AuthError::InvalidToken(TokenRejection::Invalidated(_)))
        ),
        "the in-flight first sight must not outlive the revocation: {outcome:?}"
    );
    assert!(h.call("tok").await.is_err(), "nor a later request");
    let row = h.tokens.find_by_hash(&sha256("tok")).await.unwrap();
    assert!(
        row.is_none_or(|row| row.is_invalidated()),
        "no validated row is left behind"
    );
    let fresh = h.another_instance(WebApiConfig::default());
    assert!(
        fresh
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .is_err(),
        "nor on another instance"
    );
}

#[tokio::test]
async fn a_revocation_on_this_instance_reaches_a_first_sight_in_flight() {
    revoke_during_first_sight(&Harness::new(WebApiConfig::default()), true).await;
}

#[tokio::test]
async fn a_revocation_on_another_instance_reaches_a_first_sight_in_flight() {
    revoke_during_first_sight(&Harness::new(WebApiConfig::default()), false).await;
}

#[tokio::test]
async fn saving_a_first_sight_never_revives_an_invalidated_row() {
    // Two instances see the same new token; one's row is invalidated (IMS
    // said no at a re-check) before the other, slower, saves its first
    // sight.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.ims.gated.store(true, Ordering::SeqCst);
    let auth = h.auth.clone();
    let slow = tokio::spawn(async move { auth.authenticate(&[b"Bearer tok".as_slice()]).await });
    h.ims.entered.notified().await;
    let mut row = WebApiToken::validated(AdminUserId(1), sha256("tok"), T0 + hours(24), T0);
    row.status = ims_api::TokenStatus::Invalidated {
        at: T0,
        reason: ims_api::InvalidationReason::FailedValidation,
    };
    h.tokens.rows.lock().unwrap().insert(sha256("tok"), row);
    h.ims.gated.store(false, Ordering::SeqCst);
    h.ims.release.notify_one();
    assert!(slow.await.unwrap().is_err());
    let row = h
        .tokens
        .find_by_hash(&sha256("tok"))
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_invalidated(), "the invalidation stands");
}

// ---------------------------------------------------------------- answers

#[tokio::test]
async fn every_refusal_gets_the_same_answer() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("stranger", "nobody@example.com", T0 + hours(24));
    h.ims.add("idle", "idle@example.com", T0 + hours(24));
    h.ims.add("norole", "norole@example.com", T0 + hours(24));
    h.ims.add_for_client(
        "cli",
        "jane@example.com",
        T0 + hours(24),
        Some("emulator-cli"),
    );
    h.ims.add("revoked", "jane@example.com", T0 + hours(24));
    h.ims.revoke("revoked");
    h.ims.add("locked", "locked@example.com", T0 + hours(24));
    let mut errors = Vec::new();
    for token in [
        "stranger", "idle", "norole", "cli", "revoked", "bad-sig", "locked",
    ] {
        errors.push(h.call(token).await.unwrap_err());
    }
    h.settings.0.lock().unwrap().enabled = false;
    h.auth.reload_settings();
    errors.push(h.call("stranger").await.unwrap_err());
    let answers: Vec<_> = errors
        .iter()
        .map(|err| {
            (
                err.status(),
                err.www_authenticate(),
                err.json_body("Magento_Backend::admin"),
            )
        })
        .collect();
    for (err, answer) in errors.iter().zip(&answers) {
        assert_eq!(answer, &answers[0], "{err:?} is told apart");
    }
    assert_eq!(
        answers[0].1.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
}

// ------------------------------------------------------- e-mail matching

/// IMS addresses that a real directory (see [`support::loose_email`])
/// takes for an admin's, though they are other mailboxes: the Kelvin sign
/// for `k`, Unicode spaces around the address, an unaccented `e` for `é`.
const LOOKALIKES: &[(&str, &str)] = &[
    ("kate@example.com", "\u{212A}ate@example.com"),
    ("kate@example.com", "kate@example.com\u{a0}"),
    ("kate@example.com", "\u{2003}kate@example.com"),
    ("kate@example.com", "kate@exampl\u{e9}.com"),
    ("ren\u{e9}@example.com", "rene@example.com"),
];

#[tokio::test]
async fn an_address_that_only_looks_like_an_admins_is_refused() {
    for (i, (admin_email, ims_email)) in LOOKALIKES.iter().enumerate() {
        let h = Harness::new(WebApiConfig::default());
        h.admins
            .0
            .lock()
            .unwrap()
            .push(support::admin(6, admin_email, true));
        let token = format!("lookalike-{i}");
        h.ims.add(&token, ims_email, T0 + hours(24));
        assert_eq!(
            h.call(&token).await.map(|a| a.admin_user_id),
            Err(AuthError::InvalidToken(TokenRejection::UnknownUser)),
            "{ims_email:?} became {admin_email:?}"
        );
        assert!(h.tokens.rows.lock().unwrap().is_empty(), "no row saved");
    }
    // ASCII case is not a different mailbox.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("upper", "Jane@EXAMPLE.com", T0 + hours(24));
    assert_eq!(h.call("upper").await.unwrap().admin_user_id, AdminUserId(1));
}

/// The ways an admin account stops being the one a token's Adobe ID signs
/// in as: its address changed, or changed and given to another admin.
fn reassign(h: &Harness, swap: bool) {
    h.edit_admin(1, |a| a.email = "successor@example.com".into());
    if swap {
        h.admins
            .0
            .lock()
            .unwrap()
            .push(support::admin(6, "jane@example.com", true));
    }
}

#[tokio::test]
async fn an_admin_whose_address_changes_is_no_longer_the_tokens_admin() {
    for swap in [false, true] {
        let config = WebApiConfig::default();
        let ttl = config.hot_cache_ttl;
        let h = Harness::new(config);
        h.ims.add("tok", "jane@example.com", T0 + hours(24));
        assert_eq!(h.call("tok").await.unwrap().admin_user_id, AdminUserId(1));
        // The account is handed to a successor (and, with `swap`, Jane's
        // address to a new account of hers).
        reassign(&h, swap);
        h.clock.advance(ttl);
        let answer = h.call("tok").await.map(|a| a.admin_user_id);
        assert_ne!(
            answer,
            Ok(AdminUserId(1)),
            "swap {swap}: still the successor's account"
        );
        // Another instance, which knows the token only from its record.
        let other = h.another_instance(WebApiConfig::default());
        let answer = other
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .map(|a| a.admin_user_id);
        assert_ne!(answer, Ok(AdminUserId(1)), "swap {swap}: record trusted");
    }
}

#[tokio::test]
async fn a_record_read_by_another_instance_after_an_address_change_is_not_trusted() {
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    reassign(&h, false);
    let other = h.another_instance(WebApiConfig::default());
    assert_eq!(
        other
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .map(|a| a.admin_user_id),
        Err(AuthError::InvalidToken(TokenRejection::UnknownUser))
    );
    // An unchanged admin's record still admits the token on another
    // instance.
    let h = Harness::new(WebApiConfig::default());
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    let other = h.another_instance(WebApiConfig::default());
    assert_eq!(
        other
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .unwrap()
            .admin_user_id,
        AdminUserId(1)
    );
}

// ---------------------------------------------------- leaving the organization

#[tokio::test]
async fn a_user_removed_from_the_organization_loses_the_api_at_the_next_check() {
    let config = WebApiConfig::default();
    let every = config.revalidate_after;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    // Jane leaves the company: the organization's admins remove her.
    h.ims.outsiders.lock().unwrap().insert("tok".into());
    h.clock.advance(every - Duration::from_secs(1));
    assert!(h.call("tok").await.is_ok(), "until the next check");
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.call("tok").await.map(|a| a.admin_user_id),
        Err(AuthError::InvalidToken(TokenRejection::UnknownUser))
    );
    let row = h
        .tokens
        .find_by_hash(&sha256("tok"))
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_invalidated(), "no instance trusts the record again");
    // Another instance that knows the token only from its record.
    let other = h.another_instance(WebApiConfig::default());
    assert!(
        other
            .authenticate(&[b"Bearer tok".as_slice()])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_membership_outage_at_a_check_is_ridden_out_within_the_grace() {
    let config = WebApiConfig::default();
    let every = config.revalidate_after;
    let h = Harness::new(config);
    h.ims.add("tok", "jane@example.com", T0 + hours(24));
    h.call("tok").await.unwrap();
    h.clock.advance(every);
    h.ims.set_down(true);
    let admitted = h.call("tok").await.unwrap();
    assert!(
        admitted.degraded,
        "IMS down: admitted within the outage grace"
    );
}
