//! The storage chapter's example: one `Store`, every repository handed out
//! as the `ims-api` trait object the other crates take.

use std::sync::Arc;

#[tokio::test]
async fn every_repository_is_a_trait_object() -> Result<(), Box<dyn std::error::Error>> {
    let database_url = "sqlite::memory:";
    // Stands in for the key your secret manager holds.
    let key_base64 = ims_store::EncryptionKey::generate().expose_base64();

    // ANCHOR: wiring
    use ims_store::{EncryptionKey, Store, StoreOptions};

    // 32 bytes, base64; or EncryptionKey::from_env("IMS_STORE_KEY")
    let key = EncryptionKey::from_base64(&key_base64)?;
    let store = Store::connect(database_url, StoreOptions::new().with_encryption_key(key)).await?;

    let admins: Arc<dyn ims_api::AdminUserDirectory> = Arc::new(store.admin_users());
    let tokens: Arc<dyn ims_api::WebApiTokenRepository> = Arc::new(store.webapi_tokens());
    let profiles: Arc<dyn ims_api::UserProfileRepository> = Arc::new(store.user_profiles());
    let settings: Arc<dyn ims_api::ImsSettingsStore> = Arc::new(store.settings());
    let cache: Arc<dyn ims_api::TokenCache> = Arc::new(store.token_cache());
    // ANCHOR_END: wiring

    assert!(admins.list().await?.is_empty());
    assert!(!settings.load().await?.enabled);
    let _ = (tokens, profiles, cache);
    Ok(())
}
