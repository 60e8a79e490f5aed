//! `storecast train`, `backtest` and `forecast`: the model's commands, with progress bars and
//! a printed backtest table.

use crate::cli::{DataArgs, ModelArgs, OutputArgs};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use storecast_data::{ChainData, FILE_TEST};
use storecast_model::backtest::{self, BacktestConfig, BacktestResult};
use storecast_model::{ModelArtifact, Timeline};

pub fn config(args: &ModelArgs) -> BacktestConfig {
    storecast_pipeline::backtest_config(&args.settings())
}

/// Loads the chain strictly: training refuses rows that did not parse.
pub fn load_strict(data: &DataArgs) -> Result<ChainData> {
    let report = crate::input::load(data)?;
    report
        .into_strict()
        .context("the data has rows that do not parse; run `storecast validate` for the full list")
}

pub fn train(
    data: &DataArgs,
    out: &Path,
    registry: &Path,
    args: &ModelArgs,
    provisional: bool,
    output: OutputArgs,
) -> Result<ExitCode> {
    let chain = load_strict(data)?;
    let backtest = if provisional {
        storecast_pipeline::provisional_config(args.threads)
    } else {
        config(args)
    };
    let settings = storecast_pipeline::TrainSettings {
        backtest,
        out: out.to_path_buf(),
        registry: registry.to_path_buf(),
        provisional,
    };
    let mut bars = crate::progress::Bars::new(output.quiet || output.json);
    let trained = storecast_pipeline::train(&chain, &settings, &mut bars)
        .with_context(|| format!("training the model into {}", out.display()))?;
    drop(bars);
    let summary = trained.summary();
    if output.json {
        crate::cmd::print_json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::render::backtest_table(&trained.backtest);
    crate::render::coverage(&summary.coverage);
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

pub fn backtest(
    data: &DataArgs,
    out: &Path,
    args: &ModelArgs,
    output: OutputArgs,
) -> Result<ExitCode> {
    let chain = load_strict(data)?;
    let mut bars = crate::progress::Bars::new(output.quiet || output.json);
    let run = storecast_pipeline::backtest(&chain, &config(args), out, &mut bars)?;
    drop(bars);
    if output.json {
        crate::cmd::print_json(&run.summary())?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::render::backtest_table(&run.backtest);
    crate::render::coverage(&run.coverage);
    for f in &run.files {
        eprintln!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn forecast(
    data: &DataArgs,
    model: &Path,
    input: Option<&Path>,
    out: &Path,
    intervals: bool,
    output: OutputArgs,
) -> Result<ExitCode> {
    let artifact = ModelArtifact::load(model).with_context(|| {
        format!(
            "loading the model (train one with `storecast train --out {}`)",
            model.display()
        )
    })?;
    let chain = load_strict(data)?;
    let requests = match input {
        Some(path) => storecast_data::ForecastRequests::load_file(path).with_context(|| {
            format!("reading the store-days to forecast from {}", path.display())
        })?,
        None => chain
            .requests
            .clone()
            .with_context(|| format!("no {FILE_TEST} in the data and no --input"))?,
    };
    let settings = storecast_pipeline::ForecastSettings {
        out: out.to_path_buf(),
        intervals,
    };
    let mut bars = crate::progress::Bars::new(output.quiet || output.json);
    let export =
        storecast_pipeline::export_forecast(&chain, artifact, &requests, &settings, &mut bars)?;
    drop(bars);
    if output.json {
        crate::cmd::print_json(&export)?;
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

pub fn report(
    data: &DataArgs,
    model: &Path,
    backtest_file: Option<&Path>,
    assumptions: Option<&Path>,
    out: &Path,
    pdf: bool,
) -> Result<ExitCode> {
    let artifact = ModelArtifact::load(model)
        .with_context(|| format!("loading the model {}", model.display()))?;
    let chain = load_strict(data)?;
    let bt: BacktestResult = match backtest_file {
        Some(p) => serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("{} is not a backtest.json", p.display()))?,
        None => {
            let tl = Timeline::build(&chain.history, None).context("the history is empty")?;
            let cfg = BacktestConfig {
                params: artifact.params.clone(),
                ..BacktestConfig::default()
            };
            let mut bars = crate::progress::Bars::new(false);
            let mut events = storecast_pipeline::progress::training_events(&mut bars);
            backtest::run(&tl, &chain.stores, &cfg, &mut events)?
        }
    };
    let a: storecast_reports::business::Assumptions = match assumptions {
        Some(p) => serde_json::from_slice(&std::fs::read(p)?)
            .with_context(|| format!("{} is not valid assumptions JSON", p.display()))?,
        None => Default::default(),
    };
    let (html, md) =
        storecast_pipeline::reports::business_report(&bt, &artifact, &a, &chain.origin, out, out)?;
    println!("wrote {} and {}", html.display(), md.display());
    if pdf {
        let pdf_path = out.join("report.pdf");
        let status = std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--print-to-pdf={}", pdf_path.display()))
            .arg(format!(
                "file://{}",
                std::fs::canonicalize(&html)?.display()
            ))
            .status()
            .context("running chromium to print the PDF (install chromium)")?;
        if !status.success() {
            anyhow::bail!("chromium could not print {}", pdf_path.display());
        }
        println!("wrote {}", pdf_path.display());
    }
    Ok(ExitCode::SUCCESS)
}
