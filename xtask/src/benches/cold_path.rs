//! The cold path under a burst: 1000 concurrent requests with one
//! never-seen token, counted at the emulator — on one instance, then spread
//! over a fleet of instances sharing one database.

use super::{build_release, count, example, json_line, number};
use crate::commands::Result;
use crate::report;

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "cold-path";
/// Concurrent requests in the burst.
const REQUESTS: u64 = 1000;
/// Instances of the host in the fleet burst.
const FLEET: u64 = 3;

/// Runs the benchmark and writes its section.
pub(crate) fn run() -> Result {
    build_release(
        "the cold_path example",
        &[
            "-p",
            "webapi-ims",
            "--features",
            "axum",
            "--example",
            "cold_path",
        ],
    )?;
    let mut command = std::process::Command::new(example("cold_path"));
    command.arg(REQUESTS.to_string());
    let out = json_line("the cold_path example", command)?;
    let mut command = std::process::Command::new(example("cold_path"));
    command.args([REQUESTS.to_string(), FLEET.to_string()]);
    let fleet = json_line("the cold_path example on a fleet", command)?;
    let fleet_ok = count(&fleet, "ok")?;
    let fleet_calls = [
        count(&fleet, "validations")?,
        count(&fleet, "profiles")?,
        count(&fleet, "memberships")?,
    ];
    let fleet_wall_ms = number(&fleet, "wall_ms")?;
    let ok = count(&out, "ok")?;
    let validations = count(&out, "validations")?;
    let profiles = count(&out, "profiles")?;
    let memberships = count(&out, "memberships")?;
    let total = count(&out, "ims_total")?;
    let wall_ms = number(&out, "wall_ms")?;
    let requests: Vec<String> = out["ims_requests"]
        .as_object()
        .map(|map| map.iter().map(|(k, v)| format!("`{k}`: {v}")).collect())
        .unwrap_or_default();
    let statuses: Vec<String> = out["statuses"]
        .as_object()
        .map(|map| map.iter().map(|(k, v)| format!("{k}: {v}")).collect())
        .unwrap_or_default();
    let met = ok == REQUESTS
        && validations == 1
        && profiles == 1
        && memberships == 1
        && fleet_ok == REQUESTS
        && fleet_calls == [1, 1, 1];
    let markdown = format!(
        "## Cold path: {REQUESTS} concurrent requests with one never-seen token\n\n\
         {REQUESTS} callers, each with its own connection opened beforehand, send the same new\n\
         token at once (a barrier) over loopback to an axum endpoint behind `ImsAuthLayer`,\n\
         over the real stack: the emulator as IMS, ims-core's client and `LocalVerifier`,\n\
         ims-store on SQLite (`webapi-ims/examples/cold_path.rs`). The server was warmed\n\
         with another token first (key set, settings), then the emulator's counters reset.\n\n\
         | | count |\n|---|---|\n\
         | requests answered 200 | {ok} of {REQUESTS} |\n\
         | IMS validations (`/ims/validate_token/v1`) | {validations} |\n\
         | IMS profile calls (`/ims/profile/v1`) | {profiles} |\n\
         | organization-membership checks (`…/membership`) | {memberships} |\n\
         | IMS requests in all | {total} |\n\
         | wall time to answer all | {wall_ms:.1} ms |\n\n\
         Statuses: {}. IMS requests: {}.\n\n\
         The same burst spread over {FLEET} instances of the host on one SQLite file (one pool\n\
         each, each on its own port, callers taking them in turn), which share each new token's\n\
         first sight through the store's first-sight lease:\n\n\
         | | count |\n|---|---|\n\
         | requests answered 200 | {fleet_ok} of {REQUESTS} |\n\
         | IMS validations / profile calls / membership checks | {} / {} / {} |\n\
         | wall time to answer all | {fleet_wall_ms:.1} ms |\n\n\
         **{} the target** (all answered 200, one validation, one profile call, one membership check,\n\
         on one instance and for the whole fleet).\n\n\
         Reproduce: `cargo xtask bench --only {NAME}`.\n",
        statuses.join(", "),
        if requests.is_empty() {
            "none".to_owned()
        } else {
            requests.join(", ")
        },
        fleet_calls[0],
        fleet_calls[1],
        fleet_calls[2],
        if met { "Meets" } else { "Misses" },
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}
