//! `storecast bench ...`: flags become the bench crate's settings; the benchmarks print.

use crate::cli::BenchCommand;
use crate::cmd::{load, load_strict};
use anyhow::{Context, Result};
use std::process::ExitCode;
use storecast_pipeline::input::{self, OnPlan};

/// Runs a benchmark.
pub fn run(what: BenchCommand) -> Result<ExitCode> {
    match what {
        BenchCommand::Load { data, iterations } => {
            storecast_bench::load(|| load(&data), iterations)?
        }
        BenchCommand::Analyze { data, iterations } => {
            storecast_bench::analyze(&load(&data)?, iterations)?
        }
        BenchCommand::Model {
            data,
            model,
            whatifs,
        } => {
            let artifact = input::model(&model.path)?;
            storecast_bench::model(&OnPlan::new(load_strict(&data)?, artifact)?, whatifs)?
        }
        BenchCommand::Demo { data, addr, limit } => {
            storecast_bench::demo(&storecast_bench::DemoBench {
                exe: std::env::current_exe().context("locating the storecast binary")?,
                data: data.data,
                addr,
                limit,
            })?
        }
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
            registry: None,
        })?,
        BenchCommand::Scale {
            sizes,
            seed,
            trees,
            folds,
            threads,
            out,
            addr,
            in_process,
        } => {
            storecast_bench::scale(&storecast_bench::ScaleBench {
                exe: std::env::current_exe().context("locating the storecast binary")?,
                sizes,
                seed,
                model: storecast_pipeline::train::ModelSettings {
                    folds,
                    trees,
                    threads,
                    ..Default::default()
                },
                out,
                addr,
                in_process,
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
