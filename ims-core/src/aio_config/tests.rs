use super::*;
use serde_json::json;

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
        ConfigPaths::new(self.dir.path().join("global").join("aio"))
            .with_local(self.dir.path().join("project").join(".aio"))
            .with_dotenv(self.dir.path().join("project").join(".env"))
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read_json(&self, relative: &str) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join(relative)).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

#[test]
fn precedence_is_global_then_local_then_dotenv_then_env() {
    let fx = Fixture::new();
    fx.write(
        "global/aio",
        r#"{"ims": {"config": {"current": "g"}, "contexts": {"a": {"x": "g", "y": "g", "z": "g", "w": "g"}}}}"#,
    );
    fx.write(
        "project/.aio",
        "{\n  // local file in HJSON\n  ims: {\n    contexts: {\n      a: {\n        y: l\n        z: l\n        w: l\n      }\n    }\n  }\n}\n",
    );
    fx.write(
        "project/.env",
        "AIO_IMS_CONTEXTS_A_Z=dotenv\nAIO_IMS_CONTEXTS_A_W=dotenv\n",
    );
    let config = AioConfig::with_env(fx.paths(), [("AIO_IMS_CONTEXTS_A_W", "env")]);
    let merged = config.read_merged().unwrap();
    assert_eq!(
        tree::get_path(&merged, &["ims", "contexts", "a"]).unwrap(),
        &json!({"x": "g", "y": "l", "z": "dotenv", "w": "env"})
    );
    assert_eq!(config.get("IMS.Config.Current").unwrap(), Some(json!("g")));
    assert_eq!(config.get("ims.nothing.here").unwrap(), None);
}

#[test]
fn writes_keep_other_keys_and_create_private_files() {
    let fx = Fixture::new();
    fx.write(
        "global/aio",
        "{\n  # written by the aio CLI\n  cli: {\n    bare-output: true\n  }\n  ims: {\n    contexts: {\n      other: {\n        client_id: keep-me\n      }\n    }\n  }\n}\n",
    );
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    config
        .update(ConfigLocation::Global, |tree| {
            tree::object_at_mut(tree, &["ims", "contexts", "new"])
                .insert("client_id".into(), json!("fresh"));
            Ok(())
        })
        .unwrap();
    let written = fx.read_json("global/aio");
    assert_eq!(written["cli"]["bare-output"], json!(true));
    assert_eq!(
        written["ims"]["contexts"]["other"]["client_id"],
        json!("keep-me")
    );
    assert_eq!(
        written["ims"]["contexts"]["new"]["client_id"],
        json!("fresh")
    );

    config
        .update(ConfigLocation::Local, |tree| {
            tree::object_at_mut(tree, &["ims", "config"]).insert("current".into(), json!("new"));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        fx.read_json("project/.aio")["ims"]["config"]["current"],
        json!("new")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["global/aio", "project/.aio"] {
            let mode = std::fs::metadata(fx.dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(fx.dir.path().join("global"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_failed_write_leaves_the_old_file_intact() {
    let fx = Fixture::new();
    let original = "{\n  ims: {\n    contexts: {\n      a: {\n        client_id: \"old\"\n      }\n    }\n  }\n}\n";
    fx.write("global/aio", original);
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    let err = config
        .update_with_hook(
            ConfigLocation::Global,
            |tree| {
                tree["ims"] = json!("clobbered");
                Ok(())
            },
            || Err(io::Error::other("disk full")),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    let text = std::fs::read_to_string(fx.dir.path().join("global/aio")).unwrap();
    assert_eq!(text, original);
    let names: Vec<_> = std::fs::read_dir(fx.dir.path().join("global"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // An error from the change itself writes nothing either.
    let err = config
        .update(ConfigLocation::Global, |tree| -> Result<(), Error> {
            tree["ims"] = json!("clobbered");
            Err(Error::Misconfigured("no".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)));
    assert_eq!(
        std::fs::read_to_string(fx.dir.path().join("global/aio")).unwrap(),
        original
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_fails_the_write_and_keeps_the_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fixture::new();
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    config
        .update(ConfigLocation::Global, |tree| {
            tree["keep"] = json!(1);
            Ok(())
        })
        .unwrap();
    let dir = fx.dir.path().join("global");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    // A privileged user (root in a container) ignores the mode: nothing to test.
    let privileged = std::fs::write(dir.join("probe"), "x").is_ok();
    if !privileged {
        let err = config
            .update(ConfigLocation::Global, |tree| {
                tree["keep"] = json!(2);
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(err, Error::Storage { .. }), "{err:?}");
        assert!(err.to_string().contains("aio"), "{err}");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if !privileged {
        assert_eq!(fx.read_json("global/aio"), json!({"keep": 1}));
    }
}

#[test]
fn a_corrupted_file_is_a_clear_error_and_is_not_overwritten() {
    let fx = Fixture::new();
    fx.write("global/aio", "{ \"ims\": [1, ");
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    let err = config.read_merged().unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)));
    assert!(err.to_string().contains("global"), "{err}");
    assert!(config.update(ConfigLocation::Global, |_| Ok(())).is_err());
    assert_eq!(
        std::fs::read_to_string(fx.dir.path().join("global/aio")).unwrap(),
        "{ \"ims\": [1, "
    );
}

#[test]
fn concurrent_writers_with_separate_instances_lose_no_update() {
    let fx = Fixture::new();
    let paths = fx.paths();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let config = AioConfig::with_env(paths.clone(), Vec::<(String, String)>::new());
            std::thread::spawn(move || {
                for i in 0..50 {
                    config
                        .update(ConfigLocation::Global, |tree| {
                            tree::object_at_mut(tree, &["writers", &format!("t{t}")])
                                .insert(format!("k{i}"), json!(i));
                            Ok(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let written = fx.read_json("global/aio");
    for t in 0..4 {
        let keys = written["writers"][format!("t{t}")].as_object().unwrap();
        assert_eq!(keys.len(), 50, "writer {t} lost updates");
    }
}

/// Issue #14: every merged value knows which file or variable supplied it,
/// and the merge with origins gives exactly the plain merge's tree.
#[test]
fn every_value_knows_its_origin() {
    let fx = Fixture::new();
    fx.write(
        "global/aio",
        r#"{"cli": {"env": "prod"}, "ims": {"contexts": {"A": {"x": "g", "y": "g", "z": "g", "w": "g", "o": {"k": 1}}}}}"#,
    );
    fx.write(
        "project/.aio",
        r#"{"ims": {"contexts": {"a": {"y": "l", "z": "l", "o": 3}, "b": {"n": [1, 2]}}}}"#,
    );
    fx.write(
        "project/.env",
        "AIO_IMS_CONTEXTS_A_Z=dotenv\nAIO_CLI_ENV=stage\nAIO_IMS_CONTEXTS_A_O='{\"p\":2}'\n",
    );
    let config = AioConfig::with_env(fx.paths(), [("AIO_IMS_CONTEXTS_A_W", "env")]);
    let merged = config.read_merged_with_origins().unwrap();
    let global = Origin::Global(fx.dir.path().join("global/aio"));
    let local = Origin::Local(fx.dir.path().join("project/.aio"));
    let dotenv = |variable: &str| Origin::DotEnv {
        path: fx.dir.path().join("project/.env"),
        variable: variable.to_owned(),
    };
    assert_eq!(merged.origin("ims.contexts.a.x"), Some(&global));
    assert_eq!(merged.origin("ims.contexts.a.y"), Some(&local));
    assert_eq!(
        merged.origin("ims.contexts.a.z"),
        Some(&dotenv("AIO_IMS_CONTEXTS_A_Z"))
    );
    assert_eq!(
        merged.origin("ims.contexts.a.w"),
        Some(&Origin::Env {
            variable: "AIO_IMS_CONTEXTS_A_W".into()
        })
    );
    assert_eq!(merged.origin("cli.env"), Some(&dotenv("AIO_CLI_ENV")));
    // A variable's value is a string, as in aio: it sets no nested key.
    assert_eq!(
        merged.origin("ims.contexts.a.o"),
        Some(&dotenv("AIO_IMS_CONTEXTS_A_O"))
    );
    assert_eq!(
        tree::get_path(merged.value(), &["ims", "contexts", "a", "o"]),
        Some(&json!("{\"p\":2}"))
    );
    assert_eq!(merged.origin("ims.contexts.b.n"), Some(&local));
    assert_eq!(merged.origin("ims.contexts.a"), None);
    let keys: Vec<String> = merged
        .origins_under("ims.contexts.a")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["o", "w", "x", "y", "z"]);
    // The same tree as the plain merge.
    let mut plain = config.read_file(ConfigLocation::Global).unwrap();
    tree::merge(&mut plain, config.read_file(ConfigLocation::Local).unwrap());
    tree::merge(&mut plain, config.env_layer().unwrap());
    assert_eq!(merged.value(), &plain);
    // The trusted view leaves the working directory's files out.
    let trusted = config.read_trusted().unwrap();
    assert_eq!(trusted.value()["cli"]["env"], json!("prod"));
    assert_eq!(trusted.origin("ims.contexts.a.y"), Some(&global));
    assert!(global.is_trusted() && !local.is_trusted());
    // Debug shows keys and origins, never values (they hold secrets).
    let shown = format!("{merged:?}");
    assert!(
        shown.contains("ims.contexts.A.y") && shown.contains(".aio"),
        "{shown}"
    );
    assert!(!shown.contains("dotenv\""), "{shown}");
    assert!(!dotenv("X").is_trusted());
}

/// Issue #14 (variant): `.aio` and `.env` come with whatever repository the
/// user works in. One larger than any configuration, or that is no regular
/// file (a FIFO would block the read forever, a symlink to `/dev/zero` fill
/// the memory), is refused with an error naming it, before it is read.
#[test]
fn oversized_or_special_project_files_are_refused_before_reading() {
    let fx = Fixture::new();
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    let big = " ".repeat(file::MAX_FILE_BYTES + 1);
    for name in ["project/.aio", "project/.env", "global/aio"] {
        fx.write(name, &big);
        let err = config.read_merged().unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{name}: {err:?}");
        let text = err.to_string();
        assert!(text.contains(name.rsplit('/').next().unwrap()), "{text}");
        assert!(text.contains("larger than"), "{text}");
        std::fs::remove_file(fx.dir.path().join(name)).unwrap();
    }
    assert!(config.read_merged().is_ok());
    for name in [".aio", ".env"] {
        let path = fx.dir.path().join("project").join(name);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let err = config.read_merged().unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{name}: {err:?}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = config.read_merged().unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}

/// aio-lib-core-config reads a file that does not start with `{` as YAML
/// and keeps its format: a YAML file is updated as YAML, a JSON/HJSON file
/// stays JSON, every other key kept.
#[test]
fn a_yaml_file_is_read_and_written_back_as_yaml() {
    let fx = Fixture::new();
    fx.write(
        "global/aio",
        "# aio's YAML\ncli:\n  env: stage\nims:\n  contexts:\n    svc:\n      client_id: abc\n      scopes:\n        - openid\n",
    );
    fx.write("project/.aio", "{\n  // HJSON\n  keep: me\n}\n");
    let config = AioConfig::with_env(fx.paths(), Vec::<(String, String)>::new());
    assert_eq!(config.get("cli.env").unwrap(), Some(json!("stage")));
    assert_eq!(
        config.get("ims.contexts.svc.scopes").unwrap(),
        Some(json!(["openid"]))
    );
    config
        .update(ConfigLocation::Global, |tree| {
            tree["ims"]["config"] = json!({"current": "svc"});
            Ok(())
        })
        .unwrap();
    let text = std::fs::read_to_string(fx.dir.path().join("global/aio")).unwrap();
    assert!(!text.trim_start().starts_with('{'), "{text}");
    assert!(text.contains("current: svc"), "{text}");
    assert!(text.contains("env: stage"), "{text}");
    assert_eq!(
        config.get("ims.contexts.svc.client_id").unwrap(),
        Some(json!("abc"))
    );
    config
        .update(ConfigLocation::Local, |tree| {
            tree["more"] = json!(1);
            Ok(())
        })
        .unwrap();
    let text = std::fs::read_to_string(fx.dir.path().join("project/.aio")).unwrap();
    let local: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(local, json!({"keep": "me", "more": 1}));
}
