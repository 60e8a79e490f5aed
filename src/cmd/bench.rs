//! `storecast bench ...`: flags become the bench crate's settings; the benchmarks print.

use crate::cli::BenchCommand;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// Runs a benchmark.
pub fn run(what: BenchCommand) -> Result<ExitCode> {
    match what {
        BenchCommand::Load { data, iterations } => {
            storecast_bench::load(|| crate::input::load(&data), iterations)?
        }
        BenchCommand::Analyze { data, iterations } => {
            storecast_bench::analyze(&crate::input::load(&data)?, iterations)?
        }
        BenchCommand::Model {
            data,
            model,
            whatifs,
        } => storecast_bench::model(&crate::input::model_on_plan(&data, &model.path)?, whatifs)?,
        BenchCommand::Serve(a) => storecast_bench::serve(&storecast_bench::ServeBench {
            exe: std::env::current_exe().context("locating the storecast binary")?,
            model: a.model.path,
            data: a.data.data,
            seconds: a.seconds,
            connections: a.connections,
            max_requests: a.max_requests,
            only: a.only,
            addr: a.addr,
            explain_cache: a.explain_cache,
        })?,
    }
    Ok(ExitCode::SUCCESS)
}
