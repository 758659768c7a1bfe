//! `ims-emulator [--addr 127.0.0.1:9800] [--seed FILE] [--no-control] [--authority ims-na1]`
//!
//! Prints `ims-emulator listening on http://<addr>` as its first stdout line, then serves until
//! SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ims_emulator::{Emulator, Seed};

/// A faithful local Adobe IMS for tests and development. Never use it as a real identity provider.
#[derive(Debug, Parser)]
#[command(name = "ims-emulator", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9800", env = "IMS_EMULATOR_ADDR")]
    addr: SocketAddr,
    /// Seed JSON file (default: the built-in seed, see README).
    #[arg(long, env = "IMS_EMULATOR_SEED")]
    seed: Option<PathBuf>,
    /// Do not serve the /__emulator/ test-control API.
    #[arg(long)]
    no_control: bool,
    /// The `as` claim of issued tokens (e.g. ims-na1, ims-na1-stg1).
    #[arg(long, default_value = "ims-na1")]
    authority: String,
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => match Seed::from_json_file(path) {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("ims-emulator: {e}");
                return ExitCode::from(2);
            }
        },
        None => Seed::default_seed(),
    };
    let running = match Emulator::builder()
        .seed(seed)
        .authority(args.authority)
        .control(!args.no_control)
        .addr(args.addr)
        .start()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ims-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ims-emulator listening on http://{}", running.addr());
    shutdown_signal().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}
