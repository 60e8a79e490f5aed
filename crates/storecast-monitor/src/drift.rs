//! Input drift: has what the model is fed changed?
//!
//! Why this module exists: accuracy can only be measured once the actuals arrive, weeks after a
//! forecast is issued; the inputs are known the day it is issued. When the distribution of a
//! feature moves far from what it was (a new promotion rhythm, a wave of refurbishments, a
//! broken delivery that turns a column into zeros), the model is extrapolating and its numbers
//! deserve suspicion before any actual proves them wrong.
//!
//! How: the population stability index (PSI) of each feature between a reference and a current
//! sample, PSI = Σ (c_i − r_i) · ln(c_i / r_i) over bins i, where r_i and c_i are the shares of
//! the reference and current values in bin i. Bins are the reference's deciles (so each holds
//! about a tenth of the reference), right-closed, deduplicated for discrete features (a 0/1
//! flag gets two bins); missing values (NaN, e.g. no sales last year) form their own bin, so a
//! feature going missing is drift too; an empty bin counts as [`PSI_EPSILON`] instead of 0 so
//! the logarithm stays finite.
//!
//! Why a seasonal reference: Rossmann's inputs are strongly seasonal (school holidays in
//! summer, Christmas, Easter), so six summer weeks compared with the whole training year would
//! always "drift". The reference is the same weeks one year earlier, taken from the training
//! history: each current store-day is shifted back [`SEASONAL_LAG_DAYS`] = 364 days (52 weeks,
//! so the same weekday), keeping planned-open days only (the model is not applied to closed
//! days).
//!
//! Why one origin for both samples: training builds the features of every training row as of
//! the training end (the store profile, recent trend and last-year values a row carries are
//! those known on that day), and the issued forecasts were built as of the day after it. So
//! computing both samples as of the forecast origin compares the current inputs with exactly
//! what the model was trained on for the same weeks a year earlier. Store-level profile
//! features then only drift when the mix of open stores changes, which is what is wanted.
//!
//! What is left out by default (`MonitorConfig::drift_exclude`), because it moves between a
//! window and the same weeks a year earlier by construction, not because the data changed:
//! `year` (+1); the date's own positions `day_of_month`, `day_of_year` and `days_to_month_end`
//! (the same weekdays 364 days back sit a day or two earlier: PSI 1.35 on one week with nothing
//! changed); the ages `competition_months` (+12) and `promo2_weeks` (+52); and the distances
//! to holidays and closures (`days_to_holiday`, `days_since_holiday`, `days_to_school_holiday`,
//! `days_since_school_holiday`, `days_to_closure`, `days_since_closure`), since Easter-bound
//! holidays move by up to five weeks and school holidays by one or two from year to year (on a
//! synthetic chain their PSI for May-June exceeds 2 with nothing wrong); for the same reason the
//! event counters (promos, holidays, school days, closures in the last/next 7 and 14 days; promo
//! days of the last and next calendar week) and the promo distances, as the promo cycle falls on other dates a year earlier. The holiday flags and
//! weekly holiday counts stay in, so a plan delivered without its holidays is still caught.

use crate::{MonitorConfig, MonitorError};
use chrono::NaiveDate;
use serde::Serialize;
use storecast_data::StoreTable;
use storecast_model::timeline::OpenState;
use storecast_model::{features, Driver, Timeline, FEATURE_DRIVERS, FEATURE_NAMES, N_FEATURES};

/// Days between a current store-day and its seasonal reference (52 weeks: same weekday).
pub const SEASONAL_LAG_DAYS: usize = 364;

/// Share given to an empty bin so its log-ratio stays finite.
pub const PSI_EPSILON: f64 = 1e-4;

/// How far a feature drifted.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftLevel {
    /// PSI below `psi_warn`.
    Ok,
    /// PSI at or above `psi_warn`: worth a look.
    Warn,
    /// PSI at or above `psi_alert`: raises an alert.
    Alert,
}

impl DriftLevel {
    /// The level of a PSI value under the configured thresholds (NaN counts as ok).
    pub fn of(psi: f64, cfg: &MonitorConfig) -> Self {
        if psi >= cfg.psi_alert {
            Self::Alert
        } else if psi >= cfg.psi_warn {
            Self::Warn
        } else {
            Self::Ok
        }
    }

    /// `ok`, `warn` or `alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Alert => "alert",
        }
    }
}

/// Drift of one feature.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct FeatureDrift {
    /// Feature name (see `storecast_model::FEATURE_NAMES`).
    pub feature: String,
    /// Its business driver.
    pub driver: Driver,
    /// Population stability index.
    pub psi: f64,
    /// Level under the thresholds.
    pub level: DriftLevel,
    /// Reference store-days.
    pub reference_n: usize,
    /// Current store-days.
    pub current_n: usize,
    /// Share of missing (NaN) values in the reference.
    pub reference_missing: f64,
    /// Share of missing values in the current sample.
    pub current_missing: f64,
}

/// Right-closed cut points at the reference's `bins`-quantiles (deduplicated). `sorted` holds
/// the reference's non-missing values, ascending.
fn quantile_cuts(sorted: &[f32], bins: usize) -> Vec<f32> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let mut cuts: Vec<f32> = (1..bins)
        .map(|i| {
            // The lower empirical quantile: the smallest value with at least i/bins of the
            // sample at or below it.
            let rank = (i * n).div_ceil(bins);
            sorted[rank.clamp(1, n) - 1]
        })
        .collect();
    cuts.dedup_by(|a, b| a.total_cmp(b).is_eq());
    cuts
}

/// Counts per bin: value bins `0..=cuts.len()` (bin i holds cut[i-1] < x <= cut[i]), then the
/// missing-value bin.
fn bin_counts(values: &[f32], cuts: &[f32]) -> Vec<usize> {
    let mut counts = vec![0usize; cuts.len() + 2];
    for &x in values {
        let b = if x.is_nan() {
            cuts.len() + 1
        } else {
            cuts.partition_point(|&c| c < x)
        };
        counts[b] += 1;
    }
    counts
}

/// Population stability index of `current` against `reference`, with `bins` quantile bins
/// taken from the reference (fewer when the reference has ties), missing values (NaN) in a bin
/// of their own and [`PSI_EPSILON`] for empty bins. 0 for identical samples; NaN when either
/// sample is empty.
pub fn psi(reference: &[f32], current: &[f32], bins: usize) -> f64 {
    if reference.is_empty() || current.is_empty() {
        return f64::NAN;
    }
    let mut sorted: Vec<f32> = reference.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f32::total_cmp);
    let cuts = quantile_cuts(&sorted, bins.max(1));
    let r = bin_counts(reference, &cuts);
    let c = bin_counts(current, &cuts);
    let (nr, nc) = (reference.len() as f64, current.len() as f64);
    r.iter()
        .zip(&c)
        .filter(|(a, b)| **a > 0 || **b > 0)
        .map(|(&a, &b)| {
            let p = (a as f64 / nr).max(PSI_EPSILON);
            let q = (b as f64 / nc).max(PSI_EPSILON);
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// Planned-open store-days of every store with `from <= date <= to` (clamped to the grid),
/// grouped by store: e.g. the days of the issued forecasts, or the latest ingested weeks.
pub fn window_cells(tl: &Timeline, from: NaiveDate, to: NaiveDate) -> Vec<(u32, u32)> {
    if tl.days == 0 || to < tl.start || from > to {
        return Vec::new();
    }
    let lo = tl.day_index(from.max(tl.start)).unwrap_or(tl.days);
    let hi = tl.day_index(to).unwrap_or(tl.days - 1);
    let mut out = Vec::new();
    for s in 0..tl.stores.len() {
        for d in lo..=hi {
            if tl.plan(s, d as isize).open == OpenState::Open {
                out.push((s as u32, d as u32));
            }
        }
    }
    out
}

/// The seasonal reference of `current` cells: each shifted back [`SEASONAL_LAG_DAYS`] (same
/// store, same weekday), kept when that day is inside the grid and was open.
pub fn seasonal_reference(tl: &Timeline, current: &[(u32, u32)]) -> Vec<(u32, u32)> {
    current
        .iter()
        .filter_map(|&(s, d)| {
            let d0 = (d as usize).checked_sub(SEASONAL_LAG_DAYS)?;
            (tl.plan(s as usize, d0 as isize).open == OpenState::Open).then_some((s, d0 as u32))
        })
        .collect()
}

/// PSI of every model feature (except `cfg.drift_exclude`) between the features of
/// `reference_cells` and those of `current_cells`, both as of `origin` (a day index of `tl`).
/// `origin` is the forecast origin of the current window: the day after the training data of
/// the model that issued it. Cells are (store index, day index) pairs, e.g. from
/// [`window_cells`] and [`seasonal_reference`]; the reference cells should lie before `origin`
/// (training rows).
pub fn feature_drift(
    tl: &Timeline,
    stores: &StoreTable,
    current_cells: &[(u32, u32)],
    reference_cells: &[(u32, u32)],
    origin: usize,
    cfg: &MonitorConfig,
) -> Result<Vec<FeatureDrift>, MonitorError> {
    if current_cells.is_empty() || reference_cells.is_empty() {
        return Err(MonitorError::Drift(format!(
            "empty sample ({} current, {} reference store-days; the seasonal reference needs \
             a year of history before the window)",
            current_cells.len(),
            reference_cells.len()
        )));
    }
    let sorted = |cells: &[(u32, u32)]| {
        let mut v = cells.to_vec();
        v.sort_unstable();
        v
    };
    let regions = features::regions(tl);
    let cur = features::build_with_regions(tl, stores, origin, &sorted(current_cells), &regions);
    let refr = features::build_with_regions(tl, stores, origin, &sorted(reference_cells), &regions);
    let column = |x: &[f32], j: usize| -> Vec<f32> {
        x.chunks_exact(N_FEATURES).map(|row| row[j]).collect()
    };
    let missing = |v: &[f32]| v.iter().filter(|x| x.is_nan()).count() as f64 / v.len() as f64;
    let mut out = Vec::new();
    for (j, name) in FEATURE_NAMES.iter().enumerate() {
        if cfg.drift_exclude.iter().any(|e| e == name) {
            continue;
        }
        let r = column(&refr.x, j);
        let c = column(&cur.x, j);
        let value = psi(&r, &c, cfg.psi_bins);
        out.push(FeatureDrift {
            feature: (*name).to_string(),
            driver: FEATURE_DRIVERS[j],
            psi: value,
            level: DriftLevel::of(value, cfg),
            reference_n: r.len(),
            current_n: c.len(),
            reference_missing: missing(&r),
            current_missing: missing(&c),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f32) -> Vec<f32> {
        // Box-Muller.
        (0..n)
            .map(|_| {
                let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
                let u2: f32 = rng.gen();
                mean + (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
            })
            .collect()
    }

    #[test]
    fn identical_samples_have_zero_psi() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = normal(&mut rng, 2000, 0.0);
        assert_eq!(psi(&a, &a, 10), 0.0);
        let flags = [0.0f32, 1.0, 1.0, 0.0, f32::NAN];
        assert_eq!(psi(&flags, &flags, 10), 0.0);
    }

    #[test]
    fn a_shifted_distribution_has_a_large_psi_and_noise_a_small_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let reference = normal(&mut rng, 5000, 0.0);
        let same = normal(&mut rng, 5000, 0.0);
        let shifted = normal(&mut rng, 5000, 1.0);
        let noise = psi(&reference, &same, 10);
        let drift = psi(&reference, &shifted, 10);
        // Two samples of one distribution: sampling noise only (≈ bins / n).
        assert!(noise < 0.02, "noise PSI {noise}");
        // A one-σ shift: PSI ≈ 1 (the symmetrised KL divergence of two normals is d²).
        assert!(drift > 0.6, "shift PSI {drift}");
        let cfg = MonitorConfig::default();
        assert_eq!(DriftLevel::of(noise, &cfg), DriftLevel::Ok);
        assert_eq!(DriftLevel::of(drift, &cfg), DriftLevel::Alert);
        assert_eq!(DriftLevel::of(0.15, &cfg), DriftLevel::Warn);
    }

    #[test]
    fn hand_computed_psi() {
        // Two bins, cut at the reference median 2: reference 1/2 | 1/2, current 3/4 | 1/4.
        let v = psi(&[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 1.0, 4.0], 2);
        let want = (0.75 - 0.5) * (0.75f64 / 0.5).ln() + (0.25 - 0.5) * (0.25f64 / 0.5).ln();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        assert!((v - 0.274_653).abs() < 1e-6);
    }

    #[test]
    fn empty_bins_use_epsilon_and_missing_values_have_their_own_bin() {
        // Cuts {1, 2} (ties deduplicated): bins <=1, (1, 2], > 2. The reference has nothing
        // above 2, the current sample a quarter: that bin counts as epsilon in the reference.
        let v = psi(&[1.0, 1.0, 2.0, 2.0], &[1.0, 1.0, 2.0, 3.0], 4);
        let want =
            (0.25 - 0.5) * (0.25f64 / 0.5).ln() + (0.25 - PSI_EPSILON) * (0.25 / PSI_EPSILON).ln();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        // Missing values: reference 1/4 | 1/4 | NaN 1/2, current 1/4 | 1/2 | NaN 1/4.
        let nan = f32::NAN;
        let v = psi(&[1.0, 2.0, nan, nan], &[1.0, 2.0, 2.0, nan], 2);
        let want = 2.0 * 0.25 * 2.0f64.ln();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        // A feature going missing entirely is drift.
        assert!(psi(&[1.0, 2.0, 3.0, 4.0], &[nan; 4], 4) > 1.0);
        assert!(psi(&[], &[1.0], 4).is_nan());
    }
}
