//! Forecast Value Added: does each step of the planning process make the forecast better?
//!
//! Why this module exists: an override costs a manager's time and is only worth it when it
//! makes the plan more accurate. FVA scores the steps on the same store-days once the actuals
//! are known — a naive stand-in (last year's same weekday), the model, and the final plan
//! (the model with the managers' overrides) — and reports the difference of the error of the
//! step before minus the error of the step after: positive means the step added value. The
//! error is WAPE (Σ|actual − forecast| / Σ actual: euros wrong per euro sold, the figure a
//! planner can act on), beside the € error, RMSPE (the model's own metric) and bias.
//!
//! Why a bootstrap over store-weeks: errors of one store within a week are correlated (a
//! local event moves several days), so resampling days would make intervals too narrow;
//! resampling whole store-weeks keeps that correlation.

use crate::overrides::Reason;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A step of the planning process, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Last year's same weekday (what a manager without the model would start from).
    Naive,
    /// The model's forecast.
    Model,
    /// The final plan: the model with the managers' overrides.
    Plan,
}

impl Step {
    /// Every step, in process order.
    pub const ALL: [Step; 3] = [Step::Naive, Step::Model, Step::Plan];
    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Step::Naive => "naive (last year's same weekday)",
            Step::Model => "model",
            Step::Plan => "final plan (with overrides)",
        }
    }
}

/// One open store-day with its actual and every step's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredDay {
    /// Store id.
    pub store: u16,
    /// Store type code (`a`..`d`).
    pub store_type: String,
    /// Date.
    pub date: NaiveDate,
    /// Week of the horizon (1 = the first seven days forecast).
    pub horizon_week: u8,
    /// Actual sales (€, > 0).
    pub actual: f64,
    /// Naive forecast (€).
    pub naive: f64,
    /// Model forecast (€).
    pub model: f64,
    /// Final plan (€; the model where no override).
    pub plan: f64,
    /// Reason of the override in force, `None` where the model stood.
    pub reason: Option<Reason>,
}

impl ScoredDay {
    /// The forecast of `step`.
    pub fn forecast(&self, step: Step) -> f64 {
        match step {
            Step::Naive => self.naive,
            Step::Model => self.model,
            Step::Plan => self.plan,
        }
    }
    /// Monday of the day's calendar week (the bootstrap's cluster with the store).
    pub fn monday(&self) -> NaiveDate {
        self.date - Duration::days(i64::from(self.date.weekday().num_days_from_monday()))
    }
}

/// How the days are grouped.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// All days together.
    Chain,
    /// By store type.
    StoreType,
    /// By store.
    Store,
    /// By the reason of the override (overridden days only).
    Reason,
    /// By week of the horizon.
    HorizonWeek,
}

impl Dimension {
    /// Every dimension, in report order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Chain,
        Dimension::Reason,
        Dimension::StoreType,
        Dimension::HorizonWeek,
        Dimension::Store,
    ];
    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Chain => "whole chain",
            Dimension::StoreType => "store type",
            Dimension::Store => "store",
            Dimension::Reason => "reason of the override",
            Dimension::HorizonWeek => "week of the horizon",
        }
    }
    /// The group of `d`, or `None` when the day does not belong to any group.
    fn key(self, d: &ScoredDay) -> Option<GroupKey> {
        Some(match self {
            Dimension::Chain => GroupKey::Chain,
            Dimension::StoreType => GroupKey::StoreType(d.store_type.clone()),
            Dimension::Store => GroupKey::Store(d.store),
            Dimension::Reason => GroupKey::Reason(d.reason?),
            Dimension::HorizonWeek => GroupKey::Week(d.horizon_week),
        })
    }
}

/// A group of a table.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    /// The chain.
    Chain,
    /// A store type.
    StoreType(String),
    /// A store.
    Store(u16),
    /// A reason.
    Reason(Reason),
    /// A week of the horizon.
    Week(u8),
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::Chain => f.write_str("all stores"),
            GroupKey::StoreType(t) => write!(f, "type {t}"),
            GroupKey::Store(s) => write!(f, "store {s}"),
            GroupKey::Reason(r) => f.write_str(r.label()),
            GroupKey::Week(w) => write!(f, "week {w}"),
        }
    }
}

/// One step's accuracy on a group.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepScore {
    /// Σ|actual − forecast| / Σ actual.
    pub wape: f64,
    /// Root mean squared percentage error.
    pub rmspe: f64,
    /// Σ(forecast − actual) / Σ actual (positive: too high).
    pub bias: f64,
    /// Σ|actual − forecast| (€).
    pub abs_error_eur: f64,
}

/// The level of every FVA interval: 90 %, as planning teams read FVA (a step's value is
/// "clear" when the whole interval is on one side of zero).
pub const INTERVAL_LEVEL: f64 = 0.90;

/// A value with its [`INTERVAL_LEVEL`] bootstrap interval.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize)]
#[schema(as = FvaInterval)]
pub struct Interval {
    /// The estimate on the data.
    pub value: f64,
    /// Lower quantile of the bootstrap ((1 − [`INTERVAL_LEVEL`]) / 2).
    pub lo: f64,
    /// Upper quantile of the bootstrap ((1 + [`INTERVAL_LEVEL`]) / 2).
    pub hi: f64,
}

impl Interval {
    /// The interval lies entirely above zero.
    pub fn positive(&self) -> bool {
        self.lo > 0.0
    }
    /// The interval lies entirely below zero.
    pub fn negative(&self) -> bool {
        self.hi < 0.0
    }
    /// Whether `x` lies in the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// One group's line of an FVA table.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct FvaRow {
    /// The group.
    pub group: GroupKey,
    /// Store-days scored.
    pub days: usize,
    /// Of which overridden.
    pub overridden: usize,
    /// Store-weeks (bootstrap clusters).
    pub store_weeks: usize,
    /// Naive step.
    pub naive: StepScore,
    /// Model step.
    pub model: StepScore,
    /// Final plan.
    pub plan: StepScore,
    /// FVA of the model over the naive: WAPE naive − WAPE model (positive: the model helps).
    pub fva_model: Interval,
    /// FVA of the overrides: WAPE model − WAPE plan (positive: the overrides help).
    pub fva_plan: Interval,
}

/// An FVA table along one dimension.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct FvaTable {
    /// How the days are grouped.
    pub dimension: Dimension,
    /// One row per group, in group order.
    pub rows: Vec<FvaRow>,
}

/// Bootstrap replicates behind every interval.
pub const BOOTSTRAP_DRAWS: usize = 400;

/// Sums of one store-week: the cluster the bootstrap resamples.
#[derive(Debug, Clone, Copy, Default)]
struct Cluster {
    actual: f64,
    abs: [f64; 3],
}

/// The FVA table of `days` along `dim`, intervals from [`BOOTSTRAP_DRAWS`] resamplings of
/// store-weeks drawn from a stream seeded by `seed`.
pub fn table(days: &[ScoredDay], dim: Dimension, seed: u64) -> FvaTable {
    let mut groups: BTreeMap<GroupKey, Vec<&ScoredDay>> = BTreeMap::new();
    for d in days.iter().filter(|d| d.actual > 0.0) {
        if let Some(k) = dim.key(d) {
            groups.entry(k).or_default().push(d);
        }
    }
    let rows = groups
        .into_iter()
        .enumerate()
        .map(|(i, (group, ds))| row(group, &ds, seed.wrapping_add(i as u64)))
        .collect();
    FvaTable {
        dimension: dim,
        rows,
    }
}

fn score(days: &[&ScoredDay], step: Step) -> StepScore {
    let actual: f64 = days.iter().map(|d| d.actual).sum();
    let abs: f64 = days
        .iter()
        .map(|d| (d.actual - d.forecast(step)).abs())
        .sum();
    let signed: f64 = days.iter().map(|d| d.forecast(step) - d.actual).sum();
    let sq: f64 = days
        .iter()
        .map(|d| ((d.actual - d.forecast(step)) / d.actual).powi(2))
        .sum();
    let n = days.len().max(1) as f64;
    StepScore {
        wape: abs / actual.max(f64::MIN_POSITIVE),
        rmspe: (sq / n).sqrt(),
        bias: signed / actual.max(f64::MIN_POSITIVE),
        abs_error_eur: abs,
    }
}

fn row(group: GroupKey, days: &[&ScoredDay], seed: u64) -> FvaRow {
    let mut clusters: BTreeMap<(u16, NaiveDate), Cluster> = BTreeMap::new();
    for d in days {
        let c = clusters.entry((d.store, d.monday())).or_default();
        c.actual += d.actual;
        for (k, step) in Step::ALL.into_iter().enumerate() {
            c.abs[k] += (d.actual - d.forecast(step)).abs();
        }
    }
    let clusters: Vec<Cluster> = clusters.into_values().collect();
    let [naive, model, plan] = Step::ALL.map(|s| score(days, s));
    let (fva_model, fva_plan) = bootstrap(&clusters, seed);
    FvaRow {
        group,
        days: days.len(),
        overridden: days.iter().filter(|d| d.reason.is_some()).count(),
        store_weeks: clusters.len(),
        fva_model: Interval {
            value: naive.wape - model.wape,
            ..fva_model
        },
        fva_plan: Interval {
            value: model.wape - plan.wape,
            ..fva_plan
        },
        naive,
        model,
        plan,
    }
}

/// Percentile intervals of the two FVAs over resampled clusters.
fn bootstrap(clusters: &[Cluster], seed: u64) -> (Interval, Interval) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00f5_a11d);
    let n = clusters.len();
    let mut a = Vec::with_capacity(BOOTSTRAP_DRAWS);
    let mut b = Vec::with_capacity(BOOTSTRAP_DRAWS);
    for _ in 0..BOOTSTRAP_DRAWS {
        let mut s = Cluster::default();
        for _ in 0..n {
            let c = &clusters[rng.gen_range(0..n)];
            s.actual += c.actual;
            for k in 0..3 {
                s.abs[k] += c.abs[k];
            }
        }
        let w = s.abs.map(|x| x / s.actual.max(f64::MIN_POSITIVE));
        a.push(w[0] - w[1]);
        b.push(w[1] - w[2]);
    }
    (percentiles(a), percentiles(b))
}

fn percentiles(mut v: Vec<f64>) -> Interval {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if v.is_empty() {
            0.0
        } else {
            storecast_stats::nearest_rank(&v, q)
        }
    };
    Interval {
        value: 0.0,
        lo: at((1.0 - INTERVAL_LEVEL) / 2.0),
        hi: at((1.0 + INTERVAL_LEVEL) / 2.0),
    }
}

/// Every dimension's table, in [`Dimension::ALL`] order.
pub fn tables(days: &[ScoredDay], seed: u64) -> Vec<FvaTable> {
    Dimension::ALL
        .into_iter()
        .map(|d| table(days, d, seed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(store: u16, date: &str, actual: f64, naive: f64, model: f64, plan: f64) -> ScoredDay {
        ScoredDay {
            store,
            store_type: "a".into(),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date"),
            horizon_week: 1,
            actual,
            naive,
            model,
            plan,
            reason: (plan != model).then_some(Reason::LocalEvent),
        }
    }

    #[test]
    fn scores_match_hand_computed_values() {
        let days = vec![
            day(1, "2015-06-22", 1000.0, 800.0, 900.0, 1000.0),
            day(1, "2015-06-23", 500.0, 600.0, 550.0, 550.0),
        ];
        let t = table(&days, Dimension::Chain, 1);
        let r = &t.rows[0];
        // naive |200|+|100| = 300 / 1500; model 100+50 = 150 / 1500; plan 0+50 = 50 / 1500.
        assert!((r.naive.wape - 0.2).abs() < 1e-12);
        assert!((r.model.wape - 0.1).abs() < 1e-12);
        assert!((r.plan.wape - 50.0 / 1500.0).abs() < 1e-12);
        assert!((r.fva_plan.value - (0.1 - 50.0 / 1500.0)).abs() < 1e-12);
        assert!((r.fva_model.value - 0.1).abs() < 1e-12);
        // model bias (-100 + 50) / 1500; RMSPE sqrt((0.01 + 0.01) / 2) = 0.1.
        assert!((r.model.bias + 50.0 / 1500.0).abs() < 1e-12);
        assert!((r.model.rmspe - 0.1).abs() < 1e-12);
        assert_eq!((r.days, r.overridden, r.store_weeks), (2, 1, 1));
        let by_reason = table(&days, Dimension::Reason, 1);
        assert_eq!(by_reason.rows.len(), 1);
        assert_eq!(by_reason.rows[0].days, 1, "only the overridden day");
    }

    #[test]
    fn one_cluster_gives_a_point_interval_and_more_give_a_spread() {
        let days = vec![day(1, "2015-06-22", 1000.0, 800.0, 900.0, 950.0)];
        let r = &table(&days, Dimension::Chain, 3).rows[0];
        assert!((r.fva_plan.lo - r.fva_plan.hi).abs() < 1e-12);
        let many: Vec<ScoredDay> = (0..40u16)
            .map(|s| {
                let plan = if s % 2 == 0 { 1000.0 } else { 700.0 };
                day(s + 1, "2015-06-22", 1000.0, 800.0, 900.0, plan)
            })
            .collect();
        let r = &table(&many, Dimension::Chain, 3).rows[0];
        assert!(r.fva_plan.lo < r.fva_plan.value && r.fva_plan.value < r.fva_plan.hi);
        assert!(r.fva_plan.contains(r.fva_plan.value));
    }
}
