//! # ims
//!
//! The `ims` command: service and personal Adobe IMS tokens, on the
//! configuration contexts the `aio` CLI already keeps.
//!
//! It must never print a token unless asked to (`ims token get`), nor write a
//! context file other than where `aio` would read it.
//!
//! The commands arrive with the ims-cli issue; this build has none yet and says
//! so instead of pretending.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "ims {}: this build has no commands yet (they arrive with the ims-cli issue)",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
