//! The baselines the model must beat. They stand in for what a store manager does today:
//! a typical value for this weekday with or without promo (median), last year's same weekday,
//! and a regularised linear model (what a spreadsheet-savvy analyst would fit). Each is fitted
//! only on data before the origin, exactly like the model.
//!
//! Each baseline is a [`Fit`] whose fitted form is a [`Predict`] (linfa's pair of traits),
//! named by its [`ModelKind`]; [`forecast`] runs the one a kind names, so a new baseline is a
//! new kind, its two impls and one arm there.

use crate::features::{Frame, F, N_FEATURES};
use crate::kind::ModelKind;
use crate::timeline::{OpenState, Timeline};
use chrono::Datelike;
use nalgebra::{DMatrix, DVector};
use std::collections::HashMap;

fn median(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| storecast_stats::median(v))
}

/// Per store × weekday × promo median of the last 52 weeks before the origin; falls back to
/// store × weekday, then to the store's median.
pub fn store_weekday_promo_median(tl: &Timeline, origin: usize, cells: &[(u32, u32)]) -> Vec<f64> {
    let mut by_key: HashMap<(u32, u32, bool), Vec<f64>> = HashMap::new();
    let mut by_dow: HashMap<(u32, u32), Vec<f64>> = HashMap::new();
    let mut by_store: HashMap<u32, Vec<f64>> = HashMap::new();
    let from = origin.saturating_sub(364);
    let stores: Vec<u32> = {
        let mut s: Vec<u32> = cells.iter().map(|c| c.0).collect();
        s.dedup();
        s
    };
    for &s in &stores {
        for d in from..origin {
            let p = tl.plan(s as usize, d as isize);
            let Some(v) = tl.sales_before(s as usize, d as isize, origin) else {
                continue;
            };
            if p.open != OpenState::Open || v <= 0.0 {
                continue;
            }
            let w = tl.weekday(d);
            by_key
                .entry((s, w, p.promo))
                .or_default()
                .push(f64::from(v));
            by_dow.entry((s, w)).or_default().push(f64::from(v));
            by_store.entry(s).or_default().push(f64::from(v));
        }
    }
    let med = |m: &mut HashMap<(u32, u32, bool), Vec<f64>>| -> HashMap<(u32, u32, bool), f64> {
        m.iter_mut()
            .filter_map(|(k, v)| median(v).map(|x| (*k, x)))
            .collect()
    };
    let key_med = med(&mut by_key);
    let dow_med: HashMap<(u32, u32), f64> = by_dow
        .iter_mut()
        .filter_map(|(k, v)| median(v).map(|x| (*k, x)))
        .collect();
    let store_med: HashMap<u32, f64> = by_store
        .iter_mut()
        .filter_map(|(k, v)| median(v).map(|x| (*k, x)))
        .collect();
    cells
        .iter()
        .map(|&(s, d)| {
            let w = tl.weekday(d as usize);
            let promo = tl.plan(s as usize, d as isize).promo;
            key_med
                .get(&(s, w, promo))
                .or_else(|| dow_med.get(&(s, w)))
                .or_else(|| store_med.get(&s))
                .copied()
                .unwrap_or(0.0)
        })
        .collect()
}

/// Sales on the same weekday 52 weeks earlier (364 days); when that day was closed or is
/// missing, the store × weekday × promo median. Returns the forecasts and the share of
/// fallbacks.
pub fn last_year_same_weekday(
    tl: &Timeline,
    origin: usize,
    cells: &[(u32, u32)],
) -> (Vec<f64>, f64) {
    let fallback = store_weekday_promo_median(tl, origin, cells);
    let mut fell_back = 0usize;
    let out = cells
        .iter()
        .zip(fallback)
        .map(|(&(s, d), fb)| {
            let ly = d as isize - 364;
            match tl.sales_before(s as usize, ly, origin) {
                Some(v) if v > 0.0 && tl.plan(s as usize, ly).open == OpenState::Open => {
                    f64::from(v)
                }
                _ => {
                    fell_back += 1;
                    fb
                }
            }
        })
        .collect();
    (out, fell_back as f64 / cells.len().max(1) as f64)
}

/// Design row of the linear model: weekday, month and holiday dummies, promo and its
/// interaction with weekday, closures around the day, Promo2 month.
fn design(x: &[f32], date: chrono::NaiveDate) -> Vec<f64> {
    let f = |k: F| f64::from(x[k as usize]);
    let nz = |v: f64| if v.is_finite() { v } else { 0.0 };
    let mut row = Vec::with_capacity(40);
    let dow = date.weekday().number_from_monday();
    for w in 2..=7 {
        row.push(f64::from(u8::from(dow == w)));
    }
    for m in 2..=12 {
        row.push(f64::from(u8::from(date.month() == m)));
    }
    let promo = f(F::promo);
    row.push(promo);
    for w in 2..=5 {
        row.push(promo * f64::from(u8::from(dow == w)));
    }
    for h in 1..=3 {
        row.push(f64::from(u8::from(f(F::state_holiday) as i32 == h)));
    }
    row.push(f(F::school_holiday));
    row.push(f(F::closed_yesterday));
    row.push(f(F::closed_tomorrow));
    row.push(nz(f(F::promo2_month)));
    row.push(f64::from(u8::from(date.day() <= 3)));
    row.push(f64::from(u8::from(f(F::days_to_holiday) <= 1.0)));
    row.push(f64::from(u8::from(f(F::days_since_long_closure) <= 14.0)));
    row.push(f64::from(date.year() - 2013));
    row
}

/// A ridge regression on log sales with a free intercept per store (the store effects are
/// removed by centring within store, then the shared coefficients are fitted with an L2
/// penalty `lambda`).
pub struct Ridge {
    beta: DVector<f64>,
    intercept: HashMap<u32, f64>,
    chain: f64,
}

impl Ridge {
    /// Fits on training rows (`frame`, with log sales `y`).
    pub fn fit(tl: &Timeline, frame: &Frame, y: &[f32], lambda: f64) -> Option<Self> {
        let rows: Vec<Vec<f64>> = frame
            .rows
            .iter()
            .enumerate()
            .map(|(i, &(_, d))| design(frame.row(i), tl.date(d as usize)))
            .collect();
        let p = rows.first()?.len();
        // Store means of the design and the target.
        let mut sums: HashMap<u32, (Vec<f64>, f64, f64)> = HashMap::new();
        for (i, &(s, _)) in frame.rows.iter().enumerate() {
            let e = sums.entry(s).or_insert_with(|| (vec![0.0; p], 0.0, 0.0));
            for (a, b) in e.0.iter_mut().zip(&rows[i]) {
                *a += b;
            }
            e.1 += f64::from(y[i]);
            e.2 += 1.0;
        }
        let mut xtx = DMatrix::<f64>::zeros(p, p);
        let mut xty = DVector::<f64>::zeros(p);
        let mut centred = vec![0.0; p];
        for (i, &(s, _)) in frame.rows.iter().enumerate() {
            let (sx, sy, n) = &sums[&s];
            for k in 0..p {
                centred[k] = rows[i][k] - sx[k] / n;
            }
            let yc = f64::from(y[i]) - sy / n;
            for a in 0..p {
                xty[a] += centred[a] * yc;
                for b in a..p {
                    xtx[(a, b)] += centred[a] * centred[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                xtx[(a, b)] = xtx[(b, a)];
            }
            xtx[(a, a)] += lambda;
        }
        let beta = xtx.cholesky()?.solve(&xty);
        let intercept: HashMap<u32, f64> = sums
            .iter()
            .map(|(s, (sx, sy, n))| {
                let xb: f64 = sx.iter().zip(beta.iter()).map(|(a, b)| a / n * b).sum();
                (*s, sy / n - xb)
            })
            .collect();
        let chain = intercept.values().sum::<f64>() / intercept.len().max(1) as f64;
        Some(Self {
            beta,
            intercept,
            chain,
        })
    }

    /// Sales forecasts (exp of the linear prediction).
    pub fn predict(&self, tl: &Timeline, frame: &Frame) -> Vec<f64> {
        frame
            .rows
            .iter()
            .enumerate()
            .map(|(i, &(s, d))| {
                let row = design(frame.row(i), tl.date(d as usize));
                let xb: f64 = row.iter().zip(self.beta.iter()).map(|(a, b)| a * b).sum();
                (self.intercept.get(&s).copied().unwrap_or(self.chain) + xb).exp()
            })
            .collect()
    }
}

const _: () = assert!(N_FEATURES > 30);

/// What a forecaster is fitted on: the history before `origin`, as features and log targets.
pub struct Training<'a> {
    /// The timeline.
    pub tl: &'a Timeline,
    /// First day not seen.
    pub origin: usize,
    /// Training rows' features.
    pub frame: &'a Frame,
    /// Their log sales.
    pub y: &'a [f32],
}

/// What a fitted forecaster forecasts: the horizon's cells (`frame.rows`) with their features.
pub struct Horizon<'a> {
    /// The timeline.
    pub tl: &'a Timeline,
    /// The origin the cells follow.
    pub origin: usize,
    /// The cells and their features.
    pub frame: &'a Frame,
}

/// A baseline's forecasts: sales in € per horizon cell, and the share of cells where it fell
/// back to a simpler rule.
#[derive(Debug, Clone, Default)]
pub struct BaselineForecast {
    /// Sales per cell.
    pub sales: Vec<f64>,
    /// Share of cells forecast by the fallback.
    pub fallback: f64,
}

/// A forecaster to fit on the history before an origin (linfa's `Fit`).
pub trait Fit {
    /// The fitted forecaster.
    type Fitted: Predict;
    /// Fits on `on`.
    fn fit(&self, on: &Training) -> Self::Fitted;
}

/// A fitted forecaster (linfa's `Predict`).
pub trait Predict {
    /// Forecasts every cell of `h`.
    fn predict(&self, h: &Horizon) -> BaselineForecast;
}

/// The store × weekday × promo median ([`ModelKind::Median`]): nothing to fit beyond the
/// history before the origin, which it reads when it forecasts.
#[derive(Debug, Clone, Copy, Default)]
pub struct MedianBaseline;

impl Fit for MedianBaseline {
    type Fitted = MedianBaseline;
    fn fit(&self, _: &Training) -> Self {
        *self
    }
}

impl Predict for MedianBaseline {
    fn predict(&self, h: &Horizon) -> BaselineForecast {
        BaselineForecast {
            sales: store_weekday_promo_median(h.tl, h.origin, &h.frame.rows),
            fallback: 0.0,
        }
    }
}

/// Last year's same weekday ([`ModelKind::LastYear`]), the median where that day is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastYearBaseline;

impl Fit for LastYearBaseline {
    type Fitted = LastYearBaseline;
    fn fit(&self, _: &Training) -> Self {
        *self
    }
}

impl Predict for LastYearBaseline {
    fn predict(&self, h: &Horizon) -> BaselineForecast {
        let (sales, fallback) = last_year_same_weekday(h.tl, h.origin, &h.frame.rows);
        BaselineForecast { sales, fallback }
    }
}

/// The ridge regression on log sales ([`ModelKind::Ridge`]) with penalty `lambda`.
#[derive(Debug, Clone, Copy)]
pub struct RidgeBaseline {
    /// The ridge penalty.
    pub lambda: f64,
}

/// A fitted ridge, or none when the system could not be solved (then the median forecasts).
pub struct FittedRidge(Option<Ridge>);

impl Fit for RidgeBaseline {
    type Fitted = FittedRidge;
    fn fit(&self, on: &Training) -> FittedRidge {
        FittedRidge(Ridge::fit(on.tl, on.frame, on.y, self.lambda))
    }
}

impl Predict for FittedRidge {
    fn predict(&self, h: &Horizon) -> BaselineForecast {
        match &self.0 {
            Some(r) => BaselineForecast {
                sales: r.predict(h.tl, h.frame),
                fallback: 0.0,
            },
            None => BaselineForecast {
                fallback: 1.0,
                ..MedianBaseline.predict(h)
            },
        }
    }
}

/// Fits baseline `kind` on `on` and forecasts `h`; `None` for the model's kinds.
pub fn forecast(
    kind: ModelKind,
    on: &Training,
    h: &Horizon,
    ridge_lambda: f64,
) -> Option<BaselineForecast> {
    match kind {
        ModelKind::Model | ModelKind::ModelRaw => None,
        ModelKind::Median => Some(MedianBaseline.fit(on).predict(h)),
        ModelKind::LastYear => Some(LastYearBaseline.fit(on).predict(h)),
        ModelKind::Ridge => Some(
            RidgeBaseline {
                lambda: ridge_lambda,
            }
            .fit(on)
            .predict(h),
        ),
    }
}
