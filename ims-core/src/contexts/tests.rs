use super::*;
use ims_api::{
    ClientId, ClientSecret, ConfigLocation, ContextCredentials, ImsEnvironment, OrgId,
    PrivateKeySource, Scopes, ServerToServerContext,
};
use serde_json::json;

use crate::aio_config::ConfigPaths;

const ORG: &str = "0123456789ABCDEF01234567@AdobeOrg";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn paths(&self) -> ConfigPaths {
        ConfigPaths::new(self.dir.path().join("global.json"))
            .with_local(self.dir.path().join(".aio"))
            .with_dotenv(self.dir.path().join(".env"))
    }

    fn store(&self, env: &[(&str, &str)]) -> AioContextStore {
        AioContextStore::new(AioConfig::with_env(self.paths(), env.iter().copied()))
    }

    fn global(&self, value: Value) {
        std::fs::write(self.dir.path().join("global.json"), value.to_string()).unwrap();
    }

    fn read(&self, file: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join(file)).unwrap()).unwrap()
    }
}

fn name(s: &str) -> ContextName {
    ContextName::parse(s).unwrap()
}

async fn get(fx: &Fixture, context: Value) -> Result<Option<ImsContext>, Error> {
    fx.global(json!({"ims": {"contexts": {"ctx": context}}}));
    fx.store(&[]).get(&name("ctx")).await
}

fn jwt_props() -> Value {
    json!({
        "client_id": "jwt-client",
        "client_secret": "s3cr3t",
        "technical_account_id": "tech@techacct.adobe.com",
        "ims_org_id": ORG,
        "meta_scopes": ["ent_dataservices_sdk"],
        "private_key": PEM,
    })
}

#[tokio::test]
async fn detects_server_to_server() {
    let fx = Fixture::new();
    let ctx = get(
        &fx,
        json!({
            "client_id": "s2s", "client_secrets": ["first", "second"],
            "scopes": ["openid", "AdobeID"], "ims_org_id": ORG,
            "technical_account_email": "x@techacct.adobe.com"
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let ContextCredentials::ServerToServer(c) = &ctx.credentials else {
        panic!("{:?}", ctx.credentials.kind())
    };
    assert_eq!(c.client_id.as_str(), "s2s");
    assert_eq!(c.client_secrets.len(), 2);
    assert_eq!(c.client_secrets[0].expose_secret(), "first");
    assert_eq!(c.scopes.to_string(), "openid,AdobeID");
    assert_eq!(
        c.org_id.as_ref().unwrap().as_str(),
        "0123456789ABCDEF01234567"
    );
    assert!(ctx.environment.is_none());

    // Scopes and secrets as JSON-array strings (environment variables).
    let ctx = get(
        &fx,
        json!({"client_id": "s2s", "client_secrets": "[\"only\"]", "scopes": "[\"a\",\"b\"]"}),
    )
    .await
    .unwrap()
    .unwrap();
    let ContextCredentials::ServerToServer(c) = &ctx.credentials else {
        panic!()
    };
    assert_eq!(c.scopes.to_string(), "a,b");
    assert_eq!(c.client_secrets.len(), 1);
    assert!(c.org_id.is_none());
}

#[tokio::test]
async fn detects_jwt_with_every_meta_scopes_form() {
    let fx = Fixture::new();
    for (meta_scopes, expected) in [
        (json!(["a", "b"]), vec!["a", "b"]),
        (json!("[\"a\",\"b\"]"), vec!["a", "b"]),
        // A plain string is one scope, not one per character.
        (json!("ent_dataservices_sdk"), vec!["ent_dataservices_sdk"]),
    ] {
        let mut props = jwt_props();
        props["meta_scopes"] = meta_scopes.clone();
        let ctx = get(&fx, props).await.unwrap().unwrap();
        let ContextCredentials::Jwt(c) = &ctx.credentials else {
            panic!("{meta_scopes}: {}", ctx.credentials.kind())
        };
        assert_eq!(c.meta_scopes, expected, "{meta_scopes}");
        assert_eq!(c.technical_account_id, "tech@techacct.adobe.com");
        assert!(c.passphrase.is_none());
    }
}

#[tokio::test]
async fn private_key_forms() {
    let fx = Fixture::new();
    let lines: Vec<&str> = PEM.lines().collect();
    for (value, expected) in [
        (json!(PEM), Some(PEM.to_owned())),
        (json!(lines), Some(PEM.to_owned())),
        (
            json!(serde_json::to_string(&lines).unwrap()),
            Some(PEM.to_owned()),
        ),
        (json!("keys/private.key"), None),
    ] {
        let mut props = jwt_props();
        props["private_key"] = value.clone();
        let ctx = get(&fx, props).await.unwrap().unwrap();
        let ContextCredentials::Jwt(c) = &ctx.credentials else {
            panic!()
        };
        match (&c.private_key, expected) {
            (PrivateKeySource::Inline(pem), Some(expected)) => {
                assert_eq!(pem.expose_secret(), expected, "{value}");
            }
            (PrivateKeySource::File(path), None) => {
                assert_eq!(path.to_str(), Some("keys/private.key"));
            }
            (other, _) => panic!("{value}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn detects_oauth_user() {
    let fx = Fixture::new();
    let ctx = get(
        &fx,
        json!({"client_id": "web", "client_secret": "x", "scope": "openid AdobeID",
               "redirect_uri": "https://callback.example.org/cb"}),
    )
    .await
    .unwrap()
    .unwrap();
    let ContextCredentials::OAuthUser(c) = &ctx.credentials else {
        panic!()
    };
    assert_eq!(c.scopes.to_string(), "openid,AdobeID");
    assert_eq!(
        c.redirect_uri.as_ref().unwrap().as_str(),
        "https://callback.example.org/cb"
    );
    assert!(c.client_secret.is_some());
}

#[tokio::test]
async fn missing_properties_name_the_context_and_the_property() {
    let fx = Fixture::new();
    let err = get(&fx, json!({"client_id": "c", "scopes": ["openid"]}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "misconfiguration: context \"ctx\" looks like server-to-server but has no client_secrets; \
             set ims.contexts.ctx.client_secrets (no kind has all its properties: "
        ),
        "{err}"
    );

    let mut props = jwt_props();
    props
        .as_object_mut()
        .unwrap()
        .remove("technical_account_id");
    props.as_object_mut().unwrap().remove("client_secret");
    let err = get(&fx, props).await.unwrap_err().to_string();
    assert!(err.contains("context \"ctx\" looks like jwt"), "{err}");
    assert!(err.contains("client_secret, technical_account_id"), "{err}");
    assert!(
        err.contains(
            "set ims.contexts.ctx.client_secret and ims.contexts.ctx.technical_account_id"
        ),
        "{err}"
    );

    let err = get(&fx, json!({"client_id": "c"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("context \"ctx\" has none of the properties"),
        "{err}"
    );

    let err = get(&fx, json!({"scope": "openid"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("looks like oauth-user but has no client_id"),
        "{err}"
    );

    let mut props = jwt_props();
    props["ims_org_id"] = json!("not-an-org");
    let err = get(&fx, props).await.unwrap_err().to_string();
    assert!(err.contains("ims_org_id is invalid"), "{err}");
    // Secrets never end up in messages.
    assert!(!err.contains("s3cr3t"), "{err}");

    assert!(get(&fx, json!("a string")).await.is_err());
    assert!(fx.store(&[]).get(&name("absent")).await.unwrap().is_none());
}

#[tokio::test]
async fn environments_from_env_ims_url_and_cli_env() {
    let fx = Fixture::new();
    let mut props = jwt_props();
    props["ims_url"] = json!("http://localhost:8080/ims-emulator");
    props["env"] = json!("stage");
    let ctx = get(&fx, props).await.unwrap().unwrap();
    let env = ctx.environment.unwrap();
    assert!(matches!(env, ImsEnvironment::Custom(_)));
    assert_eq!(
        env.base_url().as_str(),
        "http://localhost:8080/ims-emulator/"
    );

    let mut props = jwt_props();
    props["env"] = json!("stage");
    let ctx = get(&fx, props).await.unwrap().unwrap();
    assert_eq!(ctx.environment, Some(ImsEnvironment::Stage));

    // Any other env is prod, as aio takes it (with a warning here).
    let mut props = jwt_props();
    props["env"] = json!("qa");
    let ctx = get(&fx, props).await.unwrap().unwrap();
    assert_eq!(ctx.environment, Some(ImsEnvironment::Prod));

    // cli.env (AIO_CLI_ENV) is the default.
    fx.global(json!({"ims": {"contexts": {"ctx": jwt_props()}}}));
    let ctx = fx
        .store(&[("AIO_CLI_ENV", "stage")])
        .get(&name("ctx"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ctx.environment, Some(ImsEnvironment::Stage));
}

#[tokio::test]
async fn contexts_from_environment_variables_and_hjson_files() {
    let fx = Fixture::new();
    std::fs::write(
        fx.dir.path().join(".aio"),
        "{\n  ims: {\n    contexts: {\n      # from HJSON\n      Local: {\n        client_id: 12345\n        scope: openid\n      }\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        fx.dir.path().join(".env"),
        "AIO_IMS_CONTEXTS_ENVCTX_CLIENT__ID=from-dotenv\n",
    )
    .unwrap();
    let store = fx.store(&[
        ("AIO_IMS_CONTEXTS_ENVCTX_CLIENT__SECRETS", r#"["sec"]"#),
        ("AIO_IMS_CONTEXTS_ENVCTX_SCOPES", r#"["openid"]"#),
    ]);
    let ctx = store.get(&name("envctx")).await.unwrap().unwrap();
    assert_eq!(ctx.credentials.kind(), "server-to-server");
    assert_eq!(ctx.credentials.client_id().as_str(), "from-dotenv");
    // Keys are case-insensitive; a numeric client id (JSON-parsed) is a string.
    let ctx = store.get(&name("local")).await.unwrap().unwrap();
    assert_eq!(ctx.credentials.kind(), "oauth-user");
    assert_eq!(ctx.credentials.client_id().as_str(), "12345");
    assert_eq!(
        store.list().await.unwrap(),
        vec![name("envctx"), name("local")]
    );
}

#[tokio::test]
async fn set_writes_aio_names_and_keeps_unknown_keys() {
    let fx = Fixture::new();
    fx.global(json!({
        "cli": {"env": "prod"},
        "ims": {"contexts": {"svc": {
            "client_id": "svc-client", "custom_key": "keep",
            "private_key": "stale", "access_token": {"token": "t", "expiry": 1}
        }}}
    }));
    let store = fx.store(&[]);
    let mut s2s = ServerToServerContext::new(
        ClientId::parse("svc-client").unwrap(),
        ClientSecret::new("sec"),
        Scopes::parse("openid,AdobeID"),
    );
    s2s.org_id = Some(OrgId::parse(ORG).unwrap());
    let ctx = ImsContext::new(name("svc"), ContextCredentials::ServerToServer(s2s))
        .with_environment(ImsEnvironment::custom("http://127.0.0.1:9000").unwrap());
    store.set(&ctx, ConfigLocation::Global).await.unwrap();
    let file = fx.read("global.json");
    let svc = &file["ims"]["contexts"]["svc"];
    assert_eq!(svc["custom_key"], json!("keep"));
    assert_eq!(svc["client_secrets"], json!(["sec"]));
    assert_eq!(svc["scopes"], json!(["openid", "AdobeID"]));
    assert_eq!(svc["ims_org_id"], json!(ORG));
    assert_eq!(svc["ims_url"], json!("http://127.0.0.1:9000/"));
    assert!(svc.get("private_key").is_none(), "{svc}");
    // Same client: its stored tokens stay.
    assert_eq!(svc["access_token"]["expiry"], json!(1));
    assert_eq!(file["cli"]["env"], json!("prod"));
    let back = store.get(&name("svc")).await.unwrap().unwrap();
    assert_eq!(back.credentials.kind(), "server-to-server");
    assert_eq!(
        back.environment.unwrap().base_url().as_str(),
        "http://127.0.0.1:9000/"
    );

    // Local file, current context, removal.
    store.set(&ctx, ConfigLocation::Local).await.unwrap();
    assert_eq!(
        store.location_of(&name("svc")).await.unwrap(),
        Some(ConfigLocation::Local)
    );
    store.set_current(&name("svc")).await.unwrap();
    assert_eq!(fx.read(".aio")["ims"]["config"]["current"], json!("svc"));
    assert_eq!(store.current().await.unwrap(), Some(name("svc")));
    assert!(store.remove(&name("svc")).await.unwrap());
    assert!(!store.remove(&name("svc")).await.unwrap());
    assert!(store.get(&name("svc")).await.unwrap().is_none());
    assert_eq!(fx.read("global.json")["cli"]["env"], json!("prod"));
}

#[tokio::test]
async fn jwt_round_trips_through_set() {
    let fx = Fixture::new();
    let store = fx.store(&[]);
    fx.global(json!({"ims": {"contexts": {"j": jwt_props()}}}));
    let ctx = store.get(&name("j")).await.unwrap().unwrap();
    fx.global(json!({}));
    store.set(&ctx, ConfigLocation::Global).await.unwrap();
    let written = fx.read("global.json");
    assert_eq!(written["ims"]["contexts"]["j"]["private_key"], json!(PEM));
    assert_eq!(
        written["ims"]["contexts"]["j"]["meta_scopes"],
        json!(["ent_dataservices_sdk"])
    );
    let again = store.get(&name("j")).await.unwrap().unwrap();
    assert_eq!(again.credentials.kind(), "jwt");
}

#[tokio::test]
async fn bad_current_and_corrupted_files_are_clear_errors() {
    let fx = Fixture::new();
    fx.global(json!({"ims": {"config": {"current": "not valid!"}}}));
    let err = fx.store(&[]).current().await.unwrap_err().to_string();
    assert!(err.contains("ims.config.current"), "{err}");
    std::fs::write(fx.dir.path().join("global.json"), "{ broken").unwrap();
    let err = fx.store(&[]).get(&name("x")).await.unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)));
    assert!(err.to_string().contains("global.json"), "{err}");
}

#[test]
fn debug_shows_no_secrets() {
    let fx = Fixture::new();
    let store = fx.store(&[("AIO_IMS_CONTEXTS_X_CLIENT__SECRET", "hunter2")]);
    let shown = format!("{store:?} {:?}", store.config());
    assert!(!shown.contains("hunter2"), "{shown}");
}

// --- Issue #14, finding 2: files of the working directory (`.aio`, `.env`)
// are untrusted; the global file and the process environment are trusted.

fn s2s_props() -> Value {
    json!({
        "client_id": "svc-client",
        "client_secrets": ["global-s3cr3t"],
        "scopes": ["openid", "AdobeID"],
    })
}

impl Fixture {
    fn local(&self, value: Value) {
        std::fs::write(self.dir.path().join(".aio"), value.to_string()).unwrap();
    }

    fn dotenv(&self, text: &str) {
        std::fs::write(self.dir.path().join(".env"), text).unwrap();
    }

    fn clear_local(&self) {
        let _ = std::fs::remove_file(self.dir.path().join(".aio"));
        let _ = std::fs::remove_file(self.dir.path().join(".env"));
    }
}

/// The error of a context whose endpoint an untrusted source tried to set:
/// it names the context, the key and the file, never the secret.
fn assert_refused(result: Result<Option<ImsContext>, Error>, key: &str, file: &str, case: &str) {
    let err = match result {
        Err(err) => err,
        Ok(ctx) => panic!(
            "{case}: accepted, environment {:?}",
            ctx.and_then(|c| c.environment).map(|e| e.name())
        ),
    };
    let text = err.to_string();
    assert!(matches!(err, Error::Misconfigured(_)), "{case}: {err:?}");
    assert!(text.contains(key), "{case}: {text}");
    assert!(text.contains(file), "{case}: {text}");
    assert!(text.contains("\"svc\""), "{case}: {text}");
    assert!(!text.contains("s3cr3t"), "{case}: {text}");
}

#[tokio::test]
async fn a_local_file_cannot_change_where_a_global_contexts_credentials_go() {
    let fx = Fixture::new();
    fx.global(json!({"ims": {"contexts": {"svc": s2s_props()}}}));
    let variants = [
        ("ims_url", json!({"ims_url": "http://127.0.0.1:9"})),
        (
            "ims_url",
            json!({"ims_url": "https://ims.attacker.example"}),
        ),
        (
            "ims_url",
            json!({"IMS_URL": "https://ims.attacker.example"}),
        ),
        ("env", json!({"env": "stage"})),
        (
            "redirect_uri",
            json!({"redirect_uri": "https://attacker.example/cb"}),
        ),
    ];
    for (key, props) in variants {
        fx.local(json!({"ims": {"contexts": {"svc": props}}}));
        assert_refused(fx.store(&[]).get(&name("svc")).await, key, ".aio", key);
        // The context name's case does not matter either.
        fx.local(json!({"IMS": {"Contexts": {"SVC": props}}}));
        assert_refused(fx.store(&[]).get(&name("svc")).await, key, ".aio", key);
    }
    fx.clear_local();
    for (var, key) in [
        ("AIO_IMS_CONTEXTS_SVC_IMS__URL", "ims_url"),
        ("AIO_IMS_CONTEXTS_SVC_ENV", "env"),
        ("AIO_IMS_CONTEXTS_SVC_REDIRECT__URI", "redirect_uri"),
    ] {
        fx.dotenv(&format!("{var}=https://attacker.example\n"));
        assert_refused(fx.store(&[]).get(&name("svc")).await, key, ".env", var);
    }
    // The same keys from trusted sources are the user's own choice.
    fx.clear_local();
    let ctx = fx
        .store(&[("AIO_IMS_CONTEXTS_SVC_IMS__URL", "https://proxy.example")])
        .get(&name("svc"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.environment.unwrap().base_url().as_str(),
        "https://proxy.example/"
    );
}

#[tokio::test]
async fn a_context_defined_partly_by_a_trusted_source_is_protected() {
    let fx = Fixture::new();
    // Only the secret is trusted (the process environment); the rest, and
    // the endpoint, come from the local file.
    fx.local(json!({"ims": {"contexts": {"svc": {
        "client_id": "svc-client", "scopes": ["openid"], "ims_url": "http://127.0.0.1:9"
    }}}}));
    let store = fx.store(&[("AIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS", "global-s3cr3t")]);
    assert_refused(
        store.get(&name("svc")).await,
        "ims_url",
        ".aio",
        "env secret",
    );
}

#[tokio::test]
async fn cli_env_from_a_local_file_does_not_move_a_global_context() {
    let fx = Fixture::new();
    fx.global(json!({"ims": {"contexts": {"svc": s2s_props()}}}));
    fx.local(json!({"cli": {"env": "stage"}}));
    let ctx = fx.store(&[]).get(&name("svc")).await.unwrap().unwrap();
    assert_ne!(ctx.environment, Some(ImsEnvironment::Stage));
    fx.clear_local();
    fx.dotenv("AIO_CLI_ENV=stage\n");
    let ctx = fx.store(&[]).get(&name("svc")).await.unwrap().unwrap();
    assert_ne!(ctx.environment, Some(ImsEnvironment::Stage));
    // From the process environment it applies.
    let ctx = fx
        .store(&[("AIO_CLI_ENV", "stage")])
        .get(&name("svc"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ctx.environment, Some(ImsEnvironment::Stage));
    // And a local file's own contexts follow the local cli.env.
    fx.local(json!({"cli": {"env": "stage"}, "ims": {"contexts": {"mine": s2s_props()}}}));
    let ctx = fx.store(&[]).get(&name("mine")).await.unwrap().unwrap();
    assert_eq!(ctx.environment, Some(ImsEnvironment::Stage));
}

#[tokio::test]
async fn a_local_files_own_context_may_name_its_ims_over_https_or_loopback() {
    let fx = Fixture::new();
    fx.global(json!({"ims": {"contexts": {"svc": s2s_props()}}}));
    for url in [
        "https://ims.example.com",
        "http://127.0.0.1:9800",
        "http://127.1.2.3",
        "http://localhost:8080/ims",
        "http://[::1]:9800",
    ] {
        let mut props = s2s_props();
        props["ims_url"] = json!(url);
        fx.local(json!({"ims": {"contexts": {"mine": props}}}));
        let ctx = fx.store(&[]).get(&name("mine")).await.unwrap().unwrap();
        assert!(
            ctx.environment
                .unwrap()
                .base_url()
                .as_str()
                .starts_with(url),
            "{url}"
        );
    }
}

#[tokio::test]
async fn ims_url_must_be_https_unless_loopback_wherever_it_comes_from() {
    let fx = Fixture::new();
    for url in [
        "http://ims.example.com",
        "http://10.0.0.1:9800",
        "http://127.0.0.1.attacker.example",
        "http://localhost.attacker.example",
        "http://[::2]:80",
        "http://0.0.0.0:9800",
    ] {
        // The global file.
        let mut props = s2s_props();
        props["ims_url"] = json!(url);
        fx.global(json!({"ims": {"contexts": {"svc": props.clone()}}}));
        assert_refused(
            fx.store(&[]).get(&name("svc")).await,
            "ims_url",
            "global.json",
            url,
        );
        // The environment.
        fx.global(json!({"ims": {"contexts": {"svc": s2s_props()}}}));
        assert_refused(
            fx.store(&[("AIO_IMS_CONTEXTS_SVC_IMS__URL", url)])
                .get(&name("svc"))
                .await,
            "ims_url",
            "AIO_IMS_CONTEXTS_SVC_IMS__URL",
            url,
        );
        // A local file's own context.
        fx.global(json!({}));
        fx.local(json!({"ims": {"contexts": {"svc": props}}}));
        assert_refused(
            fx.store(&[]).get(&name("svc")).await,
            "ims_url",
            ".aio",
            url,
        );
        fx.clear_local();
    }
}

#[tokio::test]
async fn a_local_context_with_its_own_ims_cannot_sign_with_a_key_file_of_the_user() {
    let fx = Fixture::new();
    let mut props = jwt_props();
    props["private_key"] = json!("/home/user/.keys/prod.pem");
    props["ims_url"] = json!("https://ims.attacker.example");
    fx.local(json!({"ims": {"contexts": {"svc": props}}}));
    assert_refused(
        fx.store(&[]).get(&name("svc")).await,
        "private_key",
        ".aio",
        "key file",
    );
    // An inline key is the file's own.
    let mut props = jwt_props();
    props["ims_url"] = json!("https://ims.attacker.example");
    fx.local(json!({"ims": {"contexts": {"svc": props}}}));
    assert!(fx.store(&[]).get(&name("svc")).await.unwrap().is_some());
}

/// Other spellings of a project's attempt to move a user context: the same
/// context under two cases in one file, both spellings of the key, wrong
/// types, and `.env` variables spelled differently. Each is refused or has
/// no effect; none moves the context.
#[tokio::test]
async fn no_spelling_of_a_project_file_moves_a_global_context() {
    let fx = Fixture::new();
    fx.global(json!({"ims": {"contexts": {"svc": s2s_props()}}}));
    let evil = "https://ims.attacker.example";
    let locals = [
        json!({"ims": {"contexts": {"svc": {}, "SVC": {"ims_url": evil}}}}),
        json!({"ims": {"contexts": {"SVC": {"ims_url": evil}, "svc": {"client_id": "x"}}}}),
        json!({"ims": {"contexts": {"svc": {"ims_url": evil, "IMS_URL": evil}}}}),
        json!({"IMS": {"contexts": {"svc": {"ims_url": evil}}}, "ims": {"contexts": {"svc": {}}}}),
        json!({"ims": {"contexts": {"svc": {"ims_url": null}}}}),
        json!({"ims": {"contexts": {"svc": {"ims_url": [evil]}}}}),
        json!({"ims": {"contexts": {"svc": {"ims_url": {"x": evil}}}}}),
        json!({"ims": {"contexts": {"svc": {"Ims_Url": evil}}}}),
        json!({"ims": {"contexts": {"svc": "x"}}}),
        json!({"ims": {"contexts": "x"}}),
    ];
    let moved = |got: &Result<Option<ImsContext>, Error>| matches!(got, Ok(Some(ctx)) if ctx.environment.is_some());
    for local in locals {
        fx.local(local.clone());
        let got = fx.store(&[]).get(&name("svc")).await;
        assert!(!moved(&got), "{local}: {got:?}");
    }
    fx.clear_local();
    for var in [
        "aio_ims_contexts_svc_ims__url",
        "AIO_IMS_CONTEXTS_svc_IMS__URL",
        "AIO_IMS_CONTEXTS_SVC_IMS___URL",
        "AIO_IMS__CONTEXTS_SVC_IMS__URL",
        "AIO_IMS_CONTEXTS_SVC__IMS__URL",
        "AIO_IMS_CONTEXTS_SVC_IMS_URL",
        "AIO_IMS_CONTEXTS_SVC_IMSURL",
        "AIO_CLI_ENV",
        "AIO_IMS_CONTEXTS_SVC_IMS__URL ",
        " AIO_IMS_CONTEXTS_SVC_IMS__URL",
        "export AIO_IMS_CONTEXTS_SVC_IMS__URL",
    ] {
        fx.dotenv(&format!("{var}={evil}\n"));
        let got = fx.store(&[]).get(&name("svc")).await;
        assert!(!moved(&got), "{var:?}: {got:?}");
    }
}

/// What `aio login` leaves in the global file, as aio-lib-core-config
/// writes it (hjson.stringify with `separator: true`): only
/// `cli.bare-output` and the tokens as `{token, expiry}`.
const AIO_LOGIN_HJSON: &str = r#"{
  ims: {
    contexts: {
      cli: {
        cli.bare-output: false,
        access_token: {
          token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
          expiry: 4102444800000
        },
        refresh_token: {
          token: "eyJhbGciOiJSUzI1NiJ9.e30.cmVm",
          expiry: 4103654400000
        }
      }
    }
  }
}"#;

#[tokio::test]
async fn aio_logins_cli_context_is_its_own_kind() {
    let fx = Fixture::new();
    std::fs::write(fx.dir.path().join("global.json"), AIO_LOGIN_HJSON).unwrap();
    let ctx = fx.store(&[]).get(&name("cli")).await.unwrap().unwrap();
    let ContextCredentials::Cli(c) = &ctx.credentials else {
        panic!("{}", ctx.credentials.kind())
    };
    assert_eq!(ctx.credentials.kind(), "cli");
    // No client_id in the context: aio's own client refreshes it.
    assert_eq!(c.client_id.as_str(), "aio-cli-console-auth");
    assert!(!c.client_id_configured);
    assert!(!c.bare_output);
    assert!(c.scopes.is_empty());

    // On stage, aio's stage client; AIO_CLI_IMS_APIKEY (aio's variable for
    // the login client) wins over both.
    let ctx = fx
        .store(&[("AIO_CLI_ENV", "stage")])
        .get(&name("cli"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.credentials.client_id().as_str(),
        "aio-cli-console-auth-stage"
    );
    let ctx = fx
        .store(&[("AIO_CLI_IMS_APIKEY", "my-cli-client")])
        .get(&name("cli"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ctx.credentials.client_id().as_str(), "my-cli-client");
    let err = fx
        .store(&[("AIO_CLI_IMS_APIKEY", "not a client")])
        .get(&name("cli"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("AIO_CLI_IMS_APIKEY is not a valid client id"),
        "{err}"
    );

    // The context's own client_id and scope win, and `true` is read.
    let ctx = get(
        &fx,
        json!({"cli.bare-output": true, "client_id": "own-client", "scope": "openid,AdobeID"}),
    )
    .await
    .unwrap()
    .unwrap();
    let ContextCredentials::Cli(c) = &ctx.credentials else {
        panic!("{}", ctx.credentials.kind())
    };
    assert_eq!(c.client_id.as_str(), "own-client");
    assert!(c.client_id_configured);
    assert!(c.bare_output);
    assert_eq!(c.scopes.to_string(), "openid,AdobeID");

    // Set as a variable (AIO_IMS_CONTEXTS_CLI_CLI_BARE-OUTPUT), it is nested.
    let ctx = get(&fx, json!({"cli": {"bare-output": "true"}}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ctx.credentials.kind(), "cli");
}

#[tokio::test]
async fn a_cli_context_round_trips_without_inventing_a_client() {
    let fx = Fixture::new();
    std::fs::write(fx.dir.path().join("global.json"), AIO_LOGIN_HJSON).unwrap();
    let store = fx.store(&[]);
    let mut ctx = store.get(&name("cli")).await.unwrap().unwrap();
    // Written back unchanged: the file is not even rewritten.
    store.set(&ctx, ConfigLocation::Global).await.unwrap();
    let path = fx.dir.path().join("global.json");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), AIO_LOGIN_HJSON);
    let ContextCredentials::Cli(c) = &mut ctx.credentials else {
        panic!()
    };
    c.scopes = Scopes::parse("openid");
    store.set(&ctx, ConfigLocation::Global).await.unwrap();
    let written =
        AioConfig::parse_file_text(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let cli = &written["ims"]["contexts"]["cli"];
    assert_eq!(cli["scope"], json!("openid"));
    assert_eq!(cli["cli.bare-output"], json!(false));
    assert!(cli.get("client_id").is_none(), "{cli}");
    // The tokens stay: no client changed.
    assert_eq!(cli["refresh_token"]["expiry"], json!(4_103_654_400_000_u64));
    let again = store.get(&name("cli")).await.unwrap().unwrap();
    assert_eq!(again.credentials.kind(), "cli");
}

#[tokio::test]
async fn kinds_are_tried_in_aios_order_and_the_first_complete_wins() {
    let fx = Fixture::new();
    // Moved from JWT to server-to-server, meta_scopes left behind: JWT is
    // incomplete (no private_key), so it is server-to-server.
    let mut moved = s2s_props();
    moved["meta_scopes"] = json!(["ent_dataservices_sdk"]);
    moved["technical_account_id"] = json!("tech@techacct.adobe.com");
    let ctx = get(&fx, moved).await.unwrap().unwrap();
    assert_eq!(ctx.credentials.kind(), "server-to-server");

    // Complete for both: JWT comes first, as in aio.
    let mut both = jwt_props();
    both["client_secrets"] = json!(["x"]);
    both["scopes"] = json!(["openid"]);
    let ctx = get(&fx, both).await.unwrap().unwrap();
    assert_eq!(ctx.credentials.kind(), "jwt");

    // cli comes before oauth-user.
    let ctx = get(
        &fx,
        json!({"cli.bare-output": false, "client_id": "web", "scope": "openid"}),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(ctx.credentials.kind(), "cli");

    // Empty strings count as missing, as `!configData[key]` in aio.
    let mut empty = jwt_props();
    empty["private_key"] = json!("");
    empty["client_secrets"] = json!(["x"]);
    empty["scopes"] = json!(["openid"]);
    let ctx = get(&fx, empty).await.unwrap().unwrap();
    assert_eq!(ctx.credentials.kind(), "server-to-server");
}

#[tokio::test]
async fn a_context_of_no_kind_lists_what_each_kind_lacks() {
    let fx = Fixture::new();
    let err = get(
        &fx,
        json!({"client_id": "c", "meta_scopes": ["m"], "scopes": []}),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)));
    let err = err.to_string();
    assert!(err.contains("context \"ctx\" looks like jwt"), "{err}");
    for lacks in [
        "jwt lacks client_secret, technical_account_id, ims_org_id, private_key",
        "server-to-server lacks client_secrets, scopes",
        "cli lacks cli.bare-output",
        "oauth-user lacks scope or redirect_uri",
    ] {
        assert!(err.contains(lacks), "{lacks}: {err}");
    }
}

#[tokio::test]
async fn a_yaml_file_from_aio_holds_contexts_and_stays_yaml() {
    let fx = Fixture::new();
    let path = fx.dir.path().join("global.json");
    std::fs::write(
        &path,
        "ims:\n  contexts:\n    cli:\n      cli.bare-output: false\n      refresh_token:\n        token: eyJhbGciOiJSUzI1NiJ9.e30.cmVm\n        expiry: 4103654400000\n    svc:\n      client_id: s2s\n      client_secrets:\n        - first\n      scopes: '[\"openid\",\"AdobeID\"]'\n",
    )
    .unwrap();
    let store = fx.store(&[]);
    let cli = store.get(&name("cli")).await.unwrap().unwrap();
    assert_eq!(cli.credentials.kind(), "cli");
    let svc = store.get(&name("svc")).await.unwrap().unwrap();
    assert_eq!(svc.credentials.kind(), "server-to-server");
    store.set_current(&name("svc")).await.unwrap();
    let mut svc = svc;
    svc.environment = Some(ImsEnvironment::Stage);
    store.set(&svc, ConfigLocation::Global).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.trim_start().starts_with('{'), "{text}");
    let tree = AioConfig::parse_file_text(&text, &path).unwrap();
    assert_eq!(tree["ims"]["contexts"]["svc"]["env"], json!("stage"));
    assert_eq!(
        tree["ims"]["contexts"]["cli"]["refresh_token"]["expiry"],
        json!(4_103_654_400_000_u64)
    );
}

/// aio-lib-core-config's environment: values stay strings, the prefix
/// matches ignoring case, `AIO_CONFIG_KEY` renames it; the contexts still
/// read list-valued keys given as JSON strings.
#[tokio::test]
async fn environment_values_are_strings_under_the_configured_prefix() {
    use crate::{AioConfig, ConfigPaths};
    use ims_api::{ContextCredentials, ContextName, ContextStore as _};
    let dir = tempfile::tempdir().unwrap();
    let paths = ConfigPaths::new(dir.path().join("aio"));
    let config = AioConfig::with_env(
        paths.clone(),
        [
            ("aio_ims_contexts_svc_client__id", "12345"),
            ("AIO_IMS_CONTEXTS_SVC_CLIENT__SECRETS", r#"["s1","s2"]"#),
            ("Aio_Ims_Contexts_Svc_Scopes", r#"["openid","AdobeID"]"#),
            ("AIO_SOME_FLAG", "true"),
        ],
    );
    assert_eq!(
        config.get("ims.contexts.svc.client_id").unwrap(),
        Some(serde_json::json!("12345"))
    );
    assert_eq!(
        config.get("some.flag").unwrap(),
        Some(serde_json::json!("true"))
    );
    let ctx = crate::AioContextStore::new(config)
        .get(&ContextName::parse("svc").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ContextCredentials::ServerToServer(c) = &ctx.credentials else {
        panic!("{}", ctx.credentials.kind())
    };
    assert_eq!(c.client_id.as_str(), "12345");
    assert_eq!(c.client_secrets.len(), 2);
    assert_eq!(c.scopes.to_string(), "openid,AdobeID");

    let renamed = AioConfig::with_env(
        paths,
        [
            ("AIO_CONFIG_KEY", "wxp"),
            ("WXP_IMS_CONFIG_CURRENT", "from-wxp"),
            ("AIO_CLI_ENV", "stage"),
        ],
    );
    assert_eq!(
        renamed.get("ims.config.current").unwrap(),
        Some(serde_json::json!("from-wxp"))
    );
    assert_eq!(renamed.get("cli.env").unwrap(), None);
}
