//! `cargo xtask e2e`: builds `ims-demo` and the browser test (`e2e/`, the
//! `ims-e2e` binary), then runs the test, which starts the demo and drives
//! headless Chromium through it. Screenshots land in `<target dir>/e2e/`.
//!
//! The browser test is a separate crate so that xtask stays light.

use std::process::Command;

use crate::commands::{Result, cargo, run, target_dir, workspace_root};

/// `cargo xtask e2e`.
pub(crate) fn run_e2e() -> Result {
    if Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err(
            "chromedriver is not installed: apt-get install chromium chromium-driver (or .ci/run)"
                .into(),
        );
    }
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "ims-demo", "-p", "ims-e2e"]);
    run("cargo build -p ims-demo -p ims-e2e", build)?;
    let target = target_dir();
    let bin = target.join("debug");
    let mut test = Command::new(bin.join("ims-e2e"));
    test.arg("--demo")
        .arg(bin.join("ims-demo"))
        .arg("--out")
        .arg(target.join("e2e"))
        .current_dir(workspace_root());
    run("browser end-to-end test (ims-e2e)", test)
}
