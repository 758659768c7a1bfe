//! Memory of the Web API hot cache: resident set size with a million
//! validated tokens, and the capacity bound.

use std::fmt::Write as _;

use serde_json::Value;

use super::{build_release, count, example, json_line, number, verdict};
use crate::commands::Result;
use crate::report;

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "hot-cache-memory";
/// The target for a million entries, in MiB.
const TARGET_MIB: f64 = 256.0;

/// One run: tokens, capacity, token length.
const RUNS: [(u64, u64, u64); 3] = [
    (1_000_000, 1_000_000, 1200),
    (1_000_000, 1_000_000, 12),
    (200_000, 100_000, 1200),
];

/// Runs the benchmark and writes its section.
pub(crate) fn run() -> Result {
    build_release(
        "the hot_cache_memory example",
        &["-p", "webapi-ims", "--example", "hot_cache_memory"],
    )?;
    let mut rows = String::new();
    let mut full: Vec<(u64, f64)> = Vec::new();
    let mut bound_ok = true;
    for (tokens, capacity, bytes) in RUNS {
        let mut command = std::process::Command::new(example("hot_cache_memory"));
        command.args([tokens, capacity, bytes].map(|n| n.to_string()));
        let out = json_line("the hot_cache_memory example", command)?;
        let row = Row::of(&out)?;
        if tokens == capacity {
            full.push((bytes, row.mib_per_million()));
        }
        let within = row.entries <= capacity;
        bound_ok &= within;
        let _ = writeln!(
            rows,
            "| {tokens} | {capacity} | {bytes} B | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.1} s |",
            row.entries,
            row.start_mib,
            row.filled_mib,
            row.filled_mib - row.start_mib,
            row.dropped_mib,
            if within { "yes" } else { "**no**" },
            row.seconds,
        );
    }
    let worst = full.iter().map(|(_, mib)| *mib).fold(0.0, f64::max);
    let per_size: Vec<String> = full
        .iter()
        .map(|(bytes, mib)| format!("{mib:.1} MiB with {bytes}-byte tokens"))
        .collect();
    let markdown = format!(
        "## Web API hot cache: memory per million tokens, and its bound\n\n\
         `WebApiAuthenticator` with `hot_cache_capacity` as below, authenticating distinct\n\
         tokens through the public API; the services are in-process fakes that keep nothing\n\
         per token (the record is a no-op), so what grows is the authenticator. Resident set\n\
         size (`VmRSS`) before, after, and after dropping the authenticator; entries from its\n\
         `Debug` output (`webapi-ims/examples/hot_cache_memory.rs`).\n\n\
         | tokens | capacity | token size | entries | RSS before [MiB] | RSS after [MiB] | growth [MiB] | after drop [MiB] | entries ≤ capacity | time |\n\
         |---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
         Per million entries: {}. **{} the target of {TARGET_MIB:.0} MiB**; the capacity bound is\n\
         **{}**.\n\n\
         Reproduce: `cargo xtask bench --only {NAME}`.\n",
        per_size.join(", "),
        verdict(worst <= TARGET_MIB && !full.is_empty()),
        if bound_ok {
            "respected"
        } else {
            "NOT respected"
        },
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}

/// One run's figures, in MiB.
struct Row {
    entries: u64,
    start_mib: f64,
    filled_mib: f64,
    dropped_mib: f64,
    seconds: f64,
}

impl Row {
    fn of(out: &Value) -> Result<Row> {
        let mib = |field: &str| number(out, field).map(|kib| kib / 1024.0);
        Ok(Row {
            entries: count(out, "entries")?,
            start_mib: mib("rss_start_kib")?,
            filled_mib: mib("rss_filled_kib")?,
            dropped_mib: mib("rss_dropped_kib")?,
            seconds: number(out, "seconds")?,
        })
    }

    /// Growth per million entries.
    fn mib_per_million(&self) -> f64 {
        if self.entries == 0 {
            return f64::INFINITY;
        }
        // Entry counts stay far below 2^52: the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let millions = self.entries as f64 / 1e6;
        (self.filled_mib - self.start_mib) / millions
    }
}
