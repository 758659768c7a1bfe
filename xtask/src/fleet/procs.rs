//! The fleet's processes: one `ims-emulator` (its control API counts every
//! IMS call) and release `ims-demo` instances on the run's database, each
//! killed when dropped and listed for the cleanup guard.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::db::ScratchDb;
use super::http;
use crate::commands::Result;

/// How long a process may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A child process, killed (SIGKILL) and reaped when dropped.
pub(super) struct Process {
    child: Child,
}

impl Process {
    /// Starts `command` with stderr to `log` and waits for the first stdout
    /// line that `ready` accepts (what it returns); stdout keeps being
    /// drained after that.
    fn start(
        mut command: Command,
        log: &Path,
        db: &ScratchDb,
        ready: fn(&str) -> Option<String>,
    ) -> Result<(Process, String)> {
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        db.track(child.id());
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let process = Process { child };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if !sent && let Some(found) = ready(line.trim()) {
                    let _ = tx.send(found);
                    sent = true;
                }
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(found) => Ok((process, found)),
            Err(_) => Err(format!(
                "{:?} did not say where it listens within {START_TIMEOUT:?} (see {})",
                command.get_program(),
                log.display()
            )),
        }
    }

    /// `kill -9`.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The emulator, and its control API.
pub(super) struct Emulator {
    pub(super) base: String,
    _process: Process,
}

impl Emulator {
    pub(super) fn start(binary: &Path, dir: &Path, db: &ScratchDb) -> Result<Emulator> {
        let mut command = Command::new(binary);
        command
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "warn");
        let (process, base) = Process::start(command, &dir.join("ims-emulator.log"), db, |l| {
            l.strip_prefix("ims-emulator listening on ")
                .map(str::to_owned)
        })?;
        Ok(Emulator {
            base,
            _process: process,
        })
    }

    /// A control request; anything that changes something says JSON (the
    /// control API refuses it otherwise).
    fn control(&self, method: &str, path: &str, body: &str) -> Result<http::Answer> {
        let headers: &[(&str, &str)] = if method == "GET" {
            &[]
        } else {
            &[("Content-Type", "application/json")]
        };
        http::once(method, &format!("{}{path}", self.base), headers, body)
    }

    /// A control request that must answer 204.
    fn control_done(&self, method: &str, path: &str, body: &str) -> Result {
        let answer = self.control(method, path, body)?;
        if answer.status != 204 {
            return Err(format!(
                "the emulator's {method} {path} answered {}: {}",
                answer.status, answer.body
            ));
        }
        Ok(())
    }

    /// A fresh access token for `email`, issued to the integration's client.
    pub(super) fn mint(&self, email: &str) -> Result<String> {
        let body = serde_json::json!({
            "email": email,
            "client_id": super::WEB_CLIENT_ID,
            "scope": "AdobeID,openid",
        })
        .to_string();
        let answer = self.control("POST", "/__emulator/tokens", &body)?;
        if answer.status != 200 {
            return Err(format!(
                "the emulator did not mint a token ({}): {}",
                answer.status, answer.body
            ));
        }
        let value: Value = serde_json::from_str(&answer.body)
            .map_err(|e| format!("the emulator's token answer: {e}"))?;
        value["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "no access_token in the emulator's answer".into())
    }

    /// The request counters: `"METHOD /path"` → count.
    pub(super) fn stats(&self) -> Result<Stats> {
        let answer = self.control("GET", "/__emulator/stats", "")?;
        let value: Value =
            serde_json::from_str(&answer.body).map_err(|e| format!("the emulator's stats: {e}"))?;
        let requests = value["requests"]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Stats { requests })
    }

    pub(super) fn reset_stats(&self) -> Result {
        self.control_done("DELETE", "/__emulator/stats", "")
    }

    /// Every request whose path starts with `prefix` waits `ms` first.
    pub(super) fn slow(&self, prefix: &str, ms: u64) -> Result {
        let body = serde_json::json!({ "path_prefix": prefix, "latency_ms": ms }).to_string();
        self.control_done("POST", "/__emulator/faults", &body)
    }

    pub(super) fn clear_faults(&self) -> Result {
        self.control_done("DELETE", "/__emulator/faults", "")
    }
}

/// The emulator's counters.
#[derive(Debug, Clone, Default)]
pub(super) struct Stats {
    pub(super) requests: Vec<(String, u64)>,
}

impl Stats {
    /// Calls whose `"METHOD /path"` satisfies `pick`.
    pub(super) fn count(&self, pick: impl Fn(&str) -> bool) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| pick(k))
            .map(|(_, n)| n)
            .sum()
    }

    pub(super) fn validations(&self) -> u64 {
        self.count(|k| k.starts_with("POST /ims/validate_token"))
    }

    pub(super) fn profiles(&self) -> u64 {
        self.count(|k| k.contains(" /ims/profile") || k.contains(" /ims/userinfo"))
    }

    pub(super) fn memberships(&self) -> u64 {
        self.count(|k| k.ends_with("/membership"))
    }

    pub(super) fn token_calls(&self) -> u64 {
        self.count(|k| k.starts_with("POST /ims/token"))
    }

    pub(super) fn total(&self) -> u64 {
        self.count(|_| true)
    }

    /// `key: n` pairs, for the report.
    pub(super) fn summary(&self) -> String {
        if self.requests.is_empty() {
            return "none".to_owned();
        }
        self.requests
            .iter()
            .map(|(k, n)| format!("`{k}` {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One `ims-demo` instance.
pub(super) struct Demo {
    pub(super) name: &'static str,
    pub(super) base: String,
    pub(super) process: Process,
}

impl Demo {
    /// Serves with `command` (from [`subcommand_command`], with `--addr`
    /// and the server's options as its arguments); its log in `dir`.
    pub(super) fn start(
        name: &'static str,
        dir: &Path,
        db: &ScratchDb,
        mut command: Command,
    ) -> Result<Demo> {
        command.current_dir(dir);
        let log = dir.join(format!("ims-demo-{name}.log"));
        let (process, admin) = Process::start(command, &log, db, |l| {
            l.strip_prefix("Admin: ").map(str::to_owned)
        })?;
        Ok(Demo {
            name,
            base: admin.trim_end_matches("/admin").to_owned(),
            process,
        })
    }

    /// `host:port`.
    pub(super) fn authority(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }
}

/// Runs an `ims-demo` subcommand on the run's database; its stdout.
pub(super) fn subcommand(
    binary: &Path,
    db: &ScratchDb,
    key: &str,
    emulator: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<String> {
    let out = subcommand_command(binary, db, key, emulator, args, envs)
        .output()
        .map_err(|e| format!("cannot run ims-demo {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ims-demo {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command of [`subcommand`], to spawn several at once (secrets go in
/// `envs`, not on the command line).
pub(super) fn subcommand_command(
    binary: &Path,
    db: &ScratchDb,
    key: &str,
    emulator: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--database", &db.url, "--ims-url", emulator])
        .args(args)
        .env("IMS_DEMO_KEY", key)
        .env("RUST_LOG", "warn")
        // Only what the harness gives: none of the caller's IMS settings.
        .env_remove("IMS_CLIENT_ID")
        .env_remove("IMS_CLIENT_SECRET")
        .env_remove("IMS_ORG_ID")
        .env_remove("IMS_SERVICE_CLIENT_ID")
        .env_remove("IMS_SERVICE_CLIENT_SECRET")
        .envs(envs.iter().copied())
        .stdin(Stdio::null());
    command
}
