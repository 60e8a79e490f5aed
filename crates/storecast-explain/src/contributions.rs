//! Exact per-forecast explanations. LightGBM's TreeSHAP gives, for every forecast, one
//! contribution per feature in log space that (with the base value) sums exactly to the
//! model's log output. Features are summed into business drivers, and the log contributions
//! are turned into euros with the Shapley value of the multiplicative forecast
//! `scale · exp(base + Σ driver)`: every driver gets its fair share of the gap between the
//! forecast and the "typical day" forecast `scale · exp(base)`, and the shares add up exactly.

use serde::Serialize;
use std::collections::BTreeMap;
use storecast_data::StoreTable;
use storecast_model::features::Frame;
use storecast_model::{
    Driver, ForecastError, Forecaster, Scenario, FEATURE_DRIVERS, FEATURE_NAMES, N_FEATURES,
};

/// A driver's share of one forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DriverEuro {
    /// The driver.
    pub driver: Driver,
    /// Sum of its features' log contributions.
    pub log: f64,
    /// Its share of the forecast's distance from the typical day, in euros.
    pub euro: f64,
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
    /// The typical-day forecast the drivers move from (€): scale · exp(base).
    pub baseline: f64,
    /// The base value (log space).
    pub base_log: f64,
    /// The model's log output (base + Σ contributions).
    pub log_output: f64,
    /// Per-driver shares; `baseline + Σ euro = forecast`.
    pub drivers: Vec<DriverEuro>,
    /// Per-feature log contributions (name, value, contribution), largest |contribution| first.
    pub features: Vec<(String, f32, f64)>,
}

/// Exact Shapley values of `f(S) = exp(Σ_{g∈S} c_g)` for up to ~10 players (2^n subsets).
fn multiplicative_shapley(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    let subsets = 1usize << n;
    let value: Vec<f64> = (0..subsets)
        .map(|mask| {
            (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| c[i])
                .sum::<f64>()
                .exp()
        })
        .collect();
    let mut fact = vec![1.0f64; n + 1];
    for i in 1..=n {
        fact[i] = fact[i - 1] * i as f64;
    }
    (0..n)
        .map(|i| {
            let mut phi = 0.0;
            for mask in 0..subsets {
                if mask & (1 << i) != 0 {
                    continue;
                }
                let k = (mask as u32).count_ones() as usize;
                let w = fact[k] * fact[n - k - 1] / fact[n];
                phi += w * (value[mask | (1 << i)] - value[mask]);
            }
            phi
        })
        .collect()
}

/// True when the forecast of `(store index, day index)` is worth explaining: closed days are
/// skipped (their forecast is 0 by plan).
pub fn explainable(sc: &Scenario, cell: (u32, u32)) -> bool {
    sc.tl.plan(cell.0 as usize, cell.1 as isize).open != storecast_model::OpenState::Closed
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
        let d = Driver::ALL
            .iter()
            .position(|d| *d == FEATURE_DRIVERS[j])
            .unwrap_or(0);
        by_driver[d] += v;
    }
    let log_output = base + by_driver.iter().sum::<f64>();
    let baseline = scale * base.exp();
    let shap = multiplicative_shapley(&by_driver);
    let drivers = Driver::ALL
        .iter()
        .enumerate()
        .map(|(g, d)| DriverEuro {
            driver: *d,
            log: by_driver[g],
            euro: baseline * shap[g],
        })
        .collect();
    let mut features: Vec<(String, f32, f64)> = (0..N_FEATURES)
        .map(|j| (FEATURE_NAMES[j].to_string(), row[j], c[j]))
        .collect();
    features.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    let (s, d) = cell;
    Explanation {
        store: sc.tl.stores[s as usize],
        date: sc.tl.date(d as usize),
        forecast: scale * log_output.exp(),
        baseline,
        base_log: base,
        log_output,
        drivers,
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
                .enumerate()
                .map(|(g, d)| {
                    let l = es.iter().map(|e| e.drivers[g].log.abs()).sum::<f64>() / n;
                    let eu = es.iter().map(|e| e.drivers[g].euro.abs()).sum::<f64>() / n;
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
