//! The limits' measurements against the release demo, each against its
//! goal (all on 127.0.0.1, bounded in count and time):
//!
//! 1. Anonymous sign-in starts: 100,000 cookieless
//!    `GET /admin/ims/login?return_to=/AAAA…` (a 2 KB return path) over a
//!    few kept-alive connections; the demo's resident memory may grow by at
//!    most 32 MiB (each start makes a session: the store must be bounded).
//! 2. Concurrent wrong passwords: 64 password sign-ins at once (the
//!    integration off), each for a login that does not exist, so that each
//!    costs a full argon2 hash; the peak growth may be at most 100 MiB
//!    (the store bounds concurrent hashes; the rest wait or get 503).
//! 3. Slow connections: 450 connections trickling header bytes and 50
//!    idle ones; after the demo's header-read timeout plus a margin it may
//!    hold none of them open, and a normal request is answered meanwhile.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::{Demo, rss_kib, start_demo_with};
use crate::commands::Result;
use crate::report::output;

/// Sign-in starts to send.
const STARTS: u64 = 100_000;
/// Connections sending them.
const START_CONNECTIONS: u64 = 4;
/// The starts' growth goal.
const STARTS_GOAL_MIB: f64 = 32.0;
/// The whole starts run may take at most this long.
const STARTS_DEADLINE: Duration = Duration::from_secs(120);
/// Concurrent wrong passwords.
const WRONG_PASSWORDS: usize = 64;
/// Their growth goal.
const WRONG_PASSWORDS_GOAL_MIB: f64 = 100.0;
/// Trickling and idle connections.
const TRICKLING: usize = 450;
const IDLE: usize = 50;
/// The header-read timeout the demo is started with for the slow
/// connections (its default), and the margin after it.
const HEADER_READ_TIMEOUT_SECS: u64 = 10;
const MARGIN: Duration = Duration::from_secs(5);

/// What the three measurements found.
#[derive(Debug)]
pub(super) struct Limits {
    starts: Starts,
    wrong: WrongPasswords,
    slow: SlowConnections,
}

#[derive(Debug, Default)]
struct Starts {
    sent: u64,
    redirects: u64,
    other: u64,
    seconds: f64,
    before_kib: u64,
    after_kib: u64,
}

#[derive(Debug, Default)]
struct WrongPasswords {
    refused: u64,
    busy: u64,
    other: u64,
    seconds: f64,
    before_kib: u64,
    peak_kib: u64,
    after_kib: u64,
}

#[derive(Debug, Default)]
struct SlowConnections {
    opened: usize,
    held_open: usize,
    normal_status: Option<u16>,
    normal_millis: u128,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn growth_mib(before: u64, after: u64) -> f64 {
    mib(after) - mib(before)
}

pub(super) fn measure(binary: &Path, dir: &Path) -> Result<Limits> {
    let timeout = format!("{HEADER_READ_TIMEOUT_SECS}s");
    let demo = start_demo_with(
        binary,
        &dir.join("ims"),
        &["--header-read-timeout", &timeout],
    )?;
    let starts = anonymous_starts(&demo)?;
    let slow = slow_connections(&demo)?;
    drop(demo);
    let wrong = wrong_passwords(binary, &dir.join("password"))?;
    Ok(Limits {
        starts,
        wrong,
        slow,
    })
}

/// `host:port` of an `http://` base URL.
fn authority(base: &str) -> Result<String> {
    base.strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/').to_owned())
        .ok_or_else(|| format!("not an http:// URL: {base}"))
}

/// A kept-alive HTTP/1.1 connection that reads whole answers.
struct Connection {
    authority: String,
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(authority: &str) -> Result<Connection> {
        let stream = TcpStream::connect(authority)
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            authority: authority.to_owned(),
            reader: BufReader::new(stream),
        })
    }

    /// Sends `request` and reads the answer's status; reconnects for the
    /// next one when the server closes.
    fn exchange(&mut self, request: &[u8]) -> Result<u16> {
        self.reader
            .get_mut()
            .write_all(request)
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut status = None;
        let mut length = 0usize;
        let mut close = false;
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| format!("cannot read an answer: {e}"))?;
            if n == 0 {
                return Err("the connection closed mid-answer".into());
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if status.is_none() {
                status = trimmed
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok());
                continue;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("a chunked answer (not expected here)".into());
                }
            }
        }
        let mut body = vec![0u8; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| format!("cannot read an answer's body: {e}"))?;
        if close {
            *self = Connection::open(&self.authority)?;
        }
        status.ok_or_else(|| "an answer without a status".into())
    }
}

/// Measurement 1.
fn anonymous_starts(demo: &Demo) -> Result<Starts> {
    let authority = authority(&demo.base)?;
    let return_to = format!("/{}", "A".repeat(2047));
    let request =
        format!("GET /admin/ims/login?return_to={return_to} HTTP/1.1\r\nHost: {authority}\r\n\r\n")
            .into_bytes();
    let pid = demo.child.id();
    // Warm up (thread pools, caches), then the baseline.
    let mut warm = Connection::open(&authority)?;
    for _ in 0..200 {
        warm.exchange(&request)?;
    }
    drop(warm);
    std::thread::sleep(Duration::from_millis(500));
    let before_kib = rss_kib(pid)?;
    eprintln!("==> limits: {STARTS} anonymous sign-in starts over {START_CONNECTIONS} connections");
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let redirects = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..START_CONNECTIONS)
        .map(|_| {
            let (authority, request) = (authority.clone(), request.clone());
            let (sent, redirects, other) = (
                Arc::clone(&sent),
                Arc::clone(&redirects),
                Arc::clone(&other),
            );
            std::thread::spawn(move || -> Result {
                let mut connection = Connection::open(&authority)?;
                while sent.fetch_add(1, Ordering::Relaxed) < STARTS {
                    if started.elapsed() > STARTS_DEADLINE {
                        break;
                    }
                    match connection.exchange(&request)? {
                        300..=399 => redirects.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| "a sign-in start thread panicked")??;
    }
    let seconds = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let after_kib = rss_kib(pid)?;
    let redirects = redirects.load(Ordering::Relaxed);
    let other = other.load(Ordering::Relaxed);
    Ok(Starts {
        sent: redirects + other,
        redirects,
        other,
        seconds,
        before_kib,
        after_kib,
    })
}

/// Whether the server has closed `stream` (reads what it sent meanwhile).
fn is_closed(mut stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Measurement 3.
fn slow_connections(demo: &Demo) -> Result<SlowConnections> {
    let authority = authority(&demo.base)?;
    eprintln!(
        "==> limits: {TRICKLING} trickling and {IDLE} idle connections for {HEADER_READ_TIMEOUT_SECS} s + {} s",
        MARGIN.as_secs()
    );
    let connect = || {
        TcpStream::connect(&authority).map_err(|e| format!("cannot connect to {authority}: {e}"))
    };
    let mut trickling = Vec::with_capacity(TRICKLING);
    for _ in 0..TRICKLING {
        let mut stream = connect()?;
        let head = format!("GET /admin/login HTTP/1.1\r\nHost: {authority}\r\n");
        stream
            .write_all(head.as_bytes())
            .map_err(|e| format!("cannot send: {e}"))?;
        trickling.push((stream, false));
    }
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(connect()?);
    }
    let opened = trickling.len() + idle.len();
    let started = Instant::now();
    let end = Duration::from_secs(HEADER_READ_TIMEOUT_SECS) + MARGIN;
    let mut normal: Option<(u16, u128)> = None;
    while started.elapsed() < end {
        // One more header byte on every trickling connection the server has
        // not closed: never the end of the head.
        for (stream, closed) in &mut trickling {
            if !*closed && stream.write_all(b"X").is_err() {
                *closed = true;
            }
        }
        if normal.is_none() && started.elapsed() >= Duration::from_secs(2) {
            let asked = Instant::now();
            let request = format!(
                "GET /admin/login HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
            );
            let status = Connection::open(&authority)
                .and_then(|mut c| c.exchange(request.as_bytes()))
                .unwrap_or(0);
            normal = Some((status, asked.elapsed().as_millis()));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let held_open = trickling
        .iter()
        .filter(|(stream, closed)| !*closed && !is_closed(stream))
        .count()
        + idle.iter().filter(|stream| !is_closed(stream)).count();
    let (normal_status, normal_millis) = normal.map_or((None, 0), |(s, ms)| (Some(s), ms));
    Ok(SlowConnections {
        opened,
        held_open,
        normal_status,
        normal_millis,
    })
}

/// Measurement 2: a demo with the integration off and one admin user.
fn wrong_passwords(binary: &Path, dir: &Path) -> Result<WrongPasswords> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let database = format!("sqlite:{}", dir.join("soak.db").display());
    let created = std::process::Command::new(binary)
        .args(["--database", &database, "admin:user:create"])
        .args(["--admin-user", "pat", "--admin-email", "pat@example.com"])
        .args(["--admin-firstname", "Pat", "--admin-lastname", "Password"])
        .args(["--admin-password", "correct-horse-1"])
        .current_dir(dir)
        .env_remove("IMS_DEMO_KEY")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run admin:user:create: {e}"))?;
    if !created.status.success() {
        return Err(format!(
            "admin:user:create failed: {}",
            String::from_utf8_lossy(&created.stderr)
        ));
    }
    let demo = start_demo_with(binary, dir, &["--password-only"])?;
    let authority = authority(&demo.base)?;
    let pid = demo.child.id();
    let request = |login: &str| {
        let body = format!("username={login}&password=wrong-password-1");
        format!(
            "POST /admin/login HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    // One sign-in first (the hashing thread, the page), then the baseline.
    Connection::open(&authority)?.exchange(&request("warm-up"))?;
    std::thread::sleep(Duration::from_millis(500));
    let before_kib = rss_kib(pid)?;
    eprintln!("==> limits: {WRONG_PASSWORDS} concurrent wrong password sign-ins");
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before_kib));
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let barrier = Arc::new(Barrier::new(WRONG_PASSWORDS));
    let started = Instant::now();
    let attempts: Vec<_> = (0..WRONG_PASSWORDS)
        .map(|i| {
            // Logins that do not exist: each one costs a full argon2 hash
            // (a real user would lock after a few).
            let request = request(&format!("guess-{i}"));
            let (authority, barrier) = (authority.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || -> Result<u16> {
                let mut connection = Connection::open(&authority)?;
                barrier.wait();
                connection.exchange(&request)
            })
        })
        .collect();
    let mut result = WrongPasswords::default();
    for attempt in attempts {
        match attempt.join().map_err(|_| "a sign-in thread panicked")? {
            Ok(401) => result.refused += 1,
            Ok(503) => result.busy += 1,
            _ => result.other += 1,
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    std::thread::sleep(Duration::from_millis(500));
    result.before_kib = before_kib;
    result.peak_kib = peak.load(Ordering::Relaxed).max(rss_kib(pid)?);
    result.after_kib = rss_kib(pid)?;
    Ok(result)
}

impl Limits {
    /// Each goal the run missed.
    pub(super) fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let starts = growth_mib(self.starts.before_kib, self.starts.after_kib);
        if starts > STARTS_GOAL_MIB {
            failures.push(format!(
                "{STARTS} anonymous sign-in starts grew RSS by {starts:.1} MiB (goal ≤ {STARTS_GOAL_MIB} MiB)"
            ));
        }
        if self.starts.sent < STARTS || self.starts.other > 0 {
            failures.push(format!(
                "sign-in starts: {} of {STARTS} answered within {STARTS_DEADLINE:?}, {} not a redirect",
                self.starts.sent, self.starts.other
            ));
        }
        let wrong = growth_mib(self.wrong.before_kib, self.wrong.peak_kib);
        if wrong > WRONG_PASSWORDS_GOAL_MIB {
            failures.push(format!(
                "{WRONG_PASSWORDS} concurrent wrong passwords grew RSS by {wrong:.1} MiB at the peak (goal ≤ {WRONG_PASSWORDS_GOAL_MIB} MiB)"
            ));
        }
        if self.wrong.other > 0 {
            failures.push(format!(
                "{} wrong-password sign-ins got neither 401 nor 503",
                self.wrong.other
            ));
        }
        if self.slow.held_open > 0 {
            failures.push(format!(
                "{} of {} slow connections still open after the header-read timeout + {} s (goal 0)",
                self.slow.held_open,
                self.slow.opened,
                MARGIN.as_secs()
            ));
        }
        if self.slow.normal_status != Some(200) {
            failures.push(format!(
                "a normal request during the slow connections got {:?}, not 200",
                self.slow.normal_status
            ));
        }
        failures
    }

    pub(super) fn markdown(&self) -> String {
        let verdict = |ok: bool| if ok { "passed" } else { "**FAILED**" };
        let starts = growth_mib(self.starts.before_kib, self.starts.after_kib);
        let wrong = growth_mib(self.wrong.before_kib, self.wrong.peak_kib);
        let wrong_after = growth_mib(self.wrong.before_kib, self.wrong.after_kib);
        let date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
        let failures = self.failures();
        let overall = if failures.is_empty() {
            "**Passed**: every goal met.".to_owned()
        } else {
            format!("**FAILED**: {}.", failures.join("; "))
        };
        let mut text = String::new();
        let _ = write!(
            text,
            "## Limits: what an anonymous client can make ims-demo hold\n\n\
             `ims-demo` in release, on 127.0.0.1 (its own IMS emulator, a fresh SQLite database),\n\
             attacked three ways; resident memory is `VmRSS` of `/proc/<pid>/status`.\n\n\
             - Date: {date}\n\
             - Command: `cargo xtask reliability` (also run by `.ci/run`)\n\n\
             | measurement | figure | goal | result |\n\
             | --- | --- | --- | --- |\n\
             | {STARTS} cookieless `GET /admin/ims/login?return_to=/AAAA…` (2 KB) over {START_CONNECTIONS} connections ({sent} answered: {redirects} redirects, {other} other, {rate:.0}/s) | RSS {before:.1} → {after:.1} MiB: **{starts:+.1} MiB** | ≤ {STARTS_GOAL_MIB} MiB | {v1} |\n\
             | {WRONG_PASSWORDS} concurrent wrong password sign-ins, each a full argon2id hash ({refused} × 401, {busy} × 503 with `Retry-After`, {wother} other; {wsecs:.1} s) | RSS {wbefore:.1} MiB, peak **{wrong:+.1} MiB** ({wrong_after:+.1} MiB after) | ≤ {WRONG_PASSWORDS_GOAL_MIB} MiB | {v2} |\n\
             | {TRICKLING} connections trickling header bytes + {IDLE} idle, header-read timeout {HEADER_READ_TIMEOUT_SECS} s | **{held}** of {opened} still open after {HEADER_READ_TIMEOUT_SECS} s + {margin} s; a normal request meanwhile: {normal} in {normal_ms} ms | 0 open; normal request 200 | {v3} |\n\n\
             {overall}\n",
            date = date.trim(),
            sent = self.starts.sent,
            redirects = self.starts.redirects,
            other = self.starts.other,
            rate = self.starts.sent as f64 / self.starts.seconds.max(0.001),
            before = mib(self.starts.before_kib),
            after = mib(self.starts.after_kib),
            v1 = verdict(
                starts <= STARTS_GOAL_MIB && self.starts.sent >= STARTS && self.starts.other == 0
            ),
            refused = self.wrong.refused,
            busy = self.wrong.busy,
            wother = self.wrong.other,
            wsecs = self.wrong.seconds,
            wbefore = mib(self.wrong.before_kib),
            v2 = verdict(wrong <= WRONG_PASSWORDS_GOAL_MIB && self.wrong.other == 0),
            held = self.slow.held_open,
            opened = self.slow.opened,
            margin = MARGIN.as_secs(),
            normal = self
                .slow
                .normal_status
                .map_or_else(|| "not sent".to_owned(), |s| s.to_string()),
            normal_ms = self.slow.normal_millis,
            v3 = verdict(self.slow.held_open == 0 && self.slow.normal_status == Some(200)),
        );
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            starts: Starts {
                sent: STARTS,
                redirects: STARTS,
                other: 0,
                seconds: 10.0,
                before_kib: 20 * 1024,
                after_kib: 30 * 1024,
            },
            wrong: WrongPasswords {
                refused: 64,
                busy: 0,
                other: 0,
                seconds: 2.0,
                before_kib: 20 * 1024,
                peak_kib: 60 * 1024,
                after_kib: 50 * 1024,
            },
            slow: SlowConnections {
                opened: 500,
                held_open: 0,
                normal_status: Some(200),
                normal_millis: 3,
            },
        }
    }

    #[test]
    fn each_goal_is_judged() {
        let ok = limits();
        assert!(ok.failures().is_empty(), "{:?}", ok.failures());
        assert!(ok.markdown().contains("**Passed**"));
        let mut bad = limits();
        bad.starts.after_kib = bad.starts.before_kib + 33 * 1024;
        bad.wrong.peak_kib = bad.wrong.before_kib + 101 * 1024;
        bad.slow.held_open = 1;
        bad.slow.normal_status = None;
        assert_eq!(bad.failures().len(), 4, "{:?}", bad.failures());
        assert!(bad.markdown().contains("**FAILED**"));
    }
}
