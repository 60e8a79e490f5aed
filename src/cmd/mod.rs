//! Dispatch: each subcommand's flags go to one function that calls a job and renders its
//! result; the command modules do not call each other.

mod app;
mod bench;
mod data;
mod model;
mod ops;

use crate::cli::{Cli, Command, DataArgs};
use anyhow::Result;
use std::process::ExitCode;
use storecast_data::{ChainData, LoadReport};
use storecast_pipeline::input::{self, Input};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate(a) => data::validate(&a),
        Command::Analyze { data, out } => data::analyze(&data, &out),
        Command::Synth(a) => data::synth(&a),
        Command::Train(a) => model::train(&a),
        Command::Backtest {
            data,
            out,
            model,
            origins,
            output,
        } => model::backtest(&data, &out, &model, &origins, output),
        Command::Report(a) => model::report(&a),
        Command::Forecast(a) => model::forecast(&a),
        Command::Explain(a) => model::explain(&a),
        Command::Whatif(a) => model::whatif(&a),
        Command::Serve { data, app } => app::serve(&data, &app),
        Command::Demo(a) => app::demo(&a),
        Command::Users { db, what } => ops::users(&db.path, what),
        Command::Audit { db, what } => ops::audit(&db.path, what),
        Command::Models { registry, db, what } => ops::models(&registry, &db.path, what),
        Command::Ingest(a) => ops::ingest(&a),
        Command::Monitor { ops: o, json, prom } => {
            ops::monitor(&o, json.as_deref(), prom.as_deref())
        }
        Command::Retrain {
            ops: o,
            model,
            output,
        } => ops::retrain(&o, &model, output),
        Command::Replay(a) => ops::replay(&a),
        Command::Ops(a) => ops::daemon(&a),
        Command::Bench { what } => bench::run(what),
    }
}

/// Loads the chain the flags point to, saying on stderr where it comes from (the synthetic
/// fallback included).
pub(crate) fn load(data: &DataArgs) -> Result<LoadReport> {
    let input = Input::locate(data.data.as_deref());
    eprintln!("{input}");
    Ok(input.load()?)
}

/// Loads the chain strictly: training and forecasting refuse rows that did not parse.
pub(crate) fn load_strict(data: &DataArgs) -> Result<ChainData> {
    Ok(input::strict(load(data)?)?)
}

/// Prints `value` as one JSON document on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Writes `bytes` to `path`, creating parent directories, with the path in any error.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    Ok(storecast_pipeline::reports::write(path, bytes)?)
}
