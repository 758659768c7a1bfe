//! Swapping one piece through the builder: the kit uses the host's own
//! admin directory for the Web API (and admin sign-in) instead of the
//! store's, and a kit with no override uses the store's.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use ims_api::{
    AdminUser, AdminUserDirectory, AdminUserId, ClientId, ClientSecret, ImsEnvironment,
    ImsSettings, ImsSettingsStore, LockoutPolicy, LoginFailures, NewAdminUser, OrgId, Password,
    Result,
};
use ims_emulator::{Emulator, MintTokenRequest, RunningEmulator, default_seed};
use ims_kit::ImsKit;
use time::OffsetDateTime;
use url::Url;

// ANCHOR: directory
/// The host's own directory: here the store's, counting the look-ups the
/// kit's parts make, and hiding everyone when told to.
struct MyDirectory {
    inner: Arc<dyn AdminUserDirectory>,
    lookups: AtomicUsize,
    hide_everyone: bool,
}

#[async_trait]
impl AdminUserDirectory for MyDirectory {
    async fn find_by_email(&self, email: &str) -> Result<Option<AdminUser>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.hide_everyone {
            return Ok(None);
        }
        self.inner.find_by_email(email).await
    }
    // ANCHOR_END: directory
    async fn find_by_id(&self, id: AdminUserId) -> Result<Option<AdminUser>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.hide_everyone {
            return Ok(None);
        }
        self.inner.find_by_id(id).await
    }
    async fn list(&self) -> Result<Vec<AdminUser>> {
        self.inner.list().await
    }
    async fn create(&self, user: &NewAdminUser) -> Result<AdminUser> {
        self.inner.create(user).await
    }
    async fn set_active(&self, id: AdminUserId, active: bool) -> Result<()> {
        self.inner.set_active(id, active).await
    }
    async fn record_login_failure(
        &self,
        id: AdminUserId,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<LoginFailures> {
        self.inner.record_login_failure(id, policy, now).await
    }
    async fn reset_login_failures(&self, id: AdminUserId) -> Result<()> {
        self.inner.reset_login_failures(id).await
    }
}

/// A store with the emulator's member as admin and the integration enabled.
async fn seeded_store() -> ims_store::Store {
    let store = ims_store::Store::connect(
        "sqlite::memory:",
        ims_store::StoreOptions::new().with_encryption_key(ims_store::EncryptionKey::generate()),
    )
    .await
    .unwrap();
    let user = NewAdminUser::new(
        "member",
        default_seed::MEMBER_EMAIL,
        "Mia",
        "Member",
        Password::new("not-used-with-adobe-id"),
    )
    .with_role("Administrators");
    store.admin_users().create(&user).await.unwrap();
    let settings = ImsSettings::enabled(
        ClientId::parse(default_seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(default_seed::WEB_CLIENT_SECRET),
        OrgId::parse(default_seed::ORG_ID).unwrap(),
    );
    store.settings().save(&settings).await.unwrap();
    store
}

fn bearer(ims: &RunningEmulator) -> String {
    let token = ims
        .mint_access_token(
            &MintTokenRequest::for_email(default_seed::MEMBER_EMAIL, default_seed::WEB_CLIENT_ID)
                .scope("AdobeID,openid"),
        )
        .unwrap();
    format!("Bearer {token}")
}

async fn kit_with(ims: &RunningEmulator, directory: Option<Arc<MyDirectory>>) -> ImsKit {
    let environment = ImsEnvironment::custom(ims.base()).unwrap();
    let base = Url::parse("http://127.0.0.1:3000/").unwrap();
    // ANCHOR: wiring
    let mut builder = ImsKit::builder(environment, base).store(seeded_store().await);
    if let Some(directory) = directory {
        builder = builder.with_admin_directory(directory);
    }
    builder.build().await.unwrap()
    // ANCHOR_END: wiring
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_directory_is_the_one_the_kit_asks() {
    let ims = Emulator::builder().start().await.unwrap();
    let header = bearer(&ims);

    // Without an override, the store's directory finds the member.
    let kit = kit_with(&ims, None).await;
    let admin = kit
        .authenticator()
        .authenticate(&[header.as_bytes()])
        .await
        .unwrap();
    assert_eq!(admin.admin_user_id, AdminUserId(1));

    // With the host's directory, the kit asks it…
    let store = seeded_store().await;
    let counting = Arc::new(MyDirectory {
        inner: Arc::new(store.admin_users()),
        lookups: AtomicUsize::new(0),
        hide_everyone: false,
    });
    let kit = kit_with(&ims, Some(counting.clone())).await;
    kit.authenticator()
        .authenticate(&[header.as_bytes()])
        .await
        .unwrap();
    assert!(counting.lookups.load(Ordering::SeqCst) > 0);

    // …and its answer decides, though the store has the member.
    let hiding = Arc::new(MyDirectory {
        inner: Arc::new(store.admin_users()),
        lookups: AtomicUsize::new(0),
        hide_everyone: true,
    });
    let kit = kit_with(&ims, Some(hiding.clone())).await;
    let refused = kit.authenticator().authenticate(&[header.as_bytes()]).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(hiding.lookups.load(Ordering::SeqCst) > 0);
    assert!(
        kit.store()
            .admin_users()
            .find_by_email(default_seed::MEMBER_EMAIL)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_database_without_a_key_is_refused_and_none_is_asked_for() {
    let base = Url::parse("http://127.0.0.1:3000/").unwrap();
    let none = ImsKit::builder(ImsEnvironment::Stage, base.clone())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(none, ims_kit::KitError::NoDatabase), "{none}");
    let dir = std::env::temp_dir().join(format!("ims-kit-{}.db", std::process::id()));
    let url = format!("sqlite:{}", dir.display());
    let keyless = ImsKit::builder(ImsEnvironment::Stage, base)
        .database(&url)
        .build()
        .await
        .unwrap_err();
    let _ = std::fs::remove_file(&dir);
    assert!(
        matches!(keyless, ims_kit::KitError::NoEncryptionKey),
        "{keyless}"
    );
}
