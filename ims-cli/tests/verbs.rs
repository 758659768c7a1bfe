//! The verbs users bring from the `aio` CLI — `logout`, `token get --force`,
//! `config get|set|list|delete`, `context list`, completion of context
//! names, the "not signed in" exit code and `login --manual` — end to end:
//! the binary on sandboxed aio files, IMS played by `ims-emulator`.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;

use ims_emulator::default_seed as d;
use ims_emulator::{FaultSpec, RunningEmulator};
use serde_json::{Value, json};
use support::{Run, Sandbox, emulator, emulator_sign_in, now_ms, set_user_context};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

/// A port on 127.0.0.1 that nobody listens on.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn context(s: &Sandbox, name: &str) -> Value {
    s.global_json()["ims"]["contexts"][name].clone()
}

// --- ims logout -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_invalidates_at_ims_and_removes_the_tokens() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    s.run(&["context", "use", "svc"]).await.ok();
    let token = s.run(&["token", "get"]).await.ok().stdout;
    assert!(context(&s, "svc")["access_token"].is_object());

    let run = s.run(&["logout"]).await.ok();
    assert!(run.stdout.contains("signed out of context svc"), "{run:?}");
    assert!(run.stdout.contains("invalidated at IMS"), "{run:?}");
    assert_eq!(ims.stats().count("POST /ims/invalidate_token/v2"), 1);
    let svc = context(&s, "svc");
    assert!(svc.get("access_token").is_none(), "{svc}");
    assert!(svc.get("refresh_token").is_none(), "{svc}");
    // IMS no longer accepts the token.
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

    // Again: nothing to do, no IMS call, success (as aio).
    let again = s.run(&["--json", "logout", "-c", "svc"]).await.ok().json();
    assert_eq!(again["signed_out"], true);
    assert_eq!(again["invalidated_at_ims"], false);
    assert_eq!(ims.stats().count("POST /ims/invalidate_token/v2"), 1);
    // An unknown context is a configuration error.
    s.run(&["logout", "-c", "ghost"])
        .await
        .fails(3, "no context named \"ghost\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_removes_the_tokens_even_when_ims_is_unreachable() {
    let s = Sandbox::new();
    let later = now_ms() + 3_600_000;
    std::fs::write(
        s.global(),
        json!({"ims": {"contexts": {"down": {
            "client_id": d::S2S_CLIENT_ID,
            "client_secrets": [d::S2S_CLIENT_SECRET],
            "scopes": ["openid"],
            "ims_url": closed_url(),
            "access_token": {"token": "stored.access.token", "expiry": later},
            "refresh_token": {"token": "stored.refresh.token", "expiry": later},
        }}}})
        .to_string(),
    )
    .unwrap();

    // --no-force: the access token goes, the refresh token stays.
    let run = s.run(&["logout", "-c", "down", "--no-force"]).await.ok();
    assert!(
        run.stderr.contains("warning: IMS did not invalidate"),
        "{run:?}"
    );
    assert!(run.stderr.contains("stay valid at IMS"), "{run:?}");
    assert!(!run.stderr.contains("stored.access.token"), "{run:?}");
    let down = context(&s, "down");
    assert!(down.get("access_token").is_none(), "{down}");
    assert_eq!(down["refresh_token"]["token"], "stored.refresh.token");

    // Forced (the default): the refresh token goes too; with --json the
    // warning is a JSON object on stderr.
    let run = s.run(&["--json", "logout", "-c", "down"]).await.ok();
    let warning: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert!(warning["warning"].as_str().unwrap().contains("removed"));
    assert_eq!(run.json()["invalidated_at_ims"], false);
    let down = context(&s, "down");
    assert!(down.get("refresh_token").is_none(), "{down}");
    assert_eq!(down["client_id"], d::S2S_CLIENT_ID, "the context stays");
}

// --- ims token get --force ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_get_force_ignores_the_stored_token() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    let first = s.run(&["token", "get", "-c", "svc"]).await.ok().stdout;
    let cached = s.run(&["token", "get", "-c", "svc"]).await.ok().stdout;
    assert_eq!(first, cached);
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 1);

    let forced = s
        .run(&["token", "get", "-c", "svc", "--force"])
        .await
        .ok()
        .stdout;
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 2);
    assert_ne!(forced, first, "a new token");
    assert_eq!(
        context(&s, "svc")["access_token"]["token"],
        forced.trim(),
        "the new token is stored"
    );

    // IMS down: no new token, and the stored one is not lost.
    ims.inject_fault(FaultSpec::new("/ims/token").status(503).retry_after(0))
        .unwrap();
    s.run(&["token", "get", "-c", "svc", "--force"])
        .await
        .fails(5, "IMS is unavailable");
    ims.clear_faults();
    assert_eq!(context(&s, "svc")["access_token"]["token"], forced.trim());
    let again = s.run(&["token", "get", "-c", "svc"]).await.ok().stdout;
    assert_eq!(again, forced);
}

// --- not signed in ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_context_without_tokens_is_not_signed_in_exit_6() {
    let ims = emulator().await;
    let s = Sandbox::new();
    set_user_context(&s, &ims, "me").await;
    for args in [
        &["token", "get", "-c", "me"][..],
        &["token", "get", "-c", "me", "--force"],
        &["orgs", "-c", "me"],
        &["profile", "-c", "me"],
    ] {
        let run = s.run(args).await.fails(6, "context me is not signed in");
        assert!(
            run.stderr
                .contains("hint: sign in with `ims login --context me`"),
            "{run:?}"
        );
    }
    let run = s.run(&["--json", "token", "get", "-c", "me"]).await;
    assert_eq!(run.code, 6);
    let err: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "not_signed_in");
    assert_eq!(err["error"]["exit_code"], 6);
    // A refresh token IMS refuses leaves the context not signed in, too.
    std::fs::write(
        s.global(),
        s.global_json().to_string().replace(
            "\"scope\"",
            &format!(
                "\"refresh_token\": {{\"token\": \"revoked\", \"expiry\": {}}}, \"scope\"",
                now_ms() + 3_600_000
            ),
        ),
    )
    .unwrap();
    assert_eq!(context(&s, "me")["refresh_token"]["token"], "revoked");
    s.run(&["token", "get", "-c", "me"])
        .await
        .fails(6, "not signed in");
    // A misconfigured context stays exit 3.
    s.run(&["token", "get", "-c", "ghost"])
        .await
        .fails(3, "ghost");
    let help = s.run(&["--help"]).await.ok();
    assert!(help.stdout.contains("6  not signed in"), "{help:?}");
}

/// aio's `cli` context holds only what `aio login` stored: without a usable
/// token it is not signed in either (exit 6), not misconfigured (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aios_cli_context_without_tokens_is_not_signed_in_exit_6() {
    let ims = emulator().await;
    let s = Sandbox::new();
    std::fs::write(
        s.global(),
        "{\n  ims: {\n    contexts: {\n      cli: {\n        cli.bare-output: true\n      }\n    }\n  }\n}",
    )
    .unwrap();
    let run = s
        .run(&["--ims-url", ims.base(), "token", "get", "-c", "cli"])
        .await
        .fails(6, "context cli is not signed in");
    assert!(
        run.stderr
            .contains("hint: sign in with `ims login --context cli`"),
        "{run:?}"
    );
}

/// As `aio logout`: with no `--context` and no current context, `ims logout`
/// signs aio's `cli` context out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_without_a_context_signs_aios_cli_context_out() {
    let ims = emulator().await;
    let s = Sandbox::new();
    let token = ims
        .mint_access_token(&ims_emulator::MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::PUBLIC_CLIENT_ID,
        ))
        .unwrap();
    let expiry = now_ms() + 20 * 3600 * 1000;
    std::fs::write(
        s.global(),
        format!(
            "{{\n  ims: {{\n    contexts: {{\n      cli: {{\n        cli.bare-output: true,\n        access_token: {{\n          token: \"{token}\",\n          expiry: {expiry}\n        }}\n      }}\n    }}\n  }}\n}}"
        ),
    )
    .unwrap();
    s.run(&["--ims-url", ims.base(), "logout"]).await.ok();
    let cli = &s.global_json()["ims"]["contexts"]["cli"];
    assert!(cli.get("access_token").is_none(), "{cli}");
    assert_eq!(cli["cli.bare-output"], Value::Bool(true));
}

// --- ims config ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_set_list_delete_on_aios_files_with_aios_precedence() {
    let s = Sandbox::new();
    // set writes the global file by default, ./.aio with --local.
    s.run(&["config", "set", "cli.env", "prod"]).await.ok();
    assert_eq!(s.global_json()["cli"]["env"], "prod");
    s.run(&["config", "set", "cli.env=stage", "--local"])
        .await
        .ok();
    assert_eq!(Sandbox::read(&s.local())["cli"]["env"], "stage");

    // local > global; --global and --local read one file.
    let get = |args: &'static [&'static str], env: &'static [(&'static str, &'static str)]| {
        let s = &s;
        async move { s.run_with(args, None, env).await.ok().stdout }
    };
    assert_eq!(get(&["config", "get", "cli.env"], &[]).await, "stage\n");
    assert_eq!(
        get(&["config", "get", "CLI.Env", "--global"], &[]).await,
        "prod\n"
    );
    assert_eq!(
        get(&["config", "get", "cli.env", "-l"], &[]).await,
        "stage\n"
    );
    // The environment beats both.
    assert_eq!(
        get(&["config", "get", "cli.env"], &[("AIO_CLI_ENV", "prod")]).await,
        "prod\n"
    );
    s.run(&["config", "get", "cli.env", "--local", "--global"])
        .await
        .fails(2, "cannot be used with");

    // A missing key: nothing on stdout, success (as aio); `null` with --json.
    let run = s.run(&["config", "get", "no.such.key"]).await.ok();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no.such.key is not set"), "{run:?}");
    assert_eq!(
        s.run(&["--json", "config", "get", "nope"])
            .await
            .ok()
            .json(),
        Value::Null
    );

    // --json: the value is JSON (aio's `config set --json`).
    s.run(&[
        "--json",
        "config",
        "set",
        "ims.contexts.svc.scopes",
        r#"["openid","AdobeID"]"#,
    ])
    .await
    .ok();
    assert_eq!(context(&s, "svc")["scopes"], json!(["openid", "AdobeID"]));
    let run = s
        .run(&["--json", "config", "set", "x.y", "{not json s3cr3t"])
        .await
        .fails(2, "must be JSON");
    assert!(!run.stderr.contains("s3cr3t"), "{run:?}");
    // A secret from stdin, never from the process list; never printed back.
    let run = s
        .run_with(
            &["config", "set", "ims.contexts.svc.client_secrets"],
            Some("s3cr3t-value\n"),
            &[],
        )
        .await
        .ok();
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    assert_eq!(context(&s, "svc")["client_secrets"], "s3cr3t-value");
    s.run(&["config", "set", "runtime.auth", "uuid:runtime-key"])
        .await
        .ok();

    // Secrets masked in get and list unless asked.
    let masked = s
        .run(&["config", "get", "ims.contexts.svc.client_secrets"])
        .await
        .ok();
    assert_eq!(masked.stdout, "****\n");
    let shown = s
        .run(&[
            "config",
            "get",
            "ims.contexts.svc.client_secrets",
            "--show-secrets",
        ])
        .await
        .ok();
    assert_eq!(shown.stdout, "s3cr3t-value\n");
    let list = s.run(&["--json", "config", "list"]).await.ok();
    assert!(!list.stdout.contains("s3cr3t") && !list.stdout.contains("runtime-key"));
    let list = list.json();
    assert_eq!(list["ims"]["contexts"]["svc"]["client_secrets"], "****");
    assert_eq!(list["runtime"]["auth"], "****");
    assert_eq!(list["cli"]["env"], "stage");
    let svc = s.run(&["config", "get", "ims.contexts.svc"]).await.ok();
    assert!(svc.stdout.contains("\"scopes\""), "{svc:?}");
    assert!(!svc.stdout.contains("s3cr3t"), "{svc:?}");
    let local = s
        .run(&["--json", "config", "ls", "--local"])
        .await
        .ok()
        .json();
    assert_eq!(local, json!({"cli": {"env": "stage"}}));

    // delete: from the global file by default; empty parents go too; a key
    // still set elsewhere is warned about.
    let run = s.run(&["config", "delete", "cli.env"]).await.ok();
    assert!(run.stderr.contains("cli.env is still set by"), "{run:?}");
    assert!(run.stderr.contains(".aio"), "{run:?}");
    assert!(s.global_json().get("cli").is_none(), "{}", s.global_json());
    s.run(&["config", "rm", "cli.env", "--local"]).await.ok();
    assert_eq!(Sandbox::read(&s.local()), json!({}));
    let run = s
        .run(&["--json", "config", "delete", "runtime.auth", "not.there"])
        .await
        .ok()
        .json();
    assert_eq!(run["deleted"], json!(["runtime.auth"]));
    assert_eq!(run["not_found"], json!(["not.there"]));
    s.run(&["config", "get", "a..b"])
        .await
        .fails(2, "dotted key");
    // A hostile ./.aio cannot write escape sequences to the terminal.
    std::fs::write(s.local(), r#"{"note": "a\u001b]0;pwned\u0007b"}"#).unwrap();
    let run = s.run(&["config", "get", "note"]).await.ok();
    assert!(!run.stdout.contains('\u{1b}'), "{run:?}");
    assert_eq!(run.stdout, "\"a\\u001b]0;pwned\\u0007b\"\n");
    // Other keys of the file were kept throughout.
    assert_eq!(context(&s, "svc")["scopes"], json!(["openid", "AdobeID"]));
}

// --- ims context list ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_list_shows_kind_token_status_expiry_file_and_shadowing() {
    let ims = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    s.run(&["token", "get", "-c", "svc"]).await.ok();
    set_user_context(&s, &ims, "me").await;
    // An expired token in a local context that shadows a global one.
    s.set_s2s("shadow", d::S2S_CLIENT_SECRET, &[]).await.ok();
    std::fs::write(
        s.local(),
        json!({"ims": {"contexts": {"Shadow": {
            "client_id": "project-client",
            "client_secrets": ["project-secret"],
            "scopes": ["openid"],
            "access_token": {"token": "old", "expiry": now_ms() - 1000},
        }}}})
        .to_string(),
    )
    .unwrap();

    // A half-written context does not hide the others.
    s.run(&["config", "set", "ims.contexts.half.scopes", "openid"])
        .await
        .ok();

    let run = s.run(&["--json", "context", "list"]).await.ok();
    assert!(run.stderr.contains("shadows the global context"), "{run:?}");
    let list = run.json();
    let by_name = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().eq_ignore_ascii_case(n))
            .unwrap_or_else(|| panic!("no {n} in {list}"))
            .clone()
    };
    let svc = by_name("svc");
    assert_eq!(svc["kind"], "server-to-server");
    assert_eq!(svc["token"], "valid");
    assert!(svc["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(svc["file"], s.global().display().to_string());
    assert_eq!(svc["shadows_global"], false);
    let me = by_name("me");
    assert_eq!(me["kind"], "oauth-user");
    assert_eq!(me["token"], "none");
    assert_eq!(me["expires_at"], Value::Null);
    let half = by_name("half");
    assert_eq!(half["kind"], "invalid");
    assert!(
        half["error"].as_str().unwrap().contains("client_id"),
        "{half}"
    );
    let shadow = by_name("shadow");
    assert_eq!(shadow["shadows_global"], true);
    assert_eq!(shadow["location"], "local");
    assert_eq!(shadow["file"], s.local().display().to_string());

    let human = s.run(&["context", "list"]).await.ok();
    assert!(human.stderr.contains("warning: context"), "{human:?}");
    let header = human.stdout.lines().next().unwrap();
    for column in ["NAME", "KIND", "TOKEN", "EXPIRES", "FILE"] {
        assert!(header.contains(column), "{human:?}");
    }
    let svc_line = human.stdout.lines().find(|l| l.contains("svc")).unwrap();
    assert!(svc_line.contains("valid"), "{human:?}");
    assert!(!human.stdout.contains(d::S2S_CLIENT_SECRET));
}

// --- completion of context names ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_completes_context_names_from_the_config() {
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    s.set_s2s("staging", d::S2S_CLIENT_SECRET, &["--local"])
        .await
        .ok();
    s.run(&["context", "use", "svc"]).await.ok();
    let complete = |words: &'static [&'static str]| {
        let s = &s;
        async move {
            let mut args = vec!["--", "ims"];
            args.extend_from_slice(words);
            let run = s.run_with(&args, None, &[("COMPLETE", "fish")]).await.ok();
            // The values offered (an empty word also gets the flags).
            run.stdout
                .lines()
                .map(|l| l.split('\t').next().unwrap().to_owned())
                .filter(|w| !w.starts_with('-'))
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(complete(&["context", "use", ""]).await, ["staging", "svc"]);
    assert_eq!(
        complete(&["token", "get", "--context", "st"]).await,
        ["staging"]
    );
    assert_eq!(complete(&["logout", "-c", ""]).await, ["staging", "svc"]);
    assert_eq!(complete(&["login", "--context", "sv"]).await, ["svc"]);
    assert_eq!(complete(&["context", "get", "s"]).await, ["staging", "svc"]);
    // The registration script, and the static scripts, still come.
    let script = s.run_with(&[], None, &[("COMPLETE", "bash")]).await.ok();
    assert!(script.stdout.contains("COMPLETE"), "{script:?}");
    let static_script = s.run(&["completions", "bash"]).await.ok();
    assert!(static_script.stdout.contains("logout"), "{static_script:?}");
}

// --- examples in --help -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verb_shows_examples_in_its_help() {
    let s = Sandbox::new();
    for verb in [
        &["context", "list"][..],
        &["context", "get"],
        &["context", "set"],
        &["context", "use"],
        &["context", "remove"],
        &["token", "get"],
        &["token", "decode"],
        &["token", "validate"],
        &["token", "invalidate"],
        &["login"],
        &["logout"],
        &["orgs"],
        &["profile"],
        &["completions"],
        &["config", "get"],
        &["config", "set"],
        &["config", "list"],
        &["config", "delete"],
    ] {
        let mut args = verb.to_vec();
        args.push("--help");
        let run = s.run(&args).await.ok();
        let example = format!("  ims {}", verb.join(" "));
        assert!(run.stdout.contains("Examples:"), "{verb:?}: {run:?}");
        assert!(
            run.stdout.contains(&example)
                || run.stdout.contains(&format!("| ims {}", verb.join(" "))),
            "{verb:?} has no example of itself: {run:?}"
        );
    }
}

// --- ims login --manual -------------------------------------------------------

/// Runs `ims login --manual`, signs in at the emulator with the URL it
/// prints, and pastes `answer(location)` on its stdin.
async fn manual_login(
    s: &Sandbox,
    ims: &RunningEmulator,
    context: &str,
    answer: impl FnOnce(&str) -> String,
) -> Run {
    let mut child = s
        // A callback port from the environment does not get in the way.
        .command(
            &["login", "--manual", "--context", context, "--timeout", "60"],
            &[("AIO_IMS_LOCAL_LOGIN_PORT", "1")],
        )
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    let url = url::Url::parse(line.trim()).unwrap();
    let location = emulator_sign_in(ims, &url).await;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("\n{}\n", answer(&location)).as_bytes())
        .await
        .unwrap();
    drop(stdin);
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
async fn login_manual_refuses_an_answer_of_another_sign_in() {
    let ims = emulator().await;
    let s = Sandbox::new();
    set_user_context(&s, &ims, "me").await;
    // The attacker's answer: a real code, but under another state.
    let run = manual_login(&s, &ims, "me", |location| {
        let mut url = url::Url::parse(location).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == "state" {
                    (k, "attacker-state".to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url.to_string()
    })
    .await
    .fails(1, "does not belong to this sign-in");
    assert!(!run.stderr.contains("attacker-state"), "{run:?}");
    // Nothing was exchanged, nothing stored.
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 0);
    assert!(context(&s, "me").get("access_token").is_none());
    // No state at all is refused alike.
    manual_login(&s, &ims, "me", |location| {
        let mut url = url::Url::parse(location).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        url.set_query(Some(&format!("code={code}")));
        url.to_string()
    })
    .await
    .fails(1, "does not belong to this sign-in");
    assert_eq!(ims.stats().count("POST /ims/token/v3"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_manual_exchanges_the_pasted_answer_and_stores_the_tokens() {
    let ims = emulator().await;
    let s = Sandbox::new();
    set_user_context(&s, &ims, "me").await;
    let run = manual_login(&s, &ims, "me", |location| {
        assert!(
            location.starts_with("http://127.0.0.1:1/callback?"),
            "{location}"
        );
        location.to_owned()
    })
    .await
    .ok();
    assert!(run.stdout.contains("signed in: context me"), "{run:?}");
    assert!(run.stderr.contains("Paste that whole address"), "{run:?}");
    let me = context(&s, "me");
    assert!(me["access_token"]["token"].is_string(), "{me}");
    assert!(me["refresh_token"]["token"].is_string(), "{me}");
    // Signed in: the profile comes with the stored token.
    let profile = s.run(&["--json", "profile", "-c", "me"]).await.ok().json();
    assert_eq!(profile["email"], d::MEMBER_EMAIL);

    // Only the code, pasted on its own, works too (PKCE binds it to this
    // sign-in).
    s.run(&["logout", "-c", "me"]).await.ok();
    manual_login(&s, &ims, "me", |location| {
        url::Url::parse(location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    })
    .await
    .ok();
    assert!(context(&s, "me")["access_token"]["token"].is_string());

    // A service context has no sign-in.
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &[]).await.ok();
    s.run(&["login", "--manual", "--context", "svc"])
        .await
        .fails(3, "ims login is for oauth-user contexts");
    // --manual and --no-open do not go together.
    s.run(&["login", "--manual", "--no-open"])
        .await
        .fails(2, "cannot be used with");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_list_hides_tokens_under_any_key_and_set_refuses_prototype_keys() {
    let s = Sandbox::new();
    // A project's ./.aio holding an IMS token and a base64 key under keys
    // no secret rule names.
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aWN0aW0ifQ.c2lnbmF0dXJlLWJ5dGVz";
    let der = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4";
    std::fs::write(
        s.local(),
        serde_json::json!({
            "notes": {"last": jwt, "list": [jwt]},
            "ims": {"contexts": {"svc": {"private_key": der, "Private-Key": "k"}}},
        })
        .to_string(),
    )
    .unwrap();
    let listed = s.run(&["config", "list"]).await.ok().stdout;
    assert!(!listed.contains(jwt) && !listed.contains(der), "{listed}");
    let got = s.run(&["config", "get", "notes.last"]).await.ok().stdout;
    assert_eq!(got, "****\n");
    let shown = s
        .run(&["config", "get", "notes.last", "--show-secrets"])
        .await
        .ok()
        .stdout;
    assert_eq!(shown, format!("{jwt}\n"));

    // Keys aio's Node code would walk into Object.prototype are not written.
    for key in ["__proto__.polluted", "cli.constructor.prototype.x"] {
        s.run(&["config", "set", key, "1"])
            .await
            .fails(2, "prototype");
    }
    assert!(!s.global().exists() || !s.global_json().to_string().contains("polluted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_sends_no_token_to_an_ims_url_planted_in_the_working_directory() {
    let ims = emulator().await;
    let elsewhere = emulator().await;
    let s = Sandbox::new();
    s.set_s2s("svc", d::S2S_CLIENT_SECRET, &["--ims-url", ims.base()])
        .await
        .ok();
    s.run(&["context", "use", "svc"]).await.ok();
    s.run(&["token", "get"]).await.ok();
    // A checked-out project's ./.aio (replacing the one `context use`
    // wrote) points the user's context elsewhere.
    std::fs::write(
        s.local(),
        serde_json::json!({"ims": {"contexts": {"svc": {"ims_url": elsewhere.base()}}}})
            .to_string(),
    )
    .unwrap();
    let run = s.run(&["logout", "-c", "svc"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("ims_url"), "{run:?}");
    assert_eq!(elsewhere.stats().count("POST /ims/invalidate_token/v2"), 0);
    assert_eq!(ims.stats().count("POST /ims/invalidate_token/v2"), 0);
    // Nothing was removed: the user's token is still there for a real logout.
    assert!(context(&s, "svc")["access_token"].is_object());
}
