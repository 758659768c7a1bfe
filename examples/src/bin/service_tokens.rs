//! # Get service tokens and manage contexts
//!
//! The complete program of the book's "Service tokens and contexts" guide:
//! a server-to-server context and a JWT (service account) context, written
//! in the aio CLI's own file format, each get a token from an
//! `ims-emulator`; the tokens are stored where the aio CLI stores them and
//! reused.
//!
//! ```text
//! cargo run -p ims-examples --bin service_tokens
//! cargo run -p ims-examples --bin service_tokens -- --aio my-context
//! ```
//!
//! With `--aio NAME` it reads the aio CLI's own files instead
//! (`$AIO_CONFIG_FILE` or `~/.config/aio`, `./.aio`, `.env`, `AIO_*`) and
//! gets a token for that context from the IMS the context names (prod by
//! default).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use ims_api::{ContextName, ImsEnvironment, SystemClock, TokenProvider};
use ims_core::{
    AioConfig, AioContextStore, ConfigPaths, ContextTokenProvider, FileTokenCache, HttpPolicy,
    ImsClients, ProviderConfig,
};
use ims_emulator::{Emulator, default_seed};

// ANCHOR: provider
/// A token provider over aio-format files: contexts are read from them and
/// tokens are written back into the file that defines each context.
fn provider(config: AioConfig) -> ContextTokenProvider {
    ContextTokenProvider::with_clients(
        Arc::new(AioContextStore::new(config.clone())),
        Arc::new(FileTokenCache::new(config)),
        // Contexts that name no `env` / `ims_url` use prod.
        ImsClients::new(ImsEnvironment::Prod, HttpPolicy::default()),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    )
}
// ANCHOR_END: provider

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, name] = args.as_slice()
        && flag == "--aio"
    {
        return with_aio_cli_files(name).await;
    }
    with_emulator().await
}

// ANCHOR: aio
/// The aio CLI's own configuration: the same contexts `aio` uses, and the
/// tokens it has cached.
async fn with_aio_cli_files(context: &str) -> Result<(), Box<dyn Error>> {
    let provider = provider(AioConfig::from_process()?);
    let token = provider.get_token(&ContextName::parse(context)?).await?;
    println!("{context}: a token valid until {}", token.expires_at);
    Ok(())
}
// ANCHOR_END: aio

/// Two contexts against an emulator, in a temporary directory.
async fn with_emulator() -> Result<(), Box<dyn Error>> {
    let ims = Emulator::builder().start().await?;
    let dir = tempfile::tempdir()?;

    // ANCHOR: contexts
    // The JWT account's private key, in a file the context names.
    let key_path = dir.path().join("private.key");
    std::fs::write(&key_path, default_seed::jwt_private_key_pem())?;

    // An aio-format global file with two contexts. `ims_url` points each
    // context at the emulator; without it a context uses `env` (prod or
    // stage).
    let contexts = serde_json::json!({
        "ims": { "contexts": {
            "my-service": {
                "ims_url": ims.base(),
                "client_id": default_seed::S2S_CLIENT_ID,
                "client_secrets": [default_seed::S2S_CLIENT_SECRET],
                "scopes": ["openid", "AdobeID"],
                "ims_org_id": default_seed::ORG_ID,
            },
            "legacy-jwt": {
                "ims_url": ims.base(),
                "client_id": default_seed::JWT_CLIENT_ID,
                "client_secret": default_seed::JWT_CLIENT_SECRET,
                "technical_account_id": default_seed::JWT_TECHNICAL_ACCOUNT_ID,
                "ims_org_id": default_seed::ORG_ID,
                "meta_scopes": default_seed::JWT_META_SCOPES,
                "private_key": key_path.to_string_lossy(),
            },
        }}
    });
    let global = dir.path().join("aio");
    std::fs::write(&global, serde_json::to_string_pretty(&contexts)?)?;

    // Only these files; no environment variables.
    let config = AioConfig::with_env(ConfigPaths::new(&global), Vec::<(String, String)>::new());
    // ANCHOR_END: contexts

    // ANCHOR: tokens
    let tokens = provider(config.clone());
    for name in ["my-service", "legacy-jwt"] {
        let token = tokens.get_token(&ContextName::parse(name)?).await?;
        println!("{name}: a token valid until {}", token.expires_at);
    }

    // Another process over the same files (here: a second provider) reuses
    // the stored tokens without a token request: it only fetches IMS's
    // public keys, to verify the stored token before using it.
    let token_requests = || ims.stats().count("POST /ims/token/v3");
    let calls_before = token_requests();
    let again = provider(config);
    again.get_token(&ContextName::parse("my-service")?).await?;
    assert_eq!(token_requests(), calls_before, "served from the file");
    // ANCHOR_END: tokens

    show_stored_token(&global)?;

    // ANCHOR: invalidate
    // Log the token out at IMS and forget it (`true`: the refresh token too).
    again
        .invalidate(&ContextName::parse("my-service")?, false)
        .await?;
    // ANCHOR_END: invalidate
    Ok(())
}

/// Prints where the token went: aio's `{"token": …, "expiry": <ms>}` under
/// the context.
fn show_stored_token(global: &Path) -> Result<(), Box<dyn Error>> {
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(global)?)?;
    let stored = &file["ims"]["contexts"]["my-service"]["access_token"];
    println!(
        "stored in {}: ims.contexts.my-service.access_token.expiry = {}",
        global.display(),
        stored["expiry"]
    );
    Ok(())
}
