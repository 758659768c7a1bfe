//! # xtask
//!
//! The project's automation, run as `cargo xtask <command>` (the alias is in
//! `.cargo/config.toml`):
//!
//! - `test`: the whole test suite — the README's test command.
//! - `ci`: formatting, clippy with warnings denied (the fuzz targets are
//!   only compiled, not run), the packages, the tests, the API docs and the book, then
//!   `e2e`; what `.ci/run` calls.
//! - `docs`: `cargo doc` with warnings denied, the mdBook build, its link
//!   check and the build of the guides' examples.
//! - `bench`: the benchmarks, written to `BENCHMARKS.md` (needs `wrk`,
//!   `hyperfine`, `openssl` and `valgrind`); `bench --only NAME` runs one
//!   of them (`warm-path`, `criterion`, or one of `benches/`).
//! - `e2e`: the browser end-to-end test of `ims-demo` (headless Chromium).
//! - `reliability`: the soak of `ims-demo`'s REST endpoint (memory flat,
//!   zero errors) and the limits' measurements (sign-in starts, concurrent
//!   wrong passwords, slow connections), written to `BENCHMARKS.md` (needs
//!   `wrk`).
//! - `fleet [--backend postgres|mysql|both] [--short] [--record-before]`:
//!   three release `ims-demo` instances on one PostgreSQL schema / MySQL
//!   database, measured against issue #15's goals, written to
//!   `BENCHMARKS.md` (needs `psql` and `mysql`).
//! - `package`: `cargo package` of every library crate, each built from its
//!   packaged sources (part of `ci`, after clippy).
//! - `fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/`,
//!   N seconds each (default 600), into `BENCHMARKS.md` (needs cargo-fuzz).
//!
//! The tidy checks of the architecture invariants (see `ARCHITECTURE.md`) are
//! ordinary tests in this crate, so `cargo xtask test` runs them.
//!
//! This crate must never become a dependency of a library crate, nor grow
//! heavy dependencies: it builds before anything else can be checked.

mod bench;
mod benches;
mod ci;
mod commands;
mod docs;
mod e2e;
mod fleet;
mod fuzz;
mod package;
mod reliability;
mod report;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test    run the whole test suite (cargo test on every crate and doctest)
  ci      fmt --check, clippy -D warnings (fuzz targets too), package, test, doc -D warnings,
          mdbook build, e2e
  docs    cargo doc -D warnings, mdbook build, link check, guides' examples
  bench   benchmarks as ratios against side-by-side baselines, into BENCHMARKS.md
          (--only NAME: one of warm-path, criterion, cold-path, verify-rate, token-flight,
          hot-cache-memory, cli-token-get)
  e2e     drive ims-demo in headless Chromium (screenshots in target/e2e/)
  reliability [--soak-seconds N] [--no-soak]
          soak ims-demo's REST endpoint for N s (default 600): memory flat
          within 10 %, zero errors; then the limits: 100,000 anonymous sign-in
          starts, 64 concurrent wrong passwords, 450 trickling + 50 idle
          connections, each against its goal; written to BENCHMARKS.md
  fleet   [--backend postgres|mysql|both] [--short] [--record-before]
          3 release ims-demo instances on one fresh PostgreSQL schema / MySQL database
          (IMS_TEST_POSTGRES_URL / IMS_TEST_MYSQL_URL) and one ims-emulator: one new
          token's IMS calls, change propagation, shared sessions, kill -9 of a first
          sight's leader, service tokens; each against its goal, into BENCHMARKS.md
  package cargo package every library crate and build each from its package
  fuzz    [--seconds N] [TARGET...] run the fuzz targets N s each (default 600),
          fail on a crash, figures into BENCHMARKS.md (needs cargo-fuzz)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => commands::test(&args[1..]),
        Some("ci") => ci::run_ci(),
        Some("docs") => docs::run_docs(),
        Some("bench") => match args.get(1).map(String::as_str) {
            None => bench::bench(),
            Some("--only") => bench::only(args.get(2).map(String::as_str)),
            Some(other) => Err(format!(
                "unknown bench option {other:?}: `cargo xtask bench [--only NAME]`"
            )),
        },
        Some("e2e") => e2e::run_e2e(),
        Some("reliability") => reliability::reliability(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fleet") => fleet::fleet(&args[1..]),
        Some("package") => package::run_package(),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprint!("xtask: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
