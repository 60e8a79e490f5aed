//! FVA evidence on the synthetic chain: planted managers, scored like real ones would be.
//!
//! Why this module exists: until real overrides meet real actuals, a director still needs to
//! see what FVA says and that it can tell good overrides from bad. This builds the store-days
//! of the synthetic chain's six test weeks — true sales, the model stand-in, the naive
//! forecast — plants the managers of [`crate::planted`] on them, and scores every step.
//!
//! The model stand-in is the store × weekday × promo median of the last 52 weeks (the
//! project's first baseline, [`storecast_model::baselines`]): training the gradient-boosted
//! model here would take minutes, and FVA of an override depends on what the manager knows
//! beyond the model, not on which model it is. The naive step is last year's same weekday.

use crate::fva::{self, FvaTable, ScoredDay};
use crate::planted::{ManagerStyle, Planted, PlantedManagers};
use serde::Serialize;
use std::collections::HashMap;
use storecast_data::ChainData;
use storecast_model::baselines;
use storecast_model::timeline::Timeline;
use storecast_synth::{generate, SynthConfig};

/// Why the evidence could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The generator refused the configuration.
    #[error("generating the synthetic chain: {0}")]
    Synth(#[from] storecast_synth::SynthError),
    /// The generated files did not load.
    #[error("loading the synthetic chain: {0}")]
    Load(#[from] storecast_data::LoadError),
    /// The chain has no usable days.
    #[error("the synthetic chain has no test days to score")]
    Empty,
}

/// The evidence: the planted managers, what they did, and the FVA tables.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Stores of the synthetic chain.
    pub stores: u16,
    /// Seed of the synthetic chain.
    pub chain_seed: u64,
    /// The planted behaviours' sizes.
    pub managers: PlantedManagers,
    /// What was planted, and the scored days.
    pub planted: Planted,
    /// FVA tables by [`fva::Dimension::ALL`].
    pub tables: Vec<FvaTable>,
    /// The chain-level FVA row of each manager style's stores.
    pub by_style: Vec<(ManagerStyle, fva::FvaRow)>,
}

/// The open store-days of the synthetic chain's test weeks, with true sales, the model
/// stand-in and the naive forecast (plan = model, no reason).
pub fn synthetic_days(stores: u16, seed: u64) -> Result<Vec<ScoredDay>, EvidenceError> {
    let cfg = SynthConfig {
        stores,
        seed,
        ..SynthConfig::default()
    };
    let chain = generate(&cfg)?;
    let truth: HashMap<u32, u32> = chain.test_truth.iter().map(|t| (t.id, t.sales)).collect();
    let data = ChainData::from_bytes(
        chain.train_csv(),
        chain.store_csv(),
        Some(chain.test_csv()),
        format!("synthetic chain, seed {seed}"),
    )?
    .into_strict()?;
    let requests = data.requests.as_ref().ok_or(EvidenceError::Empty)?;
    let tl = Timeline::build(&data.history, Some(requests)).ok_or(EvidenceError::Empty)?;
    let (first, _) = requests.date_range().ok_or(EvidenceError::Empty)?;
    let origin = tl.day_index(first).ok_or(EvidenceError::Empty)?;
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    for r in &requests.rows {
        let actual = truth.get(&r.id).copied().unwrap_or(0);
        let (Some(s), Some(d)) = (tl.store_index(r.store), tl.day_index(r.date)) else {
            continue;
        };
        if r.open == Some(true) && actual > 0 {
            rows.push((r, actual));
            cells.push((s as u32, d as u32));
        }
    }
    if cells.is_empty() {
        return Err(EvidenceError::Empty);
    }
    // The baselines expect cells grouped by store.
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_key(|&i| cells[i]);
    let cells: Vec<(u32, u32)> = order.iter().map(|&i| cells[i]).collect();
    let level = recent_level(&tl, origin);
    let model: Vec<f64> = baselines::store_weekday_promo_median(&tl, origin, &cells)
        .into_iter()
        .map(|m| m * level)
        .collect();
    let (naive, _) = baselines::last_year_same_weekday(&tl, origin, &cells);
    Ok(order
        .iter()
        .zip(model.iter().zip(&naive))
        .map(|(&i, (&m, &n))| {
            let (r, actual) = rows[i];
            let store_type = data
                .stores
                .get(r.store)
                .map_or("a", |s| s.store_type.code())
                .to_string();
            ScoredDay {
                store: r.store,
                store_type,
                date: r.date,
                horizon_week: ((r.date - first).num_days() / 7 + 1).clamp(1, 255) as u8,
                actual: f64::from(actual),
                naive: n,
                model: m,
                plan: m,
                reason: None,
            }
        })
        .collect())
}

/// Days of history the stand-in's level correction is fitted on.
const LEVEL_DAYS: usize = 42;

/// The chain-wide level correction of the median stand-in: Σ actual / Σ median forecast over
/// the last [`LEVEL_DAYS`] days before `origin`, each forecast as of `origin − LEVEL_DAYS`
/// (the median lags a growing chain; the served model is bias-corrected the same way, and
/// FVA of a biased manager is only meaningful against an unbiased model).
fn recent_level(tl: &Timeline, origin: usize) -> f64 {
    let from = origin.saturating_sub(LEVEL_DAYS);
    let mut cells = Vec::new();
    let mut actual = Vec::new();
    for s in 0..tl.stores.len() {
        for d in from..origin {
            if let Some(v) = tl.actual_sales(s, d).filter(|v| *v > 0.0) {
                cells.push((s as u32, d as u32));
                actual.push(f64::from(v));
            }
        }
    }
    let fc: f64 = baselines::store_weekday_promo_median(tl, from, &cells)
        .iter()
        .sum();
    let a: f64 = actual.iter().sum();
    if fc > 0.0 && a > 0.0 {
        a / fc
    } else {
        1.0
    }
}

/// Stores of the synthetic chain the standard evidence plants managers on.
pub const STANDARD_STORES: u16 = 120;
/// Seed of that chain.
pub const STANDARD_SEED: u64 = 42;

impl Evidence {
    /// The evidence the app and the business report show: the default managers planted on
    /// [`STANDARD_STORES`] stores of the chain seeded [`STANDARD_SEED`].
    pub fn standard() -> Result<Self, EvidenceError> {
        Self::build(STANDARD_STORES, STANDARD_SEED, PlantedManagers::default())
    }

    /// Plants `managers` on the synthetic chain of `stores` stores and scores every step.
    pub fn build(
        stores: u16,
        chain_seed: u64,
        managers: PlantedManagers,
    ) -> Result<Self, EvidenceError> {
        let base = synthetic_days(stores, chain_seed)?;
        Ok(Self::from_days(stores, chain_seed, managers, &base))
    }

    /// Plants `managers` on given base days.
    pub fn from_days(
        stores: u16,
        chain_seed: u64,
        managers: PlantedManagers,
        base: &[ScoredDay],
    ) -> Self {
        let planted = managers.plant(base);
        let tables = fva::tables(&planted.days, managers.seed);
        let by_style = ManagerStyle::ALL
            .into_iter()
            .filter_map(|s| {
                let days = planted.days_of(s);
                let t = fva::table(&days, fva::Dimension::Chain, managers.seed);
                Some((s, t.rows.into_iter().next()?))
            })
            .collect();
        Self {
            stores,
            chain_seed,
            managers,
            planted,
            tables,
            by_style,
        }
    }

    /// The table along `dim`.
    pub fn table(&self, dim: fva::Dimension) -> Option<&FvaTable> {
        self.tables.iter().find(|t| t.dimension == dim)
    }
}
