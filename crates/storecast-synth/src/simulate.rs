//! The daily simulation: one store, every day of the range, sales and customers.
//!
//! Why this module exists: this is where the planted effects meet. Every effect is one
//! multiplicative factor on the store's log-normal base, applied in one place and in one
//! documented order, so that a later analysis recovering "the promo uplift" is recovering
//! exactly `StoreTruth::promo_uplift` and nothing else. Closures (Sundays, state holidays,
//! refurbishment) are decided here too, because the pre-/post-holiday surges depend on them.

use chrono::Datelike;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::calendar::{DayTable, StateHoliday};
use crate::config::{PlantedEffects, SynthConfig};
use crate::rng::{stream, Stream};
use crate::stores::{state_index, StoreTruth};

/// What happened in one store on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayOutcome {
    /// Whether the store was open.
    pub open: bool,
    /// Sales in € (0 when closed).
    pub sales: u32,
    /// Customers (0 when closed).
    pub customers: u32,
}

/// Calendar-only factors shared by every store: month profile × December ramp × payday,
/// and the time since the start in years (for the trend).
pub(crate) struct CommonFactors {
    season: Vec<f64>,
    years: Vec<f64>,
}

impl CommonFactors {
    pub(crate) fn new(table: &DayTable, fx: &PlantedEffects) -> Self {
        let season = table
            .dates
            .iter()
            .map(|d| {
                let month = d.month();
                let day = d.day();
                let mut f = fx.month_profile[(month - 1) as usize];
                if month == 12 {
                    f *= december_factor(day, fx.december_peak);
                }
                if day <= fx.payday_days {
                    f *= 1.0 + fx.payday_uplift;
                }
                f
            })
            .collect();
        let years = table
            .dates
            .iter()
            .map(|d| (*d - table.start).num_days() as f64 / 365.25)
            .collect();
        Self { season, years }
    }
}

/// December ramp: `peak × (day/23)²` up to the 23rd, half the peak on the 24th, nothing on
/// the Christmas days, 15 % of the peak between Christmas and New Year.
pub(crate) fn december_factor(day: u32, peak: f64) -> f64 {
    match day {
        1..=23 => 1.0 + peak * (f64::from(day) / 23.0).powi(2),
        24 => 1.0 + peak * 0.5,
        27..=31 => 1.0 + peak * 0.15,
        _ => 1.0,
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Simulates every day of the table for one store.
pub(crate) fn simulate_store(
    cfg: &SynthConfig,
    table: &DayTable,
    common: &CommonFactors,
    store: &StoreTruth,
) -> Vec<DayOutcome> {
    let fx = &cfg.effects;
    let n = table.dates.len();
    let state = state_index(&store.state);
    let holiday = &table.holiday[state];
    let school = &table.school[state];
    let refurb = store
        .refurbishment
        .map(|(a, b)| (table.index(a), table.index(b)));

    // Closures first: the surges depend on them.
    let mut open = vec![false; n];
    let mut holiday_closed = vec![false; n];
    for d in 0..n {
        let sunday = table.dow[d] == 7;
        holiday_closed[d] = holiday[d].is_holiday() && !store.opens_on_holidays;
        let in_refurb = refurb.is_some_and(|(a, b)| d >= a && d <= b);
        open[d] = (!sunday || store.opens_sundays) && !holiday_closed[d] && !in_refurb;
    }

    // Surge multipliers around closures that contain a state holiday.
    let mut surge = vec![1.0; n];
    for d in 0..n {
        if !open[d] {
            continue;
        }
        // Forward: the closure after d (needs a reopening inside the range).
        let (mut j, mut any, mut christmas) = (d + 1, false, false);
        while j < n && !open[j] {
            if holiday_closed[j] {
                any = true;
                christmas |= holiday[j] == StateHoliday::Christmas;
            }
            j += 1;
        }
        if j < n && any {
            surge[d] *= 1.0
                + if christmas {
                    fx.pre_christmas_surge
                } else {
                    fx.pre_holiday_surge
                };
        }
        // Backward: the closure before d (needs an open day before it).
        let (mut j, mut any) = (d, false);
        while j > 0 && !open[j - 1] {
            any |= holiday_closed[j - 1];
            j -= 1;
        }
        if j > 0 && any {
            surge[d] *= 1.0 + fx.post_closure_surge;
        }
    }
    // Reopening after refurbishment: linear decay from `refurb_surge` to 0.
    if let Some((_, last)) = refurb {
        let days = fx.refurb_surge_days as usize;
        for k in 0..days {
            if let Some(s) = surge.get_mut(last + 1 + k) {
                *s *= 1.0 + fx.refurb_surge * (1.0 - k as f64 / days as f64);
            }
        }
    }

    let competitor = store
        .competitor_opening
        .map(|c| (table.index(c.date), 1.0 - c.drop));
    let growth = (1.0 + store.growth_per_year).max(0.01);
    let promo_sales = 1.0 + store.promo_uplift;
    let promo_basket = promo_sales.powf(1.0 - fx.promo_customer_share);
    let ar_innovation = fx.ar_sigma * (1.0 - fx.ar_phi * fx.ar_phi).sqrt();

    let mut rng = stream(cfg.seed, Stream::StoreDays(store.store));
    let mut ar = fx.ar_sigma * normal(&mut rng);
    let mut week = table.week.first().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(n);
    for d in 0..n {
        // Same draws on every day, open or not, so streams stay aligned across configs.
        if table.week[d] != week {
            week = table.week[d];
            ar = fx.ar_phi * ar + ar_innovation * normal(&mut rng);
        }
        let z_sales = normal(&mut rng);
        let z_basket = normal(&mut rng);
        if !open[d] {
            out.push(DayOutcome {
                open: false,
                sales: 0,
                customers: 0,
            });
            continue;
        }
        let date = table.dates[d];
        let promo = table.promo[d];
        let mut f = store.base_level
            * fx.weekday[usize::from(table.dow[d] - 1)]
            * common.season[d]
            * growth.powf(common.years[d])
            * surge[d];
        if promo {
            f *= promo_sales;
        }
        f *= match holiday[d] {
            StateHoliday::None => 1.0,
            StateHoliday::Public => fx.holiday_open.public,
            StateHoliday::Easter => fx.holiday_open.easter,
            StateHoliday::Christmas => fx.holiday_open.christmas,
        };
        if school[d] {
            f *= 1.0 + fx.school_holiday_uplift;
        }
        if let Some((from, keep)) = competitor {
            if d >= from {
                f *= keep;
            }
        }
        if let Some(p2) = store.promo2 {
            if date >= p2.start && p2.interval.contains_month(date.month()) {
                f *= 1.0 + fx.promo2_uplift;
            }
        }
        f *= (ar + fx.noise_sigma * z_sales).exp();
        let sales = f.round().clamp(0.0, f64::from(u32::MAX)) as u32;
        let mut basket = store.basket * (fx.basket_noise_sigma * z_basket).exp();
        if promo {
            basket *= promo_basket;
        }
        let customers = if sales == 0 {
            0
        } else {
            ((f64::from(sales) / basket).round() as u32).max(1)
        };
        out.push(DayOutcome {
            open: true,
            sales,
            customers,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn december_ramp_peaks_on_the_23rd() {
        assert!((december_factor(23, 0.35) - 1.35).abs() < 1e-12);
        assert!(december_factor(10, 0.35) < december_factor(20, 0.35));
        assert_eq!(december_factor(25, 0.35), 1.0);
        assert_eq!(december_factor(5, 0.0), 1.0);
    }
}
