//! Generator configuration and the sizes of the planted effects.
//!
//! Why this module exists: the synthetic chain is test data for statistics and models, so
//! every effect a later stage might try to recover must be a named, documented number that
//! the tests can read back. [`PlantedEffects::realistic`] holds the defaults (close to what
//! the published Rossmann data shows); [`PlantedEffects::none`] switches every effect off
//! while keeping the noise, for null tests ("is the detector quiet when nothing is there?").

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::SynthError;

/// What to generate: how many stores, which dates, which seed, which effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Number of stores (ids `1..=stores`). Default 100; the real chain has 1,115.
    pub stores: u16,
    /// Seed of every random draw. Same seed and config ⇒ byte-identical files.
    pub seed: u64,
    /// First day of `train.csv` (default 2013-01-01).
    pub start: NaiveDate,
    /// Last day of `train.csv` (default 2015-06-19).
    pub train_end: NaiveDate,
    /// Number of days after `train_end` covered by `test.csv` (default 42).
    pub horizon_days: u32,
    /// Reproduce the real data's quirks (missing half-year, blank cells, …). Default true.
    pub quirks: bool,
    /// Sizes of the planted effects.
    pub effects: PlantedEffects,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            stores: 100,
            seed: 42,
            start: ymd(2013, 1, 1),
            train_end: ymd(2015, 6, 19),
            horizon_days: 42,
            quirks: true,
            effects: PlantedEffects::realistic(),
        }
    }
}

impl SynthConfig {
    /// Checks that the configuration can produce a chain.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.stores == 0 {
            return Err(SynthError::InvalidConfig(
                "stores must be at least 1".into(),
            ));
        }
        if self.train_end < self.start {
            return Err(SynthError::InvalidConfig(format!(
                "train_end {} is before start {}",
                self.train_end, self.start
            )));
        }
        if self.horizon_days > 3660 {
            return Err(SynthError::InvalidConfig(format!(
                "horizon_days {} is more than ten years",
                self.horizon_days
            )));
        }
        if (self.train_end - self.start).num_days() > 36_600 {
            return Err(SynthError::InvalidConfig(
                "the training range is longer than a hundred years".into(),
            ));
        }
        self.effects.validate()
    }

    /// The last day of `test.csv` (equal to `train_end` when `horizon_days` is 0).
    pub fn test_end(&self) -> NaiveDate {
        self.train_end + chrono::Days::new(u64::from(self.horizon_days))
    }
}

/// Sales multipliers on state holidays, for the few stores that open on them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HolidayMultipliers {
    /// Public holiday (`StateHoliday = a`).
    pub public: f64,
    /// Easter holiday: Good Friday, Easter Monday (`b`).
    pub easter: f64,
    /// Christmas, 25/26 December (`c`).
    pub christmas: f64,
}

/// Every planted effect size. All effects are multiplicative on a log-normal base:
/// an uplift `u` multiplies the day's sales by `1 + u`, a drop `d` by `1 - d`.
///
/// Store-type arrays are indexed `[a, b, c, d]`, weekday arrays `[Mon, …, Sun]`,
/// month arrays `[Jan, …, Dec]`, assortment arrays `[a, b, c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedEffects {
    /// Median of the store base level in € per day (log-normal across stores).
    pub base_median: f64,
    /// Log-sd of the store base level across stores.
    pub base_sigma: f64,
    /// Level multiplier by store type (type b stores sell about 1.7× more).
    pub type_level: [f64; 4],
    /// Weekday profile Mon..Sun; Sunday applies only to Sunday-open stores.
    pub weekday: [f64; 7],
    /// Mean promo uplift by store type (0.22 = +22 % on promo days).
    pub promo_uplift: [f64; 4],
    /// Sd of the per-store jitter added to the type's promo uplift.
    pub promo_uplift_jitter: f64,
    /// Share of the promo uplift (on the log scale) that comes from more customers; the
    /// rest is a bigger basket.
    pub promo_customer_share: f64,
    /// Sales multipliers for the few stores that open on state holidays.
    pub holiday_open: HolidayMultipliers,
    /// Uplift on the last open day before a closure that contains a state holiday.
    pub pre_holiday_surge: f64,
    /// Same, when the closure contains Christmas (replaces `pre_holiday_surge`).
    pub pre_christmas_surge: f64,
    /// Uplift on the first open day after a closure that contains a state holiday.
    pub post_closure_surge: f64,
    /// Uplift on open days inside the store's state school holidays.
    pub school_holiday_uplift: f64,
    /// December ramp: uplift `peak × (day/23)²` on 1..=23 December (so `peak` on the 23rd),
    /// `peak / 2` on the 24th and `peak × 0.15` on 27..=31 December.
    pub december_peak: f64,
    /// Mild month-of-year multipliers (December's ramp comes on top).
    pub month_profile: [f64; 12],
    /// Uplift on the first `payday_days` days of each month.
    pub payday_uplift: f64,
    /// Number of payday days at the start of each month.
    pub payday_days: u32,
    /// Yearly growth by store type (0.02 = +2 % a year), compounded from the first day.
    pub growth_per_year: [f64; 4],
    /// Sd of the per-store jitter added to the type's growth.
    pub growth_jitter: f64,
    /// Sales drop after a competitor opens inside the range, for a far competitor.
    pub competitor_drop_min: f64,
    /// Same, for a competitor next door (the drop grows as the distance shrinks).
    pub competitor_drop_max: f64,
    /// Uplift in the months of a store's Promo2 interval, once Promo2 has started.
    pub promo2_uplift: f64,
    /// Uplift on the day a store reopens after refurbishment, decaying linearly to zero.
    pub refurb_surge: f64,
    /// Number of days over which the reopening surge decays.
    pub refurb_surge_days: u32,
    /// Log-sd of the daily iid noise (kept by [`PlantedEffects::none`]).
    pub noise_sigma: f64,
    /// AR(1) coefficient of the weekly store-level noise component.
    pub ar_phi: f64,
    /// Stationary log-sd of the weekly AR(1) component.
    pub ar_sigma: f64,
    /// Basket (€ per customer) by assortment `[a, b, c]`.
    pub basket_assortment: [f64; 3],
    /// Basket multiplier by store type (type d: bigger basket, fewer customers).
    pub basket_type: [f64; 4],
    /// Log-sd of the per-store basket around its type/assortment value.
    pub basket_store_sigma: f64,
    /// Log-sd of the daily basket noise.
    pub basket_noise_sigma: f64,
}

impl Default for PlantedEffects {
    fn default() -> Self {
        Self::realistic()
    }
}

impl PlantedEffects {
    /// The default, realistic effect sizes (see the crate README for the table).
    pub fn realistic() -> Self {
        Self {
            base_median: 6000.0,
            base_sigma: 0.35,
            type_level: [1.0, 1.7, 1.0, 1.0],
            weekday: [1.15, 1.00, 0.96, 0.95, 1.00, 0.92, 1.10],
            promo_uplift: [0.22, 0.10, 0.25, 0.18],
            promo_uplift_jitter: 0.02,
            promo_customer_share: 0.5,
            holiday_open: HolidayMultipliers {
                public: 0.75,
                easter: 0.65,
                christmas: 0.55,
            },
            pre_holiday_surge: 0.12,
            pre_christmas_surge: 0.25,
            post_closure_surge: 0.08,
            school_holiday_uplift: 0.04,
            december_peak: 0.35,
            month_profile: [
                0.95, 0.96, 1.00, 1.00, 1.01, 1.00, 1.02, 1.00, 0.98, 1.00, 1.02, 1.00,
            ],
            payday_uplift: 0.05,
            payday_days: 3,
            growth_per_year: [0.02, 0.05, 0.00, 0.03],
            growth_jitter: 0.01,
            competitor_drop_min: 0.08,
            competitor_drop_max: 0.12,
            promo2_uplift: 0.01,
            refurb_surge: 0.15,
            refurb_surge_days: 14,
            noise_sigma: 0.08,
            ar_phi: 0.6,
            ar_sigma: 0.04,
            basket_assortment: [9.3, 9.0, 10.0],
            basket_type: [1.0, 0.95, 1.0, 1.12],
            basket_store_sigma: 0.04,
            basket_noise_sigma: 0.04,
        }
    }

    /// Every effect off: no promo uplift, flat weekday and month profiles, no holiday
    /// effects, no December peak, no payday, no competitor drop, no trend, no type level,
    /// flat basket. Kept: store heterogeneity (`base_sigma`) and all noise. The calendar
    /// (closures, promo weeks, holidays) is unchanged.
    pub fn none() -> Self {
        Self {
            type_level: [1.0; 4],
            weekday: [1.0; 7],
            promo_uplift: [0.0; 4],
            promo_uplift_jitter: 0.0,
            holiday_open: HolidayMultipliers {
                public: 1.0,
                easter: 1.0,
                christmas: 1.0,
            },
            pre_holiday_surge: 0.0,
            pre_christmas_surge: 0.0,
            post_closure_surge: 0.0,
            school_holiday_uplift: 0.0,
            december_peak: 0.0,
            month_profile: [1.0; 12],
            payday_uplift: 0.0,
            growth_per_year: [0.0; 4],
            growth_jitter: 0.0,
            competitor_drop_min: 0.0,
            competitor_drop_max: 0.0,
            promo2_uplift: 0.0,
            refurb_surge: 0.0,
            basket_assortment: [10.0; 3],
            basket_type: [1.0; 4],
            ..Self::realistic()
        }
    }

    /// Checks that every size is finite and in a range that keeps sales positive.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |what: &str, v: f64| {
            Err(SynthError::InvalidConfig(format!(
                "effect {what} = {v} is out of range"
            )))
        };
        let positive: Vec<(&str, f64)> = [
            ("base_median", self.base_median),
            ("holiday_open.public", self.holiday_open.public),
            ("holiday_open.easter", self.holiday_open.easter),
            ("holiday_open.christmas", self.holiday_open.christmas),
        ]
        .into_iter()
        .chain(self.type_level.iter().map(|&v| ("type_level", v)))
        .chain(self.weekday.iter().map(|&v| ("weekday", v)))
        .chain(self.month_profile.iter().map(|&v| ("month_profile", v)))
        .chain(
            self.basket_assortment
                .iter()
                .map(|&v| ("basket_assortment", v)),
        )
        .chain(self.basket_type.iter().map(|&v| ("basket_type", v)))
        .collect();
        for (what, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return bad(what, v);
            }
        }
        let non_negative = [
            ("base_sigma", self.base_sigma),
            ("promo_uplift_jitter", self.promo_uplift_jitter),
            ("growth_jitter", self.growth_jitter),
            ("noise_sigma", self.noise_sigma),
            ("ar_sigma", self.ar_sigma),
            ("basket_store_sigma", self.basket_store_sigma),
            ("basket_noise_sigma", self.basket_noise_sigma),
        ];
        for (what, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return bad(what, v);
            }
        }
        // Uplifts and drops: anything that keeps the multiplier positive.
        let above_minus_one: Vec<(&str, f64)> = [
            ("pre_holiday_surge", self.pre_holiday_surge),
            ("pre_christmas_surge", self.pre_christmas_surge),
            ("post_closure_surge", self.post_closure_surge),
            ("school_holiday_uplift", self.school_holiday_uplift),
            ("december_peak", self.december_peak),
            ("payday_uplift", self.payday_uplift),
            ("promo2_uplift", self.promo2_uplift),
            ("refurb_surge", self.refurb_surge),
            ("-competitor_drop_min", -self.competitor_drop_min),
            ("-competitor_drop_max", -self.competitor_drop_max),
        ]
        .into_iter()
        .chain(self.promo_uplift.iter().map(|&v| ("promo_uplift", v)))
        .chain(self.growth_per_year.iter().map(|&v| ("growth_per_year", v)))
        .collect();
        for (what, v) in above_minus_one {
            if !(v.is_finite() && v > -1.0) {
                return bad(what, v);
            }
        }
        if !(self.ar_phi.is_finite() && self.ar_phi.abs() < 1.0) {
            return bad("ar_phi", self.ar_phi);
        }
        if !(self.promo_customer_share.is_finite()
            && (0.0..=1.0).contains(&self.promo_customer_share))
        {
            return bad("promo_customer_share", self.promo_customer_share);
        }
        if self.payday_days > 31 {
            return bad("payday_days", f64::from(self.payday_days));
        }
        Ok(())
    }
}

/// A calendar date from known-valid parts (used only with literal, valid dates).
pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}
