//! The benchmarks of issue #9 beyond the warm path, one module each: every
//! `run()` builds its program in release, runs it, parses its one JSON line
//! and writes its own section of `BENCHMARKS.md`.
//!
//! `cargo xtask bench` runs everything in `bench::ALL` (the warm path and
//! criterion, in `bench.rs`, first); `cargo xtask bench --only NAME` runs one.

pub(crate) mod cli_token_get;
pub(crate) mod cold_path;
pub(crate) mod hot_cache_memory;
pub(crate) mod load;
pub(crate) mod product_path;
pub(crate) mod token_flight;
pub(crate) mod verify_rate;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::commands::{Result, cargo, target_dir};
use crate::report::output;

/// `cargo build --release --locked ARGS`.
pub(crate) fn build_release(what: &str, args: &[&str]) -> Result {
    let status = cargo()
        .args(["build", "--release", "--locked"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building {what} failed ({status})"))
    }
}

/// The release build of example `name`.
pub(crate) fn example(name: &str) -> PathBuf {
    target_dir().join("release/examples").join(name)
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

/// Runs `command` (stderr passed through) and returns the last line of its
/// stdout that is a JSON object.
pub(crate) fn json_line(what: &str, mut command: Command) -> Result<Value> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(Value::is_object)
        })
        .ok_or_else(|| format!("no JSON line in the output of {what}"))
}

/// A number field of a JSON object.
pub(crate) fn number(value: &Value, field: &str) -> Result<f64> {
    value[field]
        .as_f64()
        .ok_or_else(|| format!("no number {field:?} in {value}"))
}

/// A count field of a JSON object.
pub(crate) fn count(value: &Value, field: &str) -> Result<u64> {
    value[field]
        .as_u64()
        .ok_or_else(|| format!("no count {field:?} in {value}"))
}

/// "meets" or "misses", for a verdict line.
pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "misses" }
}
