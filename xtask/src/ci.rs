//! `cargo xtask ci`: every check, in the order `.ci/run` expects. Above
//! `commands`, `docs` and `e2e`, whose steps it chains.

use std::time::Instant;

use crate::commands::{Result, cargo, run, target_dir};

/// `cargo xtask ci`.
pub(crate) fn run_ci() -> Result {
    let started = Instant::now();

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run("cargo fmt --check", fmt)?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]);
    run("cargo fmt --check (fuzz targets)", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy -D warnings", clippy)?;
    fuzz_targets_build()?;
    crate::package::run_package()?;

    crate::commands::test(&[])?;
    crate::docs::run_docs()?;
    crate::e2e::run_e2e()?;

    eprintln!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The fuzz targets (`fuzz/`, a workspace of its own) still compile and are
/// clippy-clean. No libFuzzer C++ build (`--no-default-features`) and no
/// cargo-fuzz needed; running them is `cargo xtask fuzz`. A target
/// directory of their own keeps the main build's fingerprints apart.
fn fuzz_targets_build() -> Result {
    let mut clippy = cargo();
    clippy
        .args([
            "clippy",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--bins",
            "--no-default-features",
            "--locked",
            "--target-dir",
        ])
        .arg(target_dir().join("fuzz-check"))
        .args(["--", "-D", "warnings"]);
    run("cargo clippy the fuzz targets (no libFuzzer)", clippy)
}
