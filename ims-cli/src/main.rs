//! # ims
//!
//! The `ims` command: service and personal Adobe IMS tokens, on the
//! configuration contexts the `aio` CLI already keeps. Everything is in the
//! `ims_cli` library; see `ims --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ims_cli::run()
}
