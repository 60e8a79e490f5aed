//! Exact per-forecast explanations, read the way a store manager reads them.
//!
//! LightGBM's TreeSHAP gives, for every forecast, one contribution per feature in log space
//! that (with the base value) sums exactly to the model's log output. Features are summed into
//! business drivers ([`Driver`]), each named for what it holds. The explanation then has two
//! stages, both exact:
//! 1. **This store's usual day**: the chain's average day `scale · exp(base)` moved by the
//!    drivers that describe the store on this weekday in this season (its size and format, its
//!    recent sales on this weekday, the calendar, its same weeks last year), i.e.
//!    `scale · exp(base + Σ usual-day drivers)`. The waterfall starts here, not from the
//!    chain's average, so "+11,564 € trend" can no longer stand for a big store being big.
//! 2. **What moves this day**: promotion, holidays, competition, closures and the long-run
//!    trend, each with its Shapley share (in euros) of the multiplicative step from the usual
//!    day to the forecast; the shares add up exactly to the forecast. A driver whose event is
//!    absent on the day says so ("no promotion this day"): its effect is that of the absence
//!    against an average day, which is how the model sees it.

use serde::Serialize;
use std::collections::BTreeMap;
use storecast_data::StoreTable;
use storecast_model::features::{Frame, F};
use storecast_model::{
    Driver, ForecastError, Forecaster, Scenario, FEATURE_DRIVERS, FEATURE_NAMES, N_FEATURES,
};

/// Whether what a driver measures happens around the day, so its amount reads right.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// The event is on the day (a promotion, a holiday, a closure next to it).
    Present,
    /// Not on the day, but within a week of it.
    Nearby,
    /// Absent: the amount is the effect of its absence against an average day.
    Absent,
    /// Always there (the store's level, the calendar, the trend).
    Always,
}

impl Presence {
    /// Of `driver` on the day whose features are `row`.
    pub fn of(driver: Driver, row: &[f32]) -> Self {
        let on = |f: F| {
            row.get(f as usize)
                .is_some_and(|v| v.is_finite() && *v > 0.0)
        };
        let known = |f: F| row.get(f as usize).is_some_and(|v| v.is_finite());
        let any = |fs: &[F]| fs.iter().any(|f| on(*f));
        match driver {
            Driver::Promotion if on(F::promo) => Self::Present,
            Driver::Promotion => Self::Absent,
            Driver::Holidays if any(&[F::state_holiday, F::school_holiday]) => Self::Present,
            Driver::Holidays
                if any(&[
                    F::holidays_last_7,
                    F::holidays_next_7,
                    F::school_last_7,
                    F::school_next_7,
                ]) =>
            {
                Self::Nearby
            }
            Driver::Holidays => Self::Absent,
            Driver::Closures if any(&[F::closed_last_7, F::closed_next_7]) => Self::Nearby,
            Driver::Closures => Self::Absent,
            Driver::Competition if known(F::competition_distance) => Self::Present,
            Driver::Competition => Self::Absent,
            _ => Self::Always,
        }
    }
}

/// What a driver's amount stands for on a day, in words.
pub fn describe(driver: Driver, presence: Presence) -> &'static str {
    match (driver, presence) {
        (Driver::Promotion, Presence::Present) => "promotion this day",
        (Driver::Promotion, _) => "no promotion this day (vs an average day)",
        (Driver::Holidays, Presence::Present) => "holiday this day",
        (Driver::Holidays, Presence::Nearby) => "holidays within a week",
        (Driver::Holidays, _) => "no holiday within a week (vs an average day)",
        (Driver::Closures, Presence::Nearby | Presence::Present) => {
            "closed days within a week (not Sundays)"
        }
        (Driver::Closures, _) => "no closure within a week (vs an average day)",
        (Driver::Competition, Presence::Absent) => "no competitor known (vs an average store)",
        (Driver::Competition, _) => "nearby competition",
        (d, _) => d.label(),
    }
}

/// A driver's share of one forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriverEuro {
    /// The driver.
    pub driver: Driver,
    /// Sum of its features' log contributions.
    pub log: f64,
    /// Its share in euros: of the step from the chain's average day to the store's usual day
    /// (usual-day drivers), or of the step from the usual day to the forecast (the others).
    pub euro: f64,
    /// Whether its event happens around the day.
    pub presence: Presence,
    /// What the amount stands for, in words ([`describe`]).
    pub label: &'static str,
}

/// The explanation of one store-day forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Store id.
    pub store: u16,
    /// Date.
    pub date: chrono::NaiveDate,
    /// Forecast sales (€), bias-corrected.
    pub forecast: f64,
    /// The chain's average day, the model's reference (€): scale · exp(base).
    pub chain_baseline: f64,
    /// This store's usual day for this weekday and season (€), where the waterfall starts:
    /// `chain_baseline + Σ usual_day[].euro`.
    pub baseline: f64,
    /// How the chain's average day becomes this store's usual day (the usual-day drivers).
    pub usual_day: Vec<DriverEuro>,
    /// The base value (log space).
    pub base_log: f64,
    /// The model's log output (base + Σ contributions).
    pub log_output: f64,
    /// What moves this day from the store's usual day; `baseline + Σ euro = forecast`.
    pub drivers: Vec<DriverEuro>,
    /// Per-feature log contributions (name, value, contribution), largest |contribution| first.
    pub features: Vec<(String, f32, f64)>,
}

impl Explanation {
    /// Every driver, the usual day's first.
    pub fn all_drivers(&self) -> impl Iterator<Item = &DriverEuro> {
        self.usual_day.iter().chain(&self.drivers)
    }
}

/// Exact Shapley values of `f(S) = exp(Σ_{g∈S} c_g)` for up to ~10 players (2^n subsets).
fn multiplicative_shapley(c: &[f64]) -> Vec<f64> {
    let value: Vec<f64> = (0..1usize << c.len())
        .map(|mask| {
            (0..c.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| c[i])
                .sum::<f64>()
                .exp()
        })
        .collect();
    shapley_of_values(&value, c.len())
}

/// Exact Shapley values of `n` players from the value of every coalition (`value[mask]`,
/// bit `i` set when player `i` is in): the one Shapley computation of explanations and
/// what-ifs.
pub(crate) fn shapley_of_values(value: &[f64], n: usize) -> Vec<f64> {
    let mut fact = vec![1.0f64; n + 1];
    for k in 1..=n {
        fact[k] = fact[k - 1] * k as f64;
    }
    (0..n)
        .map(|g| {
            (0..value.len())
                .filter(|mask| mask & (1 << g) == 0)
                .map(|mask| {
                    let k = mask.count_ones() as usize;
                    fact[k] * fact[n - k - 1] / fact[n] * (value[mask | (1 << g)] - value[mask])
                })
                .sum()
        })
        .collect()
}

/// True when the forecast of `(store index, day index)` is worth explaining: closed days are
/// skipped (their forecast is 0 by plan).
pub fn explainable(sc: &Scenario, cell: (u32, u32)) -> bool {
    sc.tl.plan(cell.0 as usize, cell.1 as isize).open != storecast_model::OpenState::Closed
}

/// Driver shares (in euros) of the multiplicative step `from · exp(Σ log)` over `group`.
fn shares(group: &[Driver], by_driver: &[f64], from: f64, row: &[f32]) -> Vec<DriverEuro> {
    let logs: Vec<f64> = group.iter().map(|d| by_driver[d.index()]).collect();
    let shap = multiplicative_shapley(&logs);
    group
        .iter()
        .zip(logs.iter().zip(shap))
        .map(|(d, (log, phi))| {
            let presence = Presence::of(*d, row);
            DriverEuro {
                driver: *d,
                log: *log,
                euro: from * phi,
                presence,
                label: describe(*d, presence),
            }
        })
        .collect()
}

/// The explanation of one row from its features `row` and its TreeSHAP output `c`
/// (`N_FEATURES` contributions, then the base value).
pub fn explanation_of(
    sc: &Scenario,
    scale: f64,
    cell: (u32, u32),
    row: &[f32],
    c: &[f64],
) -> Explanation {
    let base = c[N_FEATURES];
    let mut by_driver = [0.0f64; Driver::ALL.len()];
    for (j, v) in c[..N_FEATURES].iter().enumerate() {
        by_driver[FEATURE_DRIVERS[j].index()] += v;
    }
    let log_output = base + by_driver.iter().sum::<f64>();
    let (usual, moving): (Vec<Driver>, Vec<Driver>) =
        Driver::ALL.iter().partition(|d| d.is_usual_day());
    let usual_log: f64 = usual.iter().map(|d| by_driver[d.index()]).sum();
    let chain_baseline = scale * base.exp();
    let baseline = scale * (base + usual_log).exp();
    let mut features: Vec<(String, f32, f64)> = (0..N_FEATURES)
        .map(|j| (FEATURE_NAMES[j].to_string(), row[j], c[j]))
        .collect();
    features.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    let (s, d) = cell;
    Explanation {
        store: sc.tl.stores[s as usize],
        date: sc.tl.date(d as usize),
        forecast: scale * log_output.exp(),
        chain_baseline,
        baseline,
        usual_day: shares(&usual, &by_driver, chain_baseline, row),
        base_log: base,
        log_output,
        drivers: shares(&moving, &by_driver, baseline, row),
        features,
    }
}

/// Explains the open rows of a frame (closed rows are skipped: their forecast is 0 by plan).
pub fn explain_frame(
    forecaster: &Forecaster,
    sc: &Scenario,
    frame: &Frame,
) -> Result<Vec<Explanation>, ForecastError> {
    let scale = forecaster.artifact.scale;
    let open_rows: Vec<usize> = (0..frame.len())
        .filter(|&i| explainable(sc, frame.rows[i]))
        .collect();
    let mut x = Vec::with_capacity(open_rows.len() * N_FEATURES);
    for &i in &open_rows {
        x.extend_from_slice(frame.row(i));
    }
    let contrib = forecaster.gbdt().contributions(&x)?;
    let width = N_FEATURES + 1;
    Ok(open_rows
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let c = &contrib[k * width..(k + 1) * width];
            explanation_of(sc, scale, frame.rows[i], frame.row(i), c)
        })
        .collect())
}

/// Explains the forecasts of `cells` (store index, day index) of a scenario.
pub fn explain(
    forecaster: &Forecaster,
    sc: &Scenario,
    stores: &StoreTable,
    cells: &[(u32, u32)],
) -> Result<Vec<Explanation>, ForecastError> {
    let frame = sc.features(stores, cells);
    explain_frame(forecaster, sc, &frame)
}

/// Mean |log contribution| per driver and per feature.
#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    /// Scope (e.g. "all stores", "store type a").
    pub scope: String,
    /// Forecasts averaged.
    pub n: usize,
    /// (driver, mean |Σ log contribution|, mean |€ share|), largest first.
    pub drivers: Vec<(Driver, f64, f64)>,
    /// (feature, mean |log contribution|), largest first.
    pub features: Vec<(String, f64)>,
}

/// Global importance over explanations, overall and by a grouping key (e.g. store type).
pub fn global_importance(
    explanations: &[Explanation],
    group: impl Fn(&Explanation) -> Option<String>,
) -> Vec<Importance> {
    let mut groups: BTreeMap<String, Vec<&Explanation>> = BTreeMap::new();
    for e in explanations {
        groups.entry("all stores".into()).or_default().push(e);
        if let Some(g) = group(e) {
            groups.entry(g).or_default().push(e);
        }
    }
    groups
        .into_iter()
        .map(|(scope, es)| {
            let n = es.len().max(1) as f64;
            let mut drivers: Vec<(Driver, f64, f64)> = Driver::ALL
                .iter()
                .map(|d| {
                    let of = |e: &&Explanation| e.all_drivers().find(|x| x.driver == *d).cloned();
                    let l = es.iter().filter_map(of).map(|x| x.log.abs()).sum::<f64>() / n;
                    let eu = es.iter().filter_map(of).map(|x| x.euro.abs()).sum::<f64>() / n;
                    (*d, l, eu)
                })
                .collect();
            drivers.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut feats: BTreeMap<&str, f64> = BTreeMap::new();
            for e in &es {
                for (name, _, c) in &e.features {
                    *feats.entry(name.as_str()).or_default() += c.abs() / n;
                }
            }
            let mut features: Vec<(String, f64)> =
                feats.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            features.sort_by(|a, b| b.1.total_cmp(&a.1));
            Importance {
                scope,
                n: es.len(),
                drivers,
                features,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplicative_shapley_is_exact_and_fair() {
        let c = [0.2, -0.1, 0.05, 0.0];
        let phi = multiplicative_shapley(&c);
        let total: f64 = phi.iter().sum();
        let expected = c.iter().sum::<f64>().exp() - 1.0;
        assert!((total - expected).abs() < 1e-12);
        // A null player gets nothing; signs follow the contributions.
        assert!(phi[3].abs() < 1e-15);
        assert!(phi[0] > 0.0 && phi[1] < 0.0);
        // Two players: symmetric split of the interaction.
        let p = multiplicative_shapley(&[0.3, 0.3]);
        assert!((p[0] - p[1]).abs() < 1e-15);
    }
}
