//! `ims-demo`: the reference host application. Everything it does is in the
//! library (`src/lib.rs`); where each crate is wired in is `src/wiring.rs`.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = ims_demo::cli::Cli::parse();
    ims_demo::run(cli).await
}
