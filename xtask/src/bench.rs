//! `cargo xtask bench`: the benchmarks, each a ratio against a baseline run
//! side by side on this machine, written to `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use crate::benches::{
    self,
    load::{CONNECTIONS, WrkOutput, cpu_nanos, pinned, quartiles, wrk_url},
};
use crate::commands::{Result, cargo};
use crate::report;

/// Rounds of the load comparison; each runs both targets back to back,
/// alternating which goes first. Many short rounds rather than a few long
/// ones: on a shared host the machine's speed drifts over seconds, and a
/// round compares two runs a second apart, so the median of many rounds sees
/// through the drift that a few long runs would average into the result.
const ROUNDS: usize = 41;
/// Seconds per wrk run.
const SECONDS: u32 = 1;

/// Runs the benchmarks and writes their sections of `BENCHMARKS.md`.
pub(crate) fn bench() -> Result {
    report::write_section("machine", &report::machine())?;
    for (_, run) in ALL {
        run()?;
    }
    Ok(())
}

/// The name `--only` knows the warm-path comparison by.
pub(crate) const WARM_PATH: &str = "warm-path";

/// The warm-path comparison over HTTP and its instruction counts, into
/// their section of `BENCHMARKS.md`.
pub(crate) fn warm_path() -> Result {
    let mut load = webapi_load()?;
    load.push_str(&warm_path_instructions()?);
    load.push_str(&metrics_cost()?);
    eprintln!("{load}");
    report::write_section(WARM_PATH, &load)
}

/// Requests/s of the same endpoint with and without the IMS layer.
fn webapi_load() -> Result<String> {
    // wrk exits non-zero on --version; only whether it starts matters.
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: apt-get install wrk (or run .ci/run)".into());
    }
    let binary = build_example("load_target")?;
    // The server on one core, wrk on the other (when taskset exists), so
    // that the two compete for neither. taskset execs the target, so the
    // child's pid is the server's.
    let mut child = pinned(1, &binary.to_string_lossy())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("no stdout from the load target")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the load target: {e}"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let result = match fields.as_slice() {
        ["READY", plain, protected, token] => compare(child.id(), plain, protected, token),
        _ => Err(format!("unexpected load target output: {line:?}")),
    };
    // Closing stdin stops the target.
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

/// One wrk run: the throughput, and the server's CPU time per request.
#[derive(Debug, Clone, Copy)]
struct Run {
    requests_per_second: f64,
    cpu_micros_per_request: f64,
}

/// Runs wrk against `addr` while reading the server's CPU time.
fn measured(server: u32, addr: &str, header: &str) -> Result<Run> {
    let before = cpu_nanos(server)?;
    let out = wrk(addr, Some(header), SECONDS)?;
    let spent = cpu_nanos(server)?.saturating_sub(before);
    #[allow(clippy::cast_precision_loss)]
    Ok(Run {
        requests_per_second: out.requests_per_second,
        cpu_micros_per_request: spent as f64 / 1_000.0 / out.requests.max(1) as f64,
    })
}

fn compare(server: u32, plain: &str, protected: &str, token: &str) -> Result<String> {
    let header = format!("Authorization: Bearer {token}");
    // Both get the same requests, Authorization header included (the bare
    // endpoint ignores it): the difference is the layer, not the bytes.
    // Warm up both (the first protected request validates the token at IMS).
    wrk(plain, Some(&header), 2)?;
    wrk(protected, Some(&header), 2)?;
    let mut rows = String::new();
    let (mut ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let (without, with) = if round % 2 == 1 {
            let without = measured(server, plain, &header)?;
            (without, measured(server, protected, &header)?)
        } else {
            let with = measured(server, protected, &header)?;
            (measured(server, plain, &header)?, with)
        };
        let ratio = with.requests_per_second / without.requests_per_second;
        let cpu_ratio = without.cpu_micros_per_request / with.cpu_micros_per_request;
        ratios.push(ratio);
        cpu_ratios.push(cpu_ratio);
        let _ = writeln!(
            rows,
            "| {round} | {:.0} | {:.0} | {ratio:.3} | {:.2} | {:.2} | {cpu_ratio:.3} |",
            without.requests_per_second,
            with.requests_per_second,
            without.cpu_micros_per_request,
            with.cpu_micros_per_request,
        );
    }
    let [q1, median, q3] = quartiles(&mut ratios);
    let [cpu_q1, cpu_median, cpu_q3] = quartiles(&mut cpu_ratios);
    let verdict = if median >= 0.9 { "meets" } else { "misses" };
    Ok(format!(
        "## Web API warm path: `webapi-ims` layer vs the bare endpoint\n\n\
         The same axum handler served twice by one process (`webapi-ims/examples/load_target.rs`:\n\
         the emulator as IMS, ims-core, ims-store on SQLite), once behind `ImsAuthLayer` with a\n\
         validated token, once without; both get the same requests, bearer token included.\n\
         `wrk -t1 -c{CONNECTIONS} -d{SECONDS}s`, {ROUNDS} rounds, each running both back to back and\n\
         alternating which goes first; the server pinned to one core and wrk to the other\n\
         (`taskset`). The server's CPU time per request (all its threads, from\n\
         `/proc/<pid>/task/*/schedstat`) is a second view of the same cost.\n\n\
         **Median ratio of requests/s, with the layer to without: {median:.3}** ({verdict} the \
         target of 0.9); quartiles {q1:.3} and {q3:.3}.\n\n\
         CPU time per request, without to with: median {cpu_median:.3}, quartiles {cpu_q1:.3} \
         and {cpu_q3:.3}.\n\n\
         <details><summary>Every round</summary>\n\n\
         | round | requests/s without | requests/s with | ratio | CPU µs/request without | CPU µs/request with | CPU ratio |\n\
         |---|---|---|---|---|---|---|\n{rows}\n</details>\n\n\
         Reproduce: `cargo xtask bench --only warm-path`.\n\n"
    ))
}

/// Runs wrk against `addr`'s `/rest/V1/me`.
fn wrk(addr: &str, header: Option<&str>, seconds: u32) -> Result<WrkOutput> {
    wrk_url(&format!("http://{addr}/rest/V1/me"), header, seconds)
}

/// Builds webapi-ims's example `name` (feature `axum`) in release; its path.
fn build_example(name: &str) -> Result<std::path::PathBuf> {
    crate::benches::build_release(
        name,
        &["-p", "webapi-ims", "--features", "axum", "--example", name],
    )?;
    Ok(crate::benches::example(name))
}

/// Instructions per warm request with and without the layer, counted by
/// callgrind (which machine noise cannot move), from
/// `webapi-ims/examples/warm_path_instructions.rs`.
fn warm_path_instructions() -> Result<String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Ok("Instruction counts skipped: valgrind is not installed.\n\n".into());
    }
    let binary = build_example("warm_path_instructions")?;
    let (low, high) = (2_000u64, 6_000u64);
    let mut per_request = Vec::new();
    for mode in [
        "bare",
        "noop",
        "extension",
        "layer",
        "layer_metrics",
        "extractor",
    ] {
        let a = callgrind_total(&binary, mode, low)?;
        let b = callgrind_total(&binary, mode, high)?;
        per_request.push(b.saturating_sub(a) / (high - low));
    }
    let [bare, noop, extension, layer, layer_metrics, extractor] = per_request[..] else {
        return Err("callgrind counted fewer modes than asked".into());
    };
    // Instructions are not time, but their ratio says what the layer adds
    // to a request without noise (valgrind hides SHA-NI, and runs AES-NI).
    #[allow(clippy::cast_precision_loss)]
    let ratio = bare as f64 / layer as f64;
    // Metrics on (a Prometheus recorder installed) against off, side by
    // side in this run: issue #18's budget is 3 % of the warm request.
    #[allow(clippy::cast_precision_loss)]
    let metrics_cost = (layer_metrics as f64 - layer as f64) / layer as f64 * 100.0;
    Ok(format!(
        "In-process, without the network, counted by callgrind (repeatable to the \
         instruction): one request through the axum router costs **{bare}** instructions \
         without the layer and **{layer}** with it (the same handler work), so the layer \
         adds {} instructions, {ratio:.2} of the bare count in-process. Over HTTP the \
         bare request also pays for hyper, sockets and system calls, so the ratio above \
         is higher.\n\nFor reference, axum's own costs in the same loop: a route layer that \
         does nothing (`noop`, tower's `Identity`) adds {} instructions, and axum's \
         `map_request` handing the handler a value through the request's extensions \
         (`extension`) adds {}: what any layer that hands the handler its admin pays \
         before doing anything. The layer's own work is therefore {} instructions.\n\n\
         **Without the layer:** the same route with the `BearerAdmin` extractor deciding \
         (the authenticator in the router's state; `extractor`) costs **{extractor}** \
         instructions, so authentication adds **{}**.\n\n**Metrics** (issue #18's budget: within 3 %): the same \
         warm request with a Prometheus recorder installed (`layer_metrics`) costs \
         **{layer_metrics}** instructions, {metrics_cost:+.2} % of the {layer} without \
         one.\n\nReproduce: `valgrind --tool=callgrind \
         --toggle-collect='*warm_path_instructions::requests*' \
         target/release/examples/warm_path_instructions layer 6000` (modes `bare`, `noop`, \
         `extension`, `layer`, `layer_metrics`, `extractor`; see the example's documentation).\n\n",
        layer.saturating_sub(bare),
        noop.saturating_sub(bare),
        extension.saturating_sub(bare),
        layer.saturating_sub(extension),
        extractor.saturating_sub(bare),
    ))
}

/// Rounds and requests per round of `metrics_cost`.
const METRICS_ROUNDS: &str = "101";
const METRICS_PER_ROUND: &str = "50000";

/// The warm path's wall-clock time with metrics on over off, in
/// interleaved rounds in one process, from
/// `webapi-ims/examples/metrics_cost.rs`.
fn metrics_cost() -> Result<String> {
    let binary = build_example("metrics_cost")?;
    let program = binary.to_string_lossy().into_owned();
    let out = crate::benches::pinned(1, &program)
        .args([METRICS_ROUNDS, METRICS_PER_ROUND])
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (median, q1, q3) = metrics_ratio(&text)
        .ok_or_else(|| format!("no ratio line in {program}'s output:\n{text}"))?;
    let verdict = if median <= 1.03 { "within" } else { "over" };
    Ok(format!(
        "**Metrics, wall clock:** the same warm request through the layer with a Prometheus \
         recorder (its counters real) and without one, timed in {METRICS_ROUNDS} interleaved \
         rounds of {METRICS_PER_ROUND} requests in one process pinned to one core: median \
         ratio of time per request, on over off, **{median:.3}** ({verdict} issue #18's 3 %); \
         quartiles {q1:.3} and {q3:.3} (each round's noise, not the metrics'). Reproduce: \
         `cargo run --release -p webapi-ims --features axum --example metrics_cost -- \
         {METRICS_ROUNDS} {METRICS_PER_ROUND}`.\n\n"
    ))
}

/// `metrics_cost`'s last line: `ratio <median> <q1> <q3>`.
fn metrics_ratio(text: &str) -> Option<(f64, f64, f64)> {
    let line = text.lines().rev().find_map(|l| l.strip_prefix("ratio "))?;
    let mut fields = line.split_whitespace().map(str::parse::<f64>);
    let (Some(Ok(median)), Some(Ok(q1)), Some(Ok(q3)), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    Some((median, q1, q3))
}

/// Instructions callgrind counted for `iterations` requests in `mode`.
fn callgrind_total(binary: &std::path::Path, mode: &str, iterations: u64) -> Result<u64> {
    let out = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            // Only the request loop: start-up draws on aws-lc's jitter
            // entropy, whose instruction count varies from run to run.
            "--toggle-collect=*warm_path_instructions::requests*",
        ])
        .arg(binary)
        .args([mode, &iterations.to_string()])
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("Collected : ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{text}"))
}

/// The criterion benches of ims-core, in quick mode.
/// The name `--only` knows the criterion benches by.
pub(crate) const CRITERION: &str = "criterion";

/// The criterion benches of ims-core and webapi-ims, in quick mode, into
/// their section of `BENCHMARKS.md`.
pub(crate) fn criterion() -> Result {
    let mut rows = String::new();
    for (package, args) in [
        ("ims-core", &[][..]),
        // Its library's own (empty) bench harness would refuse `--quick`.
        (
            "webapi-ims",
            &["--features", "axum", "--bench", "warm_path"][..],
        ),
    ] {
        let out = cargo()
            .args(["bench", "--locked", "-p", package])
            .args(args)
            .args(["--", "--quick"])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo bench -p {package} failed"));
        }
        criterion_rows(&String::from_utf8_lossy(&out.stdout), &mut rows);
    }
    report::write_section(
        CRITERION,
        &format!(
            "## Micro-benchmarks (criterion, `--quick`)\n\n\
             | bench | time per call [low, estimate, high] |\n|---|---|\n{rows}\n\
             Reproduce: `cargo bench -p ims-core -- --quick` and \
             `cargo bench -p webapi-ims --features axum --bench warm_path -- --quick`.\n"
        ),
    )
}

/// The table rows of criterion's report `text`, appended to `rows`.
fn criterion_rows(text: &str, rows: &mut String) {
    let mut previous = "";
    for line in text.lines() {
        if let Some((name, time)) = line.split_once("time:") {
            let name = if name.trim().is_empty() {
                previous.trim()
            } else {
                name.trim()
            };
            let _ = writeln!(rows, "| `{name}` | {} |", time.trim());
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
}

/// A benchmark that `--only` can name: its name and what runs it.
type Entry = (&'static str, fn() -> Result);

/// The benchmarks `--only` knows, in the order `cargo xtask bench` runs them.
pub(crate) const ALL: [Entry; 8] = [
    (WARM_PATH, warm_path),
    (benches::product_path::NAME, benches::product_path::run),
    (CRITERION, criterion),
    (benches::cold_path::NAME, benches::cold_path::run),
    (benches::verify_rate::NAME, benches::verify_rate::run),
    (benches::token_flight::NAME, benches::token_flight::run),
    (
        benches::hot_cache_memory::NAME,
        benches::hot_cache_memory::run,
    ),
    (benches::cli_token_get::NAME, benches::cli_token_get::run),
];

/// `cargo xtask bench --only NAME`.
pub(crate) fn only(name: Option<&str>) -> Result {
    let names: Vec<&str> = ALL.iter().map(|(name, _)| *name).collect();
    let Some(name) = name else {
        return Err(format!("--only needs a name: one of {}", names.join(", ")));
    };
    match ALL.iter().find(|(known, _)| *known == name) {
        Some((_, run)) => run(),
        None => Err(format!(
            "no benchmark {name:?}: one of {}",
            names.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_ratio_is_read_from_the_last_line() {
        let text = "round 0 1900.0 1910.0\nround 1 1800.0 1790.0\nratio 1.0040 0.9900 1.0100\n";
        assert_eq!(metrics_ratio(text), Some((1.004, 0.99, 1.01)));
    }

    #[test]
    fn a_malformed_ratio_line_is_none() {
        for text in [
            "",
            "ratio 1.0 0.9\n",
            "ratio 1.0 0.9 1.1 7\n",
            "ratio a b c\n",
        ] {
            assert_eq!(metrics_ratio(text), None, "{text:?}");
        }
    }
}
