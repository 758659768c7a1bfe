//! Measurement 4: `kill -9` of the instance that is validating a new token
//! (the first sight's leader). The emulator is made slow to validate; a new
//! token goes to A, then, while A is asking IMS, to B and C; A is killed.
//! Every request to B and C must be answered (any status) within the demo's
//! IMS deadline plus a small slack; afterwards the token has exactly one
//! record row and works on B and C.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Fleet;
use super::http::Connection;
use super::propagation::me;
use crate::commands::Result;

/// The demo's IMS deadline (`webapi-ims`'s default `ims_deadline`, which
/// `ims-demo` keeps).
pub(super) const IMS_DEADLINE: Duration = Duration::from_secs(5);
/// What an answer may take beyond it.
pub(super) const SLACK: Duration = Duration::from_secs(1);
/// How slow the emulator validates.
pub(super) const VALIDATION_LATENCY_MS: u64 = 2000;
/// Requests each of B and C gets with the token.
const REQUESTS_EACH: usize = 5;
/// When B and C are asked, after A; when A is killed, after B and C.
const AFTER_A: Duration = Duration::from_millis(300);
const KILL_AFTER: Duration = Duration::from_millis(200);

/// What the kill showed.
#[derive(Debug)]
pub(super) struct LeaderKill {
    /// Per request to B or C: instance, status (or the error), ms to answer.
    pub(super) answers: Vec<(&'static str, std::result::Result<u16, String>, f64)>,
    /// Milliseconds from A's request to its kill.
    pub(super) killed_after_ms: f64,
    /// Record rows for the token afterwards.
    pub(super) rows: Option<u64>,
    /// B's and C's answers with the token once IMS was fast again.
    pub(super) after: Vec<(&'static str, u16)>,
    pub(super) validations: u64,
}

impl LeaderKill {
    pub(super) fn slowest_ms(&self) -> f64 {
        self.answers
            .iter()
            .map(|(_, _, ms)| *ms)
            .fold(0.0, f64::max)
    }

    pub(super) fn met(&self) -> bool {
        let limit = (IMS_DEADLINE + SLACK).as_secs_f64() * 1000.0;
        self.answers
            .iter()
            .all(|(_, s, ms)| s.is_ok() && *ms <= limit)
            && self.rows == Some(1)
            && self.after.iter().all(|(_, s)| *s == 200)
    }
}

/// SHA-256 of `token` in lower-case hex (the record's key), by `sha256sum`.
fn sha256_hex(token: &str) -> Result<String> {
    use std::io::Write as _;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run sha256sum: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(token.as_bytes())
        .map_err(|e| format!("sha256sum: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    if hex.len() == 64 {
        Ok(hex)
    } else {
        Err("sha256sum printed no digest".into())
    }
}

pub(super) fn kill_the_leader(fleet: &mut Fleet) -> Result<LeaderKill> {
    let token = fleet.emulator.mint(super::MEMBER_EMAIL)?;
    let bearer = format!("Bearer {token}");
    fleet.emulator.reset_stats()?;
    fleet
        .emulator
        .slow("/ims/validate_token", VALIDATION_LATENCY_MS)?;
    eprintln!(
        "==> fleet: kill -9 of A while it validates a new token (IMS {VALIDATION_LATENCY_MS} ms slow)"
    );
    let send = |authority: String, bearer: String| {
        std::thread::spawn(move || -> (std::result::Result<u16, String>, f64) {
            let started = Instant::now();
            let status = Connection::open(&authority)
                .and_then(|mut c| {
                    c.exchange("GET", "/rest/V1/me", &[("Authorization", &bearer)], "")
                })
                .map(|a| a.status);
            (status, started.elapsed().as_secs_f64() * 1000.0)
        })
    };
    let (a, others) = fleet.demos.split_first_mut().ok_or("no instance")?;
    let asked_a = Instant::now();
    let on_a = send(a.authority(), bearer.clone());
    std::thread::sleep(AFTER_A);
    let mut threads = Vec::new();
    for demo in others.iter() {
        for _ in 0..REQUESTS_EACH {
            threads.push((demo.name, send(demo.authority(), bearer.clone())));
        }
    }
    std::thread::sleep(KILL_AFTER);
    a.process.kill();
    let killed_after_ms = asked_a.elapsed().as_secs_f64() * 1000.0;
    let _ = on_a.join();
    let mut answers = Vec::new();
    for (name, thread) in threads {
        let (status, ms) = thread.join().map_err(|_| "a request thread panicked")?;
        answers.push((name, status.map_err(|e| e.to_string()), ms));
    }
    fleet.emulator.clear_faults()?;
    let validations = fleet.emulator.stats()?.validations();
    let mut after = Vec::new();
    for demo in others.iter() {
        after.push((demo.name, me(demo, &bearer)?));
    }
    let hash = sha256_hex(&token)?;
    let rows = fleet
        .db
        .query(&format!(
            "SELECT COUNT(*) FROM {} WHERE access_token_hash = '{hash}'",
            fleet.db.table("admin_adobe_ims_webapi")
        ))?
        .parse::<u64>()
        .ok();
    Ok(LeaderKill {
        answers,
        killed_after_ms,
        rows,
        after,
        validations,
    })
}
