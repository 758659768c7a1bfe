//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets
//! of `fuzz/` for N seconds each (default 600), fails on the first crash
//! (naming the artifact), and writes libFuzzer's final figures to the
//! `fuzz` section of `BENCHMARKS.md`.
//!
//! Each target is built in release mode with debug assertions (overflow
//! checks) and AddressSanitizer, cargo-fuzz's default, under `nice -n 19`
//! and `RUSTC_BOOTSTRAP=1` (cargo-fuzz needs nightly flags; the toolchain is
//! stable). The seeds of `fuzz/corpus-seed/<target>/` are copied into a
//! working corpus, `<target dir>/fuzz/corpus/<target>/`, which persists
//! between runs; crash inputs land in `fuzz/artifacts/<target>/`. Neither is
//! committed.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::commands::{Result, cargo, run, target_dir, workspace_root};
use crate::report::{self, output};

/// The targets, in the order they run.
pub(crate) const TARGETS: [&str; 4] = [
    "token_decode",
    "authorization_header",
    "context_file",
    "callback_query",
];

/// Seconds per target unless `--seconds` says otherwise.
const DEFAULT_SECONDS: u64 = 600;

/// Seconds one input may take before libFuzzer reports a hang (its default,
/// 1200, is longer than a whole run).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// cargo-fuzz's build options, the same for the build and every run (a
/// difference would rebuild).
const BUILD_FLAGS: [&str; 2] = ["--release", "--debug-assertions"];

/// What to run.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    seconds: u64,
    targets: Vec<String>,
}

/// libFuzzer's figures at the end of a run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stats {
    /// Inputs executed.
    execs: u64,
    /// Average executions per second.
    execs_per_sec: u64,
    /// Code edges covered (`cov:`).
    cov: u64,
    /// Coverage features (`ft:`).
    features: u64,
    /// Inputs in the corpus at the end (`corp:`).
    corpus: u64,
    /// Seconds the run took, as libFuzzer counts them.
    seconds: u64,
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub(crate) fn fuzz(args: &[String]) -> Result {
    let options = parse_args(args)?;
    let version = cargo_fuzz_version()?;
    let root = workspace_root();
    let work = target_dir().join("fuzz");

    let build = fuzz_command("build", &work);
    run("cargo fuzz build (release, debug assertions, ASan)", build)?;

    let mut rows = Vec::new();
    for target in &options.targets {
        let corpus = work.join("corpus").join(target);
        copy_seeds(&root.join("fuzz/corpus-seed").join(target), &corpus)?;
        let stats = run_target(target, options.seconds, &work, &corpus)?;
        eprintln!(
            "xtask fuzz: {target}: no crash in {} s, {} execs, cov {}",
            stats.seconds, stats.execs, stats.cov
        );
        rows.push((target.as_str(), stats));
    }

    let date = output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default();
    let command = command_line(&options);
    let markdown = markdown(
        date.trim(),
        &command,
        options.seconds,
        version.trim(),
        &rows,
    );
    eprintln!("{markdown}");
    report::write_section("fuzz", &markdown)
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let seconds = match arg.as_str() {
            "--seconds" => Some(args.next().ok_or("--seconds needs a number")?.as_str()),
            other => other.strip_prefix("--seconds="),
        };
        if let Some(seconds) = seconds {
            options.seconds = seconds
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("--seconds: {seconds:?} is not a positive number"))?;
        } else if TARGETS.contains(&arg.as_str()) {
            if !options.targets.contains(arg) {
                options.targets.push(arg.clone());
            }
        } else {
            return Err(format!(
                "unknown fuzz target or option {arg:?}; the targets are {}",
                TARGETS.join(", ")
            ));
        }
    }
    if options.targets.is_empty() {
        options.targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok(options)
}

/// `cargo fuzz --version`, or how to install it.
fn cargo_fuzz_version() -> Result<String> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .ok()
        .filter(|out| out.status.success());
    match installed {
        Some(out) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        None => Err("cargo-fuzz is not installed: run `cargo install --locked cargo-fuzz`".into()),
    }
}

/// `nice -n 19 cargo fuzz <subcommand>` from the workspace root, with the
/// build options, the build in `work` and the nightly flags allowed.
fn fuzz_command(subcommand: &str, work: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new("nice");
    command
        .args(["-n", "19"])
        .arg(cargo)
        .args(["fuzz", subcommand])
        .args(BUILD_FLAGS)
        .arg("--target-dir")
        .arg(work)
        .current_dir(workspace_root())
        .env("RUSTC_BOOTSTRAP", "1");
    command
}

/// Copies the committed seeds into the working corpus (kept between runs).
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result {
    std::fs::create_dir_all(corpus)
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    let entries = std::fs::read_dir(seeds)
        .map_err(|e| format!("cannot read the seeds in {}: {e}", seeds.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", seeds.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let to = corpus.join(entry.file_name());
            std::fs::copy(entry.path(), &to)
                .map_err(|e| format!("cannot copy a seed to {}: {e}", to.display()))?;
        }
    }
    Ok(())
}

/// Runs one target; its figures, or the crash.
fn run_target(target: &str, seconds: u64, work: &Path, corpus: &Path) -> Result<Stats> {
    let mut command = fuzz_command("run", work);
    command
        .arg(target)
        .arg(corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        // An input that takes this long is a hang: a failure, not a wait.
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    eprintln!("==> cargo fuzz run {target} ({seconds} s)");
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start cargo fuzz run {target}: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr from cargo fuzz run")?;
    // libFuzzer reports on stderr: echo it and keep it.
    let mut log = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.map_err(|e| format!("cannot read cargo fuzz's output: {e}"))?;
        eprintln!("{line}");
        log.push(line);
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    if !status.success() {
        let artifact = crash_artifact(&log).map_or_else(
            || "no artifact named in the output".to_owned(),
            |path| {
                workspace_root()
                    .join("fuzz")
                    .join(path)
                    .display()
                    .to_string()
            },
        );
        return Err(format!(
            "fuzz target {target} crashed ({status}); input: {artifact}\n\
             reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run {} {target} <input>",
            BUILD_FLAGS.join(" ")
        ));
    }
    parse_stats(&log)
        .ok_or_else(|| format!("no final statistics in libFuzzer's output for {target}"))
}

/// Where libFuzzer wrote the crashing input (`Test unit written to …`),
/// relative to `fuzz/` when it is relative.
fn crash_artifact(log: &[String]) -> Option<PathBuf> {
    log.iter()
        .rev()
        .find_map(|line| line.split("Test unit written to ").nth(1))
        .map(|path| PathBuf::from(path.trim()))
}

/// The final figures: `stat::…` lines of `-print_final_stats=1` and the last
/// status line (`#N DONE cov: … ft: … corp: …/…b … exec/s: …`).
fn parse_stats(log: &[String]) -> Option<Stats> {
    let stat = |name: &str| {
        log.iter()
            .rev()
            .find_map(|l| l.trim().strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    let status = log.iter().rev().find(|l| l.contains(" cov: "))?;
    let field = |name: &str| {
        let mut words = status.split_whitespace();
        words.find(|w| *w == name)?;
        let value = words.next()?;
        value.split('/').next()?.parse::<u64>().ok()
    };
    let seconds = log.iter().rev().find_map(|l| {
        // "Done 123 runs in 600 second(s)"
        let rest = l.trim().strip_prefix("Done ")?;
        let (_, after) = rest.split_once(" runs in ")?;
        after.split_whitespace().next()?.parse::<u64>().ok()
    });
    Some(Stats {
        execs: stat("stat::number_of_executed_units:")?,
        execs_per_sec: stat("stat::average_exec_per_sec:")?,
        cov: field("cov:")?,
        features: field("ft:")?,
        corpus: field("corp:")?,
        seconds: seconds.unwrap_or_default(),
    })
}

fn command_line(options: &Options) -> String {
    let mut command = format!("cargo xtask fuzz --seconds {}", options.seconds);
    if options.targets.len() < TARGETS.len() {
        for target in &options.targets {
            command.push(' ');
            command.push_str(target);
        }
    }
    command
}

fn markdown(
    date: &str,
    command: &str,
    seconds: u64,
    version: &str,
    rows: &[(&str, Stats)],
) -> String {
    let mut table = String::new();
    for (target, s) in rows {
        let _ = writeln!(
            table,
            "| `{target}` | {} | {} | {} | {} | {} | {} | no crash |",
            s.seconds, s.execs, s.execs_per_sec, s.cov, s.features, s.corpus
        );
    }
    format!(
        "## Fuzzing (cargo-fuzz, libFuzzer)\n\n\
         {date}: `{command}` ({seconds} s per target; {version}). Release build with debug\n\
         assertions and AddressSanitizer, under `nice -n 19` on a shared machine: execs/s are a\n\
         floor. The working corpus persists between runs; `corpus` is its size at the end.\n\n\
         | target | seconds | execs | execs/s | cov | ft | corpus | result |\n\
         |---|---|---|---|---|---|---|---|\n{table}\n\
         **No crash** in any target. Targets and invariants: `fuzz/fuzz_targets/`;\n\
         see the fuzzing chapter of the book.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_default_to_every_target_for_ten_minutes() {
        let options = parse_args(&[]).unwrap();
        assert_eq!(options.seconds, 600);
        assert_eq!(options.targets, args(&TARGETS));
        let options = parse_args(&args(&["--seconds", "5", "context_file"])).unwrap();
        assert_eq!(options.seconds, 5);
        assert_eq!(options.targets, args(&["context_file"]));
        assert_eq!(parse_args(&args(&["--seconds=7"])).unwrap().seconds, 7);
        assert!(parse_args(&args(&["--seconds"])).is_err());
        assert!(parse_args(&args(&["--seconds", "0"])).is_err());
        assert!(parse_args(&args(&["no_such_target"])).is_err());
    }

    #[test]
    fn reads_libfuzzer_final_figures() {
        let log = args(&[
            "#1048576\tpulse  cov: 10 ft: 20 corp: 3/9b lim: 4 exec/s: 1 rss: 1Mb",
            "#2000000\tDONE   cov: 1234 ft: 5678 corp: 345/12Kb lim: 4096 exec/s: 3333 rss: 512Mb",
            "Done 2000000 runs in 600 second(s)",
            "stat::number_of_executed_units: 2000000",
            "stat::average_exec_per_sec:     3333",
            "stat::new_units_added:          100",
        ]);
        assert_eq!(
            parse_stats(&log),
            Some(Stats {
                execs: 2_000_000,
                execs_per_sec: 3333,
                cov: 1234,
                features: 5678,
                corpus: 345,
                seconds: 600,
            })
        );
        assert_eq!(parse_stats(&args(&["nothing here"])), None);
    }

    #[test]
    fn finds_the_crash_artifact() {
        let log = args(&[
            "==1== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='/w/fuzz/artifacts/t/'; Test unit written to /w/fuzz/artifacts/t/crash-abc",
        ]);
        assert_eq!(
            crash_artifact(&log),
            Some(PathBuf::from("/w/fuzz/artifacts/t/crash-abc"))
        );
        assert_eq!(crash_artifact(&[]), None);
    }

    #[test]
    fn the_report_names_command_and_figures() {
        let text = markdown(
            "2026-01-01",
            "cargo xtask fuzz --seconds 600",
            600,
            "cargo-fuzz 0.13.2",
            &[(
                "token_decode",
                Stats {
                    execs: 5,
                    ..Stats::default()
                },
            )],
        );
        assert!(text.contains("`cargo xtask fuzz --seconds 600`"), "{text}");
        assert!(text.contains("| `token_decode` | 0 | 5 |"), "{text}");
        assert!(text.contains("no crash"), "{text}");
    }
}
