//! `cargo xtask bench`: the benchmarks, each a ratio against a baseline run
//! side by side on this machine, written to `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use crate::commands::{Result, cargo};
use crate::report::{self, output};

/// Rounds of the load comparison; each runs both targets back to back,
/// alternating which goes first.
const ROUNDS: usize = 9;
/// Seconds per wrk run.
const SECONDS: u32 = 4;
/// Connections wrk keeps open.
const CONNECTIONS: u32 = 32;

/// Runs the benchmarks and writes their sections of `BENCHMARKS.md`.
pub(crate) fn bench() -> Result {
    report::write_section("machine", &report::machine())?;
    let mut load = webapi_load()?;
    load.push_str(&warm_path_instructions()?);
    eprintln!("{load}");
    report::write_section("warm-path", &load)?;
    let criterion = criterion()?;
    report::write_section("criterion", &criterion)?;
    // Issue #9's further benchmarks, each writing its own section.
    crate::benches::cold_path::run()?;
    crate::benches::verify_rate::run()?;
    crate::benches::token_flight::run()?;
    crate::benches::hot_cache_memory::run()?;
    crate::benches::cli_token_get::run()?;
    Ok(())
}

/// Requests/s of the same endpoint with and without the IMS layer.
fn webapi_load() -> Result<String> {
    // wrk exits non-zero on --version; only whether it starts matters.
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: apt-get install wrk (or run .ci/run)".into());
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "webapi-ims",
        "--features",
        "axum",
        "--example",
        "load_target",
    ]);
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err("building the load target failed".into());
    }
    let target_dir = crate::commands::target_dir();
    let binary = target_dir.join("release/examples/load_target");
    // The server on one core, wrk on the other (when taskset exists), so
    // that the two compete for neither.
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
        ["READY", plain, protected, token] => compare(plain, protected, token),
        _ => Err(format!("unexpected load target output: {line:?}")),
    };
    // Closing stdin stops the target.
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

fn compare(plain: &str, protected: &str, token: &str) -> Result<String> {
    let header = format!("Authorization: Bearer {token}");
    // Both get the same requests, Authorization header included (the bare
    // endpoint ignores it): the difference is the layer, not the bytes.
    // Warm up both (the first protected request validates the token at IMS).
    wrk(plain, Some(&header), 2)?;
    wrk(protected, Some(&header), 2)?;
    let mut rows = String::new();
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let (without, with) = if round % 2 == 1 {
            let without = wrk(plain, Some(&header), SECONDS)?;
            (without, wrk(protected, Some(&header), SECONDS)?)
        } else {
            let with = wrk(protected, Some(&header), SECONDS)?;
            (wrk(plain, Some(&header), SECONDS)?, with)
        };
        let ratio = with / without;
        ratios.push(ratio);
        let _ = writeln!(rows, "| {round} | {without:.0} | {with:.0} | {ratio:.3} |");
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let verdict = if median >= 0.9 { "meets" } else { "misses" };
    Ok(format!(
        "## Web API warm path: `webapi-ims` layer vs the bare endpoint\n\n\
         The same axum handler served twice by one process (`webapi-ims/examples/load_target.rs`:\n\
         the emulator as IMS, ims-core, ims-store on SQLite), once behind `ImsAuthLayer` with a\n\
         validated token, once without; both get the same requests, bearer token included. `wrk -t1 -c{CONNECTIONS} -d{SECONDS}s`, {ROUNDS} rounds alternating\n\
         which goes first; the server pinned to one core and wrk to the other (`taskset`).\n\n\
         | round | requests/s without | requests/s with | ratio |\n|---|---|---|---|\n{rows}\n\
         **Median ratio: {median:.3}** ({verdict} the target of 0.9).\n\n\
         Reproduce: `cargo xtask bench`.\n\n"
    ))
}

/// `program` pinned to `core` with taskset when it exists, else unpinned.
fn pinned(core: u32, program: &str) -> Command {
    if output("taskset", &["--version"]).is_some() {
        let mut command = Command::new("taskset");
        command.args(["-c", &core.to_string(), program]);
        command
    } else {
        Command::new(program)
    }
}

/// Runs wrk against `addr`'s `/rest/V1/me`; requests per second.
fn wrk(addr: &str, header: Option<&str>, seconds: u32) -> Result<f64> {
    let mut command = pinned(0, "wrk");
    command.args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s")]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    command.arg(format!("http://{addr}/rest/V1/me"));
    let out = command
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw error answers from {addr}:\n{text}"));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{text}"))
}

/// Instructions per warm request with and without the layer, counted by
/// callgrind (which machine noise cannot move), from
/// `webapi-ims/examples/warm_path_instructions.rs`.
fn warm_path_instructions() -> Result<String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Ok("Instruction counts skipped: valgrind is not installed.\n\n".into());
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "webapi-ims",
        "--features",
        "axum",
        "--example",
        "warm_path_instructions",
    ]);
    crate::commands::run("build warm_path_instructions", build)?;
    let target_dir = crate::commands::target_dir();
    let binary = target_dir.join("release/examples/warm_path_instructions");
    let (low, high) = (2_000u64, 6_000u64);
    let mut per_request = Vec::new();
    for mode in ["bare", "layer"] {
        let a = callgrind_total(&binary, mode, low)?;
        let b = callgrind_total(&binary, mode, high)?;
        per_request.push(b.saturating_sub(a) / (high - low));
    }
    let (bare, layer) = (per_request[0], per_request[1]);
    // Instructions are not time, but their ratio says what the layer adds
    // to a request without noise (valgrind hides SHA-NI, and runs AES-NI).
    #[allow(clippy::cast_precision_loss)]
    let ratio = bare as f64 / layer as f64;
    Ok(format!(
        "In-process, without the network, counted by callgrind (repeatable to the \
         instruction): one request through the axum router costs **{bare}** instructions \
         without the layer and **{layer}** with it (the same handler work), so the layer \
         adds {} instructions, {ratio:.2} of the bare count in-process. Over HTTP the \
         bare request also pays for hyper, sockets and system calls, so the ratio above \
         is higher.\n\nReproduce: `valgrind --tool=callgrind \
         target/release/examples/warm_path_instructions layer 6000` (see the example's \
         documentation).\n\n",
        layer.saturating_sub(bare)
    ))
}

/// Instructions callgrind counted for `iterations` requests in `mode`.
fn callgrind_total(binary: &std::path::Path, mode: &str, iterations: u64) -> Result<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
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
fn criterion() -> Result<String> {
    let out = cargo()
        .args(["bench", "--locked", "-p", "ims-core", "--", "--quick"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if !out.status.success() {
        return Err("cargo bench -p ims-core failed".into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = String::new();
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
    Ok(format!(
        "## ims-core micro-benchmarks (criterion, `--quick`)\n\n\
         | bench | time per call [low, estimate, high] |\n|---|---|\n{rows}\n\
         Reproduce: `cargo bench -p ims-core -- --quick`.\n"
    ))
}
