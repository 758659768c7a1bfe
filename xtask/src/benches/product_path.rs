//! The product path: the release demo's own `GET /rest/V1/me` (a valid
//! token, warm) against the demo's own unauthenticated route (`GET /`, its
//! redirect to the admin), side by side in one run with wrk, as a ratio of
//! requests/s.
//!
//! The demo starts zero-config (its own IMS emulator, a fresh SQLite
//! database), the emulator mints a token for the member (an admin of the
//! demo), and both routes get the same requests, bearer token included,
//! through the same middleware (session layer, request log): the
//! difference is the layer and the handler.
//!
//! `PRODUCT_PATH_BEFORE=/path/to/an/older/ims-demo` measures that binary
//! too, first, in the same run: the before and after figures side by side.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::build_release;
use super::load::{CONNECTIONS, cpu_nanos, quartiles, wrk_url};
use crate::commands::{Result, target_dir};
use crate::reliability::{mint_token, start_demo};
use crate::report::{self, output};

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "product-path";
/// Rounds; each runs both routes back to back, alternating which goes first.
const ROUNDS: usize = 21;
/// Seconds per wrk run.
const SECONDS: u32 = 1;
/// The goal: `/rest/V1/me` keeps this share of the open route's requests/s.
const GOAL: f64 = 0.8;

/// Runs the benchmark (and the before binary's, if given) and writes its
/// section.
pub(crate) fn run() -> Result {
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: apt-get install wrk (or run .ci/run)".into());
    }
    let mut sections = String::new();
    if let Ok(before) = std::env::var("PRODUCT_PATH_BEFORE") {
        let measured = measure(Path::new(&before), "before")?;
        sections.push_str(&measured.markdown("Before", &before));
    }
    build_release("ims-demo", &["-p", "ims-demo"])?;
    let binary = target_dir().join("release/ims-demo");
    let after = measure(&binary, "after")?;
    let verdict = if after.median >= GOAL {
        "meets"
    } else {
        "misses"
    };
    let markdown = format!(
        "## Product path: the demo's `GET /rest/V1/me` vs its own open route\n\n\
         The release `ims-demo` (zero-config: its own IMS emulator, a fresh SQLite database)\n\
         serves `GET /rest/V1/me` with a valid IMS token (warm: the token validated once) and\n\
         its own unauthenticated route `GET /` (a redirect to the admin), both through the same\n\
         middleware and with the same requests, bearer token included.\n\
         `wrk -t1 -c{} -d{SECONDS}s`, {ROUNDS} rounds, each running both back to back and\n\
         alternating which goes first; the demo pinned to one core and wrk to the other\n\
         (`taskset`).\n\n\
         **Median ratio of requests/s, `/rest/V1/me` to `/`: {:.3}** ({verdict} the goal of \
         {GOAL}); quartiles {:.3} and {:.3}.\n\n{}{sections}\
         Reproduce: `cargo xtask bench --only product-path` (with \
         `PRODUCT_PATH_BEFORE=<older ims-demo>` to measure an older build in the same run).\n\n",
        CONNECTIONS,
        after.median,
        after.q1,
        after.q3,
        after.markdown("After (this tree)", &binary.to_string_lossy()),
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}

/// One binary's comparison.
struct Measured {
    rows: String,
    q1: f64,
    median: f64,
    q3: f64,
    open_median: f64,
    me_median: f64,
}

impl Measured {
    fn markdown(&self, label: &str, binary: &str) -> String {
        let name = Path::new(binary)
            .file_name()
            .map_or_else(|| binary.to_owned(), |n| n.to_string_lossy().into_owned());
        format!(
            "{label} (`{name}`): median ratio **{:.3}** (quartiles {:.3} and {:.3}); median \
             requests/s `/` {:.0}, `/rest/V1/me` {:.0}.\n\n\
             <details><summary>{label}: every round</summary>\n\n\
             | round | requests/s `/` | requests/s `/rest/V1/me` | ratio | CPU µs/request `/` | CPU µs/request `/rest/V1/me` |\n\
             |---|---|---|---|---|---|\n{}\n</details>\n\n",
            self.median, self.q1, self.q3, self.open_median, self.me_median, self.rows
        )
    }
}

/// Starts `binary`, mints a token, warms both routes and runs the rounds.
fn measure(binary: &Path, label: &str) -> Result<Measured> {
    let dir: PathBuf = target_dir().join(format!("product-path-{label}"));
    let _ = std::fs::remove_dir_all(&dir);
    let demo = start_demo(binary, &dir)?;
    let pid = demo.child.id();
    // The demo on core 1 (all its threads), wrk on core 0.
    if output("taskset", &["--version"]).is_some() {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &pid.to_string()])
            .output();
    }
    let token = mint_token(&demo.emulator)?;
    let header = format!("Authorization: Bearer {token}");
    let open = format!("{}/", demo.base);
    let me = format!("{}/rest/V1/me", demo.base);
    wrk_url(&open, Some(&header), 2)?;
    wrk_url(&me, Some(&header), 2)?;
    let run = |url: &str| -> Result<(f64, f64)> {
        let before = cpu_nanos(pid)?;
        let out = wrk_url(url, Some(&header), SECONDS)?;
        let spent = cpu_nanos(pid)?.saturating_sub(before);
        #[allow(clippy::cast_precision_loss)]
        let cpu = spent as f64 / 1_000.0 / out.requests.max(1) as f64;
        Ok((out.requests_per_second, cpu))
    };
    let mut rows = String::new();
    let (mut ratios, mut opens, mut mes) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let (open_run, me_run) = if round % 2 == 1 {
            let o = run(&open)?;
            (o, run(&me)?)
        } else {
            let m = run(&me)?;
            (run(&open)?, m)
        };
        let ratio = me_run.0 / open_run.0;
        ratios.push(ratio);
        opens.push(open_run.0);
        mes.push(me_run.0);
        let _ = writeln!(
            rows,
            "| {round} | {:.0} | {:.0} | {ratio:.3} | {:.2} | {:.2} |",
            open_run.0, me_run.0, open_run.1, me_run.1
        );
    }
    drop(demo);
    let [q1, median, q3] = quartiles(&mut ratios);
    let [_, open_median, _] = quartiles(&mut opens);
    let [_, me_median, _] = quartiles(&mut mes);
    Ok(Measured {
        rows,
        q1,
        median,
        q3,
        open_median,
        me_median,
    })
}
