//! `getToken` end to end: contexts in aio's files, each naming the emulator
//! with `ims_url`, tokens from the emulator, cached in the files.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ims_api::{ContextName, ImsEnvironment, SystemClock, TokenProvider};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache, HttpPolicy,
    ImsClients, ProviderConfig,
};
use ims_emulator::{Emulator, default_seed as seed};

fn provider(dir: &std::path::Path) -> ContextTokenProvider {
    let config = AioConfig::with_env(
        ConfigPaths::new(dir.join("aio")).with_local(dir.join(".aio")),
        Vec::<(String, String)>::new(),
    );
    ContextTokenProvider::with_clients(
        Arc::new(AioContextStore::new(config.clone())),
        Arc::new(FileTokenCache::new(config)),
        // The default (prod) must not be used: each context names the emulator.
        ImsClients::new(ImsEnvironment::Prod, HttpPolicy::default()),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_get_tokens_from_the_ims_they_name_and_reuse_them() {
    let ims = Emulator::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("private.key");
    std::fs::write(&key_path, seed::jwt_private_key_pem()).unwrap();
    let config = serde_json::json!({
        "ims": { "contexts": {
            "svc": {
                "ims_url": ims.base(),
                "client_id": seed::S2S_CLIENT_ID,
                "client_secrets": [seed::S2S_CLIENT_SECRET],
                "scopes": ["openid", "AdobeID"],
                "ims_org_id": seed::ORG_ID,
            },
            "legacy": {
                "ims_url": ims.base(),
                "client_id": seed::JWT_CLIENT_ID,
                "client_secret": seed::JWT_CLIENT_SECRET,
                "technical_account_id": seed::JWT_TECHNICAL_ACCOUNT_ID,
                "ims_org_id": seed::ORG_ID,
                "meta_scopes": serde_json::to_string(seed::JWT_META_SCOPES).unwrap(),
                "private_key": key_path.to_str().unwrap(),
            },
        }}
    });
    std::fs::write(dir.path().join("aio"), config.to_string()).unwrap();

    let first = provider(dir.path());
    let svc = ContextName::parse("svc").unwrap();
    let legacy = ContextName::parse("legacy").unwrap();
    let a = first.get_token(&svc).await.unwrap();
    let b = first.get_token(&legacy).await.unwrap();
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    assert_eq!(ims.stats().count("POST /ims/exchange/jwt"), 1);

    // A second process (a fresh provider over the same files) reuses both.
    let second = provider(dir.path());
    let again_a = second.get_token(&svc).await.unwrap();
    let again_b = second.get_token(&legacy).await.unwrap();
    assert_eq!(a.token.expose_secret(), again_a.token.expose_secret());
    assert_eq!(b.token.expose_secret(), again_b.token.expose_secret());
    // Only the key set, to verify the cached tokens locally.
    assert_eq!(
        ims.stats().total - ims.stats().count("GET /ims/keys"),
        2,
        "no further token request"
    );

    // Forced invalidation reaches the emulator; the next call mints anew.
    second.invalidate(&svc, true).await.unwrap();
    assert_eq!(ims.stats().count("POST /ims/invalidate_token/v2"), 1);
    let fresh = second.get_token(&svc).await.unwrap();
    assert_ne!(fresh.token.expose_secret(), a.token.expose_secret());
}

/// A JWT context whose inline key is OpenSSL's legacy encrypted PKCS#1
/// (AES-256-CBC), with its passphrase, as Node's crypto accepts it for aio:
/// the emulator takes the assertion it signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_encrypted_key_signs_the_jwt_exchange() {
    let ims = Emulator::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/emulator-seed-jwt-key-encrypted-aes256.pem"),
    )
    .unwrap();
    assert!(key.contains("Proc-Type: 4,ENCRYPTED"));
    let legacy = |passphrase: &str| {
        serde_json::json!({
            "ims_url": ims.base(),
            "client_id": seed::JWT_CLIENT_ID,
            "client_secret": seed::JWT_CLIENT_SECRET,
            "technical_account_id": seed::JWT_TECHNICAL_ACCOUNT_ID,
            "ims_org_id": seed::ORG_ID,
            "meta_scopes": seed::JWT_META_SCOPES,
            "private_key": key,
            "passphrase": passphrase,
        })
    };
    let config = serde_json::json!({"ims": {"contexts": {
        "legacy": legacy("fixture-passphrase"),
        "wrong": legacy("not-the-passphrase"),
    }}});
    std::fs::write(dir.path().join("aio"), config.to_string()).unwrap();
    let provider = provider(dir.path());
    let token = provider
        .get_token(&ContextName::parse("legacy").unwrap())
        .await
        .unwrap();
    assert!(!token.token.expose_secret().is_empty());
    assert_eq!(ims.stats().count("POST /ims/exchange/jwt"), 1);
    let err = provider
        .get_token(&ContextName::parse("wrong").unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains("not-the-passphrase"), "{err}");
    assert_eq!(ims.stats().count("POST /ims/exchange/jwt"), 1);
}

/// A cached access token is verified locally before it is handed out (aio
/// checks only its expiry): a tampered one is replaced by a new grant, a
/// good one is served without a token request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_cached_token_is_replaced() {
    use base64::Engine as _;
    let ims = Emulator::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = ims
        .mint_access_token(&ims_emulator::MintTokenRequest::for_email(
            seed::MEMBER_EMAIL,
            seed::S2S_CLIENT_ID,
        ))
        .unwrap();
    // The same signature over a payload naming someone else.
    let parts: Vec<&str> = good.split('.').collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["user_id"] = serde_json::json!("someone-else@AdobeID");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(claims.to_string()),
        parts[2]
    );
    let expiry = (time::OffsetDateTime::now_utc().unix_timestamp() + 20 * 3600) * 1000;
    let context = |token: &str| {
        serde_json::json!({
            "ims_url": ims.base(),
            "client_id": seed::S2S_CLIENT_ID,
            "client_secrets": [seed::S2S_CLIENT_SECRET],
            "scopes": ["openid", "AdobeID"],
            "ims_org_id": seed::ORG_ID,
            "access_token": {"token": token, "expiry": expiry},
        })
    };
    let config = serde_json::json!({"ims": {"contexts": {
        "forged": context(&forged),
        "good": context(&good),
    }}});
    std::fs::write(dir.path().join("aio"), config.to_string()).unwrap();
    let provider = provider(dir.path());
    let token = provider
        .get_token(&ContextName::parse("good").unwrap())
        .await
        .unwrap();
    assert_eq!(token.token.expose_secret(), good);
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 0);
    let token = provider
        .get_token(&ContextName::parse("forged").unwrap())
        .await
        .unwrap();
    assert_ne!(token.token.expose_secret(), forged);
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("aio")).unwrap()).unwrap();
    assert_eq!(
        file["ims"]["contexts"]["forged"]["access_token"]["token"],
        serde_json::json!(token.token.expose_secret())
    );
}
