//! Measurement 1: one never-seen token, `per_instance` concurrent requests
//! to each of A, B and C at once, IMS calls counted at the emulator.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use super::Fleet;
use super::http::Connection;
use super::procs::Stats;
use crate::commands::Result;

/// What the burst saw.
#[derive(Debug)]
pub(super) struct Burst {
    pub(super) requests: u64,
    pub(super) ok: u64,
    /// Status (or `error`) → count.
    pub(super) statuses: BTreeMap<String, u64>,
    pub(super) stats: Stats,
    pub(super) wall_ms: f64,
}

impl Burst {
    /// Whether every request got 200 with one validation, one profile call
    /// and one membership check for the whole fleet.
    pub(super) fn met(&self) -> bool {
        self.ok == self.requests
            && self.stats.validations() == 1
            && self.stats.profiles() == 1
            && self.stats.memberships() <= 1
    }
}

/// A thread's stack: it holds one connection and a few strings.
const STACK: usize = 256 * 1024;

pub(super) fn burst(fleet: &Fleet, per_instance: usize) -> Result<Burst> {
    let token = fleet.emulator.mint(super::MEMBER_EMAIL)?;
    let bearer = format!("Bearer {token}");
    fleet.emulator.reset_stats()?;
    let total = per_instance * fleet.demos.len();
    eprintln!(
        "==> fleet: {total} concurrent GET /rest/V1/me with one new token ({per_instance} to each of {})",
        fleet.names()
    );
    let barrier = Arc::new(Barrier::new(total + 1));
    let mut threads = Vec::with_capacity(total);
    for demo in &fleet.demos {
        for _ in 0..per_instance {
            let (authority, bearer, barrier) =
                (demo.authority(), bearer.clone(), Arc::clone(&barrier));
            let thread = std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || -> Result<u16> {
                    // Connected before the barrier, so that the requests
                    // leave together; the barrier is always reached.
                    let connection = Connection::open(&authority);
                    barrier.wait();
                    let mut connection = connection?;
                    let request =
                        connection.request("GET", "/rest/V1/me", &[("Authorization", &bearer)], "");
                    connection.send(&request)?;
                    Ok(connection.answer()?.status)
                })
                .map_err(|e| format!("cannot start a request thread: {e}"))?;
            threads.push(thread);
        }
    }
    barrier.wait();
    let started = Instant::now();
    let mut statuses = BTreeMap::new();
    let mut ok = 0;
    for thread in threads {
        let status = thread.join().map_err(|_| "a request thread panicked")?;
        let key = match status {
            Ok(200) => {
                ok += 1;
                "200".to_owned()
            }
            Ok(status) => status.to_string(),
            Err(_) => "error".to_owned(),
        };
        *statuses.entry(key).or_insert(0) += 1;
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let stats = fleet.emulator.stats()?;
    Ok(Burst {
        requests: total as u64,
        ok,
        statuses,
        stats,
        wall_ms,
    })
}
