//! # ims-demo
//!
//! The reference host application: an admin area with "Sign in with Adobe ID"
//! and a REST API that accepts IMS bearer tokens, wiring `ims-core`,
//! `admin-ims`, `webapi-ims`, `ims-store` and `ims-emulator` together in one
//! module an integrator can copy.
//!
//! It must never be the only place a behaviour lives: everything it shows is
//! done by a library crate, so integrators get it too.
//!
//! The application arrives with the ims-demo issue; this build says so instead
//! of pretending.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "ims-demo {}: the demo application is not built yet (it arrives with the ims-demo issue)",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
