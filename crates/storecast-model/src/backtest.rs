//! Rolling-origin backtests with the real horizon.
//!
//! Why: a forecast is judged on days it has not seen. Each fold puts the origin 6, 12, 18 ...
//! weeks before the end of the history, fits the model and every baseline only on data before
//! its origin, builds features as of that origin, and scores the next six weeks. The result
//! keeps every prediction, so reports can cut the error by store type, horizon week, weekday,
//! promo or holiday, and intervals can be calibrated on honest out-of-sample residuals.

use crate::baselines::{self, Ridge};
use crate::features::{self, F, FEATURE_NAMES};
use crate::gbdt::{Gbdt, GbdtError, GbdtParams};
use crate::metrics::{best_scale, Metrics};
use crate::timeline::Timeline;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use storecast_data::{Assortment, StoreTable, StoreType};

/// Model names in backtest tables.
pub const MODEL: &str = "lightgbm";

/// Backtest settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestConfig {
    /// Number of folds (≥ 1); the last one ends on the last day of the history.
    pub folds: usize,
    /// Horizon in days (42 = six weeks).
    pub horizon: usize,
    /// Model parameters.
    pub params: GbdtParams,
    /// Ridge penalty of the linear baseline.
    pub ridge_lambda: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            folds: 3,
            horizon: 42,
            params: default_params(),
            ridge_lambda: 10.0,
        }
    }
}

/// The model's parameters with the categorical columns set.
pub fn default_params() -> GbdtParams {
    GbdtParams {
        categorical: vec![
            F::store_type as usize,
            F::assortment as usize,
            F::region as usize,
            F::state_holiday as usize,
        ],
        ..GbdtParams::default()
    }
}

/// One fold's span.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fold {
    /// 1-based, oldest first.
    pub index: usize,
    /// First forecast day.
    pub origin: NaiveDate,
    /// Last forecast day.
    pub end: NaiveDate,
    /// Rows the model trained on.
    pub train_rows: usize,
    /// Store-days scored.
    pub scored_rows: usize,
    /// Share of last-year forecasts that fell back to the median.
    pub last_year_fallback: f64,
}

/// One scored store-day with every model's forecast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prediction {
    /// Fold index.
    pub fold: usize,
    /// Store id.
    pub store: u16,
    /// Date.
    pub date: NaiveDate,
    /// Days after the origin (0 = the origin).
    pub horizon_day: u16,
    /// Actual sales.
    pub actual: f64,
    /// Promo day.
    pub promo: bool,
    /// School holiday.
    pub school_holiday: bool,
    /// Within 3 days of a public holiday.
    pub near_holiday: bool,
    /// Store type.
    pub store_type: StoreType,
    /// Assortment.
    pub assortment: Assortment,
    /// The store's residual volatility feature (for interval conditioning).
    pub volatility: f64,
    /// Model forecast, before the bias correction.
    pub model_raw: f64,
    /// Model forecast with the correction factor tuned on the other folds.
    pub model: f64,
    /// Store × weekday × promo median.
    pub median: f64,
    /// Last year's same weekday.
    pub last_year: f64,
    /// Ridge linear model.
    pub ridge: f64,
}

impl Prediction {
    /// Forecast of a named model.
    pub fn forecast(&self, model: &str) -> f64 {
        match model {
            "lightgbm_raw" => self.model_raw,
            "store_weekday_promo_median" => self.median,
            "last_year_same_weekday" => self.last_year,
            "ridge_linear" => self.ridge,
            _ => self.model,
        }
    }
    /// ISO weekday.
    pub fn weekday(&self) -> u32 {
        use chrono::Datelike;
        self.date.weekday().number_from_monday()
    }
    /// Horizon week 1..=6.
    pub fn horizon_week(&self) -> u16 {
        self.horizon_day / 7 + 1
    }
}

/// All model names in report order.
pub const ALL_MODELS: [&str; 5] = [
    MODEL,
    "lightgbm_raw",
    "store_weekday_promo_median",
    "last_year_same_weekday",
    "ridge_linear",
];

/// Metrics of one model on one fold (fold 0 = all folds pooled).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreRow {
    /// Model name.
    pub model: String,
    /// Fold (0 = pooled).
    pub fold: usize,
    /// Metrics.
    pub metrics: Metrics,
}

/// A backtest's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestResult {
    /// Settings used.
    pub config: BacktestConfig,
    /// Folds, oldest first.
    pub folds: Vec<Fold>,
    /// Correction factor tuned on all folds (used by the final model).
    pub scale: f64,
    /// Correction applied to each fold (tuned on the other folds; 1 with a single fold).
    pub fold_scales: Vec<f64>,
    /// Every scored store-day.
    pub predictions: Vec<Prediction>,
    /// Metrics per model and fold.
    pub scores: Vec<ScoreRow>,
}

/// Progress events (for progress bars).
#[derive(Debug, Clone)]
pub enum Progress {
    /// A fold starts.
    Fold {
        /// 1-based fold.
        index: usize,
        /// Of how many.
        of: usize,
        /// Its origin.
        origin: NaiveDate,
    },
    /// A step inside a fold.
    Step(&'static str),
}

fn scale_grid() -> impl Iterator<Item = f64> + Clone {
    (940..=1060).map(|i| f64::from(i) / 1000.0)
}

impl BacktestResult {
    /// Metrics of `model` over the predictions that satisfy `keep`.
    pub fn metrics_where(&self, model: &str, keep: impl Fn(&Prediction) -> bool) -> Metrics {
        let (a, p): (Vec<f64>, Vec<f64>) = self
            .predictions
            .iter()
            .filter(|x| keep(x))
            .map(|x| (x.actual, x.forecast(model)))
            .unzip();
        Metrics::compute(&a, &p)
    }

    /// The score of a model on a fold (0 = pooled).
    pub fn score(&self, model: &str, fold: usize) -> Option<Metrics> {
        self.scores
            .iter()
            .find(|s| s.model == model && s.fold == fold)
            .map(|s| s.metrics)
    }

    /// The last fold's index.
    pub fn last_fold(&self) -> usize {
        self.folds.len()
    }
}

/// Origins (day indices) of `folds` folds of `horizon` days ending at the last history day.
pub fn fold_origins(history_days: usize, folds: usize, horizon: usize) -> Vec<usize> {
    (1..=folds)
        .rev()
        .filter_map(|k| history_days.checked_sub(k * horizon))
        .collect()
}

/// Runs the backtest on a timeline that holds only the history.
pub fn run(
    tl: &Timeline,
    stores: &StoreTable,
    cfg: &BacktestConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<BacktestResult, GbdtError> {
    let origins = fold_origins(tl.days, cfg.folds, cfg.horizon);
    let mut folds = Vec::new();
    let mut predictions = Vec::new();
    for (k, &origin) in origins.iter().enumerate() {
        let index = k + 1;
        progress(Progress::Fold {
            index,
            of: origins.len(),
            origin: tl.date(origin),
        });
        progress(Progress::Step("features"));
        let train = crate::training_cells(tl, origin);
        let frame = features::build(tl, stores, origin, &train);
        let y = crate::log_targets(tl, &frame);
        let scored: Vec<(u32, u32)> = crate::horizon_cells(tl, origin, cfg.horizon)
            .into_iter()
            .filter(|&(s, d)| {
                tl.actual_sales(s as usize, d as usize)
                    .is_some_and(|v| v > 0.0)
            })
            .collect();
        let eval = features::build(tl, stores, origin, &scored);
        progress(Progress::Step("lightgbm"));
        let model = Gbdt::fit(&frame.x, &y, FEATURE_NAMES, &cfg.params)?;
        let raw: Vec<f64> = model.predict(&eval.x)?.into_iter().map(f64::exp).collect();
        progress(Progress::Step("baselines"));
        let median = baselines::store_weekday_promo_median(tl, origin, &scored);
        let (last_year, fallback) = baselines::last_year_same_weekday(tl, origin, &scored);
        let ridge = Ridge::fit(tl, &frame, &y, cfg.ridge_lambda)
            .map(|r| r.predict(tl, &eval))
            .unwrap_or_else(|| median.clone());
        for (i, &(s, d)) in scored.iter().enumerate() {
            let store = tl.stores[s as usize];
            let info = stores.get(store);
            let x = eval.row(i);
            let plan = tl.plan(s as usize, d as isize);
            predictions.push(Prediction {
                fold: index,
                store,
                date: tl.date(d as usize),
                horizon_day: u16::try_from(d as usize - origin).unwrap_or(u16::MAX),
                actual: f64::from(tl.actual_sales(s as usize, d as usize).unwrap_or(0.0)),
                promo: plan.promo,
                school_holiday: plan.school_holiday,
                near_holiday: x[F::days_to_holiday as usize] <= 3.0
                    || x[F::days_since_holiday as usize] <= 3.0,
                store_type: info.map_or(StoreType::A, |i| i.store_type),
                assortment: info.map_or(Assortment::Basic, |i| i.assortment),
                volatility: f64::from(x[F::store_volatility as usize]),
                model_raw: raw[i],
                model: raw[i],
                median: median[i],
                last_year: last_year[i],
                ridge: ridge[i],
            });
        }
        folds.push(Fold {
            index,
            origin: tl.date(origin),
            end: tl.date((origin + cfg.horizon - 1).min(tl.days - 1)),
            train_rows: frame.len(),
            scored_rows: scored.len(),
            last_year_fallback: fallback,
        });
    }
    // Bias correction: each fold gets the factor tuned on the other folds (honest), the final
    // model gets the factor tuned on all of them.
    let tune = |keep: &dyn Fn(usize) -> bool| {
        let (a, p): (Vec<f64>, Vec<f64>) = predictions
            .iter()
            .filter(|x| keep(x.fold))
            .map(|x| (x.actual, x.model_raw))
            .unzip();
        if a.is_empty() {
            1.0
        } else {
            best_scale(&a, &p, scale_grid())
        }
    };
    let scale = tune(&|_| true);
    let fold_scales: Vec<f64> = (1..=folds.len())
        .map(|f| {
            if folds.len() > 1 {
                tune(&|g| g != f)
            } else {
                1.0
            }
        })
        .collect();
    for p in &mut predictions {
        p.model = p.model_raw * fold_scales[p.fold - 1];
    }
    let mut result = BacktestResult {
        config: cfg.clone(),
        folds,
        scale,
        fold_scales,
        predictions,
        scores: Vec::new(),
    };
    let mut scores = Vec::new();
    for model in ALL_MODELS {
        for fold in 0..=result.folds.len() {
            scores.push(ScoreRow {
                model: model.to_string(),
                fold,
                metrics: result.metrics_where(model, |p| fold == 0 || p.fold == fold),
            });
        }
    }
    result.scores = scores;
    Ok(result)
}
