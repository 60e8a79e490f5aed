//! `storecast train`, `backtest`, `forecast`, `report`, `explain` and `whatif`: the model's
//! jobs, with progress bars and their results printed (or one JSON document).

use crate::cli::{
    DataArgs, ExplainArgs, ForecastArgs, ModelArgs, OriginArgs, OutputArgs, ReportArgs, TrainArgs,
    WhatifArgs,
};
use crate::cmd::{load_strict, print_json};
use crate::render;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use storecast_data::FILE_TEST;
use storecast_pipeline::input::{self, OnPlan};

pub fn train(a: &TrainArgs) -> Result<ExitCode> {
    let chain = load_strict(&a.data)?;
    let mut bars = a.output.bars();
    let context = || format!("training the model into {}", a.out.display());
    // `--rank` comes only with `--distributed` (and the reverse): clap requires both.
    let trained = match a.rank {
        Some(rank) => {
            let cluster = storecast_cluster::Cluster::new(&a.machines, rank)?
                .with_timeout(std::time::Duration::from_secs(a.wait));
            let written =
                storecast_pipeline::train_distributed(&chain, &a.settings(), &cluster, &mut bars)
                    .with_context(context)?;
            let Some(trained) = written else {
                drop(bars);
                return other_rank(a.output.json, rank, cluster.size());
            };
            trained
        }
        None => {
            storecast_pipeline::train(&chain, &a.settings(), &mut bars).with_context(context)?
        }
    };
    drop(bars);
    let summary = trained.summary();
    if a.output.json {
        print_json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    render::backtest_table(&trained.backtest);
    render::coverage(&summary.coverage);
    if let Some(line) = &summary.explanations {
        println!("{line}");
    }
    for (step, s) in &summary.timings {
        println!("time {step:<16} {s:>7.1} s");
    }
    println!(
        "model {} trained on {} rows ({} .. {}), correction x{:.3}; saved to {} in {:.1} s total",
        summary.model_version,
        summary.train_rows,
        summary.train_start,
        summary.train_end,
        summary.correction,
        summary.saved_to.display(),
        summary.seconds
    );
    Ok(ExitCode::SUCCESS)
}

/// What a rank other than 0 says when the distributed training is done (rank 0 writes the
/// model and reports it).
fn other_rank(json: bool, rank: usize, machines: usize) -> Result<ExitCode> {
    if json {
        print_json(&serde_json::json!({
            "rank": rank,
            "machines": machines,
            "model_written_by_rank": 0,
        }))?;
    } else {
        println!("rank {rank} of {machines}: trained with the others; rank 0 writes the model");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn backtest(
    data: &DataArgs,
    out: &Path,
    args: &ModelArgs,
    origins: &OriginArgs,
    output: OutputArgs,
) -> Result<ExitCode> {
    let chain = load_strict(data)?;
    let mut cfg = args.backtest();
    cfg.horizon = usize::from(origins.horizon);
    if let Some(spec) = origins.spec() {
        let range = chain.history.date_range().context("the history is empty")?;
        cfg.origins = storecast_pipeline::origins::resolve(&spec, cfg.horizon, range)?;
        cfg.same_season = false;
    }
    let mut bars = output.bars();
    let run = storecast_pipeline::backtest(&chain, &cfg, out, &mut bars)?;
    drop(bars);
    if output.json {
        print_json(&run.summary())?;
        return Ok(ExitCode::SUCCESS);
    }
    render::backtest_table(&run.backtest);
    render::origin_table(&storecast_pipeline::backtest::origin_rows(&run.backtest));
    render::coverage(&run.coverage);
    for f in &run.files {
        eprintln!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn forecast(a: &ForecastArgs) -> Result<ExitCode> {
    let artifact = input::model(&a.model.path)?;
    let chain = load_strict(&a.data)?;
    let requests = match &a.input {
        Some(path) => storecast_data::ForecastRequests::load_file(path).with_context(|| {
            format!("reading the store-days to forecast from {}", path.display())
        })?,
        None => chain
            .requests
            .clone()
            .with_context(|| format!("no {FILE_TEST} in the data and no --input"))?,
    };
    let settings = storecast_pipeline::ForecastSettings {
        out: a.out.clone(),
        intervals: a.intervals,
    };
    let mut bars = a.output.bars();
    let export =
        storecast_pipeline::export_forecast(&chain, artifact, &requests, &settings, &mut bars)?;
    drop(bars);
    if a.output.json {
        print_json(&export)?;
        return Ok(ExitCode::SUCCESS);
    }
    if export.data_differs {
        eprintln!(
            "note: the data differs from the model's training data; features use the data given"
        );
    }
    println!(
        "forecast {} rows ({} closed → 0; {} blank Open treated as open) with model {} in {:.3} s; total {:.0} €; wrote {}",
        export.rows,
        export.closed,
        export.blank_open,
        export.model_version,
        export.seconds,
        export.total_sales,
        export.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn report(a: &ReportArgs) -> Result<ExitCode> {
    let artifact = input::model(&a.model.path)?;
    let chain = load_strict(&a.data)?;
    let mut bars = crate::progress::Bars::new(false);
    let files = storecast_pipeline::reports::report(&chain, &artifact, &a.settings(), &mut bars)?;
    drop(bars);
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The model of `model` on the data's forecast scenario (history + test.csv plan).
fn on_plan(data: &DataArgs, model: &Path) -> Result<OnPlan> {
    let artifact = input::model(model)?;
    Ok(OnPlan::new(load_strict(data)?, artifact)?)
}

pub fn explain(a: &ExplainArgs) -> Result<ExitCode> {
    let (store, date) = (a.store, a.date);
    let l = on_plan(&a.data, &a.model.path)?;
    let tl = &l.scenario.tl;
    let s = tl
        .store_index(store)
        .with_context(|| format!("store {store} is not in the forecast"))?;
    let d = tl
        .day_index(date)
        .filter(|d| *d >= l.scenario.origin)
        .with_context(|| format!("{date} is not in the forecast horizon"))?;
    let cell = [(s as u32, d as u32)];
    let ex = storecast_explain::explain(&l.forecaster, &l.scenario, &l.chain.stores, &cell)?;
    match ex.first() {
        None => println!("store {store} is planned closed on {date}: the forecast is 0 €"),
        Some(e) if a.json => print_json(e)?,
        Some(e) => print!(
            "{}",
            storecast_explain::render::explanation_text(e, store, date)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn whatif(a: &WhatifArgs) -> Result<ExitCode> {
    let l = on_plan(&a.data, &a.model.path)?;
    let t = std::time::Instant::now();
    let change = a.change();
    let (f, sc) = (&l.forecaster, &l.scenario);
    let w = storecast_explain::whatif(f, sc, &l.chain.stores, a.store, a.from, a.to, change)?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if a.json {
        print_json(&w)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = storecast_explain::render::whatif_text(&w, a.from, a.to, &change);
    print!("{text}");
    println!("(computed in {ms:.1} ms)");
    Ok(ExitCode::SUCCESS)
}
