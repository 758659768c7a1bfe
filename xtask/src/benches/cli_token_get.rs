//! `ims token get` on a cached context against `ims --version`, timed with
//! hyperfine; the emulator checks that the timed runs made no IMS request.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{build_release, example};
use crate::commands::Result;
use crate::commands::target_dir;
use crate::report;

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "cli-token-get";
const WARMUP: u32 = 3;
const RUNS: u32 = 50;

/// Runs the benchmark and writes its section.
pub(crate) fn run() -> Result {
    if Command::new("hyperfine").arg("--version").output().is_err() {
        return Err(
            "hyperfine is not installed: apt-get install hyperfine (or run .ci/run)".into(),
        );
    }
    build_release("ims", &["-p", "ims-cli", "--bin", "ims"])?;
    build_release(
        "the token_get_target example",
        &["-p", "ims-cli", "--example", "token_get_target"],
    )?;
    let ims = target_dir().join("release/ims");
    let ims = ims.to_string_lossy().into_owned();
    if ims.contains(char::is_whitespace) {
        return Err(format!(
            "hyperfine runs without a shell: the path {ims:?} must have no spaces"
        ));
    }
    let mut stage = Command::new(example("token_get_target"))
        .arg(&ims)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the token_get_target example: {e}"))?;
    let stdout = stage.stdout.take().ok_or("no stdout from the stage")?;
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the stage: {e}"))?;
    let timed = serde_json::from_str::<Value>(&line)
        .map_err(|_| format!("unexpected output of the stage: {line:?}"))
        .and_then(|sandbox| hyperfine(&ims, &sandbox));
    // Closing stdin makes the stage print the IMS requests and stop.
    drop(stage.stdin.take());
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    let _ = stage.wait();
    let (version, token_get) = timed?;
    let stats: Value = rest
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no IMS counts from the stage: {rest:?}"))?;
    let ims_total = stats["ims_total"]
        .as_u64()
        .ok_or_else(|| format!("no ims_total in {stats}"))?;
    if ims_total != 0 {
        return Err(format!(
            "the timed `ims token get` runs made {ims_total} IMS requests ({}): the cached token was not used",
            stats["ims_requests"]
        ));
    }
    let difference = token_get.mean - version.mean;
    let markdown = format!(
        "## `ims token get` on a cached context vs `ims --version`\n\n\
         `hyperfine -N --warmup {WARMUP} --runs {RUNS}` of the release `ims`, in a sandbox home\n\
         whose server-to-server context holds a fresh token (from an in-process emulator,\n\
         `ims-cli/examples/token_get_target.rs`); `ims --version` is the process start.\n\
         The emulator counted **{ims_total} IMS requests** during the timed runs.\n\n\
         | command | mean [ms] | σ [ms] | min [ms] | max [ms] |\n|---|---|---|---|---|\n\
         {}\n{}\n\n\
         **`ims token get` costs {:.2} ms over process start** ({:.2} ms vs {:.2} ms, ratio {:.2}).\n\n\
         Reproduce: `cargo xtask bench --only {NAME}`.\n",
        version.row("ims --version"),
        token_get.row("ims token get"),
        difference * 1000.0,
        token_get.mean * 1000.0,
        version.mean * 1000.0,
        token_get.mean / version.mean,
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}

/// One command's hyperfine figures, in seconds.
struct Timing {
    mean: f64,
    stddev: f64,
    min: f64,
    max: f64,
}

impl Timing {
    fn row(&self, command: &str) -> String {
        format!(
            "| `{command}` | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.mean * 1000.0,
            self.stddev * 1000.0,
            self.min * 1000.0,
            self.max * 1000.0
        )
    }
}

/// Times `ims --version` and `ims token get` in the sandbox.
fn hyperfine(ims: &str, sandbox: &Value) -> Result<(Timing, Timing)> {
    let path = |field: &str| {
        sandbox[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {field} in the stage's line"))
    };
    let export = target_dir().join("bench-cli-token-get.json");
    let status = Command::new("hyperfine")
        .args(["-N", "--warmup", &WARMUP.to_string()])
        .args(["--runs", &RUNS.to_string()])
        .arg("--export-json")
        .arg(&export)
        .args([format!("{ims} --version"), format!("{ims} token get")])
        .current_dir(path("cwd")?)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", path("home")?)
        .env("XDG_CONFIG_HOME", path("xdg_config_home")?)
        .env("AIO_CONFIG_FILE", path("aio_config_file")?)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot run hyperfine: {e}"))?;
    if !status.success() {
        return Err(format!("hyperfine failed ({status})"));
    }
    let text = std::fs::read_to_string(&export)
        .map_err(|e| format!("cannot read {}: {e}", export.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("hyperfine's JSON: {e}"))?;
    let timing = |index: usize| -> Result<Timing> {
        let result = &json["results"][index];
        let field = |name: &str| {
            result[name]
                .as_f64()
                .ok_or_else(|| format!("no {name} in hyperfine's result {index}"))
        };
        Ok(Timing {
            mean: field("mean")?,
            stddev: field("stddev")?,
            min: field("min")?,
            max: field("max")?,
        })
    };
    Ok((timing(0)?, timing(1)?))
}
