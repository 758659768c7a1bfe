//! Single flight of `get_token`: 1000 concurrent callers on an expired
//! context token make one IMS call.

use super::{build_release, count, example, json_line, number};
use crate::commands::Result;
use crate::report;

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "token-flight";
/// Concurrent callers.
const CALLERS: u64 = 1000;

/// Runs the benchmark and writes its section.
pub(crate) fn run() -> Result {
    build_release(
        "the token_flight example",
        &["-p", "ims-core", "--example", "token_flight"],
    )?;
    let mut command = std::process::Command::new(example("token_flight"));
    command.arg(CALLERS.to_string());
    let out = json_line("the token_flight example", command)?;
    let ok = count(&out, "ok")?;
    let distinct = count(&out, "distinct_tokens")?;
    let token_requests = count(&out, "token_requests")?;
    let total = count(&out, "ims_total")?;
    let wall_ms = number(&out, "wall_ms")?;
    let met = ok == CALLERS && distinct == 1 && total == 1;
    let markdown = format!(
        "## Service tokens: {CALLERS} concurrent `get_token` calls on an expired token\n\n\
         {CALLERS} tasks call `ContextTokenProvider::get_token` at once (a barrier) for a\n\
         server-to-server context whose token in aio's files has expired; the emulator is\n\
         the IMS and counts the requests (`ims-core/examples/token_flight.rs`).\n\n\
         | | count |\n|---|---|\n\
         | callers that got a token | {ok} of {CALLERS} |\n\
         | distinct tokens handed out | {distinct} |\n\
         | IMS token requests (`/ims/token/v3`) | {token_requests} |\n\
         | IMS requests in all | {total} |\n\
         | wall time for all callers | {wall_ms:.1} ms |\n\n\
         **{} the target** (exactly one IMS call, every caller served).\n\n\
         Reproduce: `cargo xtask bench --only {NAME}`.\n",
        if met { "Meets" } else { "Misses" },
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}
