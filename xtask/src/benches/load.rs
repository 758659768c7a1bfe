//! What the load benchmarks share: wrk runs, CPU time of the target,
//! quartiles.

use std::process::Command;

use crate::commands::Result;
use crate::report::output;

/// Connections wrk keeps open.
pub(crate) const CONNECTIONS: u32 = 32;

/// The lower quartile, median and upper quartile of `values`.
pub(crate) fn quartiles(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| {
        values
            .get((values.len().saturating_sub(1)) * q / 4)
            .copied()
    };
    [at(1), at(2), at(3)].map(|v| v.unwrap_or(f64::NAN))
}

/// CPU time the process `pid` has used, all threads, in nanoseconds.
pub(crate) fn cpu_nanos(pid: u32) -> Result<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("cannot list the threads of the load target: {e}"))?;
    let mut total = 0;
    for task in tasks.flatten() {
        // A thread may end between the listing and the read.
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// `program` pinned to `core` with taskset when it exists, else unpinned.
pub(crate) fn pinned(core: u32, program: &str) -> Command {
    if output("taskset", &["--version"]).is_some() {
        let mut command = Command::new("taskset");
        command.args(["-c", &core.to_string(), program]);
        command
    } else {
        Command::new(program)
    }
}

/// What wrk reports of a run.
pub(crate) struct WrkOutput {
    /// Requests per second.
    pub(crate) requests_per_second: f64,
    /// Requests completed.
    pub(crate) requests: u64,
}

/// Runs wrk against `url` (pinned to core 0, one thread, [`CONNECTIONS`]
/// connections); any answer of 400 or more is an error.
pub(crate) fn wrk_url(url: &str, header: Option<&str>, seconds: u32) -> Result<WrkOutput> {
    let mut command = pinned(0, "wrk");
    command.args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s")]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    command.arg(url);
    let out = command
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw error answers from {url}:\n{text}"));
    }
    let requests_per_second = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{text}"))?;
    // "  382213 requests in 3.00s, 45.20MB read"
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no request count in wrk's output:\n{text}"))?;
    Ok(WrkOutput {
        requests_per_second,
        requests,
    })
}
