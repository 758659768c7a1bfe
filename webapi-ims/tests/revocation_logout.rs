//! Magento's `FlushUserTokens` by default: the record keeps each validated
//! token (encrypted by the store), so revoking an admin's tokens logs each
//! one out at IMS (the emulator) — and the rows are marked invalidated, not
//! deleted, so a revoked token is refused from the database, without asking
//! IMS, on every instance that reads it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ims_api::{
    AdminUserDirectory, ClientId, ClientSecret, ImsEnvironment, ImsSettings, ImsSettingsStore,
    ManualClock, NewAdminUser, OrgId, Password, TokenHash, TokenRejection, WebApiTokenRepository,
};
use ims_core::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};
use ims_emulator::{Emulator, MintTokenRequest, default_seed as seed};
use ims_store::{EncryptionKey, PasswordHashCost, Store, StoreOptions};
use webapi_ims::{AuthError, WebApiAuthenticator, WebApiConfig, WebApiServices};

const LOGOUT: &str = "POST /ims/logout/v1";

fn hash(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    TokenHash::from_digest(digest.as_ref().try_into().unwrap())
}

#[tokio::test]
async fn by_default_revoking_an_admins_tokens_logs_each_out_at_ims_and_keeps_the_rows() {
    assert!(WebApiConfig::default().store_tokens);
    let ims = Emulator::builder().start().await.unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let store = Store::connect(
        "sqlite::memory:",
        StoreOptions::new()
            .with_encryption_key(EncryptionKey::generate())
            .with_password_hash_cost(PasswordHashCost::insecure_for_tests())
            .with_clock(clock.clone()),
    )
    .await
    .unwrap();
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
        .unwrap();
    store
        .settings()
        .save(&ImsSettings::enabled(
            ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::WEB_CLIENT_SECRET),
            OrgId::parse(seed::ORG_ID).unwrap(),
        ))
        .await
        .unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let client = Arc::new(ImsClient::with_policy(env.clone(), HttpPolicy::default()).unwrap());
    let verifier =
        LocalVerifier::with_clock(env, VerifierConfig::default(), clock.clone()).unwrap();
    let services = WebApiServices::new(
        client,
        Arc::new(verifier),
        Arc::new(store.admin_users()),
        Arc::new(store.webapi_tokens()),
        Arc::new(store.settings()),
    )
    .with_clock(clock.clone());
    let auth = WebApiAuthenticator::new(services, WebApiConfig::default());

    let mint = || {
        ims.mint_access_token(
            &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap()
    };
    let tokens = [mint(), mint()];
    for token in &tokens {
        let header = format!("Bearer {token}");
        auth.authenticate(&[header.as_bytes()]).await.unwrap();
        let row = store
            .webapi_tokens()
            .find_by_hash(&hash(token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.access_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some(token.clone()),
            "the record keeps the token"
        );
    }
    assert_eq!(ims.stats().count(LOGOUT), 0);

    let report = auth.revoke_admin_tokens(admin.id).await.unwrap();
    assert_eq!(report.invalidated, 2);
    assert_eq!(report.logged_out_at_ims, 2);
    assert_eq!(report.ims_failures, 0);
    assert_eq!(ims.stats().count(LOGOUT), 2, "each token logged out at IMS");

    let calls = ims.stats().total;
    for token in &tokens {
        // The row stays, marked invalidated: the token is refused from it.
        let row = store
            .webapi_tokens()
            .find_by_hash(&hash(token))
            .await
            .unwrap()
            .unwrap();
        assert!(row.is_invalidated());
        let header = format!("Bearer {token}");
        let err = auth.authenticate(&[header.as_bytes()]).await.unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidToken(TokenRejection::Invalidated(_))),
            "{err:?}"
        );
    }
    assert_eq!(ims.stats().total, calls, "refused without asking IMS");
}
