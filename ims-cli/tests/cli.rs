//! The `ims` binary end to end: aio files in a temporary directory (never
//! the real home), IMS played by an in-process `ims-emulator`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Stdio;

use ims_emulator::default_seed as d;
use ims_emulator::{FaultSpec, MintTokenRequest, RunningEmulator};
use serde_json::Value;
use support::{Run, Sandbox, emulator, emulator_sign_in, mode, no_redirects, now_ms};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_set_get_list_use_remove_for_each_kind() {
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    let key = s.key_file();
    s.run_with(
        &[
            "context",
            "set",
            "legacy",
            "--kind",
            "jwt",
            "--client-id",
            d::JWT_CLIENT_ID,
            "--client-secret-stdin",
            "--org-id",
            d::ORG_ID,
            "--technical-account-id",
            d::JWT_TECHNICAL_ACCOUNT_ID,
            "--meta-scopes",
            "ent_user_sdk,ent_dataservices_sdk",
            "--private-key-file",
            key.to_str().unwrap(),
        ],
        Some(d::JWT_CLIENT_SECRET),
        &[],
    )
    .await
    .ok();
    s.run(&[
        "context",
        "set",
        "web",
        "--kind",
        "oauth-user",
        "--client-id",
        d::PUBLIC_CLIENT_ID,
        "--scopes",
        "openid,AdobeID",
        "--local",
    ])
    .await
    .ok();

    // aio's format, mode 0600.
    let global = s.global_json();
    let svc = &global["ims"]["contexts"]["svc"];
    assert_eq!(svc["client_id"], d::S2S_CLIENT_ID);
    assert_eq!(
        svc["client_secrets"],
        serde_json::json!([d::S2S_CLIENT_SECRET])
    );
    assert_eq!(
        svc["scopes"],
        serde_json::json!(["openid", "AdobeID", "read_organizations"])
    );
    assert_eq!(svc["ims_org_id"], d::ORG_ID);
    assert_eq!(svc["technical_account_id"], d::S2S_TECHNICAL_ACCOUNT_ID);
    let legacy = &global["ims"]["contexts"]["legacy"];
    assert_eq!(legacy["client_secret"], d::JWT_CLIENT_SECRET);
    assert_eq!(
        legacy["meta_scopes"],
        serde_json::json!(["ent_user_sdk", "ent_dataservices_sdk"])
    );
    assert_eq!(legacy["private_key"], key.to_str().unwrap());
    let local = Sandbox::read(&s.local());
    assert_eq!(local["ims"]["contexts"]["web"]["scope"], "openid,AdobeID");
    assert!(global["ims"]["contexts"].get("web").is_none());
    assert_eq!(mode(&s.global()), 0o600);
    assert_eq!(mode(&s.local()), 0o600);

    // list, with no current context yet.
    let list = s.run(&["--json", "context", "list"]).await.ok().json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["legacy", "svc", "web"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["current"] == false)
    );
    assert_eq!(list[2]["location"], "local");
    s.run(&["context", "get"])
        .await
        .fails(3, "no context given and no current context");

    // use marks the current one, in ./.aio as aio does.
    s.run(&["context", "use", "svc"]).await.ok();
    assert_eq!(Sandbox::read(&s.local())["ims"]["config"]["current"], "svc");
    let human = s.run(&["context", "list"]).await.ok();
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains("svc")),
        "{human:?}"
    );
    s.run(&["context", "use", "nope"])
        .await
        .fails(3, "no context named \"nope\"");

    // get masks secrets unless asked.
    let shown = s.run(&["context", "get"]).await.ok();
    assert!(shown.stdout.contains("****"), "{shown:?}");
    assert!(!shown.stdout.contains(d::S2S_CLIENT_SECRET), "{shown:?}");
    let legacy = s
        .run(&["--json", "context", "get", "legacy"])
        .await
        .ok()
        .json();
    assert_eq!(legacy["properties"]["client_secret"], "****");
    assert_eq!(legacy["properties"]["private_key"], key.to_str().unwrap());
    let revealed = s
        .run(&["--json", "context", "get", "svc", "--show-secrets"])
        .await
        .ok()
        .json();
    assert_eq!(
        revealed["properties"]["client_secrets"][0],
        d::S2S_CLIENT_SECRET
    );
    assert_eq!(revealed["current"], true);

    // remove.
    s.run(&["context", "remove", "legacy"]).await.ok();
    assert!(s.global_json()["ims"]["contexts"].get("legacy").is_none());
    s.run(&["context", "remove", "legacy"])
        .await
        .fails(3, "no context named \"legacy\"");
    s.run(&["context", "remove", "web"]).await.ok();
    assert!(
        Sandbox::read(&s.local())["ims"]["contexts"]
            .get("web")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_set_rejects_incomplete_or_mixed_flags() {
    let s = Sandbox::new();
    s.run(&["context", "set", "x", "--kind", "jwt", "--client-id", "c"])
        .await
        .fails(2, "jwt contexts also need --org-id, --technical-account-id");
    s.run_with(
        &[
            "context",
            "set",
            "x",
            "--kind",
            "server-to-server",
            "--client-id",
            "c",
            "--client-secret-stdin",
        ],
        Some("s\n"),
        &[],
    )
    .await
    .fails(2, "need --scopes");
    // No secret and no terminal to ask on.
    s.run(&[
        "context",
        "set",
        "x",
        "--kind",
        "server-to-server",
        "--client-id",
        "c",
        "--scopes",
        "openid",
    ])
    .await
    .fails(2, "--client-secret-stdin");
    s.run(&[
        "context",
        "set",
        "x",
        "--kind",
        "oauth-user",
        "--client-id",
        "c",
        "--scopes",
        "openid",
        "--meta-scopes",
        "m",
    ])
    .await
    .fails(2, "--meta-scopes cannot be used with --kind oauth-user");
    assert!(!s.global().exists());
}

/// The issue's "done when": a server-to-server token from the emulator into a
/// context, and a second `ims token get` makes no IMS request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_get_mints_once_and_then_reads_the_context() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    assert_eq!(
        s.global_json()["ims"]["contexts"]["svc"]["ims_url"],
        format!("{}/", ims.base())
    );
    s.run(&["context", "use", "svc"]).await.ok();

    let first = s.run(&["token", "get"]).await.ok();
    let token = first.stdout.trim().to_owned();
    assert_eq!(
        first.stdout,
        format!("{token}\n"),
        "only the token on stdout"
    );
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    // Requests besides the key set, which verifies cached tokens locally.
    let calls = || ims.stats().total - ims.stats().count("GET /ims/keys");
    let total = calls();

    // Stored as aio stores it.
    let stored = &s.global_json()["ims"]["contexts"]["svc"]["access_token"];
    assert_eq!(stored["token"], token.as_str());
    assert!(stored["expiry"].as_u64().unwrap() > now_ms() + 23 * 3600 * 1000);

    let second = s.run(&["--json", "token", "get"]).await.ok().json();
    assert_eq!(second["token"], token.as_str());
    assert!(second["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(calls(), total, "the second get made no IMS request");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_context_gets_a_token_from_the_default_ims_url() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let key = s.key_file();
    s.run_with(
        &[
            "context",
            "set",
            "legacy",
            "--kind",
            "jwt",
            "--client-id",
            d::JWT_CLIENT_ID,
            "--client-secret-stdin",
            "--org-id",
            d::ORG_ID,
            "--technical-account-id",
            d::JWT_TECHNICAL_ACCOUNT_ID,
            "--meta-scopes",
            "ent_user_sdk",
            "--private-key-file",
            key.to_str().unwrap(),
        ],
        Some(d::JWT_CLIENT_SECRET),
        &[],
    )
    .await
    .ok();
    // No ims_url pinned: IMS_URL is the default for contexts naming none.
    assert!(
        s.global_json()["ims"]["contexts"]["legacy"]
            .get("ims_url")
            .is_none()
    );
    let run = s
        .run_with(
            &["token", "get", "--context", "legacy"],
            None,
            &[("IMS_URL", ims.base())],
        )
        .await
        .ok();
    assert_eq!(ims.stats().count("POST /ims/exchange/jwt"), 1);
    let claims = s
        .run(&["--json", "token", "decode", run.stdout.trim()])
        .await
        .ok()
        .json();
    assert_eq!(claims["client_id"], d::JWT_CLIENT_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_invalidate_force_reaches_ims_and_forgets_the_tokens() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    let token = s.run(&["token", "get", "-c", "svc"]).await.ok().stdout;
    s.run(&["token", "invalidate", "--context", "svc", "--force"])
        .await
        .ok();
    assert_eq!(ims.stats().count("POST /ims/invalidate_token/v2"), 1);
    assert!(
        s.global_json()["ims"]["contexts"]["svc"]
            .get("access_token")
            .is_none()
    );
    // IMS no longer accepts the old token.
    s.run(&[
        "--ims-url",
        ims.base(),
        "token",
        "validate",
        "--remote",
        "--client-id",
        d::S2S_CLIENT_ID,
        token.trim(),
    ])
    .await
    .fails(4, "invalid token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_decode_and_validate() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let valid = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID).scope("AdobeID,openid"),
        )
        .unwrap();
    let expired = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .created_at_ms(now_ms() - 3 * 24 * 3600 * 1000),
        )
        .unwrap();

    let claims = s.run(&["token", "decode", &valid]).await.ok().json();
    assert_eq!(claims["client_id"], d::WEB_CLIENT_ID);
    assert_eq!(claims["type"], "access_token");
    assert!(claims["expires_at"].as_str().unwrap().ends_with('Z'));
    let piped = s
        .run_with(&["token", "decode", "-"], Some(&format!("{valid}\n")), &[])
        .await
        .ok()
        .json();
    assert_eq!(piped, claims);

    let ok = s
        .run(&[
            "--ims-url",
            ims.base(),
            "--json",
            "token",
            "validate",
            &valid,
        ])
        .await
        .ok()
        .json();
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["claims"]["client_id"], d::WEB_CLIENT_ID);
    s.run(&["--ims-url", ims.base(), "token", "validate", &expired])
        .await
        .fails(4, "Token has expired");
    s.run(&[
        "--ims-url",
        ims.base(),
        "token",
        "validate",
        "--remote",
        "--client-id",
        d::WEB_CLIENT_ID,
        &valid,
    ])
    .await
    .ok();
    s.run(&[
        "--ims-url",
        ims.base(),
        "token",
        "validate",
        "--remote",
        "--client-id",
        d::WEB_CLIENT_ID,
        &expired,
    ])
    .await
    .fails(4, "invalid token");

    for garbage in ["garbage", "a.b.c", ""] {
        let run = s
            .run(&["--ims-url", ims.base(), "token", "validate", garbage])
            .await;
        assert_eq!(run.code, 4, "{run:?}");
        let run = s.run(&["token", "decode", garbage]).await;
        assert_eq!(run.code, 4, "{run:?}");
        assert!(run.stdout.is_empty());
    }
    // A token signed by someone else.
    let mut forged: Vec<&str> = valid.split('.').collect();
    forged[2] = "c2lnbmF0dXJl";
    s.run(&[
        "--ims-url",
        ims.base(),
        "token",
        "validate",
        &forged.join("."),
    ])
    .await
    .fails(4, "signature");
    // --remote needs a client id: usage.
    s.run(&["token", "validate", "--remote", &valid])
        .await
        .fails(2, "--client-id");
}

/// Signs in headlessly: reads the URL `ims login --no-open` prints, posts the
/// sign-in form to the emulator, and follows its redirect to the loopback.
async fn login(s: &Sandbox, ims: &RunningEmulator, context: &str) -> Run {
    login_with(s, ims, &["login", "--context", context], &[]).await
}

/// [`login`] with the command line's start (`[global flags,] login [flags]`)
/// and environment given.
async fn login_with(
    s: &Sandbox,
    ims: &RunningEmulator,
    start: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut args = start.to_vec();
    args.extend(["--no-open", "--timeout", "60"]);
    let mut child = s.command(&args, env).stdin(Stdio::null()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    let url = url::Url::parse(line.trim()).unwrap();
    let location = emulator_sign_in(ims, &url).await;
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let http = no_redirects();
    // A callback with a wrong state is turned away and changes nothing.
    let mut forged = url::Url::parse(&location).unwrap();
    forged.set_query(Some("code=forged&state=wrong"));
    let page = http.get(forged).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let page = http.get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("close this window"));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let status = child.wait().await.unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: format!("{line}{rest}"),
        stderr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_orgs_profile_and_silent_tokens() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.run(&[
        "--ims-url",
        ims.base(),
        "context",
        "set",
        "me",
        "--kind",
        "oauth-user",
        "--client-id",
        d::PUBLIC_CLIENT_ID,
        "--scopes",
        "openid,AdobeID,offline_access,read_organizations",
    ])
    .await
    .ok();
    s.run(&["context", "use", "me"]).await.ok();
    // Before signing in: the provider says to log in.
    s.run(&["token", "get"])
        .await
        .fails(6, "ims login --context me");

    let run = login(&s, &ims, "me").await.ok();
    assert!(run.stdout.contains("signed in"), "{run:?}");
    let stored = &s.global_json()["ims"]["contexts"]["me"];
    assert!(stored["access_token"]["token"].is_string());
    assert!(stored["refresh_token"]["token"].is_string());

    // Requests besides the key set, which verifies cached tokens locally.
    let calls = || ims.stats().total - ims.stats().count("GET /ims/keys");
    let total = calls();
    let orgs = s.run(&["--json", "orgs"]).await.ok().json();
    assert_eq!(
        orgs[0]["orgRef"]["ident"],
        d::ORG_ID.trim_end_matches("@AdobeOrg")
    );
    let table = s.run(&["orgs"]).await.ok();
    assert!(table.stdout.contains(d::ORG_NAME), "{table:?}");
    let profile = s.run(&["--json", "profile"]).await.ok().json();
    assert_eq!(profile["email"], d::MEMBER_EMAIL);
    let table = s.run(&["profile", "--context", "me"]).await.ok();
    assert!(table.stdout.contains(d::MEMBER_EMAIL), "{table:?}");
    // The signed-in token was used as stored: no token request.
    assert_eq!(calls() - total, 4);
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);

    // A service context cannot log in.
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    s.run(&["login", "--no-open", "--context", "svc"])
        .await
        .fails(3, "ims login is for oauth-user contexts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_is_wrong_with_distinct_exit_codes() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let url = ["--ims-url", ims.base()];

    // Unknown context.
    s.run(&["token", "get", "--context", "ghost"])
        .await
        .fails(3, "no context named \"ghost\"");
    // Missing properties in a hand-written context.
    std::fs::write(
        s.global(),
        r#"{"ims": {"contexts": {"half": {"client_id": "c", "scopes": ["openid"]}}}}"#,
    )
    .unwrap();
    s.run(&["token", "get", "--context", "half"])
        .await
        .fails(3, "client_secrets");
    // IMS refuses a wrong secret; the secret is never echoed.
    s.set_s2s("wrong", "not-the-secret", &url).await.ok();
    let run = s
        .run(&["token", "get", "--context", "wrong"])
        .await
        .fails(4, "invalid_client");
    assert!(
        run.stderr
            .contains("hint: check the client_id and client secret of context wrong"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("not-the-secret") && run.stdout.is_empty());
    // --json errors are machine-readable.
    let run = s
        .run(&["--json", "token", "get", "--context", "wrong"])
        .await;
    assert_eq!(run.code, 4);
    let err: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "ims_refused");
    assert_eq!(err["error"]["exit_code"], 4);

    // IMS unavailable: 503s.
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &url).await.ok();
    ims.inject_fault(FaultSpec::new("/ims/token").status(503).retry_after(0))
        .unwrap();
    s.run(&["token", "get", "--context", "svc"])
        .await
        .fails(5, "IMS is unavailable");
    ims.clear_faults();
    // IMS unavailable: nobody listens.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    s.set_s2s("down", d::S2S_CLIENT_SECRET, &["--ims-url", &closed])
        .await
        .ok();
    s.run(&["token", "get", "--context", "down"])
        .await
        .fails(5, "hint: check the network");

    // Usage errors.
    s.run(&["token", "frobnicate"])
        .await
        .fails(2, "unrecognized subcommand");
    s.run(&["--env", "moon", "context", "list"])
        .await
        .fails(2, "invalid value");
    s.run(&["--ims-url", "ftp://x", "context", "list"])
        .await
        .fails(2, "--ims-url");
    s.run(&["context", "use", "bad name!"])
        .await
        .fails(2, "invalid context name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_aio_files_keep_every_other_key() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let hjson = format!(
        r#"{{
  // written by the aio CLI
  runtime: {{ namespace: "my-ns", auth: "abc" }}
  $console: {{ org: {{ id: "42" }} }}
  ims: {{
    contexts: {{
      other: {{ client_id: "other-client", scope: "openid", redirect_uri: "https://x.example/cb" }}
      svc: {{
        client_id: {client}
        client_secrets: ["{secret}"]
        scopes: ["openid", "AdobeID"]
        ims_url: "{base}"
        # unknown to ims
        custom_note: keep me
      }}
    }}
  }}
}}
"#,
        client = d::S2S_CLIENT_ID,
        secret = d::S2S_CLIENT_SECRET,
        base = ims.base(),
    );
    std::fs::write(s.global(), hjson).unwrap();
    std::fs::write(
        s.local(),
        "# local aio file\n{\n  cna: {\n    name: app\n  }\n}\n",
    )
    .unwrap();

    s.run(&["token", "get", "--context", "svc"]).await.ok();
    s.run(&["context", "use", "svc"]).await.ok();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();

    let global = s.global_json();
    assert_eq!(global["runtime"]["namespace"], "my-ns");
    assert_eq!(global["runtime"]["auth"], "abc");
    assert_eq!(global["$console"]["org"]["id"], "42");
    assert_eq!(
        global["ims"]["contexts"]["other"]["client_id"],
        "other-client"
    );
    assert_eq!(
        global["ims"]["contexts"]["other"]["redirect_uri"],
        "https://x.example/cb"
    );
    let svc = &global["ims"]["contexts"]["svc"];
    assert_eq!(svc["custom_note"], "keep me");
    // Same client: the token it got stays.
    assert!(svc["access_token"]["token"].is_string());
    let local = Sandbox::read(&s.local());
    assert_eq!(local["cna"]["name"], "app");
    assert_eq!(local["ims"]["config"]["current"], "svc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_help() {
    let s = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = s.run(&["completions", shell]).await.ok();
        assert!(run.stdout.contains("ims"), "{shell}");
    }
    let help = s.run(&["--help"]).await.ok();
    assert!(help.stdout.contains("5  IMS is unavailable"), "{help:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_context_keeps_its_tokens_in_the_local_file() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s(
        "svc",
        d::S2S_CLIENT_SECRET,
        &["--ims-url", ims.base(), "--local"],
    )
    .await
    .ok();
    s.run(&["token", "get", "--context", "svc"]).await.ok();
    let local = Sandbox::read(&s.local());
    assert!(local["ims"]["contexts"]["svc"]["access_token"]["token"].is_string());
    assert!(!s.global().exists(), "nothing written to the global file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_ci_prints_the_url_and_gives_up_after_the_timeout() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.run(&[
        "--ims-url",
        ims.base(),
        "context",
        "set",
        "me",
        "--kind",
        "oauth-user",
        "--client-id",
        d::PUBLIC_CLIENT_ID,
        "--scopes",
        "openid,AdobeID",
    ])
    .await
    .ok();
    let run = s
        .run_with(
            &["login", "--context", "me", "--timeout", "1"],
            None,
            &[("CI", "true")],
        )
        .await
        .fails(1, "no sign-in arrived within 1 s");
    assert!(run.stderr.contains("CI is set"), "{run:?}");
    assert!(
        run.stdout.starts_with(&ims.url("/ims/authorize/v2")),
        "{run:?}"
    );
    assert!(
        s.global_json()["ims"]["contexts"]["me"]
            .get("access_token")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ims_url_beats_the_config_default_but_not_a_context_own_environment() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    std::fs::write(
        s.global(),
        format!(
            r#"{{"cli": {{"env": "stage"}}, "ims": {{"contexts": {{
                "svc": {{"client_id": "{id}", "client_secrets": ["{secret}"], "scopes": ["openid"]}},
                "pinned": {{"client_id": "{id}", "client_secrets": ["{secret}"], "scopes": ["openid"], "ims_url": "{closed}"}}
            }}}}}}"#,
            id = d::S2S_CLIENT_ID,
            secret = d::S2S_CLIENT_SECRET,
        ),
    )
    .unwrap();
    // cli.env names stage, but --ims-url is the default for contexts naming none.
    s.run(&["--ims-url", ims.base(), "token", "get", "--context", "svc"])
        .await
        .ok();
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    // A context's own env wins over --ims-url: it goes to Adobe's prod IMS,
    // never to the emulator. (Whatever prod answers from this machine, the
    // emulator sees nothing.)
    let run = s
        .run(&[
            "--ims-url",
            ims.base(),
            "token",
            "get",
            "--context",
            "pinned",
        ])
        .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
}

/// The files beside the global aio file: the file itself, its lock, and
/// any temporary file of a write in progress (`.<name>.*.tmp`).
fn aio_files(s: &Sandbox) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(s.global().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn temporaries(s: &Sandbox) -> Vec<PathBuf> {
    aio_files(s)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_token_gets_make_one_ims_call() {
    const PROCESSES: usize = 20;
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    s.run(&["context", "use", "svc"]).await.ok();
    ims.reset_stats();

    // Twenty processes started together on a context without a token: one
    // asks IMS under the lease, the others wait on the file for its token.
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let mut command = s.command(&["token", "get"], &[]);
            command.stdin(Stdio::null());
            command.spawn().unwrap()
        })
        .collect();
    let mut tokens = Vec::new();
    for child in children {
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        tokens.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1, "one IMS call");
    assert_eq!(tokens[0].split('.').count(), 3, "{tokens:?}");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");

    // The file parses and holds that token; every file is private, and no
    // temporary file is left.
    let stored = &s.global_json()["ims"]["contexts"]["svc"]["access_token"];
    assert_eq!(stored["token"], tokens[0].as_str());
    for file in aio_files(&s) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(temporaries(&s), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_write_never_leaves_a_broken_file() {
    const ITERATIONS: u64 = 40;
    let s = Sandbox::new();
    // How long a whole write takes here: the kills are spread over it.
    let started = std::time::Instant::now();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    let whole = started.elapsed();
    let scopes = |s: &Sandbox| {
        s.global_json()["ims"]["contexts"]["svc"]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut current = scopes(&s);
    let (mut killed, mut finished, mut orphans) = (0, 0, 0);
    for i in 0..ITERATIONS {
        let next = format!("openid,scope{i}");
        let mut child = s
            .command(
                &[
                    "context",
                    "set",
                    "svc",
                    "--kind",
                    "server-to-server",
                    "--client-id",
                    d::S2S_CLIENT_ID,
                    "--client-secret",
                    d::S2S_CLIENT_SECRET,
                    "--scopes",
                    &next,
                ],
                &[],
            )
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it from at once to a little after a whole run takes: before,
        // during or after its write.
        tokio::time::sleep(whole.mul_f64(1.2 * i as f64 / ITERATIONS as f64)).await;
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "iteration {i}: {status}");
                finished += 1;
            }
            None => {
                child.start_kill().unwrap();
                killed += 1;
            }
        }
        child.wait().await.unwrap();

        // The file parses (`global_json` panics otherwise) and holds the old
        // or the new content, never a mix.
        let now = scopes(&s);
        assert!(
            now == current || now == next,
            "iteration {i}: {now:?} is neither {current:?} nor {next:?}"
        );
        current = now;
        // A kill between creating and renaming the temporary file leaves it
        // behind; the next write removes it. Never more than one.
        let temporaries = temporaries(&s);
        assert!(temporaries.len() <= 1, "iteration {i}: {temporaries:?}");
        orphans += temporaries.len();
        assert_eq!(mode(&s.global()), 0o600);
    }
    eprintln!(
        "{killed} writers killed, {finished} finished first, \
         {orphans} times a temporary file was left over"
    );
    assert!(
        killed > 0,
        "no writer was ever killed: the test proved nothing"
    );
    // A completed write leaves no temporary file at all.
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    assert_eq!(temporaries(&s), Vec::<PathBuf>::new());
}

// --- Issue #14, finding 2: a project's `.aio` or `.env` redirecting a
// global context's secret.

/// A listener on 127.0.0.1 playing the attacker: it records every connection
/// and what arrived, and answers 400 so that nothing waits on it.
struct Attacker {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Attacker {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 64 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        Attacker { url, received }
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

/// The user's own context `svc`, in the global file, pointing at the
/// emulator.
fn global_svc(s: &Sandbox, ims: &RunningEmulator) {
    std::fs::write(
        s.global(),
        serde_json::json!({"ims": {"contexts": {"svc": {
            "client_id": d::S2S_CLIENT_ID,
            "client_secrets": [d::S2S_CLIENT_SECRET],
            "scopes": ["openid", "AdobeID"],
            "ims_url": ims.base(),
        }}}})
        .to_string(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_file_cannot_redirect_a_global_contexts_secret() {
    let ims = emulator().await;
    let attacker = Attacker::start().await;
    let s = Sandbox::new();
    global_svc(&s, &ims);
    let redirect = |url: &str| -> Vec<(&'static str, String)> {
        vec![
            (
                ".aio",
                serde_json::json!({"ims": {"contexts": {"svc": {"ims_url": url}}}}).to_string(),
            ),
            (
                ".aio",
                format!(
                    "{{\n  # HJSON, other spellings\n  IMS: {{ Contexts: {{ SVC: {{ IMS_URL: \"{url}\" }} }} }}\n}}\n"
                ),
            ),
            (".env", format!("AIO_IMS_CONTEXTS_SVC_IMS__URL={url}\n")),
            (".env", format!("AIO_IMS_CONTEXTS_svc_IMS__URL=\"{url}\"\n")),
        ]
    };
    for (file, text) in redirect(&attacker.url) {
        let path = s.cwd().join(file);
        std::fs::write(&path, &text).unwrap();
        for args in [
            &["token", "get", "-c", "svc"][..],
            &["token", "invalidate", "-c", "svc", "--force"],
            &["orgs", "-c", "svc"],
        ] {
            let run = s.run(args).await;
            assert_eq!(run.code, 3, "{args:?} with {file} {text:?}: {run:?}");
            assert!(run.stderr.contains("ims_url"), "{run:?}");
            assert!(run.stderr.contains(file), "{run:?}");
            assert!(run.stderr.contains("--show-origin"), "{run:?}");
            assert!(!run.stderr.contains(d::S2S_CLIENT_SECRET), "{run:?}");
            assert!(
                attacker.received().is_empty(),
                "{args:?} with {file} {text:?} sent {:?}",
                attacker.received()
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 0);
    // Without the project file, the user's context works.
    s.run(&["token", "get", "-c", "svc"]).await.ok();
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);

    // A project file's own context may name its own IMS (it holds its own
    // secret): the listener does receive that one, so it would have seen
    // the user's secret above.
    std::fs::write(
        s.local(),
        serde_json::json!({"ims": {"contexts": {"mine": {
            "client_id": "project-client",
            "client_secrets": ["project-own-secret"],
            "scopes": ["openid"],
            "ims_url": attacker.url,
        }}}})
        .to_string(),
    )
    .unwrap();
    let run = s.run(&["token", "get", "-c", "mine"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    let received = attacker.received();
    assert!(!received.is_empty(), "{run:?}");
    assert!(
        received.iter().all(|r| !r.contains(d::S2S_CLIENT_SECRET)),
        "{received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_file_cannot_plant_a_token_into_a_global_context() {
    let ims = emulator().await;
    let s = Sandbox::new();
    global_svc(&s, &ims);
    let planted = serde_json::json!({"ims": {"contexts": {"svc": {
        "access_token": {"token": "attacker.planted.token", "expiry": now_ms() + 3_600_000},
    }}}})
    .to_string();
    std::fs::write(s.local(), &planted).unwrap();
    let run = s.run(&["token", "get", "-c", "svc"]).await.ok();
    assert!(!run.stdout.contains("attacker.planted.token"), "{run:?}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    // The user's token went to the global file, not into the project.
    assert_eq!(std::fs::read_to_string(s.local()).unwrap(), planted);
    assert_eq!(
        s.global_json()["ims"]["contexts"]["svc"]["access_token"]["token"],
        run.stdout.trim()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused() {
    let s = Sandbox::new();
    std::fs::write(
        s.global(),
        serde_json::json!({"ims": {"contexts": {"svc": {
            "client_id": d::S2S_CLIENT_ID,
            "client_secrets": [d::S2S_CLIENT_SECRET],
            "scopes": ["openid"],
            "ims_url": "http://ims.example.com",
        }}}})
        .to_string(),
    )
    .unwrap();
    let run = s
        .run(&["token", "get", "-c", "svc"])
        .await
        .fails(3, "must be https");
    assert!(run.stderr.contains("aio-config"), "{run:?}");
    s.run(&[
        "--ims-url",
        "http://ims.example.com",
        "token",
        "decode",
        "x",
    ])
    .await
    .fails(2, "must be https");
    s.run_with(
        &["token", "decode", "x"],
        None,
        &[("IMS_URL", "http://10.1.2.3")],
    )
    .await
    .fails(2, "must be https");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_get_show_origin_names_the_source_of_every_key() {
    let ims = emulator().await;
    let s = Sandbox::new();
    global_svc(&s, &ims);
    std::fs::write(
        s.local(),
        r#"{"ims": {"contexts": {"svc": {"scopes": ["openid"]}}}}"#,
    )
    .unwrap();
    std::fs::write(
        s.cwd().join(".env"),
        "AIO_IMS_CONTEXTS_SVC_TECHNICAL__ACCOUNT__ID=from-dotenv\n",
    )
    .unwrap();
    let env = [("AIO_IMS_CONTEXTS_SVC_IMS__ORG__ID", d::ORG_ID)];
    let run = s
        .run_with(&["context", "get", "svc", "--show-origin"], None, &env)
        .await
        .ok();
    let line = |key: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {run:?}"))
            .to_owned()
    };
    let global = s.global().display().to_string();
    assert!(line("client_id").contains(&global), "{run:?}");
    assert!(line("client_secrets").contains(&global), "{run:?}");
    assert!(line("client_secrets").contains("****"), "{run:?}");
    assert!(line("scopes").contains(".aio"), "{run:?}");
    assert!(line("scopes").contains("untrusted"), "{run:?}");
    assert!(
        line("technical_account_id").contains(".env (AIO_IMS_CONTEXTS_SVC_TECHNICAL__ACCOUNT__ID)"),
        "{run:?}"
    );
    assert!(
        line("ims_org_id").contains("environment variable AIO_IMS_CONTEXTS_SVC_IMS__ORG__ID"),
        "{run:?}"
    );
    assert!(!run.stdout.contains(d::S2S_CLIENT_SECRET), "{run:?}");

    let json = s
        .run_with(
            &["--json", "context", "get", "svc", "--show-origin"],
            None,
            &env,
        )
        .await
        .ok()
        .json();
    let origins = &json["origins"];
    assert_eq!(origins["client_id"]["source"], "global");
    assert_eq!(origins["client_id"]["file"], global.as_str());
    assert_eq!(origins["client_id"]["trusted"], true);
    assert_eq!(origins["scopes"]["source"], "local");
    assert_eq!(origins["scopes"]["trusted"], false);
    assert_eq!(origins["technical_account_id"]["source"], "dotenv");
    assert_eq!(
        origins["technical_account_id"]["variable"],
        "AIO_IMS_CONTEXTS_SVC_TECHNICAL__ACCOUNT__ID"
    );
    assert_eq!(origins["ims_org_id"]["source"], "env");
    assert_eq!(json["properties"]["client_secrets"][0], "****");
    assert!(!json.to_string().contains(d::S2S_CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_env_file_does_not_set_the_commands_own_variables() {
    let ims = emulator().await;
    let attacker = Attacker::start().await;
    let s = Sandbox::new();
    // No AIO_CONFIG_FILE in the environment: the global file is
    // $XDG_CONFIG_HOME/aio.
    let xdg_global = s.dir.path().join("home").join("xdg").join("aio");
    std::fs::create_dir_all(xdg_global.parent().unwrap()).unwrap();
    std::fs::write(
        &xdg_global,
        serde_json::json!({"ims": {"contexts": {"svc": {
            "client_id": d::S2S_CLIENT_ID,
            "client_secrets": [d::S2S_CLIENT_SECRET],
            "scopes": ["openid", "AdobeID"],
        }}}})
        .to_string(),
    )
    .unwrap();
    // IMS_URL and AIO_CONFIG_FILE are read from the process environment
    // only; the project's .env names the attacker for both.
    let fake_global = s.cwd().join("evil-aio");
    std::fs::write(
        &fake_global,
        serde_json::json!({"ims": {"contexts": {"svc": {
            "client_id": d::S2S_CLIENT_ID,
            "client_secrets": ["x"],
            "scopes": ["openid"],
            "ims_url": attacker.url,
        }}}})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        s.cwd().join(".env"),
        format!(
            "IMS_URL={}\nAIO_CONFIG_FILE={}\n",
            attacker.url,
            fake_global.display()
        ),
    )
    .unwrap();
    let mut command = s.command(&["token", "get", "-c", "svc"], &[("IMS_URL", ims.base())]);
    command.env_remove("AIO_CONFIG_FILE").stdin(Stdio::null());
    let output = command.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);
    assert!(attacker.received().is_empty(), "{:?}", attacker.received());
    // The token went to the real global file, not the project's.
    assert!(Sandbox::read(&xdg_global)["ims"]["contexts"]["svc"]["access_token"].is_object());
}

/// aio's `cli` context as `aio login` leaves it in the global file (HJSON,
/// `cli.bare-output`, the token as `{token, expiry}`) serves `token get`,
/// `profile` and `orgs` from its cached token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aios_cli_context_serves_its_cached_token() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let token = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::PUBLIC_CLIENT_ID)
                .scope("AdobeID,openid,read_organizations"),
        )
        .unwrap();
    let expiry = now_ms() + 20 * 3600 * 1000;
    std::fs::write(
        s.global(),
        format!(
            "{{\n  ims: {{\n    contexts: {{\n      cli: {{\n        cli.bare-output: true,\n        access_token: {{\n          token: \"{token}\",\n          expiry: {expiry}\n        }}\n      }}\n    }}\n  }}\n}}"
        ),
    )
    .unwrap();
    let url = ims.base();
    let run = s
        .run(&["--ims-url", url, "token", "get", "-c", "cli"])
        .await
        .ok();
    assert_eq!(run.stdout.trim(), token);
    let profile = s
        .run(&["--ims-url", url, "--json", "profile", "-c", "cli"])
        .await
        .ok()
        .json();
    assert_eq!(profile["email"], d::MEMBER_EMAIL);
    let orgs = s
        .run(&["--ims-url", url, "orgs", "--context", "cli"])
        .await
        .ok();
    assert!(orgs.stdout.contains(d::ORG_NAME), "{orgs:?}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 0);
    let shown = s.run(&["context", "get", "cli"]).await.ok();
    assert!(!shown.stdout.contains(&token), "{shown:?}");
}

/// `ims login` with no context and none current signs in to aio's `cli`
/// context (created as `aio login` creates it), and its refresh token then
/// keeps it alive with the client AIO_CLI_IMS_APIKEY names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_context_uses_aios_cli_context_and_refreshes_it() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let url = ims.base();
    let env = [("AIO_CLI_IMS_APIKEY", d::PUBLIC_CLIENT_ID)];
    let run = login_with(&s, &ims, &["--ims-url", url, "login"], &env)
        .await
        .ok();
    assert!(run.stdout.contains("context cli"), "{run:?}");
    let cli = &s.global_json()["ims"]["contexts"]["cli"];
    assert_eq!(cli["cli.bare-output"], Value::Bool(false));
    assert!(cli.get("client_id").is_none(), "{cli}");
    assert!(cli["refresh_token"]["token"].is_string(), "{cli}");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);

    // The access token gone, the refresh token gets a new one.
    let mut file = s.global_json();
    file["ims"]["contexts"]["cli"]
        .as_object_mut()
        .unwrap()
        .remove("access_token");
    std::fs::write(s.global(), file.to_string()).unwrap();
    let run = s
        .run_with(&["--ims-url", url, "token", "get", "-c", "cli"], None, &env)
        .await
        .ok();
    assert!(!run.stdout.trim().is_empty());
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 2);
    assert!(s.global_json()["ims"]["contexts"]["cli"]["access_token"]["token"].is_string());
}
