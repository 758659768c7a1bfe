//! `cargo xtask reliability [--soak-seconds N] [--no-soak]`: the long part
//! of the reliability suite (the rest runs in `cargo xtask test`).
//!
//! The soak: `ims-demo` built in release, started zero-config (its own IMS
//! emulator, a fresh SQLite database in a temporary directory), a token the
//! emulator mints for the member (an admin of the demo), and steady load on
//! the REST endpoint `GET /rest/V1/me` with `wrk` for N seconds (default
//! 600) while the demo's resident memory is sampled from
//! `/proc/<pid>/status`. It passes when, after a warm-up (the first 10 % of
//! the run), every sample stays within ±10 % of the first sample after the
//! warm-up, and wrk saw no non-2xx answer and no socket error. The figures
//! go to the `soak` section of `BENCHMARKS.md`, pass or fail.
//!
//! Then the limits (`limits.rs`): what an anonymous client can make the
//! release demo hold, three measurements each against its goal, into the
//! `limits` section.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod limits;

use crate::commands::{Result, cargo};
use crate::report::{self, output};

/// The default soak: ten minutes.
const DEFAULT_SECONDS: u64 = 600;
/// Connections wrk keeps open: steady load, not a saturation test.
const CONNECTIONS: u32 = 8;
/// The share of the run that is warm-up, in percent.
const WARM_UP_PERCENT: u64 = 10;
/// How far resident memory may move from its post-warm-up value, in percent.
const RSS_TOLERANCE_PERCENT: f64 = 10.0;
/// How long the demo may take to print its addresses.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// `cargo xtask reliability [--soak-seconds N] [--no-soak]`.
pub(crate) fn reliability(args: &[String]) -> Result {
    let (seconds, run_soak) = parse_args(args)?;
    // wrk exits non-zero on --version; only whether it starts matters.
    if run_soak && Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: apt-get install wrk (or run .ci/run)".into());
    }
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "ims-demo"]);
    crate::commands::run("cargo build --release -p ims-demo", build)?;
    let binary = crate::commands::target_dir().join("release/ims-demo");

    let dir = std::env::temp_dir().join(format!("ims-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut failed = Vec::new();
    if run_soak {
        let result = soak(&binary, &dir.join("soak"), seconds);
        let soak = result?;
        let markdown = soak.markdown();
        eprintln!("{markdown}");
        report::write_section("soak", &markdown)?;
        if let failures @ [_, ..] = soak.failures().as_slice() {
            failed.push(format!("the soak failed: {}", failures.join("; ")));
        }
    }
    let result = limits::measure(&binary, &dir.join("limits"));
    let _ = std::fs::remove_dir_all(&dir);
    let limits = result?;
    let markdown = limits.markdown();
    eprintln!("{markdown}");
    report::write_section("limits", &markdown)?;
    if let failures @ [_, ..] = limits.failures().as_slice() {
        failed.push(format!("a limit was missed: {}", failures.join("; ")));
    }
    match failed.as_slice() {
        [] => Ok(()),
        _ => Err(failed.join("; ")),
    }
}

/// The soak's length, and whether to run it at all (`--no-soak` runs only
/// the limits' measurements).
fn parse_args(args: &[String]) -> Result<(u64, bool)> {
    let run_soak = !args.iter().any(|a| a == "--no-soak");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--no-soak").cloned().collect();
    Ok((soak_seconds(&rest)?, run_soak))
}

fn soak_seconds(args: &[String]) -> Result<u64> {
    match args {
        [] => Ok(DEFAULT_SECONDS),
        [flag, value] if flag == "--soak-seconds" => match value.parse::<u64>() {
            Ok(n) if n >= 10 => Ok(n),
            _ => Err(format!(
                "--soak-seconds needs a whole number of at least 10, not {value:?}"
            )),
        },
        _ => Err(format!(
            "usage: cargo xtask reliability [--soak-seconds N] [--no-soak] (got {args:?})"
        )),
    }
}

/// The demo process, killed when dropped.
pub(crate) struct Demo {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) emulator: String,
    log: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo on a free port with a fresh database in `dir`.
pub(crate) fn start_demo(binary: &Path, dir: &Path) -> Result<Demo> {
    start_demo_with(binary, dir, &[])
}

/// Starts the demo with more options (its database: `dir`/soak.db).
fn start_demo_with(binary: &Path, dir: &Path, extra: &[&str]) -> Result<Demo> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log = dir.join("ims-demo.log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let database = format!("sqlite:{}", dir.join("soak.db").display());
    let mut child = Command::new(binary)
        .args(["--addr", "127.0.0.1:0", "--database", &database])
        // The soak mints its bearer token at the emulator's control API.
        .arg("--emulator-control")
        .args(extra)
        .current_dir(dir)
        .env_remove("IMS_URL")
        .env_remove("IMS_DEMO_KEY")
        // One log line per request would grow the log by gigabytes.
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout from the demo")?;
    // A thread reads the addresses, then keeps draining stdout so the demo
    // never blocks on a full pipe.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut admin, mut emulator) = (None, None);
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Some(url) = line.trim().strip_prefix("Admin: ") {
                admin = Some(url.to_owned());
            }
            if let Some(url) = line.trim().strip_prefix("IMS emulator: ") {
                emulator = Some(url.to_owned());
            }
            if admin.is_some()
                && emulator.is_some()
                && let (Some(a), Some(e)) = (admin.take(), emulator.take())
            {
                let _ = tx.send((a, e));
            }
        }
    });
    let demo = |base: String, emulator: String| Demo {
        child,
        base,
        emulator,
        log: log.clone(),
    };
    match rx.recv_timeout(START_TIMEOUT) {
        Ok((admin, emulator)) => {
            let base = admin.trim_end_matches("/admin").to_owned();
            Ok(demo(base, emulator))
        }
        Err(_) => {
            let demo = demo(String::new(), String::new());
            Err(format!(
                "the demo did not print its addresses within {START_TIMEOUT:?} (see {})",
                demo.log.display()
            ))
        }
    }
}

/// One HTTP/1.1 request over a fresh connection: status and body. Enough
/// for the few set-up calls, without an HTTP client dependency.
pub(crate) fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String)> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {base}"))?
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(authority).map_err(|e| format!("cannot connect to {base}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send to {base}: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("cannot read from {base}: {e}"))?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status from {base}{path}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// An access token the emulator mints for the member, whom the demo makes
/// an admin at start.
pub(crate) fn mint_token(emulator: &str) -> Result<String> {
    let body =
        r#"{"email":"member@example.com","client_id":"emulator-web","scope":"AdobeID,openid"}"#;
    let (status, answer) = http(
        emulator,
        "POST",
        "/__emulator/tokens",
        &[("Content-Type", "application/json")],
        body,
    )?;
    if status != 200 {
        return Err(format!(
            "the emulator did not mint a token ({status}): {answer}"
        ));
    }
    let value: serde_json::Value =
        serde_json::from_str(&answer).map_err(|e| format!("the emulator's answer: {e}"))?;
    value["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no access_token in the emulator's answer".into())
}

/// Resident memory of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status (has the demo died?): {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// A resident-memory sample: seconds since the load started, KiB.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: u64,
    kib: u64,
}

/// What the soak measured.
#[derive(Debug)]
struct Soak {
    seconds: u64,
    requests: u64,
    per_second: f64,
    non_2xx: u64,
    socket_errors: u64,
    samples: Vec<Sample>,
    interval: u64,
    demo_alive: bool,
    wrk_summary: String,
}

fn soak(binary: &Path, dir: &Path, seconds: u64) -> Result<Soak> {
    let mut demo = start_demo(binary, dir)?;
    let token = mint_token(&demo.emulator)?;
    let bearer = format!("Bearer {token}");
    // The first request validates the token at IMS; it must be admitted.
    let (status, body) = http(
        &demo.base,
        "GET",
        "/rest/V1/me",
        &[("Authorization", &bearer)],
        "",
    )?;
    if status != 200 {
        return Err(format!("GET /rest/V1/me answered {status}: {body}"));
    }
    let pid = demo.child.id();
    let interval = (seconds / 120).clamp(1, 5);
    eprintln!(
        "==> soak: wrk -t1 -c{CONNECTIONS} -d{seconds}s {}/rest/V1/me, RSS of pid {pid} every {interval} s",
        demo.base
    );
    let mut wrk = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "-H",
            &format!("Authorization: {bearer}"),
            &format!("{}/rest/V1/me", demo.base),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next = Duration::ZERO;
    let wrk_status = loop {
        if let Some(status) = wrk
            .try_wait()
            .map_err(|e| format!("waiting for wrk: {e}"))?
        {
            break status;
        }
        let elapsed = started.elapsed();
        if elapsed >= next {
            match rss_kib(pid) {
                Ok(kib) => samples.push(Sample {
                    at: elapsed.as_secs(),
                    kib,
                }),
                Err(err) => {
                    let _ = wrk.kill();
                    let _ = wrk.wait();
                    return Err(err);
                }
            }
            next += Duration::from_secs(interval);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut text = String::new();
    if let Some(mut stdout) = wrk.stdout.take() {
        stdout
            .read_to_string(&mut text)
            .map_err(|e| format!("reading wrk's output: {e}"))?;
    }
    if !wrk_status.success() {
        return Err(format!("wrk failed ({wrk_status}):\n{text}"));
    }
    let demo_alive = matches!(demo.child.try_wait(), Ok(None));
    let (requests, per_second, non_2xx, socket_errors) = parse_wrk(&text)?;
    Ok(Soak {
        seconds,
        requests,
        per_second,
        non_2xx,
        socket_errors,
        samples,
        interval,
        demo_alive,
        wrk_summary: text,
    })
}

/// Requests, requests/s, non-2xx answers and socket errors from wrk's
/// report.
fn parse_wrk(text: &str) -> Result<(u64, f64, u64, u64)> {
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no request count in wrk's output:\n{text}"))?;
    let per_second = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{text}"))?;
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map_or(Ok(0), |n| {
            n.trim()
                .parse()
                .map_err(|_| format!("unreadable non-2xx count in wrk's output:\n{text}"))
        })?;
    // "Socket errors: connect 0, read 1, write 0, timeout 0"
    let socket_errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map_or(0, |counts| {
            counts
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        });
    Ok((requests, per_second, non_2xx, socket_errors))
}

impl Soak {
    /// The samples after the warm-up.
    fn steady(&self) -> &[Sample] {
        let warm_up = self.seconds * WARM_UP_PERCENT / 100;
        let first = self
            .samples
            .iter()
            .position(|s| s.at >= warm_up)
            .unwrap_or(self.samples.len());
        &self.samples[first..]
    }

    /// The largest distance of a steady sample from the first one, in
    /// percent of the first.
    fn drift_percent(&self) -> Option<f64> {
        let steady = self.steady();
        let base = steady.first()?.kib as f64;
        steady
            .iter()
            .map(|s| (s.kib as f64 - base).abs() / base * 100.0)
            .max_by(f64::total_cmp)
    }

    /// Each criterion the run missed.
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.non_2xx > 0 {
            failures.push(format!("{} non-2xx answers", self.non_2xx));
        }
        if self.socket_errors > 0 {
            failures.push(format!("{} socket errors", self.socket_errors));
        }
        if self.requests == 0 {
            failures.push("no request was answered".into());
        }
        if !self.demo_alive {
            failures.push("the demo exited during the soak".into());
        }
        match self.drift_percent() {
            None => failures.push("no memory sample after the warm-up".into()),
            Some(drift) if drift > RSS_TOLERANCE_PERCENT => failures.push(format!(
                "resident memory moved {drift:.1} % from its post-warm-up value (limit {RSS_TOLERANCE_PERCENT} %)"
            )),
            Some(_) => {}
        }
        failures
    }

    fn markdown(&self) -> String {
        let mib = |kib: u64| kib as f64 / 1024.0;
        let steady = self.steady();
        let stat = |pick: fn(&[Sample]) -> Option<u64>| pick(steady).map_or(0.0, mib);
        let first = stat(|s| s.first().map(|s| s.kib));
        let last = stat(|s| s.last().map(|s| s.kib));
        let min = stat(|s| s.iter().map(|s| s.kib).min());
        let max = stat(|s| s.iter().map(|s| s.kib).max());
        let drift = self.drift_percent().unwrap_or(f64::NAN);
        // A compact series: at most 30 points over the whole run.
        let step = self.samples.len().div_ceil(30).max(1);
        let series: Vec<String> = self
            .samples
            .iter()
            .step_by(step)
            .chain(
                self.samples
                    .last()
                    .filter(|_| !(self.samples.len() - 1).is_multiple_of(step)),
            )
            .map(|s| format!("{}s {:.1}", s.at, mib(s.kib)))
            .collect();
        let failures = self.failures();
        let verdict = if failures.is_empty() {
            "**Passed**: memory flat within ±10 % after the warm-up, zero errors.".to_owned()
        } else {
            format!("**FAILED**: {}.", failures.join("; "))
        };
        let date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
        let summary: String = self
            .wrk_summary
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        let mut text = String::new();
        let _ = write!(
            text,
            "## Soak: ims-demo's REST endpoint under steady load\n\n\
             `ims-demo` (release build, zero-config: its own IMS emulator, a fresh SQLite database)\n\
             answers `GET /rest/V1/me` with an IMS access token the emulator minted for an admin,\n\
             under `wrk -t1 -c{CONNECTIONS}` for the whole run, while its resident memory (`VmRSS` of\n\
             `/proc/<pid>/status`) is sampled every {interval} s. Criteria: after a warm-up of the\n\
             first {WARM_UP_PERCENT} % of the run, every sample within ±{RSS_TOLERANCE_PERCENT} % of the first\n\
             sample after it; zero non-2xx answers; zero socket errors. Throughput is shared with\n\
             whatever else the machine runs and is not a criterion.\n\n\
             - Date: {date}\n\
             - Command: `cargo xtask reliability --soak-seconds {seconds}`\n\
             - Duration: {seconds} s\n\
             - Requests: {requests} ({per_second:.0} requests/s)\n\
             - Errors: {non_2xx} non-2xx answers, {socket} socket errors\n\
             - Resident memory after the warm-up (MiB): first {first:.1}, min {min:.1}, max {max:.1}, last {last:.1}; largest drift {drift:.1} %\n\
             - Samples: {count} ({steady_count} after the warm-up)\n\n\
             RSS series (seconds, MiB): {series}\n\n\
             {verdict}\n\n\
             wrk's report:\n\n{summary}",
            interval = self.interval,
            date = date.trim(),
            seconds = self.seconds,
            requests = self.requests,
            per_second = self.per_second,
            non_2xx = self.non_2xx,
            socket = self.socket_errors,
            count = self.samples.len(),
            steady_count = steady.len(),
            series = series.join(", "),
        );
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 10s test @ http://127.0.0.1:1/rest/V1/me
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   250.00us  100.00us   5.00ms   90.00%
    Req/Sec    30.00k     1.00k   32.00k    70.00%
  300000 requests in 10.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  30000.00
Transfer/sec:      6.00MB
";

    #[test]
    fn wrk_reports_are_read() {
        assert_eq!(parse_wrk(WRK).unwrap(), (300_000, 30_000.0, 4, 3));
        let clean = WRK
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_wrk(&clean).unwrap(), (300_000, 30_000.0, 0, 0));
    }

    fn soak(kib: &[u64]) -> Soak {
        Soak {
            seconds: 100,
            requests: 10,
            per_second: 1.0,
            non_2xx: 0,
            socket_errors: 0,
            samples: kib
                .iter()
                .enumerate()
                .map(|(i, &kib)| Sample {
                    at: i as u64 * 5,
                    kib,
                })
                .collect(),
            interval: 5,
            demo_alive: true,
            wrk_summary: String::new(),
        }
    }

    #[test]
    fn memory_is_judged_after_the_warm_up() {
        // 0 s and 5 s are warm-up (10 % of 100 s): their growth does not count.
        let flat = soak(&[10_000, 50_000, 60_000, 61_000, 59_000, 65_000]);
        assert!(flat.failures().is_empty(), "{:?}", flat.failures());
        let growing = soak(&[10_000, 50_000, 60_000, 63_000, 66_500]);
        assert_eq!(growing.failures().len(), 1, "{:?}", growing.failures());
        let mut errors = soak(&[1, 1, 1]);
        errors.non_2xx = 1;
        errors.socket_errors = 2;
        assert_eq!(errors.failures().len(), 2);
    }

    #[test]
    fn the_soak_length_is_read() {
        assert_eq!(soak_seconds(&[]).unwrap(), DEFAULT_SECONDS);
        let args = ["--soak-seconds".to_owned(), "120".to_owned()];
        assert_eq!(soak_seconds(&args).unwrap(), 120);
        assert!(soak_seconds(&["--soak-seconds".to_owned(), "x".to_owned()]).is_err());
        assert!(soak_seconds(&["--other".to_owned()]).is_err());
        assert_eq!(parse_args(&[]).unwrap(), (DEFAULT_SECONDS, true));
        let args = ["--no-soak".to_owned()];
        assert_eq!(parse_args(&args).unwrap(), (DEFAULT_SECONDS, false));
    }
}
