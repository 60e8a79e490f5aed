//! Backtests at chosen origins, scored the way forecasting benchmarks score.
//!
//! Why this module exists: model choices made on a few spring folds can hurt the rest of the
//! year, and the error is far from flat over the year (the weeks from December into January
//! are the hardest). A backtest at any origin (`storecast backtest --origins ...`) shows the
//! error by time of year; this module holds what that needs beyond the rolling folds: the
//! scale of MASE (each store's in-sample seasonal-naive error before the origin), the flag of
//! stores without recent history at an origin, and the table by origin of RMSPE (open days),
//! WAPE and MASE (every store-day, closed days included: a closed day's forecast is 0 from the
//! opening plan, so it adds no error, but it counts in MASE's mean) for the model and each
//! baseline.

use crate::backtest::{BacktestResult, Prediction};
use crate::kind::ModelKind;
use crate::metrics::Metrics;
use crate::timeline::Timeline;
use serde::Serialize;

/// Days before an origin whose absence flags a store as without recent history.
pub const RECENT_DAYS: usize = 28;
/// The share of worst store-days whose part of the squared error is reported.
pub const WORST_SHARE: f64 = 0.01;
/// Days before an origin over which the MASE scale is measured.
pub const SCALE_DAYS: usize = 364;
/// The seasonal-naive lag of the MASE scale (the same weekday a week earlier).
pub const SCALE_LAG: usize = 7;

/// Each store's MASE scale at `origin`: the mean absolute difference of its sales from the
/// same weekday a week earlier over the [`SCALE_DAYS`] before the origin (days with a row;
/// closed days count as 0). NaN for a store without such pairs.
pub fn mase_scales(tl: &Timeline, origin: usize) -> Vec<f64> {
    let from = origin.saturating_sub(SCALE_DAYS).max(SCALE_LAG);
    (0..tl.stores.len())
        .map(|s| {
            let (sum, n) = (from..origin.min(tl.days))
                .filter_map(|d| {
                    let now = tl.actual_sales(s, d)?;
                    let before = tl.actual_sales(s, d - SCALE_LAG)?;
                    Some(f64::from((now - before).abs()))
                })
                .fold((0.0, 0usize), |(a, n), x| (a + x, n + 1));
            if n == 0 {
                f64::NAN
            } else {
                sum / n as f64
            }
        })
        .collect()
}

/// Whether store `s` has no row in the [`RECENT_DAYS`] before `origin` (its forecast rests
/// on older history and chain-level patterns).
pub fn without_recent_history(tl: &Timeline, s: usize, origin: usize) -> bool {
    (origin.saturating_sub(RECENT_DAYS)..origin.min(tl.days))
        .all(|d| tl.actual_sales(s, d).is_none())
}

/// Store-days of the horizon with a row and no sales: the closed days, whose forecast is 0
/// from the opening plan, counted in MASE's mean with no error. The rare open day without
/// sales is counted with them, though the model forecast it (RMSPE cannot score it either).
pub fn closed_days(tl: &Timeline, origin: usize, horizon: usize) -> usize {
    (0..tl.stores.len())
        .map(|s| {
            (origin..(origin + horizon).min(tl.days))
                .filter(|&d| tl.actual_sales(s, d).is_some_and(|v| v <= 0.0))
                .count()
        })
        .sum()
}

/// One forecast's scores on one origin (or all pooled, `fold` 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OriginScore {
    /// The forecast.
    pub model: ModelKind,
    /// The fold (0: every origin pooled).
    pub fold: usize,
    /// RMSPE over open days with sales.
    pub rmspe: f64,
    /// Σ|error| / Σ sales over every store-day.
    pub wape: f64,
    /// Mean over every store-day of |error| / the store's MASE scale.
    pub mase: f64,
    /// Σ(forecast − actual) / Σ actual.
    pub bias: f64,
    /// Mean of ln(forecast / actual) over open days with a positive forecast (the bias a
    /// log-trained model sees; [`Metrics::mean_log_error`]).
    pub mean_log_error: f64,
    /// Share of the squared percentage error (what RMSPE sums) carried by the worst
    /// [`WORST_SHARE`] of store-days.
    pub worst_share: f64,
    /// RMSPE over the store-days of stores without recent history at the origin.
    pub rmspe_no_recent: f64,
    /// Store-days scored (open with sales).
    pub open_days: usize,
    /// Store-days of those stores without recent history.
    pub no_recent_days: usize,
}

/// The scores of `model` on the predictions of `fold` (0: all), with `closed` closed
/// store-days: RMSPE, WAPE, bias and the mean log error as [`Metrics::compute`] scores them,
/// with MASE, the worst store-days' share and the stores without recent history beside.
fn score(bt: &BacktestResult, model: ModelKind, fold: usize, closed: usize) -> OriginScore {
    let rows: Vec<(&Prediction, f64)> = bt
        .predictions
        .iter()
        .filter(|p| fold == 0 || p.fold == fold)
        .map(|p| (p, p.forecast(model)))
        .filter(|(p, f)| p.actual > 0.0 && f.is_finite())
        .collect();
    let (actual, forecast): (Vec<f64>, Vec<f64>) = rows.iter().map(|(p, f)| (p.actual, *f)).unzip();
    let m = Metrics::compute(&actual, &forecast);
    let (mut scaled, mut sq_gap, mut n_gap) = (0.0, 0.0, 0usize);
    let mut squares = Vec::with_capacity(rows.len());
    for (p, f) in &rows {
        let r = (p.actual - f) / p.actual;
        squares.push(r * r);
        if p.mase_scale > 0.0 {
            scaled += (p.actual - f).abs() / p.mase_scale;
        }
        if p.no_recent_history {
            sq_gap += r * r;
            n_gap += 1;
        }
    }
    let n = m.n;
    let nan_if = |x: f64, k: usize| if k == 0 { f64::NAN } else { x };
    let sq: f64 = squares.iter().sum();
    squares.sort_by(|a, b| b.total_cmp(a));
    let worst = ((n as f64 * WORST_SHARE).ceil() as usize).min(n);
    let worst_sq: f64 = squares.iter().take(worst).sum();
    OriginScore {
        model,
        fold,
        rmspe: m.rmspe,
        wape: m.wape,
        mase: nan_if(scaled / (n + closed).max(1) as f64, n),
        bias: m.bias,
        mean_log_error: m.mean_log_error,
        worst_share: nan_if(worst_sq / sq, n),
        rmspe_no_recent: nan_if((sq_gap / n_gap.max(1) as f64).sqrt(), n_gap),
        open_days: n,
        no_recent_days: n_gap,
    }
}

/// The model's and every baseline's scores by origin, then pooled over all origins.
pub fn origin_table(bt: &BacktestResult) -> Vec<OriginScore> {
    let models = [ModelKind::Model]
        .into_iter()
        .chain(ModelKind::BASELINES)
        .collect::<Vec<_>>();
    let folds = bt.folds.iter().map(|f| (f.index, f.closed_days));
    let pooled = bt.folds.iter().map(|f| f.closed_days).sum::<usize>();
    folds
        .chain([(0, pooled)])
        .flat_map(|(fold, closed)| models.iter().map(move |m| (fold, closed, *m)))
        .map(|(fold, closed, m)| score(bt, m, fold, closed))
        .collect()
}
