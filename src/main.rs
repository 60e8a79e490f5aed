//! `storecast`: the command-line entry point. It only parses flags and dispatches; every piece
//! of logic lives in the library crates (data → validate → analysis → model → app).

mod cli;
mod cmd;
mod progress;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STORECAST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cmd::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Input that cannot be read at all gets its own exit code (2).
            if err.chain().any(|e| e.is::<storecast_data::LoadError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
