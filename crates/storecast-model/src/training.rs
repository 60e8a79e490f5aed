//! The training pipeline: backtest (for the bias correction, intervals and honest metrics),
//! then the final fit on the whole history, sealed into a [`ModelArtifact`].

use crate::artifact::{CoverageRow, ModelArtifact, CODE_VERSION, FORMAT_VERSION};
use crate::backtest::{self, BacktestConfig, BacktestResult, Progress};
use crate::features::{self, FEATURE_DRIVERS, FEATURE_NAMES};
use crate::gbdt::{Gbdt, GbdtError};
use crate::intervals::{IntervalCalibration, ResidualBlocks, SumCell};
use crate::timeline::Timeline;
use sha2::{Digest, Sha256};
use std::time::Instant;
use storecast_data::{ChainData, StoreType};

/// A trained model with the evidence behind it.
#[derive(Debug)]
pub struct Trained {
    /// The sealed artifact.
    pub artifact: ModelArtifact,
    /// The backtest it was judged on.
    pub backtest: BacktestResult,
    /// Seconds per step.
    pub timings: Vec<(String, f64)>,
}

/// Honest interval coverage: calibrated on the folds before the last, measured on the last.
pub fn coverage_rows(bt: &BacktestResult) -> Vec<CoverageRow> {
    let last = bt.last_fold();
    let cal = if last > 1 {
        IntervalCalibration::fit(bt.predictions.iter().filter(|p| p.fold < last))
    } else {
        IntervalCalibration::fit(&bt.predictions)
    };
    let mut rows = Vec::new();
    let mut push = |scope: String, keep: &dyn Fn(&backtest::Prediction) -> bool| {
        let (c80, c95, n) =
            cal.coverage(bt.predictions.iter().filter(|p| p.fold == last && keep(p)));
        if n > 0 {
            rows.push(CoverageRow {
                scope,
                cover80: c80,
                cover95: c95,
                n,
            });
        }
    };
    push(
        format!(
            "last fold ({})",
            bt.folds
                .last()
                .map_or(String::new(), |f| format!("{}..{}", f.origin, f.end))
        ),
        &|_| true,
    );
    for t in StoreType::ALL {
        push(format!("store type {t}"), &|p| p.store_type == t);
    }
    for w in 1..=6u16 {
        push(format!("horizon week {w}"), &|p| p.horizon_week() == w);
    }
    // Sums: each store's week and the chain's day, simulated from residual blocks of the
    // earlier folds, checked against the last fold's actual totals.
    let earlier: Vec<&backtest::Prediction> = bt
        .predictions
        .iter()
        .filter(|p| last == 1 || p.fold < last)
        .collect();
    let blocks = ResidualBlocks::fit(&earlier, cal.volatility_cuts);
    let mut groups: std::collections::BTreeMap<(u8, u16, u16), Vec<&backtest::Prediction>> =
        Default::default();
    for p in bt.predictions.iter().filter(|p| p.fold == last) {
        groups
            .entry((0, p.store, p.horizon_week()))
            .or_default()
            .push(p);
        groups.entry((1, 0, p.horizon_day)).or_default().push(p);
    }
    let mut tally = [(0usize, 0usize, 0usize); 2];
    for ((kind, _, _), ps) in &groups {
        let cells: Vec<SumCell> = ps
            .iter()
            .map(|p| SumCell {
                store: p.store,
                date: p.date,
                forecast: p.model,
                volatility: p.volatility,
            })
            .collect();
        let iv = blocks.sum_interval(&cells, 300, 7);
        let actual: f64 = ps.iter().map(|p| p.actual).sum();
        let t = &mut tally[usize::from(*kind)];
        t.0 += usize::from(actual >= iv.lo80 && actual <= iv.hi80);
        t.1 += usize::from(actual >= iv.lo95 && actual <= iv.hi95);
        t.2 += 1;
    }
    for (i, scope) in [
        "store-week totals (simulated)",
        "chain daily totals (simulated)",
    ]
    .iter()
    .enumerate()
    {
        let (a, b, n) = tally[i];
        if n > 0 {
            rows.push(CoverageRow {
                scope: scope.to_string(),
                cover80: a as f64 / n as f64,
                cover95: b as f64 / n as f64,
                n,
            });
        }
    }
    rows
}

/// Backtests, calibrates, and fits the final model on all of `data`'s history.
pub fn train(
    data: &ChainData,
    cfg: &BacktestConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, GbdtError> {
    let mut timings = Vec::new();
    let t = Instant::now();
    let tl = Timeline::build(&data.history, None)
        .ok_or_else(|| GbdtError::Library("no sales history to train on".into()))?;
    let bt = backtest::run(&tl, &data.stores, cfg, progress)?;
    timings.push(("backtest".to_string(), t.elapsed().as_secs_f64()));
    let intervals = IntervalCalibration::fit(&bt.predictions);
    let all: Vec<&backtest::Prediction> = bt.predictions.iter().collect();
    let residuals = ResidualBlocks::fit(&all, intervals.volatility_cuts);
    let coverage = coverage_rows(&bt);

    let t = Instant::now();
    progress(Progress::Step("final features"));
    let origin = tl.days;
    let cells = crate::training_cells(&tl, origin);
    let frame = features::build(&tl, &data.stores, origin, &cells);
    let y = crate::log_targets(&tl, &frame);
    timings.push(("final features".to_string(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    progress(Progress::Step("final fit"));
    let model = Gbdt::fit(&frame.x, &y, FEATURE_NAMES, &cfg.params)?;
    timings.push(("final fit".to_string(), t.elapsed().as_secs_f64()));

    let text = model.model_text().to_string();
    let hash: String = Sha256::digest(text.as_bytes())
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect();
    let train_end = tl.date(tl.days - 1);
    let trained_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| chrono::DateTime::from_timestamp(d.as_secs() as i64, 0))
        .map_or_else(|| "unknown".to_string(), |t| t.to_rfc3339());
    let mut artifact = ModelArtifact {
        format_version: FORMAT_VERSION,
        model_version: format!("{train_end}-{hash}"),
        trained_at,
        code_version: CODE_VERSION.to_string(),
        data_fingerprint: data.fingerprint.clone(),
        data_origin: data.origin.clone(),
        train_start: tl.start,
        train_end,
        train_rows: frame.len(),
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        drivers: FEATURE_DRIVERS.to_vec(),
        params: cfg.params.clone(),
        scale: bt.scale,
        intervals,
        residuals,
        folds: bt.folds.clone(),
        scores: bt.scores.clone(),
        coverage,
        lightgbm_model: text,
        checksum: String::new(),
    };
    artifact.seal();
    Ok(Trained {
        artifact,
        backtest: bt,
        timings,
    })
}
