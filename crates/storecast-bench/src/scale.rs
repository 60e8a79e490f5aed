//! `storecast bench scale`: what storecast costs as the chain grows, measured on synthetic
//! chains of growing size (same history length, fixed seeds), step by step, with the fitted
//! growth exponent of each step.
//!
//! Why: a chain that forecasts all its stores (3,000+) or goes to store × product-group level
//! must know where one machine stops before it gets there. Every step a user runs is timed in
//! this process (load, validate, analyze, features, train, forecast, explain of one store),
//! with its own peak memory (the kernel's high-water mark is reset before each step), and the
//! server's start-up in a child process on a loopback port. The exponent `b` of
//! `seconds ∝ rows^b`, fitted by least squares on the log-log points, says which step grows
//! faster than the data. Benchmarks print numbers; they never fail on time.

use crate::serve::{start_up, ServeBench};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use storecast_charts::{Chart, Doc, Kind, Section, Series};
use storecast_data::ChainData;
use storecast_model::{features, training_cells, Forecaster, Scenario, Timeline};
use storecast_pipeline::progress::Silent;
use storecast_pipeline::train::{backtest_config, train, ModelSettings, TrainSettings};
use storecast_validate::{validate, ValidateConfig};

/// The chain sizes of the issue: the data's 1,115 stores, three times, ten times.
pub const DEFAULT_SIZES: [u16; 3] = [1_115, 3_345, 11_150];

/// What `bench scale` runs.
#[derive(Debug, Clone)]
pub struct ScaleBench {
    /// The `storecast` binary whose `serve` start-up is timed.
    pub exe: PathBuf,
    /// Stores of each synthetic chain.
    pub sizes: Vec<u16>,
    /// Seed of every chain (the same seed at every size).
    pub seed: u64,
    /// The model trained at every size (trees, folds, threads).
    pub model: ModelSettings,
    /// Where `scale.json` and `scale.html` go.
    pub out: PathBuf,
    /// Loopback address for the server.
    pub addr: String,
    /// Measure in this process (one size at a time). Otherwise each size runs in a child
    /// `storecast bench scale --in-process`, so no size inherits the memory of the one before
    /// (an allocator keeps freed pages) and each peak is its own.
    pub in_process: bool,
}

/// A step of the product, as a user runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Reading the three CSV files.
    Load,
    /// The quality rules.
    Validate,
    /// The statistical findings.
    Analyze,
    /// The feature matrix of the whole history.
    Features,
    /// `train`: backtest folds, intervals, final fit, explanation table, signed artifact.
    Train,
    /// The forecast of the six weeks after the history (scenario + features + predict).
    Forecast,
    /// The explanation of one store's six weeks.
    Explain,
    /// `serve` started on the model until its explanations are ready.
    ServeStartUp,
}

impl Step {
    /// Every step, in the order they run.
    pub const ALL: [Step; 8] = [
        Step::Load,
        Step::Validate,
        Step::Analyze,
        Step::Features,
        Step::Train,
        Step::Forecast,
        Step::Explain,
        Step::ServeStartUp,
    ];

    /// The step's name in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Step::Load => "load",
            Step::Validate => "validate",
            Step::Analyze => "analyze",
            Step::Features => "features",
            Step::Train => "train",
            Step::Forecast => "forecast",
            Step::Explain => "explain one store",
            Step::ServeStartUp => "serve start-up",
        }
    }
}

/// One step at one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepCost {
    /// Which step.
    pub step: Step,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak resident memory during the step, in MiB (of the process that ran it).
    pub peak_rss_mib: Option<f64>,
    /// Rows the step worked on.
    pub rows: usize,
    /// Rows per second.
    pub rows_per_s: f64,
}

/// Every step at one chain size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizeCosts {
    /// Stores in the chain.
    pub stores: u16,
    /// Rows of its history (train.csv).
    pub history_rows: usize,
    /// The steps.
    pub steps: Vec<StepCost>,
    /// The train job's own parts (backtest, intervals, final features, final fit), seconds.
    pub train_parts: Vec<(String, f64)>,
    /// How well the model trained at this size forecasts (a cost cut that hurt it shows).
    pub accuracy: Option<Accuracy>,
}

/// The accuracy of the model trained at one size.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Accuracy {
    /// RMSPE of its backtest, every fold pooled.
    pub backtest_rmspe: f64,
    /// RMSPE of its forecast of the six weeks after the history, against the synthetic
    /// chain's true sales (`test_truth.csv`), on days with sales.
    pub test_rmspe: f64,
    /// WAPE of that forecast.
    pub test_wape: f64,
    /// Store-days with sales it was scored on.
    pub test_days: usize,
}

/// The true sales of `dir`'s `test.csv` rows, by id (the synthetic chain's `test_truth.csv`).
fn true_sales(dir: &Path) -> Result<std::collections::HashMap<u32, f64>> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(rename = "Id")]
        id: u32,
        #[serde(rename = "Sales")]
        sales: f64,
    }
    let path = dir.join(storecast_synth::FILE_TEST_TRUTH);
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    reader
        .deserialize::<Row>()
        .map(|r| {
            let r = r.with_context(|| format!("reading {}", path.display()))?;
            Ok((r.id, r.sales))
        })
        .collect()
}

/// How a step grows: `seconds ∝ rows^exponent`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Growth {
    /// Which step.
    pub step: Step,
    /// Fitted exponent of time in rows (1 = linear).
    pub exponent: Option<f64>,
    /// Fitted exponent of peak memory in rows.
    pub memory_exponent: Option<f64>,
}

/// What `bench scale` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleReport {
    /// Seed of the chains.
    pub seed: u64,
    /// Boosting rounds trained.
    pub trees: u32,
    /// Backtest folds trained.
    pub folds: usize,
    /// Worker threads.
    pub threads: usize,
    /// One entry per chain size.
    pub sizes: Vec<SizeCosts>,
    /// Per step, the fitted growth exponents.
    pub growth: Vec<Growth>,
}

/// Resets this process's peak-memory mark (`VmHWM`) to its current size, so the next reading
/// is the peak of what runs in between. False where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs `f` as `step` on `rows` rows: its seconds and peak memory.
fn measure<T>(step: Step, rows: usize, f: impl FnOnce() -> Result<T>) -> Result<(T, StepCost)> {
    let reset = reset_peak();
    let t = Instant::now();
    let out = f().with_context(|| format!("bench scale: {}", step.label()))?;
    let seconds = t.elapsed().as_secs_f64();
    let cost = StepCost {
        step,
        seconds,
        peak_rss_mib: if reset { crate::peak_rss_mib() } else { None },
        rows,
        rows_per_s: rows as f64 / seconds.max(1e-9),
    };
    cost.print("");
    Ok((out, cost))
}

/// A peak in MiB as printed ("?" where the kernel gave none).
fn mib(peak: Option<f64>) -> String {
    peak.map_or("?".into(), |m| format!("{m:.0}"))
}

impl StepCost {
    /// The step's progress line on stderr, with `extra` after it.
    fn print(&self, extra: &str) {
        eprintln!(
            "  {:<18} {:>9.3} s  {:>8} MiB{extra}",
            self.step.label(),
            self.seconds,
            mib(self.peak_rss_mib)
        );
    }
}

/// Writes the synthetic chain of `stores` stores into `dir`.
fn write_chain(stores: u16, seed: u64, dir: &Path) -> Result<()> {
    let cfg = storecast_synth::SynthConfig {
        stores,
        seed,
        ..storecast_synth::SynthConfig::default()
    };
    let chain = storecast_synth::generate(&cfg).context("generating the synthetic chain")?;
    chain
        .write_to_dir(dir)
        .with_context(|| format!("writing the synthetic chain to {}", dir.display()))
}

/// The in-process steps on the chain in `dir`; returns the signed artifact's path.
fn run_steps(b: &ScaleBench, dir: &Path, costs: &mut SizeCosts) -> Result<PathBuf> {
    let (report, c) = measure(Step::Load, 0, || Ok(ChainData::load_dir(dir)?))?;
    let rows = report.data.history.len();
    costs.history_rows = rows;
    costs.steps.push(StepCost {
        rows,
        rows_per_s: rows as f64 / c.seconds.max(1e-9),
        ..c
    });
    let (validation, c) = measure(Step::Validate, rows, || {
        Ok(validate(&report, &ValidateConfig::default()))
    })?;
    costs.steps.push(c);
    let (_, c) = measure(Step::Analyze, rows, || {
        Ok(storecast_analysis::analyze(
            &report.data,
            Some(&validation),
            &storecast_analysis::AnalysisConfig::default(),
        ))
    })?;
    costs.steps.push(c);
    drop(validation);
    let chain = storecast_pipeline::input::strict(report)?;
    let (_, c) = measure(Step::Features, rows, || {
        let tl = Timeline::build(&chain.history, None).context("no history")?;
        let cells = training_cells(&tl, tl.days);
        Ok(features::build(&tl, &chain.stores, tl.days, &cells).len())
    })?;
    costs.steps.push(c);
    let settings = TrainSettings {
        backtest: backtest_config(&b.model),
        out: dir.join("model.json"),
        registry: dir.join("registry"),
        provisional: false,
    };
    let (trained, c) = measure(Step::Train, rows, || {
        Ok(train(&chain, &settings, &mut Silent)?)
    })?;
    costs.steps.push(c);
    costs.train_parts = trained.timings.clone();
    let forecaster = Forecaster::new(trained.artifact)?;
    let requests = chain.requests.as_ref().context("no test.csv")?;
    // The scenario is part of the forecast's cost; the explanation below reuses it.
    let ((scenario, forecasts), c) = measure(Step::Forecast, requests.len(), || {
        let sc = Scenario::new(&chain.history, requests)?;
        let forecasts = forecaster.forecast_requests(&sc, &chain.stores, requests)?;
        Ok((sc, forecasts))
    })?;
    costs.steps.push(c);
    let truth = true_sales(dir)?;
    let (actual, predicted): (Vec<f64>, Vec<f64>) = requests
        .rows
        .iter()
        .zip(&forecasts)
        .filter_map(|(r, f)| truth.get(&r.id).map(|&y| (y, f.sales)))
        .unzip();
    let test = storecast_model::metrics::Metrics::compute(&actual, &predicted);
    costs.accuracy = trained
        .backtest
        .score_of(
            storecast_model::ModelKind::Model,
            storecast_model::backtest::FoldScope::All,
        )
        .map(|b| Accuracy {
            backtest_rmspe: b.rmspe,
            test_rmspe: test.rmspe,
            test_wape: test.wape,
            test_days: test.n,
        });
    if let Some(a) = costs.accuracy {
        eprintln!(
            "  accuracy           backtest RMSPE {:.4}, next six weeks RMSPE {:.4} (WAPE {:.4})",
            a.backtest_rmspe, a.test_rmspe, a.test_wape
        );
    }
    let store = requests.rows.first().map_or(1, |r| r.store);
    let cells = scenario.store_cells(store);
    let explain = || {
        Ok(storecast_explain::explain(
            &forecaster,
            &scenario,
            &chain.stores,
            &cells,
        )?)
    };
    // The first call builds the model's TreeSHAP tables (once per model, whatever the
    // chain's size); the step is a user's call on a warm model.
    explain()?;
    let (_, c) = measure(Step::Explain, cells.len(), explain)?;
    costs.steps.push(c);
    Ok(settings.out)
}

/// The server's start-up on the artifact at `model`, as a step of its own process.
fn serve_step(b: &ScaleBench, dir: &Path, model: PathBuf, rows: usize) -> Result<StepCost> {
    let up = start_up(&ServeBench {
        exe: b.exe.clone(),
        model,
        data: Some(dir.to_path_buf()),
        registry: Some(dir.join("registry")),
        seconds: 0,
        connections: 0,
        max_requests: 0,
        only: Vec::new(),
        addr: b.addr.clone(),
        explain_cache: None,
    })?;
    let cost = StepCost {
        step: Step::ServeStartUp,
        seconds: up.ready,
        peak_rss_mib: up.peak_rss_mib,
        rows,
        rows_per_s: rows as f64 / up.ready.max(1e-9),
    };
    cost.print(&format!(" (listening after {:.2} s)", up.listening));
    Ok(cost)
}

/// Least-squares slope of `ln y` on `ln x` (`None` under two usable points).
pub fn log_log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The growth exponents of every step over the sizes measured.
pub fn growth(sizes: &[SizeCosts]) -> Vec<Growth> {
    Step::ALL
        .iter()
        .map(|&step| {
            let points = |value: &dyn Fn(&StepCost) -> Option<f64>| -> Vec<(f64, f64)> {
                sizes
                    .iter()
                    .filter_map(|s| {
                        let c = s.steps.iter().find(|c| c.step == step)?;
                        Some((s.history_rows as f64, value(c)?))
                    })
                    .collect()
            };
            Growth {
                step,
                exponent: log_log_slope(&points(&|c| Some(c.seconds))),
                memory_exponent: log_log_slope(&points(&|c| c.peak_rss_mib)),
            }
        })
        .collect()
}

/// Every step on the chain of `stores` stores, in this process.
fn one_size(b: &ScaleBench, stores: u16) -> Result<SizeCosts> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let t = Instant::now();
    write_chain(stores, b.seed, tmp.path())?;
    eprintln!(
        "bench scale: {stores} stores (chain written in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let mut costs = SizeCosts {
        stores,
        history_rows: 0,
        steps: Vec::new(),
        train_parts: Vec::new(),
        accuracy: None,
    };
    let model = run_steps(b, tmp.path(), &mut costs)?;
    costs
        .steps
        .push(serve_step(b, tmp.path(), model, costs.history_rows)?);
    Ok(costs)
}

/// Every step on the chain of `stores` stores, in a child process of its own.
fn child_size(b: &ScaleBench, stores: u16) -> Result<SizeCosts> {
    let out = b.out.join(format!("stores-{stores}"));
    let mut cmd = std::process::Command::new(&b.exe);
    cmd.args(["bench", "scale", "--in-process", "--sizes"])
        .arg(stores.to_string())
        .arg("--seed")
        .arg(b.seed.to_string())
        .arg("--folds")
        .arg(b.model.folds.to_string())
        .arg("--addr")
        .arg(&b.addr)
        .arg("--out")
        .arg(&out);
    if let Some(t) = b.model.trees {
        cmd.arg("--trees").arg(t.to_string());
    }
    if let Some(t) = b.model.threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    let status = cmd
        .stdout(std::process::Stdio::null())
        .status()
        .context("starting `storecast bench scale --in-process`")?;
    if !status.success() {
        bail!("bench scale of {stores} stores failed ({status})");
    }
    let path = out.join("scale.json");
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let report: ScaleReport =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", path.display()))?;
    report
        .sizes
        .into_iter()
        .next()
        .with_context(|| format!("{} has no size", path.display()))
}

/// `storecast bench scale`: every step at every size, a table, `scale.json` and `scale.html`.
pub fn scale(b: &ScaleBench) -> Result<ScaleReport> {
    if b.sizes.is_empty() {
        bail!("bench scale needs at least one chain size");
    }
    std::fs::create_dir_all(&b.out).with_context(|| format!("creating {}", b.out.display()))?;
    let cfg = backtest_config(&b.model);
    let mut sizes = Vec::new();
    for &stores in &b.sizes {
        sizes.push(if b.in_process {
            one_size(b, stores)?
        } else {
            child_size(b, stores)?
        });
    }
    let report = ScaleReport {
        seed: b.seed,
        trees: cfg.params.num_trees,
        folds: cfg.folds,
        threads: cfg.params.effective_threads(),
        growth: growth(&sizes),
        sizes,
    };
    print_table(&report);
    let json = b.out.join("scale.json");
    std::fs::write(&json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let html = b.out.join("scale.html");
    std::fs::write(&html, page(&report).to_html()?)
        .with_context(|| format!("writing {}", html.display()))?;
    println!("wrote {} and {}", json.display(), html.display());
    Ok(report)
}

fn exponent(e: Option<f64>) -> String {
    e.map_or("–".into(), |e| format!("{e:.2}"))
}

/// The table of seconds (and peak MiB) per step and size, with the exponents.
fn table(r: &ScaleReport) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers = vec!["step".to_string()];
    for s in &r.sizes {
        headers.push(format!("{} stores ({} rows)", s.stores, s.history_rows));
    }
    headers.push("exponent (time)".into());
    headers.push("exponent (memory)".into());
    let mut rows: Vec<Vec<String>> = r
        .growth
        .iter()
        .map(|g| {
            let mut row = vec![g.step.label().to_string()];
            for s in &r.sizes {
                row.push(
                    s.steps
                        .iter()
                        .find(|c| c.step == g.step)
                        .map_or("–".into(), |c| {
                            format!("{:.3} s, {} MiB", c.seconds, mib(c.peak_rss_mib))
                        }),
                );
            }
            row.push(exponent(g.exponent));
            row.push(exponent(g.memory_exponent));
            row
        })
        .collect();
    let accuracy = |name: &str, value: fn(&Accuracy) -> f64| {
        let mut row = vec![name.to_string()];
        for s in &r.sizes {
            row.push(
                s.accuracy
                    .as_ref()
                    .map_or("–".into(), |a| format!("{:.4}", value(a))),
            );
        }
        row.extend(["–".to_string(), "–".to_string()]);
        row
    };
    rows.push(accuracy("model: backtest RMSPE", |a| a.backtest_rmspe));
    rows.push(accuracy("model: next 6 weeks RMSPE", |a| a.test_rmspe));
    (headers, rows)
}

fn print_table(r: &ScaleReport) {
    println!(
        "bench scale: seed {}, {} trees, {} folds, {} threads",
        r.seed, r.trees, r.folds, r.threads
    );
    let (headers, rows) = table(r);
    println!("{}", headers.join(" | "));
    for row in rows {
        println!("{}", row.join(" | "));
    }
}

/// The self-contained page: the table and the log-log charts of time and memory.
pub fn page(r: &ScaleReport) -> Doc {
    let chart = |id: &str, title: &str, y: &str, value: &dyn Fn(&StepCost) -> Option<f64>| {
        let mut c = Chart::new(id, Kind::Scatter, title)
            .axes("stores", y)
            .log_axes();
        for step in Step::ALL {
            let points: Vec<(f64, f64)> = r
                .sizes
                .iter()
                .filter_map(|s| {
                    let cost = s.steps.iter().find(|c| c.step == step)?;
                    Some((f64::from(s.stores), value(cost)?))
                })
                .collect();
            c = c.series(Series::points(step.label(), points));
        }
        c
    };
    let (headers, rows) = table(r);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let section = Section::new("scale", "Cost by chain size")
        .para(format!(
            "Synthetic chains of the same history length (seed {}), each step timed alone on {} threads; \
             the model has {} trees and {} backtest folds. The exponent b of seconds ∝ rows^b is \
             fitted on the log-log points: 1 grows like the data, above 1 faster.",
            r.seed, r.threads, r.trees, r.folds
        ))
        .table(&headers, rows)
        .chart(chart("scale-seconds", "Seconds by chain size", "seconds", &|c| {
            Some(c.seconds)
        }))
        .chart(chart(
            "scale-memory",
            "Peak memory by chain size",
            "MiB",
            &|c| c.peak_rss_mib,
        ));
    Doc {
        title: "storecast: cost by chain size".into(),
        subtitle: format!(
            "bench scale, {} sizes",
            r.sizes
                .iter()
                .map(|s| s.stores.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        sections: vec![section],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_power_law_is_its_exponent() {
        // y = 3 · x^1.5 at three sizes: slope 1.5 exactly.
        let pts: Vec<(f64, f64)> = [1_000.0f64, 3_000.0, 10_000.0]
            .iter()
            .map(|&x| (x, 3.0 * x.powf(1.5)))
            .collect();
        let b = log_log_slope(&pts).expect("three points");
        assert!((b - 1.5).abs() < 1e-12, "{b}");
        // Hand-computed: (1, 2) and (e, 2e) lie on y = 2x, slope 1.
        let b = log_log_slope(&[(1.0, 2.0), (std::f64::consts::E, 2.0 * std::f64::consts::E)]);
        assert!((b.expect("two points") - 1.0).abs() < 1e-12);
        assert_eq!(log_log_slope(&[(5.0, 1.0)]), None);
        assert_eq!(log_log_slope(&[(5.0, 1.0), (5.0, 2.0)]), None);
        assert_eq!(log_log_slope(&[(5.0, 0.0), (6.0, 2.0)]), None);
    }

    #[test]
    fn growth_reads_each_step_over_the_sizes() {
        let size = |stores: u16, rows: usize, secs: f64| SizeCosts {
            stores,
            history_rows: rows,
            steps: vec![StepCost {
                step: Step::Train,
                seconds: secs,
                peak_rss_mib: Some(rows as f64 / 1000.0),
                rows,
                rows_per_s: rows as f64 / secs,
            }],
            train_parts: Vec::new(),
            accuracy: None,
        };
        // Time quadruples when rows double: exponent 2; memory linear.
        let g = growth(&[size(10, 1_000, 1.0), size(20, 2_000, 4.0)]);
        let train = g.iter().find(|g| g.step == Step::Train).expect("train");
        assert!((train.exponent.expect("fitted") - 2.0).abs() < 1e-12);
        assert!((train.memory_exponent.expect("fitted") - 1.0).abs() < 1e-12);
        let load = g.iter().find(|g| g.step == Step::Load).expect("load");
        assert_eq!(load.exponent, None, "a step not measured has no exponent");
    }
}
