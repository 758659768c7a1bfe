//! Separate processes contend on one aio config file: two write contexts and
//! tokens while a third reads. Every read must parse and see the context
//! written before, and at the end no update is lost.
//!
//! The children are this test binary, re-executed with `IMS_CORE_MP_ROLE`
//! naming their role, running only `child_process_role`.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use ims_api::{
    AccessToken, ClientId, ClientSecret, ConfigLocation, ContextCredentials, ContextName,
    ContextStore, ContextTokens, ExpiringToken, ImsContext, Scopes, ServerToServerContext,
    TokenCache,
};
use ims_core::{AioConfig, AioContextStore, ConfigPaths, FileTokenCache};

const ROLE: &str = "IMS_CORE_MP_ROLE";
const FILE: &str = "IMS_CORE_MP_FILE";
const WRITERS: usize = 2;
const WRITES: usize = 50;

fn context(name: &str) -> ImsContext {
    let credentials = ServerToServerContext::new(
        ClientId::parse("mp-client").unwrap(),
        ClientSecret::new("mp-secret"),
        Scopes::parse("openid"),
    );
    ImsContext::new(
        ContextName::parse(name).unwrap(),
        ContextCredentials::ServerToServer(credentials),
    )
}

fn config(path: &str) -> AioConfig {
    AioConfig::with_env(ConfigPaths::new(path), Vec::<(String, String)>::new())
}

/// Runs a child's role; a no-op in a normal test run.
#[tokio::test]
async fn child_process_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let path = std::env::var(FILE).unwrap();
    let store = AioContextStore::new(config(&path));
    let cache = FileTokenCache::new(config(&path));
    let shared = ContextName::parse("shared").unwrap();
    if let Some(writer) = role.strip_prefix("writer-") {
        for i in 0..WRITES {
            store
                .set(&context(&format!("w{writer}x{i}")), ConfigLocation::Global)
                .await
                .unwrap();
            let tokens = ContextTokens {
                access_token: Some(ExpiringToken::new(
                    AccessToken::new(format!("token-{writer}-{i}")),
                    time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
                )),
                refresh_token: None,
            };
            cache.store(&shared, &tokens).await.unwrap();
        }
    } else if role == "reader" {
        let expected = WRITERS * WRITES + 1;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        let mut reads = 0;
        while seen < expected {
            assert!(
                Instant::now() < deadline,
                "saw only {seen} of {expected} contexts"
            );
            // Every read parses and still has the context written first.
            let got = store.get(&shared).await.unwrap().expect("shared context");
            assert_eq!(got.credentials.kind(), "server-to-server");
            let count = store.list().await.unwrap().len();
            assert!(count >= seen, "contexts went from {seen} to {count}");
            seen = count;
            reads += 1;
        }
        eprintln!("reader: {reads} consistent reads");
    } else {
        panic!("unknown role {role}");
    }
}

#[tokio::test]
async fn a_second_process_reads_while_a_third_writes() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aio");
    let path_str = path.to_str().unwrap().to_owned();
    std::fs::write(
        &path,
        "{\n  # kept by every writer\n  cli: {\n    keep: me\n  }\n}\n",
    )
    .unwrap();
    let store = AioContextStore::new(config(&path_str));
    store
        .set(&context("shared"), ConfigLocation::Global)
        .await
        .unwrap();

    let exe = std::env::current_exe().unwrap();
    let spawn = |role: String| {
        Command::new(&exe)
            .args([
                "--exact",
                "child_process_role",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
            .env(FILE, &path_str)
            .spawn()
            .unwrap()
    };
    let mut children = vec![spawn("reader".to_owned())];
    for w in 0..WRITERS {
        children.push(spawn(format!("writer-{w}")));
    }
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a child process failed: {status}");
    }

    let names = store.list().await.unwrap();
    assert_eq!(names.len(), WRITERS * WRITES + 1, "lost updates");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["cli"]["keep"], "me");
    let token = &written["ims"]["contexts"]["shared"]["access_token"]["token"];
    assert!(token.as_str().unwrap().starts_with("token-"), "{token}");
}
