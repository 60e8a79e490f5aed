//! Prediction intervals calibrated on backtest residuals (split-conformal by group).
//!
//! Why: a manager needs to know how far a number can be off. The residuals of honest
//! backtests, log(actual / forecast), are grouped by horizon week (errors grow with the
//! horizon) and by the store's volatility band (some stores are simply harder), and their
//! empirical quantiles become the multiplicative band around each new forecast. Groups with
//! too few residuals borrow from the pooled horizon week.

use crate::backtest::Prediction;
use serde::{Deserialize, Serialize};

/// Band edges as log-residual quantiles for one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Horizon week 1..=6 (0 = all weeks).
    pub horizon_week: u16,
    /// Volatility band 0 (calm) ..= 2 (volatile); 255 = all.
    pub volatility_band: u8,
    /// Residuals used.
    pub n: usize,
    /// 2.5 % quantile of log(actual / forecast).
    pub q025: f64,
    /// 10 % quantile.
    pub q10: f64,
    /// 90 % quantile.
    pub q90: f64,
    /// 97.5 % quantile.
    pub q975: f64,
}

/// 80 % and 95 % bounds of one forecast.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower 80 % bound.
    pub lo80: f64,
    /// Upper 80 % bound.
    pub hi80: f64,
    /// Lower 95 % bound.
    pub lo95: f64,
    /// Upper 95 % bound.
    pub hi95: f64,
}

/// The calibration: volatility cut points and a band per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalCalibration {
    /// Volatility values splitting stores into three bands (terciles).
    pub volatility_cuts: [f64; 2],
    /// Bands per group, plus pooled per-week bands (`volatility_band` = 255).
    pub bands: Vec<Band>,
}

const MIN_GROUP: usize = 200;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Conformal-style: the ceil((n + 1) q)-th smallest, clamped.
    let n = sorted.len();
    let rank = ((n as f64 + 1.0) * q).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

fn band_of(sorted: &mut [f64], horizon_week: u16, volatility_band: u8) -> Band {
    sorted.sort_by(f64::total_cmp);
    Band {
        horizon_week,
        volatility_band,
        n: sorted.len(),
        q025: quantile(sorted, 0.025),
        q10: quantile(sorted, 0.10),
        q90: quantile(sorted, 0.90),
        q975: quantile(sorted, 0.975),
    }
}

impl IntervalCalibration {
    /// Calibrates on backtest predictions (their corrected model forecasts).
    pub fn fit<'a>(preds: impl IntoIterator<Item = &'a Prediction>) -> Self {
        let preds: Vec<&Prediction> = preds
            .into_iter()
            .filter(|p| p.actual > 0.0 && p.model > 0.0)
            .collect();
        let mut vols: Vec<f64> = preds
            .iter()
            .map(|p| p.volatility)
            .filter(|v| v.is_finite())
            .collect();
        vols.sort_by(f64::total_cmp);
        let cuts = [quantile(&vols, 1.0 / 3.0), quantile(&vols, 2.0 / 3.0)];
        let mut cal = Self {
            volatility_cuts: cuts,
            bands: Vec::new(),
        };
        let mut all_weeks = Vec::new();
        for week in 1..=6u16 {
            let mut pooled: Vec<f64> = Vec::new();
            let mut by_band: [Vec<f64>; 3] = Default::default();
            for p in preds.iter().filter(|p| p.horizon_week().min(6) == week) {
                let r = (p.actual / p.model).ln();
                pooled.push(r);
                by_band[usize::from(cal.band_index(p.volatility))].push(r);
            }
            all_weeks.extend_from_slice(&pooled);
            if pooled.is_empty() {
                continue;
            }
            cal.bands.push(band_of(&mut pooled, week, 255));
            for (b, mut v) in by_band.into_iter().enumerate() {
                if v.len() >= MIN_GROUP {
                    cal.bands.push(band_of(&mut v, week, b as u8));
                }
            }
        }
        if !all_weeks.is_empty() {
            cal.bands.push(band_of(&mut all_weeks, 0, 255));
        }
        cal
    }

    /// Volatility band (0..=2) of a store's volatility.
    pub fn band_index(&self, volatility: f64) -> u8 {
        if !volatility.is_finite() {
            return 1;
        }
        u8::from(volatility > self.volatility_cuts[0])
            + u8::from(volatility > self.volatility_cuts[1])
    }

    fn band(&self, horizon_week: u16, volatility: f64) -> Option<&Band> {
        let w = horizon_week.clamp(1, 6);
        let b = self.band_index(volatility);
        self.bands
            .iter()
            .find(|x| x.horizon_week == w && x.volatility_band == b)
            .or_else(|| {
                self.bands
                    .iter()
                    .find(|x| x.horizon_week == w && x.volatility_band == 255)
            })
            .or_else(|| self.bands.iter().find(|x| x.horizon_week == 0))
    }

    /// The interval around `forecast` for a day `horizon_day` days after the origin.
    pub fn interval(&self, forecast: f64, horizon_day: u16, volatility: f64) -> Interval {
        match self.band(horizon_day / 7 + 1, volatility) {
            Some(b) => Interval {
                lo80: forecast * b.q10.exp(),
                hi80: forecast * b.q90.exp(),
                lo95: forecast * b.q025.exp(),
                hi95: forecast * b.q975.exp(),
            },
            None => Interval {
                lo80: forecast,
                hi80: forecast,
                lo95: forecast,
                hi95: forecast,
            },
        }
    }

    /// Shares of `preds` whose actual falls inside the 80 % and 95 % intervals.
    pub fn coverage<'a>(
        &self,
        preds: impl IntoIterator<Item = &'a Prediction>,
    ) -> (f64, f64, usize) {
        let (mut in80, mut in95, mut n) = (0usize, 0usize, 0usize);
        for p in preds {
            let iv = self.interval(p.model, p.horizon_day, p.volatility);
            n += 1;
            in80 += usize::from(p.actual >= iv.lo80 && p.actual <= iv.hi80);
            in95 += usize::from(p.actual >= iv.lo95 && p.actual <= iv.hi95);
        }
        let d = n.max(1) as f64;
        (in80 as f64 / d, in95 as f64 / d, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformal_quantile_ranks() {
        let v: Vec<f64> = (1..=99).map(f64::from).collect();
        // ceil(100 * 0.1) = 10th smallest.
        assert_eq!(quantile(&v, 0.10), 10.0);
        assert_eq!(quantile(&v, 0.90), 90.0);
        assert_eq!(quantile(&v, 0.975), 98.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}

/// Residual blocks for intervals of sums (a store's week, a store type, the whole chain).
///
/// Adding the bounds of single days would overstate the width (errors partly cancel) and
/// ignoring correlation would understate it (a hot week lifts every store). So the backtest
/// log-residuals are split into a chain-wide shock per day (kept as whole weeks, so weekday
/// patterns stay together), a store-week level shift and a day-level rest, and sums are
/// simulated by drawing each part from its own pool: a week of chain shocks shared by all
/// stores, one shift per store-week, one rest per store-day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidualBlocks {
    /// Chain-wide daily shocks, one array per backtest week (index 0 = Monday).
    pub chain_weeks: Vec<[f64; 7]>,
    /// Store-week shifts per volatility band (0..=2).
    pub store_week: [Vec<f64>; 3],
    /// Day-level rests per volatility band (subsampled).
    pub day: [Vec<f64>; 3],
    /// Volatility cut points (same as the day-level calibration).
    pub volatility_cuts: [f64; 2],
    /// Conformal widening of the simulated bands (artifacts written before it read as none).
    #[serde(default)]
    pub widen: Widen,
}

/// Factors that stretch the simulated 80 % and 95 % bands of sums around their point: the
/// simulation draws from a few dozen backtest weeks and understates how much a whole fold
/// can be off, so the factors are the conformal quantiles of the bands' misses measured on
/// held-out folds (each fold's sums against blocks fitted on the other folds), one pair per
/// [`SumKind`]: a store's six weeks miss differently from its single weeks (a store's error
/// persists from week to week, which the simulation draws independently).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Widen {
    /// Sums of one store's days within a week: [80 %, 95 %].
    pub store: [f64; 2],
    /// Sums over several stores within a week (a store type's week, the chain's day).
    pub multi: [f64; 2],
    /// Sums of one store's days over more than a week (its six weeks); artifacts written
    /// before it use `store`.
    #[serde(default)]
    pub store_long: Option<[f64; 2]>,
    /// Sums over several stores over more than a week; artifacts written before it use `multi`.
    #[serde(default)]
    pub multi_long: Option<[f64; 2]>,
}

impl Default for Widen {
    fn default() -> Self {
        Self {
            store: [1.0; 2],
            multi: [1.0; 2],
            store_long: None,
            multi_long: None,
        }
    }
}

/// Aggregates a band can be stretched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SumKind {
    /// One store's days within a week.
    Store,
    /// Several stores' days within a week.
    Multi,
    /// One store's days over more than a week.
    StoreLong,
    /// Several stores' days over more than a week.
    MultiLong,
}

impl SumKind {
    /// The kind of a sum of `cells`.
    pub fn of(cells: &[SumCell]) -> Self {
        let Some(c) = cells.first() else {
            return Self::Store;
        };
        let multi = cells.iter().any(|x| x.store != c.store);
        let first = cells.iter().map(|x| x.date).min().unwrap_or(c.date);
        let last = cells.iter().map(|x| x.date).max().unwrap_or(c.date);
        let long = (last - first).num_days() > 7;
        match (multi, long) {
            (false, false) => Self::Store,
            (true, false) => Self::Multi,
            (false, true) => Self::StoreLong,
            (true, true) => Self::MultiLong,
        }
    }
}

impl Widen {
    /// The factors of a kind.
    pub fn factors(&self, kind: SumKind) -> [f64; 2] {
        match kind {
            SumKind::Store => self.store,
            SumKind::Multi => self.multi,
            SumKind::StoreLong => self.store_long.unwrap_or(self.store),
            SumKind::MultiLong => self.multi_long.unwrap_or(self.multi),
        }
    }
}

impl SumInterval {
    /// How far `actual` lies out in its side's band, in units of the band's half-width
    /// (≤ 1 = inside): [80 %, 95 %].
    pub fn miss(&self, actual: f64) -> [f64; 2] {
        let side = |lo: f64, hi: f64| {
            let (gap, width) = if actual >= self.point {
                (actual - self.point, hi - self.point)
            } else {
                (self.point - actual, self.point - lo)
            };
            if width > 0.0 {
                gap / width
            } else if gap > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        };
        [side(self.lo80, self.hi80), side(self.lo95, self.hi95)]
    }

    /// The band stretched by factors [80 %, 95 %] around the point.
    pub fn stretched(self, k: [f64; 2]) -> Self {
        let p = self.point;
        Self {
            lo80: p - k[0] * (p - self.lo80),
            hi80: p + k[0] * (self.hi80 - p),
            lo95: p - k[1] * (p - self.lo95),
            hi95: p + k[1] * (self.hi95 - p),
            ..self
        }
    }
}

/// The conformal factor for nominal coverage `q` from the misses of held-out sums: the
/// ceil((n + 1) q)-th smallest miss, at least 1 (never narrows the simulation).
pub fn widen_factor(misses: &mut [f64], q: f64) -> f64 {
    misses.sort_by(f64::total_cmp);
    let k = quantile(misses, q);
    if k.is_finite() {
        k.max(1.0)
    } else {
        1.0
    }
}

/// One store-day in a sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SumCell {
    /// Store id.
    pub store: u16,
    /// Date.
    pub date: chrono::NaiveDate,
    /// Point forecast (€).
    pub forecast: f64,
    /// The store's volatility feature.
    pub volatility: f64,
}

/// A total of daily forecasts (a week, a store's six weeks, a store type, the chain) with its
/// interval.
///
/// One definition everywhere: the total is the sum of the daily forecasts it covers, the
/// figures a planner sees and adds up (see [`total_of`]). The band comes from the simulation
/// of sums, centred on that total: the simulated quantiles are scaled by total / simulated
/// median, and the widening calibrated on held-out folds measures misses around the same
/// total, so the stated coverage is the coverage of this band around this figure.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumInterval {
    /// The total: the sum of the daily forecasts.
    pub point: f64,
    /// Expected total: the median of the simulated sums. The daily forecasts minimise
    /// relative error (RMSPE), which tilts each slightly low, so the simulated actual total
    /// tends to lie a little above their sum; shown only where it is named as such.
    pub expected: f64,
    /// Lower 80 % bound.
    pub lo80: f64,
    /// Upper 80 % bound.
    pub hi80: f64,
    /// Lower 95 % bound.
    pub lo95: f64,
    /// Upper 95 % bound.
    pub hi95: f64,
}

const DAY_POOL: usize = 20_000;

/// The one definition of a total: the sum of the daily forecasts it covers. Daily forecasts
/// are whole euros (see [`crate::forecaster::euros`]), so this sum is exact in any order and a
/// column of days adds up to its total to the cent on every page, route and file.
pub fn total_of(days: impl IntoIterator<Item = f64>) -> f64 {
    days.into_iter().sum()
}

impl ResidualBlocks {
    /// Splits backtest residuals into the three pools.
    pub fn fit(preds: &[&Prediction], volatility_cuts: [f64; 2]) -> Self {
        use chrono::Datelike;
        use std::collections::BTreeMap;
        let band = |v: f64| -> usize {
            if !v.is_finite() {
                1
            } else {
                usize::from(v > volatility_cuts[0]) + usize::from(v > volatility_cuts[1])
            }
        };
        let r = |p: &Prediction| (p.actual / p.model).ln();
        let ok: Vec<&Prediction> = preds
            .iter()
            .copied()
            .filter(|p| p.actual > 0.0 && p.model > 0.0)
            .collect();
        // Chain shock per (fold, date).
        let mut day_sum: BTreeMap<(usize, chrono::NaiveDate), (f64, usize)> = BTreeMap::new();
        for p in &ok {
            let e = day_sum.entry((p.fold, p.date)).or_default();
            e.0 += r(p);
            e.1 += 1;
        }
        let shock = |p: &Prediction| {
            day_sum
                .get(&(p.fold, p.date))
                .map_or(0.0, |(s, n)| s / *n as f64)
        };
        let mut weeks: BTreeMap<(usize, u16), [f64; 7]> = BTreeMap::new();
        for ((fold, date), (s, n)) in &day_sum {
            let _ = fold;
            let wk = ok
                .iter()
                .find(|p| p.fold == *fold && p.date == *date)
                .map_or(0, |p| p.horizon_week());
            weeks.entry((*fold, wk)).or_insert([0.0; 7])
                [date.weekday().num_days_from_monday() as usize] = s / *n as f64;
        }
        // Store-week shift after removing the chain shock.
        let mut sw: BTreeMap<(usize, u16, u16), (f64, usize, usize)> = BTreeMap::new();
        for p in &ok {
            let e = sw.entry((p.fold, p.store, p.horizon_week())).or_insert((
                0.0,
                0,
                band(p.volatility),
            ));
            e.0 += r(p) - shock(p);
            e.1 += 1;
        }
        let mut store_week: [Vec<f64>; 3] = Default::default();
        for (s, n, b) in sw.values() {
            store_week[*b].push(s / *n as f64);
        }
        let mut day: [Vec<f64>; 3] = Default::default();
        for p in &ok {
            let (s, n, b) = sw[&(p.fold, p.store, p.horizon_week())];
            day[b].push(r(p) - shock(p) - s / n as f64);
        }
        // Deterministic thinning of the day pools.
        for pool in &mut day {
            if pool.len() > DAY_POOL {
                let step = pool.len() as f64 / DAY_POOL as f64;
                *pool = (0..DAY_POOL)
                    .map(|i| pool[(i as f64 * step) as usize])
                    .collect();
            }
        }
        Self {
            chain_weeks: weeks.into_values().collect(),
            store_week,
            day,
            volatility_cuts,
            widen: Widen::default(),
        }
    }

    /// Simulates the sum of `cells` (`draws` times, seeded) and returns its interval,
    /// stretched by the calibrated [`Widen`] factors.
    pub fn sum_interval(&self, cells: &[SumCell], draws: usize, seed: u64) -> SumInterval {
        self.simulate(cells, draws, seed)
            .stretched(self.widen.factors(SumKind::of(cells)))
    }

    /// The simulated interval, before the widening.
    pub fn simulate(&self, cells: &[SumCell], draws: usize, seed: u64) -> SumInterval {
        use chrono::Datelike;
        use rand::{Rng, SeedableRng};
        use std::collections::HashMap;
        let point = total_of(cells.iter().map(|c| c.forecast));
        let empty = SumInterval {
            point,
            expected: point,
            lo80: point,
            hi80: point,
            lo95: point,
            hi95: point,
        };
        if cells.is_empty() || self.chain_weeks.is_empty() {
            return empty;
        }
        let band = |v: f64| -> usize {
            if !v.is_finite() {
                1
            } else {
                usize::from(v > self.volatility_cuts[0]) + usize::from(v > self.volatility_cuts[1])
            }
        };
        // Index weeks by their Monday, store-weeks by (store, Monday).
        let monday = |d: chrono::NaiveDate| {
            d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()))
        };
        let mut week_ids: HashMap<chrono::NaiveDate, usize> = HashMap::new();
        let mut sw_ids: HashMap<(u16, chrono::NaiveDate), (usize, usize)> = HashMap::new();
        let mut cell_keys = Vec::with_capacity(cells.len());
        for c in cells {
            let m = monday(c.date);
            let n = week_ids.len();
            let w = *week_ids.entry(m).or_insert(n);
            let n = sw_ids.len();
            let sw = sw_ids
                .entry((c.store, m))
                .or_insert((n, band(c.volatility)))
                .0;
            cell_keys.push((
                w,
                sw,
                band(c.volatility),
                c.date.weekday().num_days_from_monday() as usize,
            ));
        }
        let sw_band: Vec<usize> = {
            let mut v = vec![1; sw_ids.len()];
            for (i, b) in sw_ids.values() {
                v[*i] = *b;
            }
            v
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut totals = Vec::with_capacity(draws);
        let mut week_pick = vec![0usize; week_ids.len()];
        let mut sw_shift = vec![0.0f64; sw_ids.len()];
        let pick = |rng: &mut rand_chacha::ChaCha8Rng, pool: &[f64]| {
            if pool.is_empty() {
                0.0
            } else {
                pool[rng.gen_range(0..pool.len())]
            }
        };
        for _ in 0..draws {
            for w in week_pick.iter_mut() {
                *w = rng.gen_range(0..self.chain_weeks.len());
            }
            for (i, s) in sw_shift.iter_mut().enumerate() {
                *s = pick(&mut rng, &self.store_week[sw_band[i]]);
            }
            let mut total = 0.0;
            for (c, &(w, sw, b, wd)) in cells.iter().zip(&cell_keys) {
                let r = self.chain_weeks[week_pick[w]][wd]
                    + sw_shift[sw]
                    + pick(&mut rng, &self.day[b]);
                total += c.forecast * r.exp();
            }
            totals.push(total);
        }
        totals.sort_by(f64::total_cmp);
        let expected = quantile(&totals, 0.5);
        // Centre the simulated band on the total (the sum of the days).
        let k = if expected > 0.0 {
            point / expected
        } else {
            1.0
        };
        SumInterval {
            point,
            expected,
            lo80: k * quantile(&totals, 0.10),
            hi80: k * quantile(&totals, 0.90),
            lo95: k * quantile(&totals, 0.025),
            hi95: k * quantile(&totals, 0.975),
        }
    }
}
