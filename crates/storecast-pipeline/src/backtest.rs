//! The backtest job: rolling-origin folds of the model and the baselines, the held-out
//! interval coverage, and the files a reviewer reads (methodology report, every prediction).

use crate::error::PipelineError;
use crate::progress::{steps, training_events, Progress};
use crate::train::{score_rows, ScoreRow};
use serde::Serialize;
use std::path::{Path, PathBuf};
use storecast_data::ChainData;
use storecast_model::artifact::CoverageRow;
use storecast_model::backtest::{self, BacktestConfig, BacktestResult};
use storecast_model::ModelKind;
use storecast_model::{training, Timeline};

/// What the backtest job made.
#[derive(Debug)]
pub struct BacktestRun {
    /// The backtest.
    pub backtest: BacktestResult,
    /// Held-out interval coverage.
    pub coverage: Vec<CoverageRow>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// The figures of a backtest, for people and scripts alike.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestSummary {
    /// Every model's score on every scope.
    pub scores: Vec<ScoreRow>,
    /// Held-out interval coverage.
    pub coverage: Vec<CoverageRow>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// By origin and pooled: RMSPE, WAPE and MASE of the model and each baseline, with each
    /// origin's cost (chosen origins only).
    pub origins: Vec<OriginRow>,
}

/// One forecast's scores at one origin (or pooled), with the origin's cost.
#[derive(Debug, Clone, Serialize)]
pub struct OriginRow {
    /// The origin (None: every origin pooled).
    pub origin: Option<chrono::NaiveDate>,
    /// Its scores.
    #[serde(flatten)]
    pub score: storecast_model::origins::OriginScore,
    /// Seconds the origin took (pooled: their sum).
    pub seconds: f64,
    /// Scored stores without a row in the four weeks before the origin (pooled: their sum).
    pub no_recent_stores: usize,
}

/// The origin table of a backtest at chosen origins (empty for rolling folds).
pub fn origin_rows(bt: &BacktestResult) -> Vec<OriginRow> {
    if !bt
        .folds
        .iter()
        .any(|f| f.kind == backtest::FoldKind::Chosen)
    {
        return Vec::new();
    }
    storecast_model::origins::origin_table(bt)
        .into_iter()
        .map(|score| {
            let fold = bt.folds.iter().find(|f| f.index == score.fold);
            OriginRow {
                origin: fold.map(|f| f.origin),
                seconds: fold
                    .map_or_else(|| bt.folds.iter().map(|f| f.seconds).sum(), |f| f.seconds),
                no_recent_stores: fold.map_or_else(
                    || bt.folds.iter().map(|f| f.no_recent_stores).sum(),
                    |f| f.no_recent_stores,
                ),
                score,
            }
        })
        .collect()
}

impl BacktestRun {
    /// The figures of this run.
    pub fn summary(&self) -> BacktestSummary {
        BacktestSummary {
            scores: score_rows(&self.backtest),
            coverage: self.coverage.clone(),
            files: self.files.clone(),
            origins: origin_rows(&self.backtest),
        }
    }
}

/// Backtests on `chain` and writes `backtest.json`, `predictions.csv` and the methodology
/// report (`methodology.md/.html`) into `out`.
pub fn backtest(
    chain: &ChainData,
    cfg: &BacktestConfig,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<BacktestRun, PipelineError> {
    let tl = Timeline::build(&chain.history, None)
        .ok_or_else(|| PipelineError::Input("the history is empty".into()))?;
    if !cfg.origins.is_empty() {
        let range = (tl.date(0), tl.date(tl.days - 1));
        let spec = crate::origins::OriginSpec::Dates(cfg.origins.clone());
        crate::origins::resolve(&spec, cfg.horizon, range)?;
    }
    let mut bt = {
        let mut events = training_events(progress);
        backtest::run(&tl, &chain.stores, cfg, &mut events)
            .map_err(|e| PipelineError::model("backtesting")(e.into()))?
    };
    progress.report(
        steps::BACKTEST,
        bt.folds.len() as u64,
        bt.folds.len() as u64,
    );
    bt.window = training::window_profile(chain);
    let coverage = training::coverage_rows(&bt);
    let json = serde_json::to_vec(&bt).map_err(|e| PipelineError::Input(e.to_string()))?;
    let mut files = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), PipelineError> {
        let path = out.join(name);
        crate::reports::write(&path, bytes)?;
        files.push(path);
        Ok(())
    };
    put("backtest.json", &json)?;
    put("predictions.csv", &predictions_csv(&bt)?)?;
    let doc = storecast_reports::methodology(&bt, &coverage, &chain.origin, None);
    put("methodology.md", doc.to_markdown().as_bytes())?;
    put("methodology.html", doc.to_html()?.as_bytes())?;
    Ok(BacktestRun {
        backtest: bt,
        coverage,
        files,
    })
}

/// Every backtest prediction of every model, one row per store-day and fold.
fn predictions_csv(bt: &BacktestResult) -> Result<Vec<u8>, PipelineError> {
    let csv_err = |e: csv::Error| PipelineError::Input(format!("writing predictions.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = ["fold", "store", "date", "horizon_day", "actual"]
        .into_iter()
        .chain(ModelKind::ALL.iter().map(|k| k.column()));
    w.write_record(header).map_err(csv_err)?;
    for p in &bt.predictions {
        let known = [
            p.fold.to_string(),
            p.store.to_string(),
            p.date.to_string(),
            p.horizon_day.to_string(),
            format!("{:.0}", p.actual),
        ];
        let forecasts = ModelKind::ALL
            .iter()
            .map(|k| format!("{:.2}", p.forecast(*k)));
        w.write_record(known.into_iter().chain(forecasts))
            .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| PipelineError::Input(format!("writing predictions.csv: {e}")))
}
