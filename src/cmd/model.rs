//! `storecast train`, `backtest` and `forecast`: the model's commands, with progress bars and
//! a printed backtest table.

use crate::cli::{DataArgs, ModelArgs, OutputArgs};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;
use storecast_data::{ChainData, FILE_TEST};
use storecast_model::backtest::{self, BacktestConfig, BacktestResult, Progress};
use storecast_model::{training, ModelArtifact, Timeline};

pub fn config(args: &ModelArgs) -> BacktestConfig {
    storecast_pipeline::backtest_config(&args.settings())
}

/// A spinner that shows the backtest's progress events.
pub(crate) fn progress_bar() -> (ProgressBar, impl FnMut(Progress)) {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let b = bar.clone();
    let mut fold = String::new();
    let cb = move |p: Progress| match p {
        Progress::Fold { index, of, origin } => {
            fold = format!("fold {index}/{of} (origin {origin})");
            b.set_message(fold.clone());
        }
        Progress::Step(step) => b.set_message(format!("{fold} {step}")),
    };
    (bar, cb)
}

/// Loads the chain strictly: training refuses rows that did not parse.
pub fn load_strict(data: &DataArgs) -> Result<ChainData> {
    let report = crate::input::load(data)?;
    report
        .into_strict()
        .context("the data has rows that do not parse; run `storecast validate` for the full list")
}

/// Prints the models × folds table (each ensemble member too) and the folds.
pub fn print_table(bt: &BacktestResult) {
    println!(
        "\n{:<28} {:>5}  {:>7} {:>7} {:>7} {:>8} {:>8}",
        "model", "fold", "RMSPE", "MAPE", "WAPE", "bias", "n"
    );
    for r in storecast_pipeline::score_rows(bt) {
        let m = r.metrics;
        println!(
            "{:<28} {:>5}  {:>7.4} {:>7.4} {:>7.4} {:>+8.4} {:>8}",
            r.model, r.fold, m.rmspe, m.mape, m.wape, m.bias, m.n
        );
    }
    for f in &bt.folds {
        println!(
            "fold {} ({}): {} .. {}, {} training rows, {} scored store-days, promo {:.0}%, school holiday {:.0}%, holiday weeks {:.0}%, no last-year week {:.0}%",
            f.index,
            f.kind.label(),
            f.origin,
            f.end,
            f.train_rows,
            f.scored_rows,
            f.profile.promo * 100.0,
            f.profile.school_holiday * 100.0,
            f.profile.holiday_week * 100.0,
            f.profile.ly_gap * 100.0,
        );
    }
    if let Some(w) = &bt.window {
        println!(
            "forecast window: {} store-days, promo {:.0}%, school holiday {:.0}%, holiday weeks {:.0}%, no last-year week {:.0}%",
            w.n,
            w.promo * 100.0,
            w.school_holiday * 100.0,
            w.holiday_week * 100.0,
            w.ly_gap * 100.0
        );
    }
    if let Some(b) = &bt.ensemble.blend {
        let weights: Vec<String> = bt
            .ensemble
            .members
            .iter()
            .zip(&b.weights)
            .map(|(n, w)| format!("{n} {w:.1}"))
            .collect();
        println!(
            "ensemble weights (tuned on all folds): {}; correction per store type a/b/c/d: {}",
            weights.join(", "),
            b.type_scales
                .iter()
                .map(|s| format!("x{s:.3}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    if !bt.ensemble.correction_scores.is_empty() {
        let scores: Vec<String> = bt
            .ensemble
            .correction_scores
            .iter()
            .map(|(c, r)| format!("{} {r:.4}", c.label()))
            .collect();
        println!(
            "bias correction chosen on held-out folds: {} (pooled RMSPE: {})",
            bt.ensemble.correction.label(),
            scores.join(", ")
        );
    }
}

pub fn train(
    data: &DataArgs,
    out: &Path,
    registry: &Path,
    args: &ModelArgs,
    output: OutputArgs,
) -> Result<ExitCode> {
    let chain = load_strict(data)?;
    let settings = storecast_pipeline::TrainSettings {
        backtest: config(args),
        out: out.to_path_buf(),
        registry: registry.to_path_buf(),
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
    print_table(&trained.backtest);
    for c in &summary.coverage {
        println!(
            "interval coverage {:<34} 80%: {:.1}%  95%: {:.1}%  (n={})",
            c.scope,
            c.cover80 * 100.0,
            c.cover95 * 100.0,
            c.n
        );
    }
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

pub fn backtest(data: &DataArgs, out: &Path, args: &ModelArgs) -> Result<ExitCode> {
    let chain = load_strict(data)?;
    let cfg = config(args);
    let tl = Timeline::build(&chain.history, None).context("the history is empty")?;
    let (bar, mut cb) = progress_bar();
    let mut bt = backtest::run(&tl, &chain.stores, &cfg, &mut cb).context("backtesting")?;
    bt.window = training::window_profile(&chain);
    bar.finish_and_clear();
    print_table(&bt);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = serde_json::to_vec(&bt)?;
    crate::cmd::write_file(&out.join("backtest.json"), &json)?;
    write_predictions(&bt, &out.join("predictions.csv"))?;
    let coverage = training::coverage_rows(&bt);
    let doc = storecast_reports::methodology(&bt, &coverage, &chain.origin, None);
    crate::cmd::write_file(&out.join("methodology.md"), doc.to_markdown().as_bytes())?;
    crate::cmd::write_file(&out.join("methodology.html"), doc.to_html().as_bytes())?;
    eprintln!(
        "wrote {0}/methodology.html, methodology.md, backtest.json and predictions.csv",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn write_predictions(bt: &BacktestResult, path: &Path) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record([
        "fold",
        "store",
        "date",
        "horizon_day",
        "actual",
        "lightgbm",
        "lightgbm_raw",
        "median",
        "last_year",
        "ridge",
    ])?;
    for p in &bt.predictions {
        w.write_record([
            p.fold.to_string(),
            p.store.to_string(),
            p.date.to_string(),
            p.horizon_day.to_string(),
            format!("{:.0}", p.actual),
            format!("{:.2}", p.model),
            format!("{:.2}", p.model_raw),
            format!("{:.2}", p.median),
            format!("{:.2}", p.last_year),
            format!("{:.2}", p.ridge),
        ])?;
    }
    w.flush()?;
    Ok(())
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
            let (bar, mut cb) = progress_bar();
            let bt = backtest::run(&tl, &chain.stores, &cfg, &mut cb)?;
            bar.finish_and_clear();
            bt
        }
    };
    let a: storecast_reports::business::Assumptions = match assumptions {
        Some(p) => serde_json::from_slice(&std::fs::read(p)?)
            .with_context(|| format!("{} is not valid assumptions JSON", p.display()))?,
        None => Default::default(),
    };
    let doc = storecast_reports::business(
        &bt,
        &artifact.coverage,
        &a,
        &chain.origin,
        Some(&artifact.model_version),
    );
    let (html, md) = storecast_reports::business::write_report(&doc, out)?;
    crate::cmd::write_file(&out.join("business.body.html"), doc.body_html().as_bytes())?;
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
