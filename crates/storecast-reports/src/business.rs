//! The business performance report, for decision makers: how much closer the model gets than
//! today's practice, in percent and in euros per store per week; how often a forecast is good
//! enough to plan on; where it struggles and why; what the error is worth in staff hours and
//! stock under explicit, adjustable assumptions; the risks, and how to industrialize it.
//!
//! Every figure comes from the backtest predictions (out-of-sample forecasts of past weeks),
//! and the wording is generated from the figures. The tables are exposed as data
//! ([`headline`], [`accuracy_bands`], [`segments`], [`hardest_stores`], [`staffing_value`],
//! [`stock_buffer`], [`savings`]) so tests and other views can check or reuse them.
//!
//! Today's manager estimates are not in the data, so two simple rules stand in for them: last
//! year's sales on the same weekday, and the median of the store's sales on the same weekday
//! with the same promo status. Real manager estimates may be better (they know local events)
//! or worse; the roll-out plan ends with an A/B test against the real thing.

use crate::tables::{by_cut, eur, f4, pct, spct, CUTS};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use storecast_charts::{Chart, Doc, Kind, Section, Series};
use storecast_data::{Assortment, StoreType};
use storecast_model::artifact::CoverageRow;
use storecast_model::backtest::{BacktestResult, Prediction};
use storecast_model::Metrics;
use storecast_model::ModelKind;

/// The stand-in "last year's sales on the same weekday".
pub const LAST_YEAR: ModelKind = ModelKind::LastYear;
/// The stand-in "store × weekday × promo median".
pub const MEDIAN: ModelKind = ModelKind::Median;
/// The two stand-ins for today's manager estimates.
pub const STAND_INS: [ModelKind; 2] = [LAST_YEAR, MEDIAN];
/// The forecasts compared throughout the report: the model first, then the stand-ins.
pub const COMPARED: [ModelKind; 3] = [MODEL, LAST_YEAR, MEDIAN];
/// The model.
const MODEL: ModelKind = ModelKind::Model;
/// Accuracy bands: within ±5 %, ±10 %, ±20 % of actual sales.
pub const BANDS: [f64; 3] = [0.05, 0.10, 0.20];
/// How many hard stores the report explains.
pub const HARDEST: usize = 20;

/// Reason thresholds for hard stores: at least this many consecutive days without sales in
/// the fold (a normal week has at most two: Sunday and a public holiday).
pub const CLOSURE_GAP_DAYS: i64 = 3;
/// ... or fewer scored days than this share of the typical store's.
pub const CLOSURE_DAY_SHARE: f64 = 0.85;
/// One day carrying at least this share of the store's squared percentage error is an outlier.
pub const OUTLIER_SHARE: f64 = 0.4;
/// A store bias (Σ forecast / Σ actual − 1) at least this large is a level shift.
pub const LEVEL_SHIFT_BIAS: f64 = 0.08;
/// A volatility above this quantile of the chain's stores marks an erratic store.
pub const VOLATILE_RANK: f64 = 0.9;

/// Readable name of a compared forecast (the one label of [`ModelKind`]).
pub fn label(model: ModelKind) -> &'static str {
    model.label()
}

/// The business assumptions of the value section. All of them are printed in the report; the
/// defaults are round, plausible figures for a drugstore chain, not Rossmann's books: replace
/// them with the controller's numbers (JSON with any subset of the fields; the rest default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Assumptions {
    /// Fully loaded cost of one staff hour, in €.
    pub staff_cost_per_hour: f64,
    /// Sales one staff hour handles, in €: staff hours planned = forecast ÷ this.
    pub sales_per_staff_hour: f64,
    /// Gross margin on sales (share): the profit lost on a lost sale.
    pub gross_margin: f64,
    /// Share of an under-forecast (actual − forecast, in €) that is lost because the store was
    /// staffed (and stocked) for the forecast: queues, empty shelves, customers who leave.
    pub lost_sale_share_of_shortfall: f64,
    /// Safety factor z of the stock buffer (1.28 ≈ 90 % of replenishment cycles without a
    /// stock-out, for normally distributed errors).
    pub service_z: f64,
    /// Days of demand the safety stock must cover (the replenishment cycle).
    pub stock_cover_days: f64,
    /// Yearly cost of holding inventory, as a share of its value at cost (capital, space,
    /// shrinkage).
    pub holding_cost_rate: f64,
    /// Stores in the chain (to scale per-store figures to the chain).
    pub stores: usize,
    /// Trading weeks per year.
    pub weeks_per_year: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Self {
            staff_cost_per_hour: 25.0,
            sales_per_staff_hour: 150.0,
            gross_margin: 0.30,
            lost_sale_share_of_shortfall: 0.25,
            service_z: 1.28,
            stock_cover_days: 7.0,
            holding_cost_rate: 0.20,
            stores: 1115,
            weeks_per_year: 52.0,
        }
    }
}

impl Assumptions {
    /// (field, value, meaning) for every assumption, in the order of the struct.
    pub fn describe(&self) -> Vec<(&'static str, String, &'static str)> {
        vec![
            ("staff_cost_per_hour", eur2(self.staff_cost_per_hour), "fully loaded cost of one staff hour"),
            ("sales_per_staff_hour", eur(self.sales_per_staff_hour), "sales one staff hour handles: hours planned = forecast ÷ this"),
            ("gross_margin", pct(self.gross_margin), "profit lost on a lost sale"),
            ("lost_sale_share_of_shortfall", pct(self.lost_sale_share_of_shortfall), "share of an under-forecast lost as sales (the store was staffed and stocked for the forecast)"),
            ("service_z", format!("{:.2}", self.service_z), "safety factor of the stock buffer (1.28 ≈ 90% of cycles without stock-out)"),
            ("stock_cover_days", format!("{}", self.stock_cover_days), "days of demand the safety stock covers (replenishment cycle)"),
            ("holding_cost_rate", pct(self.holding_cost_rate), "yearly cost of holding stock, share of its value at cost"),
            ("stores", self.stores.to_string(), "stores in the chain"),
            ("weeks_per_year", format!("{}", self.weeks_per_year), "trading weeks per year"),
        ]
    }
}

fn eur2(x: f64) -> String {
    if x.is_finite() {
        format!("{} €", storecast_charts::Numbers::EN.number(x, 2))
    } else {
        "–".into()
    }
}

fn in_fold(p: &Prediction, fold: usize) -> bool {
    fold == 0 || p.fold == fold
}

fn scope_name(bt: &BacktestResult, fold: usize) -> String {
    if fold == 0 {
        format!("all {} folds", bt.folds.len())
    } else {
        bt.folds.get(fold - 1).map_or(format!("fold {fold}"), |f| {
            format!("{} to {}", f.origin, f.end)
        })
    }
}

/// One store's week (horizon week of a fold): sums over its scored days.
#[derive(Debug, Clone, Default)]
struct Week {
    actual: f64,
    forecast: [f64; 3],
    abs_error: [f64; 3],
}

/// Store-weeks of a fold (0 = all folds), keyed by (fold, store, horizon week).
fn store_weeks(bt: &BacktestResult, fold: usize) -> BTreeMap<(usize, u16, u16), Week> {
    let mut weeks: BTreeMap<(usize, u16, u16), Week> = BTreeMap::new();
    for p in bt
        .predictions
        .iter()
        .filter(|p| in_fold(p, fold) && p.actual > 0.0)
    {
        let w = weeks
            .entry((p.fold, p.store, p.horizon_week()))
            .or_default();
        w.actual += p.actual;
        for (i, m) in COMPARED.iter().enumerate() {
            let f = p.forecast(*m);
            w.forecast[i] += f;
            w.abs_error[i] += (f - p.actual).abs();
        }
    }
    weeks
}

/// Error of one forecast on one scope, in percent and in euros.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// Forecast name (one of [`COMPARED`]).
    pub model: ModelKind,
    /// Fold (0 = all folds).
    pub fold: usize,
    /// RMSPE, MAPE, WAPE, bias over the scored store-days.
    pub metrics: Metrics,
    /// Σ |forecast − actual| over store-days ÷ store-weeks: the euros a week's daily plans miss
    /// by, per store.
    pub eur_per_store_week: f64,
    /// Mean |weekly forecast total − weekly actual total| per store-week, in €.
    pub weekly_total_miss: f64,
    /// Mean actual sales per store-week, in €.
    pub sales_per_store_week: f64,
    /// Store-weeks (a store's horizon week with at least one scored day).
    pub store_weeks: usize,
}

/// The headline table: every compared forecast on the last fold and on all folds.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// The last fold's index.
    pub last_fold: usize,
    /// Rows: for the last fold, then all folds (0), each forecast of [`COMPARED`].
    pub rows: Vec<ErrorRow>,
}

impl Headline {
    /// The row of a forecast on a fold (0 = all).
    pub fn get(&self, model: ModelKind, fold: usize) -> Option<&ErrorRow> {
        self.rows
            .iter()
            .find(|r| r.model == model && r.fold == fold)
    }

    /// How much smaller the model's € error per store-week is than a stand-in's (0.2 = 20 %
    /// closer; negative when the model is further off).
    pub fn improvement(&self, stand_in: ModelKind, fold: usize) -> f64 {
        match (self.get(MODEL, fold), self.get(stand_in, fold)) {
            (Some(m), Some(b)) => 1.0 - m.eur_per_store_week / b.eur_per_store_week,
            _ => f64::NAN,
        }
    }

    /// The stand-in with the smallest € error per store-week on a fold.
    pub fn best_stand_in(&self, fold: usize) -> ModelKind {
        let e = |m: ModelKind| {
            self.get(m, fold)
                .map_or(f64::INFINITY, |r| r.eur_per_store_week)
        };
        if e(MEDIAN) <= e(LAST_YEAR) {
            MEDIAN
        } else {
            LAST_YEAR
        }
    }
}

/// Error rows of every compared forecast on one fold (0 = all).
pub fn error_rows(bt: &BacktestResult, fold: usize) -> Vec<ErrorRow> {
    let weeks = store_weeks(bt, fold);
    let n = weeks.len().max(1) as f64;
    let sales: f64 = weeks.values().map(|w| w.actual).sum();
    COMPARED
        .iter()
        .enumerate()
        .map(|(i, m)| ErrorRow {
            model: *m,
            fold,
            metrics: bt.metrics_where(*m, |p| in_fold(p, fold)),
            eur_per_store_week: weeks.values().map(|w| w.abs_error[i]).sum::<f64>() / n,
            weekly_total_miss: weeks
                .values()
                .map(|w| (w.forecast[i] - w.actual).abs())
                .sum::<f64>()
                / n,
            sales_per_store_week: sales / n,
            store_weeks: weeks.len(),
        })
        .collect()
}

/// The headline: last fold and all folds.
pub fn headline(bt: &BacktestResult) -> Headline {
    let last = bt.last_fold();
    let mut rows = error_rows(bt, last);
    rows.extend(error_rows(bt, 0));
    Headline {
        last_fold: last,
        rows,
    }
}

/// Share of store-days and store-weeks whose forecast is within each of [`BANDS`] of actual.
#[derive(Debug, Clone, Serialize)]
pub struct BandRow {
    /// Forecast name.
    pub model: ModelKind,
    /// Fold (0 = all).
    pub fold: usize,
    /// Share of store-days with |forecast − actual| ≤ band × actual, per band.
    pub days: [f64; 3],
    /// The same for weekly totals (a store's horizon week, over its scored days).
    pub weeks: [f64; 3],
    /// Store-days.
    pub store_days: usize,
    /// Store-weeks.
    pub store_weeks: usize,
}

/// Accuracy bands of every compared forecast on a fold (0 = all).
pub fn accuracy_bands(bt: &BacktestResult, fold: usize) -> Vec<BandRow> {
    let weeks = store_weeks(bt, fold);
    COMPARED
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut days = [0usize; 3];
            let mut n = 0usize;
            for p in bt
                .predictions
                .iter()
                .filter(|p| in_fold(p, fold) && p.actual > 0.0)
            {
                n += 1;
                let e = (p.forecast(*m) - p.actual).abs();
                for (k, b) in BANDS.iter().enumerate() {
                    days[k] += usize::from(e <= b * p.actual);
                }
            }
            let mut wk = [0usize; 3];
            for w in weeks.values() {
                let e = (w.forecast[i] - w.actual).abs();
                for (k, b) in BANDS.iter().enumerate() {
                    wk[k] += usize::from(e <= b * w.actual);
                }
            }
            let share = |c: [usize; 3], n: usize| c.map(|x| x as f64 / n.max(1) as f64);
            BandRow {
                model: *m,
                fold,
                days: share(days, n),
                weeks: share(wk, weeks.len()),
                store_days: n,
                store_weeks: weeks.len(),
            }
        })
        .collect()
}

/// One group of a segment cut.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRow {
    /// Group label (e.g. "a", "week 3", "Mon").
    pub group: String,
    /// Metrics of each forecast of [`COMPARED`], in that order.
    pub metrics: Vec<Metrics>,
}

/// A segment table: one cut of [`CUTS`].
#[derive(Debug, Clone, Serialize)]
pub struct SegmentTable {
    /// The cut's name.
    pub cut: &'static str,
    /// Its groups.
    pub rows: Vec<SegmentRow>,
}

/// Accuracy of the compared forecasts by store type, assortment, horizon week, weekday, promo
/// and holidays, on a fold (0 = all).
pub fn segments(bt: &BacktestResult, fold: usize) -> Vec<SegmentTable> {
    CUTS.iter()
        .map(|cut| SegmentTable {
            cut: cut.name,
            rows: by_cut(bt, cut, &COMPARED, (fold > 0).then_some(fold))
                .into_iter()
                .map(|(group, metrics)| SegmentRow { group, metrics })
                .collect(),
        })
        .collect()
}

/// Why a store is hard to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Closed (or missing from the data) for several days in a row, or for many days.
    Closure,
    /// One extreme day carries much of the error.
    Outlier,
    /// Sales moved to another level: the forecast is too high or too low all along.
    LevelShift,
    /// Erratic sales already before the forecast origin.
    Volatile,
    /// Little history before the forecast origin (no volatility could be measured).
    ShortHistory,
    /// None of the above: broad day-to-day noise.
    Noise,
}

impl Reason {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Closure => "closures / gaps",
            Reason::Outlier => "one outlier day",
            Reason::LevelShift => "level shift",
            Reason::Volatile => "erratic store",
            Reason::ShortHistory => "short history",
            Reason::Noise => "day-to-day noise",
        }
    }
}

/// A store's accuracy on one fold, with what makes it hard.
#[derive(Debug, Clone, Serialize)]
pub struct HardStore {
    /// Store id.
    pub store: u16,
    /// Store type.
    pub store_type: StoreType,
    /// Assortment.
    pub assortment: Assortment,
    /// The model's RMSPE on the store.
    pub rmspe: f64,
    /// The median stand-in's RMSPE on the store (high too = the store is intrinsically hard).
    pub median_rmspe: f64,
    /// The model's bias on the store: Σ forecast ÷ Σ actual − 1.
    pub bias: f64,
    /// Scored store-days.
    pub days: usize,
    /// Median scored days of the fold's stores.
    pub typical_days: usize,
    /// Longest run of consecutive days without sales in the fold (including its start and end).
    pub longest_gap: i64,
    /// The store's volatility feature (spread of log sales before the origin).
    pub volatility: f64,
    /// Share of the fold's stores with a lower volatility.
    pub volatility_rank: f64,
    /// Day with the largest relative error.
    pub worst_date: NaiveDate,
    /// Its relative error (forecast − actual) ÷ actual.
    pub worst_error: f64,
    /// Its share of the store's sum of squared relative errors.
    pub worst_share: f64,
    /// Every reason that applies, most specific first (never empty).
    pub reasons: Vec<Reason>,
    /// The reasons in words, with the store's figures.
    pub why: String,
}

fn median_usize(mut v: Vec<usize>) -> usize {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[v.len() / 2]
}

/// Every store of a fold (0 = the last fold), hardest (highest model RMSPE) first, with the
/// reasons; the first `n` are returned.
pub fn hardest_stores(bt: &BacktestResult, fold: usize, n: usize) -> Vec<HardStore> {
    let fold = if fold == 0 { bt.last_fold() } else { fold };
    let mut by_store: BTreeMap<u16, Vec<&Prediction>> = BTreeMap::new();
    for p in bt
        .predictions
        .iter()
        .filter(|p| p.fold == fold && p.actual > 0.0)
    {
        by_store.entry(p.store).or_default().push(p);
    }
    if by_store.is_empty() {
        return Vec::new();
    }
    let span = bt.folds.get(fold - 1).map(|f| (f.origin, f.end));
    let typical_days = median_usize(by_store.values().map(Vec::len).collect());
    let mut vols: Vec<f64> = by_store
        .values()
        .map(|ps| ps[0].volatility)
        .filter(|v| v.is_finite())
        .collect();
    vols.sort_by(f64::total_cmp);
    let mut out: Vec<HardStore> = by_store
        .into_iter()
        .map(|(store, mut ps)| {
            ps.sort_by_key(|p| p.date);
            let first = ps[0];
            let rel: Vec<f64> = ps.iter().map(|p| (p.model - p.actual) / p.actual).collect();
            let sq: f64 = rel.iter().map(|r| r * r).sum();
            let rmspe = (sq / ps.len() as f64).sqrt();
            let med_sq: f64 = ps
                .iter()
                .map(|p| ((p.forecast(ModelKind::Median) - p.actual) / p.actual).powi(2))
                .sum();
            let sum_a: f64 = ps.iter().map(|p| p.actual).sum();
            let sum_f: f64 = ps.iter().map(|p| p.model).sum();
            let (wi, wr) = rel
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .map_or((0, 0.0), |(i, r)| (i, *r));
            let (origin, end) = span.unwrap_or((first.date, ps[ps.len() - 1].date));
            let mut gap = (ps[0].date - origin).num_days();
            for w in ps.windows(2) {
                gap = gap.max((w[1].date - w[0].date).num_days() - 1);
            }
            gap = gap.max((end - ps[ps.len() - 1].date).num_days());
            let vol = first.volatility;
            let rank = if vol.is_finite() && !vols.is_empty() {
                vols.partition_point(|v| *v < vol) as f64 / vols.len() as f64
            } else {
                f64::NAN
            };
            let bias = sum_f / sum_a - 1.0;
            let worst_share = if sq > 0.0 { wr * wr / sq } else { 0.0 };
            let mut reasons = Vec::new();
            let mut words = Vec::new();
            if gap >= CLOSURE_GAP_DAYS
                || (ps.len() as f64) < CLOSURE_DAY_SHARE * typical_days as f64
            {
                reasons.push(Reason::Closure);
                words.push(format!(
                    "closed or missing from the data for {gap} days in a row ({} scored days against {typical_days} for a typical store); the days around a closure or reopening behave unlike any normal week",
                    ps.len()
                ));
            }
            if ps.len() > 1 && worst_share >= OUTLIER_SHARE {
                reasons.push(Reason::Outlier);
                words.push(format!(
                    "one extreme day, {}: actual sales {} the forecast ({} of the store's squared error)",
                    ps[wi].date,
                    if wr > 0.0 {
                        format!("collapsed to {} of", pct(1.0 / (1.0 + wr)))
                    } else {
                        format!("reached {} of", pct(1.0 / (1.0 + wr)))
                    },
                    pct(worst_share)
                ));
            }
            if bias.abs() >= LEVEL_SHIFT_BIAS {
                reasons.push(Reason::LevelShift);
                words.push(format!(
                    "sales moved to a new level: the forecast is {} {} over the whole period (a trend change, new competition or a local event the data does not show)",
                    pct(bias.abs()),
                    if bias > 0.0 { "too high" } else { "too low" }
                ));
            }
            if !vol.is_finite() {
                reasons.push(Reason::ShortHistory);
                words.push("too little history before the forecast origin to measure its usual spread".into());
            } else if rank >= VOLATILE_RANK {
                reasons.push(Reason::Volatile);
                words.push(format!(
                    "erratic sales already before the origin: its day-to-day spread ({vol:.2} in log units) is above {} of the chain's stores",
                    pct(rank)
                ));
            }
            if reasons.is_empty() {
                reasons.push(Reason::Noise);
                words.push(format!(
                    "no single cause: broad day-to-day noise (largest miss {} on {})",
                    spct(wr),
                    ps[wi].date
                ));
            }
            let mut why = words.join("; ");
            if let Some(c) = why.get(..1) {
                why = c.to_uppercase() + &why[1..];
            }
            HardStore {
                store,
                store_type: first.store_type,
                assortment: first.assortment,
                rmspe,
                median_rmspe: (med_sq / ps.len() as f64).sqrt(),
                bias,
                days: ps.len(),
                typical_days,
                longest_gap: gap,
                volatility: vol,
                volatility_rank: rank,
                worst_date: ps[wi].date,
                worst_error: wr,
                worst_share,
                reasons,
                why: why + ".",
            }
        })
        .collect();
    out.sort_by(|a, b| b.rmspe.total_cmp(&a.rmspe).then(a.store.cmp(&b.store)));
    out.truncate(n);
    out
}

/// Cost of forecast error for staffing, per store-week, under [`Assumptions`].
///
/// The explicit model: each day, staff hours are planned for the forecast (forecast ÷ sales per
/// staff hour). When the forecast is above actual sales, the extra hours are paid for nothing:
/// (forecast − actual) ÷ sales per staff hour × cost per hour. When it is below, the store is
/// short-staffed and short-stocked: a share of the shortfall is lost, and with it its margin:
/// (actual − forecast) × lost share × gross margin. Days are summed per store-week.
#[derive(Debug, Clone, Serialize)]
pub struct ValueRow {
    /// Forecast name.
    pub model: ModelKind,
    /// Fold (0 = all).
    pub fold: usize,
    /// Cost of over-staffing per store-week, €.
    pub over_staffing: f64,
    /// Margin lost to under-staffing per store-week, €.
    pub lost_margin: f64,
    /// Sum of both per store-week, €.
    pub total: f64,
    /// `total` × weeks per year: € per store per year.
    pub per_store_year: f64,
    /// `per_store_year` × stores: € per year for the chain.
    pub chain_year: f64,
    /// `total` as a share of sales.
    pub share_of_sales: f64,
}

/// The staffing cost of error of every compared forecast on a fold (0 = all).
pub fn staffing_value(bt: &BacktestResult, fold: usize, a: &Assumptions) -> Vec<ValueRow> {
    let weeks = store_weeks(bt, fold).len().max(1) as f64;
    let sales: f64 = bt
        .predictions
        .iter()
        .filter(|p| in_fold(p, fold) && p.actual > 0.0)
        .map(|p| p.actual)
        .sum();
    COMPARED
        .iter()
        .map(|m| {
            let (mut over, mut under) = (0.0, 0.0);
            for p in bt
                .predictions
                .iter()
                .filter(|p| in_fold(p, fold) && p.actual > 0.0)
            {
                let e = p.forecast(*m) - p.actual;
                if e > 0.0 {
                    over += e / a.sales_per_staff_hour * a.staff_cost_per_hour;
                } else {
                    under += -e * a.lost_sale_share_of_shortfall * a.gross_margin;
                }
            }
            let total = (over + under) / weeks;
            ValueRow {
                model: *m,
                fold,
                over_staffing: over / weeks,
                lost_margin: under / weeks,
                total,
                per_store_year: total * a.weeks_per_year,
                chain_year: total * a.weeks_per_year * a.stores as f64,
                share_of_sales: (over + under) / sales,
            }
        })
        .collect()
}

/// Safety stock needed to absorb forecast error, under [`Assumptions`].
///
/// The explicit model: the buffer a store holds against a forecast miss is z × σ, where σ is
/// the spread (root mean square, in €) of its weekly forecast error, scaled to the cover period
/// by √(cover days ÷ 7), and valued at cost (× (1 − gross margin)).
#[derive(Debug, Clone, Serialize)]
pub struct BufferRow {
    /// Forecast name.
    pub model: ModelKind,
    /// Fold (0 = all).
    pub fold: usize,
    /// Root mean square of weekly total error per store-week, € of sales.
    pub weekly_rmse: f64,
    /// Safety stock per store at cost, €.
    pub per_store: f64,
    /// Safety stock of the chain at cost, €.
    pub chain: f64,
    /// Yearly holding cost of the chain's safety stock, €.
    pub chain_holding_year: f64,
}

/// The safety stock of every compared forecast on a fold (0 = all).
pub fn stock_buffer(bt: &BacktestResult, fold: usize, a: &Assumptions) -> Vec<BufferRow> {
    let weeks = store_weeks(bt, fold);
    let n = weeks.len().max(1) as f64;
    COMPARED
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let rmse = (weeks
                .values()
                .map(|w| (w.forecast[i] - w.actual).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            let per_store = a.service_z
                * rmse
                * (a.stock_cover_days / 7.0).max(0.0).sqrt()
                * (1.0 - a.gross_margin);
            let chain = per_store * a.stores as f64;
            BufferRow {
                model: *m,
                fold,
                weekly_rmse: rmse,
                per_store,
                chain,
                chain_holding_year: chain * a.holding_cost_rate,
            }
        })
        .collect()
}

/// What the model saves against one stand-in (positive = the model is cheaper).
#[derive(Debug, Clone, Serialize)]
pub struct Saving {
    /// The stand-in.
    pub stand_in: ModelKind,
    /// Staffing cost of error saved, € per store per year.
    pub per_store_year: f64,
    /// The same for the chain, € per year.
    pub chain_year: f64,
    /// Safety stock released for the chain, € at cost (one-off).
    pub buffer_reduction: f64,
    /// Holding cost saved on it, € per year.
    pub holding_year: f64,
}

/// Savings of the model against each stand-in, from [`staffing_value`] and [`stock_buffer`]
/// rows (of the same fold).
pub fn savings(value: &[ValueRow], buffer: &[BufferRow]) -> Vec<Saving> {
    let v = |m: ModelKind| value.iter().find(|r| r.model == m);
    let b = |m: ModelKind| buffer.iter().find(|r| r.model == m);
    STAND_INS
        .iter()
        .filter_map(|s| {
            let (vm, vs, bm, bs) = (v(MODEL)?, v(*s)?, b(MODEL)?, b(*s)?);
            Some(Saving {
                stand_in: *s,
                per_store_year: vs.per_store_year - vm.per_store_year,
                chain_year: vs.chain_year - vm.chain_year,
                buffer_reduction: bs.chain - bm.chain,
                holding_year: bs.chain_holding_year - bm.chain_holding_year,
            })
        })
        .collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    storecast_stats::nearest_rank(sorted, q)
}

/// "12.3% closer" or "4.5% further off".
fn closer(improvement: f64) -> String {
    if !improvement.is_finite() {
        "–".into()
    } else if improvement >= 0.0 {
        format!("{} closer", pct(improvement))
    } else {
        format!("{} further off", pct(-improvement))
    }
}

fn better_or_worse(saving: f64) -> &'static str {
    if saving >= 0.0 {
        "saves"
    } else {
        "costs an extra"
    }
}

/// Builds the business performance report. `coverage` comes from the artifact (or from
/// `storecast_model::training::coverage_rows`); `model_info` is a one-line description of the
/// model version, when there is one.
pub fn business(
    bt: &BacktestResult,
    coverage: &[CoverageRow],
    assumptions: &Assumptions,
    monitor: &storecast_monitor::MonitorConfig,
    data_origin: &str,
    model_info: Option<&str>,
) -> Doc {
    let last = bt.last_fold();
    let value_all = staffing_value(bt, 0, assumptions);
    let buffer_all = stock_buffer(bt, 0, assumptions);
    let f = Figures {
        bt,
        coverage,
        a: assumptions,
        monitor,
        last,
        weeks_h: (bt.config.horizon as f64 / 7.0).round(),
        hl: headline(bt),
        span: scope_name(bt, last),
        save_all: savings(&value_all, &buffer_all),
        value_all,
        buffer_all,
        bands_last: accuracy_bands(bt, last),
        bands_all: accuracy_bands(bt, 0),
        segs: segments(bt, last),
        all_stores: hardest_stores(bt, last, usize::MAX),
    };
    let sections = vec![
        headline_section(&f),
        bands_section(&f),
        segments_section(&f),
        hardest_section(&f),
        calibration_section(&f),
        value_section(&f),
        risks_section(&f),
        rollout_section(&f),
    ];
    Doc {
        title: "storecast · business performance".into(),
        subtitle: format!(
            "Data: {data_origin}{} · {} backtest folds, {} store-days · every figure computed from backtest forecasts",
            model_info.map_or(String::new(), |m| format!(" · model {m}")),
            bt.folds.len(),
            bt.predictions.len(),
        ),
        sections,
    }
}

/// What every section of the business report reads: the backtest, the assumptions and the
/// figures computed once for all sections.
struct Figures<'a> {
    bt: &'a BacktestResult,
    coverage: &'a [CoverageRow],
    a: &'a Assumptions,
    monitor: &'a storecast_monitor::MonitorConfig,
    /// The last fold.
    last: usize,
    /// The horizon in weeks.
    weeks_h: f64,
    hl: Headline,
    /// The last fold's dates, as words.
    span: String,
    value_all: Vec<ValueRow>,
    buffer_all: Vec<BufferRow>,
    save_all: Vec<Saving>,
    bands_last: Vec<BandRow>,
    bands_all: Vec<BandRow>,
    /// The last fold's segments.
    segs: Vec<SegmentTable>,
    /// Every store of the last fold, hardest first.
    all_stores: Vec<HardStore>,
}

/// Section 1: how much closer the model gets than the stand-ins, in euros per store-week.
fn headline_section(f: &Figures<'_>) -> Section {
    let bt = f.bt;
    let a = f.a;
    let last = f.last;
    let weeks_h = f.weeks_h;
    let hl = &f.hl;
    let span = &f.span;
    let save_all = &f.save_all;
    let bands_last = &f.bands_last;
    let mut head = Section::new("headline", "Headline: how much closer the model gets");
    if let (Some(m), Some(ly), Some(md)) = (
        hl.get(MODEL, last),
        hl.get(LAST_YEAR, last),
        hl.get(MEDIAN, last),
    ) {
        let best = hl.best_stand_in(last);
        let other = if best == MEDIAN { LAST_YEAR } else { MEDIAN };
        head = head.callout(format!(
            "On the most recent {weeks_h} weeks ({span}), the model's daily forecasts miss actual sales by **{} per store per week**, against **{}** for last year's same weekday and **{}** for the store × weekday × promo median, the two stand-ins for today's manager estimates. That is **{}** than the better stand-in ({}) and {} than the other ({}).",
            eur(m.eur_per_store_week),
            eur(ly.eur_per_store_week),
            eur(md.eur_per_store_week),
            closer(hl.improvement(best, last)),
            label(best),
            closer(hl.improvement(other, last)),
            label(other),
        ));
        head = head.para(format!(
            "In percent of sales: RMSPE (the typical relative miss of a store-day, large misses weighing more) {} for the model against {} (last year) and {} (median); WAPE (euros missed over euros sold) {} against {} and {}. A store sells on average {} per week, so the model's daily plans are off by {} of a week's sales in total, and the weekly total by {} ({} for the better stand-in).",
            f4(m.metrics.rmspe),
            f4(ly.metrics.rmspe),
            f4(md.metrics.rmspe),
            pct(m.metrics.wape),
            pct(ly.metrics.wape),
            pct(md.metrics.wape),
            eur(m.sales_per_store_week),
            pct(m.eur_per_store_week / m.sales_per_store_week),
            eur(m.weekly_total_miss),
            eur(hl.get(best, last).map_or(f64::NAN, |r| r.weekly_total_miss)),
        ));
    }
    if let (Some(m), Some(_)) = (hl.get(MODEL, 0), hl.get(MEDIAN, 0)) {
        let best = hl.best_stand_in(0);
        head = head.para(format!(
            "Over all {} backtest folds ({} store-weeks, {} store-days), the model misses by {} per store per week, {} than the better stand-in ({}) and {} than the other.",
            bt.folds.len(),
            m.store_weeks,
            m.metrics.n,
            eur(m.eur_per_store_week),
            closer(hl.improvement(best, 0)),
            label(best),
            closer(hl.improvement(if best == MEDIAN { LAST_YEAR } else { MEDIAN }, 0)),
        ));
    }
    if let (Some(bm), Some(s)) = (
        bands_last.iter().find(|r| r.model == MODEL),
        save_all
            .iter()
            .min_by(|x, y| x.chain_year.total_cmp(&y.chain_year)),
    ) {
        let stock = if s.buffer_reduction >= 0.0 {
            format!(
                "reduces the safety stock the chain needs by {}",
                eur(s.buffer_reduction)
            )
        } else {
            format!(
                "increases the safety stock the chain needs by {}",
                eur(-s.buffer_reduction)
            )
        };
        let bb = bands_last
            .iter()
            .find(|r| r.model == hl.best_stand_in(last));
        head = head.para(format!(
            "For a store manager: the model is within ±10% of the day's actual sales on {} of days ({} for the better stand-in) and within ±10% of the week's total in {} of weeks ({}). In money, under the explicit assumptions of the value section, the model {} about **{} per store per year** in staffing cost of error against the better stand-in (**{} per year** for {} stores) and {stock} (one-off, at cost). These are the outputs of a simple stated model, not a promise.",
            pct(bm.days[1]),
            bb.map_or("–".into(), |b| pct(b.days[1])),
            pct(bm.weeks[1]),
            bb.map_or("–".into(), |b| pct(b.weeks[1])),
            better_or_worse(s.per_store_year),
            eur(s.per_store_year.abs()),
            eur(s.chain_year.abs()),
            a.stores,
        ));
    }
    let mut rows = Vec::new();
    for fold in [last, 0] {
        for m in COMPARED {
            if let Some(r) = hl.get(m, fold) {
                rows.push(vec![
                    label(m).to_string(),
                    if fold == 0 {
                        "all folds".into()
                    } else {
                        format!("fold {fold} (last)")
                    },
                    eur(r.eur_per_store_week),
                    eur(r.weekly_total_miss),
                    f4(r.metrics.rmspe),
                    pct(r.metrics.wape),
                    spct(r.metrics.bias),
                    r.store_weeks.to_string(),
                ]);
            }
        }
    }
    head = head.table(
        &[
            "forecast",
            "period",
            "daily misses € / store-week",
            "weekly total miss €",
            "RMSPE",
            "WAPE",
            "bias",
            "store-weeks",
        ],
        rows,
    );
    let chart = fold_chart(f);
    head = head.chart(chart).para(
        "How to read: today's manager estimates are not recorded in the data, so two simple rules stand in for them. Every figure comes from backtests: the model and the stand-ins forecast weeks that had already happened, each knowing only the data before the forecast date, and are compared with what was actually sold. '€ per store-week' sums the absolute daily misses of a store over a week and averages over all store-weeks; 'weekly total miss' compares the week's total.",
    );
    head
}

/// Section 1's chart: the miss in euros per store-week of each forecast, by backtest fold.
fn fold_chart(f: &Figures<'_>) -> Chart {
    let bt = f.bt;
    let hl = &f.hl;
    let mut fold_labels: Vec<String> = bt
        .folds
        .iter()
        .map(|f| format!("fold {} ({})", f.index, f.origin))
        .collect();
    fold_labels.push("all folds".into());
    let mut chart = Chart::new(
        "bv-eur",
        Kind::Bar,
        "Forecast miss in € per store per week, by backtest fold (lower is better)",
    )
    .axes("backtest fold", "€ per store-week")
    .labels(fold_labels)
    .from_zero();
    let per_fold: Vec<Vec<ErrorRow>> = (1..=bt.folds.len())
        .map(|f| error_rows(bt, f))
        .chain([hl.rows.iter().filter(|r| r.fold == 0).cloned().collect()])
        .collect();
    for (i, m) in COMPARED.iter().enumerate() {
        chart = chart.series(Series::new(
            label(*m),
            per_fold
                .iter()
                .map(|rs| rs.get(i).map_or(f64::NAN, |r| r.eur_per_store_week))
                .collect(),
        ));
    }
    chart
}

/// Section 2: how often a forecast is within ±5 %, ±10 %, ±20 %.
fn bands_section(f: &Figures<'_>) -> Section {
    let last = f.last;
    let hl = &f.hl;
    let bands_last = &f.bands_last;
    let bands_all = &f.bands_all;
    let mut band_rows = Vec::new();
    for rs in [&bands_last, &bands_all] {
        for r in rs.iter() {
            let mut row = vec![
                label(r.model).to_string(),
                if r.fold == 0 {
                    "all folds".into()
                } else {
                    "last fold".into()
                },
            ];
            row.extend(r.days.iter().map(|x| pct(*x)));
            row.extend(r.weeks.iter().map(|x| pct(*x)));
            band_rows.push(row);
        }
    }
    let band_labels: Vec<String> = ["day", "week"]
        .iter()
        .flat_map(|k| {
            BANDS
                .iter()
                .map(move |b| format!("±{:.0}% ({k})", b * 100.0))
        })
        .collect();
    let mut band_chart = Chart::new(
        "bv-bands",
        Kind::Bar,
        "Share of store-days and store-weeks forecast within ±5%, ±10%, ±20% (last fold; higher is better)",
    )
    .axes("accuracy band", "share")
    .labels(band_labels)
    .percent()
    .from_zero();
    for r in bands_last.iter() {
        band_chart = band_chart.series(Series::new(
            label(r.model),
            r.days.iter().chain(r.weeks.iter()).copied().collect(),
        ));
    }
    let mut bands = Section::new("bands", "How often a forecast is good enough to plan on");
    if let (Some(m), Some(b)) = (
        bands_last.iter().find(|r| r.model == MODEL),
        bands_last
            .iter()
            .find(|r| r.model == hl.best_stand_in(last)),
    ) {
        bands = bands.para(format!(
            "A forecast within ±5% of actual needs no correction in the staff plan; within ±10% it is usable; beyond ±20% the store is visibly over- or under-staffed. On the last fold, the model is within ±5% on {} of store-days, ±10% on {}, ±20% on {}; the better stand-in ({}) on {}, {} and {}. Weekly totals, which drive stock orders, are steadier: the model gets {} of store-weeks within ±5% ({} for the stand-in).",
            pct(m.days[0]),
            pct(m.days[1]),
            pct(m.days[2]),
            label(b.model),
            pct(b.days[0]),
            pct(b.days[1]),
            pct(b.days[2]),
            pct(m.weeks[0]),
            pct(b.weeks[0]),
        ));
    }
    bands = bands
        .table(
            &[
                "forecast",
                "period",
                "days ±5%",
                "days ±10%",
                "days ±20%",
                "weeks ±5%",
                "weeks ±10%",
                "weeks ±20%",
            ],
            band_rows,
        )
        .chart(band_chart);
    bands
}

/// Section 3: where the model works and where it struggles.
fn segments_section(f: &Figures<'_>) -> Section {
    let segs = &f.segs;
    let mut seg = Section::new("segments", "Where the model works and where it struggles (last fold)")
        .para("The last fold's store-days by store type, assortment, horizon week, weekday, promotion and holidays. 'Closer' compares the model's RMSPE with the better of the two stand-ins in that group. A group where the model gains little is where manager judgement still matters most.");
    let mut weakest: Option<(String, String, f64)> = None;
    let mut strongest: Option<(String, String, f64)> = None;
    for t in segs.iter() {
        let mut rows = Vec::new();
        for r in &t.rows {
            let best = r.metrics[1].rmspe.min(r.metrics[2].rmspe);
            let imp = 1.0 - r.metrics[0].rmspe / best;
            if r.metrics[0].n >= 30 && imp.is_finite() {
                if weakest.as_ref().is_none_or(|w| imp < w.2) {
                    weakest = Some((t.cut.to_string(), r.group.clone(), imp));
                }
                if strongest.as_ref().is_none_or(|w| imp > w.2) {
                    strongest = Some((t.cut.to_string(), r.group.clone(), imp));
                }
            }
            rows.push(vec![
                r.group.clone(),
                f4(r.metrics[0].rmspe),
                f4(r.metrics[1].rmspe),
                f4(r.metrics[2].rmspe),
                closer(imp),
                pct(r.metrics[0].wape),
                spct(r.metrics[0].bias),
                r.metrics[0].n.to_string(),
            ]);
        }
        seg = seg.table(
            &[
                t.cut,
                "model RMSPE",
                "last-year RMSPE",
                "median RMSPE",
                "model vs better stand-in",
                "model WAPE",
                "model bias",
                "store-days",
            ],
            rows,
        );
        if t.cut == "store type" || t.cut == "horizon week" {
            let kind = if t.cut == "store type" {
                Kind::Bar
            } else {
                Kind::Line
            };
            let mut c = Chart::new(
                format!("bv-seg-{}", t.cut.replace(' ', "-")),
                kind,
                format!("RMSPE by {} (last fold; lower is better)", t.cut),
            )
            .axes(t.cut, "RMSPE")
            .labels(t.rows.iter().map(|r| r.group.clone()))
            .from_zero();
            for (i, m) in COMPARED.iter().enumerate() {
                c = c.series(Series::new(
                    label(*m),
                    t.rows.iter().map(|r| r.metrics[i].rmspe).collect(),
                ));
            }
            seg = seg.chart(c);
        }
    }
    if let (Some(s), Some(w)) = (&strongest, &weakest) {
        seg = seg.callout(format!(
            "The largest gain is for {} '{}' ({}), the smallest for {} '{}' ({}).",
            s.0,
            s.1,
            closer(s.2),
            w.0,
            w.1,
            closer(w.2)
        ));
    }
    seg
}

/// Section 4: the hardest stores, and why.
fn hardest_section(f: &Figures<'_>) -> Section {
    let last = f.last;
    let hl = &f.hl;
    let all_stores = &f.all_stores;
    let hard: Vec<&HardStore> = all_stores.iter().take(HARDEST).collect();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for h in &hard {
        *counts.entry(h.reasons[0].name()).or_default() += 1;
    }
    let mut count_list: Vec<(&str, usize)> = counts.into_iter().collect();
    count_list.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let hard_rows: Vec<Vec<String>> = hard
        .iter()
        .enumerate()
        .map(|(i, h)| {
            vec![
                (i + 1).to_string(),
                h.store.to_string(),
                format!("{} / {}", h.store_type, h.assortment.name()),
                f4(h.rmspe),
                f4(h.median_rmspe),
                spct(h.bias),
                format!("{} ({} days gap)", h.days, h.longest_gap),
                if h.volatility.is_finite() {
                    format!("{:.2} (p{:.0})", h.volatility, 100.0 * h.volatility_rank)
                } else {
                    "–".into()
                },
                format!("{} on {}", spct(h.worst_error), h.worst_date),
                h.why.clone(),
            ]
        })
        .collect();
    let chain_rmspe = hl.get(MODEL, last).map_or(f64::NAN, |r| r.metrics.rmspe);
    let mut hard_sec = Section::new("hardest", format!("The {HARDEST} hardest stores, and why"));
    if !hard.is_empty() {
        let share_sq: f64 = {
            let tot: f64 = all_stores
                .iter()
                .map(|h| h.rmspe * h.rmspe * h.days as f64)
                .sum();
            let top: f64 = hard.iter().map(|h| h.rmspe * h.rmspe * h.days as f64).sum();
            top / tot
        };
        hard_sec = hard_sec.para(format!(
            "The {} stores with the highest model RMSPE on the last fold ({} to {}, against {} for the whole chain) out of {} stores. Together they carry {} of the chain's squared percentage error. Main reasons: {}. When the stand-in's RMSPE is high too, the store is hard for any forecast; when it is low, the model missed something the simple rule did not.",
            hard.len(),
            f4(hard.last().map_or(f64::NAN, |h| h.rmspe)),
            f4(hard[0].rmspe),
            f4(chain_rmspe),
            all_stores.len(),
            pct(share_sq),
            count_list
                .iter()
                .map(|(r, c)| format!("{r} ({c})"))
                .collect::<Vec<_>>()
                .join(", "),
        ))
        .table(
            &[
                "#",
                "store",
                "type / assortment",
                "model RMSPE",
                "median RMSPE",
                "model bias",
                "scored days (longest gap)",
                "volatility (chain percentile)",
                "worst day error",
                "why",
            ],
            hard_rows,
        )
        .chart(
            Chart::new(
                "bv-hardest",
                Kind::Bar,
                format!("RMSPE of the {} hardest stores (last fold)", hard.len()),
            )
            .axes("store", "RMSPE")
            .labels(hard.iter().map(|h| format!("store {}", h.store)))
            .from_zero()
            .series(Series::new("model", hard.iter().map(|h| h.rmspe).collect()))
            .series(Series::new(
                label(MEDIAN),
                hard.iter().map(|h| h.median_rmspe).collect(),
            )),
        )
        .para(format!(
            "Reason rules, in order: closures or gaps (a run of {CLOSURE_GAP_DAYS}+ days without sales, or fewer than {} of a typical store's scored days); one outlier day (one day carries {}+ of the store's squared error); a level shift (the store's bias is beyond ±{}); an erratic store (volatility in the chain's top {}); otherwise broad noise.",
            pct(CLOSURE_DAY_SHARE),
            pct(OUTLIER_SHARE),
            pct(LEVEL_SHIFT_BIAS),
            pct(1.0 - VOLATILE_RANK),
        ));
    }
    hard_sec
}

/// Section 5: how far to trust a single forecast (spread and band coverage).
fn calibration_section(f: &Figures<'_>) -> Section {
    let bt = f.bt;
    let coverage = f.coverage;
    let last = f.last;
    let mut cal = Section::new("calibration", "How far to trust a single forecast");
    let mut logres: Vec<f64> = bt
        .predictions
        .iter()
        .filter(|p| p.fold == last && p.actual > 0.0 && p.model > 0.0)
        .map(|p| p.actual / p.model - 1.0)
        .collect();
    logres.sort_by(f64::total_cmp);
    let weeks_last = store_weeks(bt, last);
    let mut wres: Vec<f64> = weeks_last
        .values()
        .filter(|w| w.forecast[0] > 0.0)
        .map(|w| w.actual / w.forecast[0] - 1.0)
        .collect();
    wres.sort_by(f64::total_cmp);
    if !logres.is_empty() {
        cal = cal.callout(format!(
            "What a manager can rely on: on 8 days out of 10, actual sales were between {} and {} of the model's forecast; on 19 days out of 20, between {} and {}. For a store's weekly total, 8 weeks out of 10 fell between {} and {}.",
            spct(quantile(&logres, 0.1)),
            spct(quantile(&logres, 0.9)),
            spct(quantile(&logres, 0.025)),
            spct(quantile(&logres, 0.975)),
            spct(quantile(&wres, 0.1)),
            spct(quantile(&wres, 0.9)),
        ));
    }
    if let Some(c) = coverage.first() {
        let verdict = |x: f64, target: f64| {
            if (x - target).abs() <= 0.02 {
                "as promised"
            } else if x < target {
                "a little less often than promised: the bands are slightly too narrow"
            } else {
                "more often than promised: the bands are slightly too wide"
            }
        };
        cal = cal.para(format!(
            "Every forecast comes with an 80% and a 95% band. Measured on the last fold, which the band calibration never saw, the actual fell inside the 80% band on {} of store-days, that is {:.1} days out of 10 ({}), and inside the 95% band on {} ({}).",
            pct(c.cover80),
            c.cover80 * 10.0,
            verdict(c.cover80, 0.8),
            pct(c.cover95),
            verdict(c.cover95, 0.95),
        ));
        let rows: Vec<Vec<String>> = crate::tables::coverage_table(coverage);
        cal = cal
            .table(
                &["scope", "inside 80% band", "inside 95% band", "cases"],
                rows,
            )
            .chart(
                Chart::new(
                    "bv-coverage",
                    Kind::Bar,
                    "Measured interval coverage (target: 80% and 95%)",
                )
                .axes("scope", "share inside the band")
                .labels(coverage.iter().map(|c| c.scope.clone()))
                .percent()
                .from_zero()
                .reference(0.8)
                .series(Series::new(
                    "inside 80% band",
                    coverage.iter().map(|c| c.cover80).collect(),
                ))
                .series(Series::new(
                    "inside 95% band",
                    coverage.iter().map(|c| c.cover95).collect(),
                )),
            );
    } else {
        cal = cal.para("No interval coverage was supplied with this backtest.");
    }
    cal
}

/// Section 6: what the error is worth, under explicit assumptions.
fn value_section(f: &Figures<'_>) -> Section {
    let bt = f.bt;
    let a = f.a;
    let save_all = &f.save_all;
    let mut val = Section::new("value", "Business value: an explicit, simple model");
    val = val.para(format!(
        "What a forecast error costs, in a deliberately simple model whose every assumption is printed below and can be changed. Staffing: each day the store plans staff hours = forecast ÷ {} of sales per staff hour. If actual sales are lower, the extra hours are paid for nothing ({} per hour). If they are higher, the store is short-staffed and short-stocked, and {} of the shortfall is lost at a gross margin of {}. Costs are computed per store-day and summed per store-week, over all {} backtest folds. Stock: the safety stock a store needs against forecast error is z × σ of its weekly forecast error in € (z = {:.2}), scaled to {} days of cover and valued at cost; holding it costs {} a year.",
        eur(a.sales_per_staff_hour),
        eur2(a.staff_cost_per_hour),
        pct(a.lost_sale_share_of_shortfall),
        pct(a.gross_margin),
        bt.folds.len(),
        a.service_z,
        a.stock_cover_days,
        pct(a.holding_cost_rate),
    ));
    if let Some(s) = save_all
        .iter()
        .min_by(|x, y| x.chain_year.total_cmp(&y.chain_year))
    {
        val = val.callout(format!(
            "Against the better stand-in ({}), the model {} **{} per store per year** of staffing cost of error, **{} per year** for {} stores, and {} the chain's safety stock by **{}** at cost (holding cost {} {} per year). Against {}: {} per store per year, {} per year for the chain.",
            label(s.stand_in),
            better_or_worse(s.per_store_year),
            eur(s.per_store_year.abs()),
            eur(s.chain_year.abs()),
            a.stores,
            if s.buffer_reduction >= 0.0 { "reduces" } else { "increases" },
            eur(s.buffer_reduction.abs()),
            if s.holding_year >= 0.0 { "saved:" } else { "added:" },
            eur(s.holding_year.abs()),
            save_all
                .iter()
                .find(|o| o.stand_in != s.stand_in)
                .map_or("–", |o| label(o.stand_in)),
            save_all
                .iter()
                .find(|o| o.stand_in != s.stand_in)
                .map_or("–".into(), |o| eur(o.per_store_year)),
            save_all
                .iter()
                .find(|o| o.stand_in != s.stand_in)
                .map_or("–".into(), |o| eur(o.chain_year)),
        ));
    }
    value_tables(f, val)
}

/// Section 6's tables and chart: the cost of error, the safety stock, the savings and the
/// assumptions behind them.
fn value_tables(f: &Figures<'_>, mut val: Section) -> Section {
    let bt = f.bt;
    let a = f.a;
    let last = f.last;
    let value_all = &f.value_all;
    let buffer_all = &f.buffer_all;
    let save_all = &f.save_all;
    let value_rows: Vec<Vec<String>> = value_all
        .iter()
        .map(|r| {
            vec![
                label(r.model).to_string(),
                eur(r.over_staffing),
                eur(r.lost_margin),
                eur(r.total),
                pct(r.share_of_sales),
                eur(r.per_store_year),
                eur(r.chain_year),
            ]
        })
        .collect();
    let buffer_rows: Vec<Vec<String>> = buffer_all
        .iter()
        .map(|r| {
            vec![
                label(r.model).to_string(),
                eur(r.weekly_rmse),
                eur(r.per_store),
                eur(r.chain),
                eur(r.chain_holding_year),
            ]
        })
        .collect();
    let saving_rows: Vec<Vec<String>> = save_all
        .iter()
        .map(|s| {
            vec![
                label(s.stand_in).to_string(),
                eur(s.per_store_year),
                eur(s.chain_year),
                eur(s.buffer_reduction),
                eur(s.holding_year),
            ]
        })
        .collect();
    let value_last = staffing_value(bt, last, a);
    let last_note = match (
        value_last.iter().find(|r| r.model == MODEL),
        value_last
            .iter()
            .filter(|r| r.model != MODEL)
            .min_by(|x, y| x.total.total_cmp(&y.total)),
    ) {
        (Some(m), Some(b)) => format!(
            " On the last fold alone the gap is {} per store-week ({} for the model, {} for {}).",
            eur(b.total - m.total),
            eur(m.total),
            eur(b.total),
            label(b.model)
        ),
        _ => String::new(),
    };
    let assumption_rows: Vec<Vec<String>> = a
        .describe()
        .into_iter()
        .map(|(k, v, d)| vec![k.to_string(), v, d.to_string()])
        .collect();
    val = val
        .table(
            &[
                "forecast",
                "over-staffing € / store-week",
                "lost margin € / store-week",
                "cost of error € / store-week",
                "share of sales",
                "€ / store / year",
                "€ / year, chain",
            ],
            value_rows,
        )
        .chart(
            Chart::new(
                "bv-value",
                Kind::Bar,
                "Staffing cost of forecast error, € per store per year (explicit model; lower is better)",
            )
            .axes("forecast", "€ per store per year")
            .labels(value_all.iter().map(|r| label(r.model)))
            .from_zero()
            .series(Series::new(
                "paid idle hours",
                value_all.iter().map(|r| r.over_staffing * a.weeks_per_year).collect(),
            ))
            .series(Series::new(
                "lost margin",
                value_all.iter().map(|r| r.lost_margin * a.weeks_per_year).collect(),
            )),
        )
        .table(
            &[
                "forecast",
                "weekly error σ € / store",
                "safety stock € / store (at cost)",
                "safety stock € chain",
                "holding cost € / year, chain",
            ],
            buffer_rows,
        )
        .table(
            &[
                "model against",
                "staffing saving € / store / year",
                "staffing saving € / year, chain",
                "safety stock released € (one-off)",
                "holding cost saved € / year",
            ],
            saving_rows,
        )
        .para(format!(
            "Per-store figures are averages over the backtest's store-weeks, scaled by {} weeks and {} stores.{last_note} Read these as orders of magnitude under the stated assumptions, not as a promise: the stand-ins approximate, not reproduce, today's manager estimates; real staffing has minimum shifts and cannot follow every euro of forecast; lost sales are not observed. The A/B pilot below measures the real effect.",
            a.weeks_per_year, a.stores
        ))
        .para("Assumptions (change any of them in the assumptions file and regenerate the report):")
        .table(&["assumption", "value", "meaning"], assumption_rows);
    val
}

/// Section 7: risks and limits.
fn risks_section(f: &Figures<'_>) -> Section {
    let bt = f.bt;
    let last = f.last;
    let hl = &f.hl;
    let all_stores = &f.all_stores;
    let (chain_chart, chain_miss) = chain_view(f);
    let pooled = hl.get(MODEL, 0);
    let bias = pooled.map_or(f64::NAN, |r| r.metrics.bias);
    let spw = pooled.map_or(f64::NAN, |r| r.sales_per_store_week);
    let (mut big_n, mut big_sq, mut all_n, mut all_sq) = (0usize, 0.0, 0usize, 0.0);
    for p in bt
        .predictions
        .iter()
        .filter(|p| p.fold == last && p.actual > 0.0)
    {
        let r = (p.model - p.actual) / p.actual;
        all_n += 1;
        all_sq += r * r;
        if r.abs() > 0.3 {
            big_n += 1;
            big_sq += r * r;
        }
    }
    let fold_rmspe: Vec<f64> = (1..=bt.folds.len())
        .map(|f| bt.metrics_where(MODEL, |p| p.fold == f).rmspe)
        .collect();
    let drift = match (fold_rmspe.first(), fold_rmspe.last()) {
        (Some(f), Some(l)) if fold_rmspe.len() > 1 => {
            let ch = l / f - 1.0;
            format!(
                "Across the folds, from oldest to newest, the model's RMSPE was {} ({} from first to last fold){}.",
                fold_rmspe.iter().map(|x| f4(*x)).collect::<Vec<_>>().join(", "),
                spct(ch),
                if ch > 0.1 {
                    ": error is rising, so watch it closely"
                } else {
                    "; the backtest shows no upward drift of the error, but the future may"
                }
            )
        }
        _ => "With a single fold, the backtest cannot show drift over time.".into(),
    };
    let closures = all_stores
        .iter()
        .filter(|h| h.reasons.contains(&Reason::Closure))
        .count();
    let fallback: Vec<String> = bt.folds.iter().map(|f| pct(f.last_year_fallback)).collect();
    let risks = Section::new("risks", "Risks and limits")
        .list(vec![
            format!("**Data gaps.** Stores with holes in their history get weaker store profiles and no last-year reference; the data quality report lists every such gap (rule `series_gap`: store, first and last missing day); gaps a year back matter most, because the last-year features and stand-in are missing there. In the backtest, {closures} of {} stores had a closure or gap in the last fold, and last year's same weekday was unavailable for {} of store-days (folds oldest to newest), where the stand-in fell back to the median.", all_stores.len(), fallback.join(", ")),
            format!("**Unseen events.** The forecast knows the plan (open days, promotions, holidays), not a competitor's opening, a road closure, weather or a local festival. {} of last-fold store-days missed by more than 30%, and they carry {} of the squared percentage error behind the RMSPE. Such days need the manager's judgement: the app should let managers override a forecast and log why.", pct(big_n as f64 / all_n.max(1) as f64), pct(big_sq / all_sq)),
            format!("**Drift.** Shopping habits, the store network and promotion mechanics change. {drift}"),
            format!("**A slight under-forecast in euros.** The model minimises the relative error (RMSPE), which pulls forecasts a little low: its bias over all folds is {} of sales, about {} per store-week. Daily staffing is planned on relative error, so this is the intended target there; for budgets and chain-level purchase volumes, scale totals by {:.3} or use the weekly totals with their band. On the last fold the chain's daily total was off by {} on average.", spct(bias), eur(bias * spw), 1.0 / (1.0 + bias), pct(chain_miss)),
            "**Stand-ins, not managers.** The comparison is against two simple rules; real manager estimates include local knowledge. The value figures are a model, to be confirmed by the pilot.".to_string(),
        ])
        .chart(chain_chart);
    risks
}

/// The chain's daily totals over the last fold, actual against each forecast, and the model's
/// mean absolute miss of the daily total as a share of sales.
fn chain_view(f: &Figures<'_>) -> (Chart, f64) {
    let bt = f.bt;
    let last = f.last;
    let mut by_date: BTreeMap<NaiveDate, [f64; 4]> = BTreeMap::new();
    for p in bt.predictions.iter().filter(|p| p.fold == last) {
        let e = by_date.entry(p.date).or_default();
        e[0] += p.actual;
        for (i, m) in COMPARED.iter().enumerate() {
            e[i + 1] += p.forecast(*m);
        }
    }
    let mut chain_chart = Chart::new(
        "bv-chain",
        Kind::Line,
        "Chain sales per day over the last fold: actual vs forecasts (€, stores in the backtest)",
    )
    .axes("date", "€ per day")
    .labels(by_date.keys().map(|d| d.to_string()))
    .series(Series::new(
        "actual",
        by_date.values().map(|v| v[0]).collect(),
    ));
    for (i, m) in COMPARED.iter().enumerate() {
        let mut s = Series::new(label(*m), by_date.values().map(|v| v[i + 1]).collect());
        if i > 0 {
            s = s.dashed();
        }
        chain_chart = chain_chart.series(s);
    }
    let chain_miss: f64 = by_date.values().map(|v| (v[1] - v[0]).abs()).sum::<f64>()
        / by_date.values().map(|v| v[0]).sum::<f64>().max(1.0);
    (chain_chart, chain_miss)
}

/// Section 8: recommendations for industrialization.
fn rollout_section(f: &Figures<'_>) -> Section {
    let coverage = f.coverage;
    let monitor = f.monitor;
    let hl = &f.hl;
    let segs = &f.segs;
    let all_stores = &f.all_stores;
    let hard: Vec<&HardStore> = all_stores.iter().take(HARDEST).collect();
    let bias = hl.get(MODEL, 0).map_or(f64::NAN, |r| r.metrics.bias);
    let type_rows: Vec<Vec<String>> = segs
        .iter()
        .find(|t| t.cut == "store type")
        .map(|t| {
            t.rows
                .iter()
                .map(|r| {
                    vec![
                        format!("store type {}", r.group),
                        f4(r.metrics[0].rmspe),
                        f4(r.metrics[0].rmspe * monitor.rmspe_factor),
                        spct(r.metrics[0].bias),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let hard_ids: Vec<u16> = hard.iter().map(|h| h.store).collect();
    let mut pilots: Vec<String> = Vec::new();
    for t in StoreType::ALL {
        let mut cands: Vec<&HardStore> = all_stores
            .iter()
            .filter(|h| {
                h.store_type == t && !hard_ids.contains(&h.store) && h.reasons[0] != Reason::Closure
            })
            .collect();
        if cands.is_empty() {
            continue;
        }
        let mut rm: Vec<f64> = cands.iter().map(|h| h.rmspe).collect();
        rm.sort_by(f64::total_cmp);
        let med = quantile(&rm, 0.5);
        cands.sort_by(|x, y| {
            (x.rmspe - med)
                .abs()
                .total_cmp(&(y.rmspe - med).abs())
                .then(x.store.cmp(&y.store))
        });
        let ids: Vec<String> = cands.iter().take(3).map(|h| h.store.to_string()).collect();
        pilots.push(format!("type {t}: {}", ids.join(", ")));
    }
    let best_imp = hl.improvement(hl.best_stand_in(0), 0);
    let m_cov = coverage.first();
    let mon = monitor;
    let rec = Section::new("rollout", "Recommendations for industrialization")
        .list(vec![
            "**Retraining cadence.** Ingest the week's actuals and retrain every week (the model trains in minutes on two cores); run the full rolling backtest and regenerate this report monthly; retrain at once after a monitoring alert or a change in the store network. Keep every model version with its backtest so a forecast can always be traced.".into(),
            format!("**Monitoring** (`storecast monitor`, thresholds from its configuration). Weekly, per store type: alert when the 4-week RMSPE exceeds {:.2} × its backtest level (table below); when the share of actuals inside the 80% band falls below {} (backtest: {}) or inside the 95% band below {}, unless chance explains it; when the 4-week bias leaves ± {} (now {}); and when the population stability index (PSI) of an input exceeds {:.2} against the same weeks a year earlier ({:.2} = watch).", mon.rmspe_factor, pct(mon.coverage80_min), m_cov.map_or("–".into(), |c| pct(c.cover80)), pct(mon.coverage95_min), pct(mon.bias_abs_max), spct(bias), mon.psi_alert, mon.psi_warn),
            format!("**Roll-out.** Pilot in stores chosen across store types, typical for their type (model RMSPE near the type median, not among the hardest, no closure): {}. Run an A/B test for 8 weeks against the managers' own estimates, with matched control stores of the same type and size. Success criterion: the pilot's WAPE at least {} below the managers' (half the backtest gain of {} over the better stand-in), no store type worse than its managers, 80% band coverage within 75–85%, and staff hours per € of sales down without more stock-outs.", pilots.join("; "), pct((best_imp / 2.0).max(0.0)), pct(best_imp)),
            "**Ownership.** A data steward owns ingestion and the plan data (opening calendar, promotions, holidays, store master) and flags gaps; a model owner owns retraining, backtests, monitoring and this report; store operations own the pilot, collect manager overrides with reasons, and decide the roll-out.".into(),
        ])
        .table(&["scope", "backtest RMSPE (last fold)", "alert above", "backtest bias"], type_rows);
    rec
}

/// Writes `report.html` (self-contained) and `report.md` into `out_dir` (created if needed);
/// returns their paths (HTML, Markdown). A template that fails to render is an error here too.
pub fn write_report(doc: &Doc, out_dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out_dir)?;
    let html = out_dir.join("report.html");
    let md = out_dir.join("report.md");
    std::fs::write(&html, doc.to_html().map_err(std::io::Error::other)?)?;
    std::fs::write(&md, doc.to_markdown())?;
    Ok((html, md))
}
