//! One module per subcommand; `run` dispatches.

mod analyze;
mod bench;
mod explain;
mod model;
mod ops;
mod serve;
mod synth;
mod validate;

use crate::cli::{Cli, Command};
use anyhow::Result;
use std::process::ExitCode;

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate {
            data,
            json,
            html,
            examples,
        } => validate::run(&data, json.as_deref(), html.as_deref(), examples),
        Command::Analyze { data, out } => analyze::run(&data, &out),
        Command::Synth {
            stores,
            seed,
            out,
            no_quirks,
        } => synth::run(stores, seed, &out, !no_quirks),
        Command::Train {
            data,
            out,
            registry,
            model,
            provisional,
            output,
        } => model::train(&data, &out, &registry, &model, provisional, output),
        Command::Backtest {
            data,
            out,
            model,
            output,
        } => model::backtest(&data, &out, &model, output),
        Command::Report {
            data,
            model,
            backtest,
            assumptions,
            out,
            pdf,
        } => model::report(
            &data,
            &model.path,
            backtest.as_deref(),
            assumptions.as_deref(),
            &out,
            pdf,
        ),
        Command::Forecast {
            data,
            model,
            input,
            out,
            intervals,
            output,
        } => model::forecast(
            &data,
            &model.path,
            input.as_deref(),
            &out,
            intervals,
            output,
        ),
        Command::Explain {
            data,
            model,
            store,
            date,
            json,
        } => explain::explain(&data, &model.path, store, date, json),
        Command::Whatif {
            data,
            model,
            store,
            from,
            to,
            promo,
            open,
            school_holiday,
            state_holiday,
            json,
        } => {
            let state_holiday = state_holiday
                .map(|c| {
                    storecast_data::StateHoliday::from_code(&c).ok_or_else(|| {
                        anyhow::anyhow!("--state-holiday must be 0, a, b or c, not {c:?}")
                    })
                })
                .transpose()?;
            let change = storecast_explain::PlanChange {
                promo,
                open,
                state_holiday,
                school_holiday,
            };
            explain::whatif(&data, &model.path, store, from, to, change, json)
        }
        Command::Serve { data, app } => serve::serve(&data, &app),
        Command::Demo {
            data,
            out,
            addr,
            no_serve,
        } => serve::demo(&data, &out, &addr, no_serve),
        Command::Users { db, what } => ops::users(&db.path, what),
        Command::Audit { db, what } => ops::audit(&db.path, what),
        Command::Models { registry, db, what } => ops::models(&registry, &db, what),
        Command::Ingest {
            data,
            file,
            db,
            accept_implausible,
            correct,
            output,
        } => ops::ingest(
            &data,
            &file,
            &db.path,
            storecast_store::IngestOptions {
                accept_implausible,
                correct,
            },
            output,
        ),
        Command::Monitor { ops: o, json, prom } => {
            ops::monitor(&o, json.as_deref(), prom.as_deref())
        }
        Command::Retrain {
            ops: o,
            model,
            output,
        } => ops::retrain(&o, &model, output),
        Command::Bench { what } => bench::run(what),
    }
}

/// Prints `value` as one JSON document on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Writes `text` to `path`, creating parent directories, with the path in any error.
pub(crate) fn write_file(path: &std::path::Path, text: &[u8]) -> Result<()> {
    Ok(storecast_pipeline::reports::write(path, text)?)
}
