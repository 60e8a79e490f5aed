//! Error drift per store: a two-sided CUSUM on standardised log-errors.
//!
//! Why this module exists: a store whose sales step up or down by 15 % (a competitor closes,
//! a road is rebuilt, a refurbishment changed the shop) is mis-forecast every day from then on,
//! but in a six-week RMSPE over 1,115 stores that shift is a rounding error, and even the
//! store's own RMSPE only moves once most of the window is affected. A CUSUM accumulates the
//! evidence day by day and signals a lasting shift a few days after it starts, with a known
//! false-alarm rate, and says when it started and in which direction.
//!
//! How: for each scored day (actual > 0, forecast > 0) of a store, in date order, the log-error
//! e = ln(actual / forecast) is standardised, z = (e − μ) / σ, clipped to ±`z_clip`, and
//! accumulated in S⁺ = max(0, S⁺ + z − k) (actuals above forecasts: under-forecasting) and
//! S⁻ = max(0, S⁻ − z − k) (over-forecasting). An alarm is the first day either exceeds h.
//! μ and σ come from the issued forecast's own 80 % band (the backtest's residual quantiles for
//! that store's volatility band and horizon week) or from the store's first days; see
//! [`SigmaSource`]. The path continues after an alarm, so the report also gives its maximum.

use crate::config::{CusumConfig, SigmaSource};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use storecast_store::ForecastVsActual;

/// The standard normal's 90 % quantile: an 80 % central band is μ ± 1.2816 σ.
pub const Z80: f64 = 1.281_551_565_544_600_4;

/// Direction of a shift.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Actuals above forecasts (the model under-forecasts).
    Up,
    /// Actuals below forecasts (the model over-forecasts).
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// The two CUSUM paths of a standardised series and the first alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CusumPath {
    /// S⁺ after each observation.
    pub upper: Vec<f64>,
    /// S⁻ after each observation.
    pub lower: Vec<f64>,
    /// Index and direction of the first observation where S⁺ or S⁻ exceeded h.
    pub first_alarm: Option<(usize, Direction)>,
}

impl CusumPath {
    /// Largest value of S⁺.
    pub fn max_upper(&self) -> f64 {
        self.upper.iter().copied().fold(0.0, f64::max)
    }
    /// Largest value of S⁻.
    pub fn max_lower(&self) -> f64 {
        self.lower.iter().copied().fold(0.0, f64::max)
    }
}

/// Two-sided CUSUM of the standardised series `z` with allowance `k` and threshold `h`.
pub fn cusum_path(z: &[f64], k: f64, h: f64) -> CusumPath {
    let (mut up, mut down) = (0.0f64, 0.0f64);
    let mut upper = Vec::with_capacity(z.len());
    let mut lower = Vec::with_capacity(z.len());
    let mut first_alarm = None;
    for (t, &x) in z.iter().enumerate() {
        up = (up + x - k).max(0.0);
        down = (down - x - k).max(0.0);
        upper.push(up);
        lower.push(down);
        if first_alarm.is_none() {
            if up > h {
                first_alarm = Some((t, Direction::Up));
            } else if down > h {
                first_alarm = Some((t, Direction::Down));
            }
        }
    }
    CusumPath {
        upper,
        lower,
        first_alarm,
    }
}

/// A store's first alarm.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CusumAlarm {
    /// Date of the day the statistic crossed h.
    pub date: NaiveDate,
    /// Direction of the shift.
    pub direction: Direction,
    /// The statistic on that day (in σ).
    pub statistic: f64,
    /// Date the statistic last left 0 before the alarm: the estimated start of the shift.
    pub since: NaiveDate,
}

/// The CUSUM of one store.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct StoreCusum {
    /// Store id.
    pub store: u16,
    /// Days accumulated (actual > 0 and forecast > 0, with a usable band when σ comes from
    /// the intervals).
    pub n: usize,
    /// Mean log-error ln(actual / forecast) over those days.
    pub mean_log_error: f64,
    /// The expected log-error subtracted (mean of μ over the days).
    pub center: f64,
    /// σ used (median over the days when it comes from the bands).
    pub sigma: f64,
    /// Largest S⁺ (under-forecasting evidence).
    pub max_upper: f64,
    /// Largest S⁻ (over-forecasting evidence).
    pub max_lower: f64,
    /// S⁺ on the last day.
    pub last_upper: f64,
    /// S⁻ on the last day.
    pub last_lower: f64,
    /// The first alarm, if any.
    pub alarm: Option<CusumAlarm>,
}

impl StoreCusum {
    /// The path maximum, max(S⁺, S⁻).
    pub fn max(&self) -> f64 {
        self.max_upper.max(self.max_lower)
    }
}

/// One usable day: date, log-error, expected log-error, σ.
type Day = (NaiveDate, f64, f64, f64);

fn store_days(rows: &[&ForecastVsActual], cfg: &CusumConfig) -> Vec<Day> {
    let mut days: Vec<Day> = rows
        .iter()
        .filter(|r| r.actual_sales > 0 && r.forecast.sales > 0.0)
        .filter_map(|r| {
            let f = &r.forecast;
            let e = (f64::from(r.actual_sales) / f.sales).ln();
            match cfg.sigma {
                SigmaSource::Intervals => (f.lo80 > 0.0 && f.hi80 > f.lo80 && f.hi80.is_finite())
                    .then(|| {
                        let (lo, hi) = (f.lo80.ln(), f.hi80.ln());
                        let sigma = ((hi - lo) / (2.0 * Z80)).max(cfg.min_sigma);
                        (f.date, e, (lo + hi) / 2.0 - f.sales.ln(), sigma)
                    }),
                SigmaSource::Warmup => Some((f.date, e, 0.0, 0.0)),
            }
        })
        .collect();
    days.sort_by_key(|d| d.0);
    if cfg.sigma == SigmaSource::Warmup {
        let w = cfg.warmup_days.min(days.len());
        let first: Vec<f64> = days[..w].iter().map(|d| d.1).collect();
        let center = storecast_stats::median(&first);
        let dev: Vec<f64> = first.iter().map(|e| (e - center).abs()).collect();
        let sigma = (1.4826 * storecast_stats::median(&dev)).max(cfg.min_sigma);
        for d in &mut days {
            d.2 = center;
            d.3 = sigma;
        }
    }
    days
}

/// The CUSUM of every store in `rows` (one model version's issued forecasts joined with
/// actuals), by store id.
pub fn store_cusums(rows: &[ForecastVsActual], cfg: &CusumConfig) -> Vec<StoreCusum> {
    let mut by_store: BTreeMap<u16, Vec<&ForecastVsActual>> = BTreeMap::new();
    for r in rows {
        by_store.entry(r.forecast.store).or_default().push(r);
    }
    by_store
        .into_iter()
        .map(|(store, rs)| {
            let days = store_days(&rs, cfg);
            let z: Vec<f64> = days
                .iter()
                .map(|&(_, e, mu, sigma)| ((e - mu) / sigma).clamp(-cfg.z_clip, cfg.z_clip))
                .collect();
            let path = cusum_path(&z, cfg.k, cfg.h);
            let alarm = path.first_alarm.map(|(t, direction)| {
                let series = match direction {
                    Direction::Up => &path.upper,
                    Direction::Down => &path.lower,
                };
                let start = series[..t]
                    .iter()
                    .rposition(|&s| s == 0.0)
                    .map_or(0, |i| i + 1);
                CusumAlarm {
                    date: days[t].0,
                    direction,
                    statistic: series[t],
                    since: days[start].0,
                }
            });
            let n = days.len();
            let mean = |f: fn(&Day) -> f64| {
                if n == 0 {
                    f64::NAN
                } else {
                    days.iter().map(f).sum::<f64>() / n as f64
                }
            };
            let sigmas: Vec<f64> = days.iter().map(|d| d.3).collect();
            StoreCusum {
                store,
                n,
                mean_log_error: mean(|d| d.1),
                center: mean(|d| d.2),
                sigma: storecast_stats::median(&sigmas),
                max_upper: path.max_upper(),
                max_lower: path.max_lower(),
                last_upper: path.upper.last().copied().unwrap_or(0.0),
                last_lower: path.lower.last().copied().unwrap_or(0.0),
                alarm,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::tests::date;
    use chrono::Duration;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use storecast_store::ForecastRow;

    const SIGMA: f64 = 0.08;

    fn std_normal(rng: &mut ChaCha8Rng) -> f64 {
        let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = rng.gen();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `days` daily rows of one store: forecast 5000 with the 80/95 % bands of a log-normal
    /// error of sd `SIGMA`, actual = forecast · exp(noise) · `shift` from day `shift_from` on.
    fn series(
        store: u16,
        seed: u64,
        days: usize,
        shift_from: usize,
        shift: f64,
    ) -> Vec<ForecastVsActual> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let start = date(2015, 6, 20);
        (0..days)
            .map(|t| {
                let f = 5000.0;
                let mut a = f * (SIGMA * std_normal(&mut rng)).exp();
                if t >= shift_from {
                    a *= shift;
                }
                ForecastVsActual {
                    model_version: "m1".into(),
                    issued_at: "2015-06-19T00:00:00.000Z".into(),
                    forecast: ForecastRow {
                        store,
                        date: start + Duration::days(t as i64),
                        sales: f,
                        lo80: f * (-Z80 * SIGMA).exp(),
                        hi80: f * (Z80 * SIGMA).exp(),
                        lo95: f * (-1.96 * SIGMA).exp(),
                        hi95: f * (1.96 * SIGMA).exp(),
                    },
                    actual_sales: a.round() as i32,
                    actual_open: true,
                    actual_customers: 500,
                }
            })
            .collect()
    }

    #[test]
    fn hand_computed_path() {
        let p = cusum_path(&[1.0, 2.0, -1.0, 3.0, 0.0], 0.5, 3.0);
        assert_eq!(p.upper, vec![0.5, 2.0, 0.5, 3.0, 2.5]);
        assert_eq!(p.lower, vec![0.0, 0.0, 0.5, 0.0, 0.0]);
        assert_eq!(p.first_alarm, None, "3.0 equals h: not above it");
        let p = cusum_path(&[-2.0, -2.0, -2.0], 0.5, 3.0);
        assert_eq!(p.lower, vec![1.5, 3.0, 4.5]);
        assert_eq!(p.first_alarm, Some((2, Direction::Down)));
    }

    #[test]
    fn a_planted_15_percent_shift_raises_an_alarm_soon_after_it_starts() {
        let cfg = CusumConfig::default();
        let rows = series(17, 5, 42, 21, 1.15);
        let out = store_cusums(&rows, &cfg);
        assert_eq!(out.len(), 1);
        let c = &out[0];
        assert_eq!(c.n, 42);
        assert!(
            (c.sigma - SIGMA).abs() < 1e-3,
            "σ from the bands: {}",
            c.sigma
        );
        let alarm = c.alarm.expect("an alarm after a 15 % shift");
        assert_eq!(alarm.direction, Direction::Up);
        let shift_day = date(2015, 6, 20) + Duration::days(21);
        assert!(
            alarm.date >= shift_day,
            "alarm {} before the shift",
            alarm.date
        );
        assert!(
            alarm.date <= shift_day + Duration::days(14),
            "alarm {} too late",
            alarm.date
        );
        assert!(alarm.since <= alarm.date && alarm.since >= shift_day - Duration::days(7));
        // A 15 % drop is caught too, downwards.
        let down = store_cusums(&series(18, 6, 42, 21, 1.0 / 1.15), &cfg);
        assert_eq!(down[0].alarm.map(|a| a.direction), Some(Direction::Down));
        // The warm-up σ (first 14 days, before the shift) finds it as well.
        let warm = CusumConfig {
            sigma: SigmaSource::Warmup,
            warmup_days: 14,
            ..CusumConfig::default()
        };
        assert!(store_cusums(&rows, &warm)[0].alarm.is_some());
    }

    #[test]
    fn pure_noise_stays_quiet() {
        let cfg = CusumConfig::default();
        for seed in 1..=5 {
            let quiet = store_cusums(&series(3, seed, 42, usize::MAX, 1.0), &cfg);
            assert!(quiet[0].alarm.is_none(), "seed {seed}: {:?}", quiet[0]);
            assert!(quiet[0].max() < cfg.h);
        }
    }

    #[test]
    fn false_alarm_and_detection_rates_over_many_seeded_stores() {
        // 300 stores of 42 days: pure noise vs a 15 % shift (1.75σ) from day 14 on.
        let cfg = CusumConfig::default();
        let mut noise = Vec::new();
        let mut shifted = Vec::new();
        for s in 0..300u16 {
            noise.extend(series(s + 1, 1000 + u64::from(s), 42, usize::MAX, 1.0));
            shifted.extend(series(s + 1, 5000 + u64::from(s), 42, 14, 1.15));
        }
        let rate = |rows: &[ForecastVsActual], cfg: &CusumConfig| {
            let out = store_cusums(rows, cfg);
            out.iter().filter(|c| c.alarm.is_some()).count() as f64 / out.len() as f64
        };
        let false_alarms = rate(&noise, &cfg);
        let detected = rate(&shifted, &cfg);
        // Expected ≈ 0.3 % and ≈ 100 % (see the config docs).
        assert!(false_alarms < 0.02, "false alarm rate {false_alarms}");
        assert!(detected > 0.95, "detection rate {detected}");
        // The textbook h = 5 alarms on ~7 % of pure-noise stores (why the default is 8), and
        // without an allowance nearly every store drifts into an alarm: the test can fail.
        let textbook = CusumConfig {
            h: 5.0,
            ..CusumConfig::default()
        };
        let r5 = rate(&noise, &textbook);
        assert!(r5 > 0.03 && r5 < 0.15, "h = 5: {r5}");
        let loose = CusumConfig {
            k: 0.0,
            h: 2.0,
            ..CusumConfig::default()
        };
        assert!(rate(&noise, &loose) > 0.5);
    }

    #[test]
    fn one_freak_day_is_clipped_and_closed_days_are_skipped() {
        let cfg = CusumConfig::default();
        let mut rows = series(9, 21, 20, usize::MAX, 1.0);
        rows[10].actual_sales = 300; // a half-day opening: z ≈ -35 before clipping
        rows[12].actual_sales = 0; // closed after all: skipped
        let out = store_cusums(&rows, &cfg);
        assert_eq!(out[0].n, 19);
        assert!(out[0].alarm.is_none(), "{:?}", out[0]);
        let unclipped = CusumConfig {
            z_clip: f64::INFINITY,
            ..CusumConfig::default()
        };
        assert!(store_cusums(&rows, &unclipped)[0].alarm.is_some());
    }
}
