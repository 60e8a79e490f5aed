//! Features of a store-day as of a forecast origin.
//!
//! Why: the model may only see what a manager knows on the origin day: the plan for the next
//! six weeks (open days, promotions, holidays) and sales strictly before the origin. Every
//! feature here is computed from the [`Timeline`] with that rule (sales only through
//! `sales_before(.., origin)`), for training rows and forecast rows alike, so what the model
//! learns from is what it will be given. Each feature belongs to one business driver, used to
//! explain forecasts in terms a manager understands.

use crate::timeline::{OpenState, Timeline};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use storecast_data::{StateHoliday, StoreTable};

/// The business drivers that features are grouped into, each named for what it holds.
///
/// The first four describe the store's usual day for this weekday and season (its size and
/// format, its own recent sales, the calendar, last year's same weeks): an explanation starts
/// from that usual day (see [`Driver::is_usual_day`]); the others are what moves one day away
/// from it. The names are serialised (`snake_case`) into artifacts, drift rows and the API.
#[derive(
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// The store's size and format: type, assortment, region, its long-run mean, customers,
    /// basket, volatility.
    StoreLevel,
    /// The store's own recent sales on this weekday (1 to 12 months) and its recent shift.
    RecentLevel,
    /// Weekday, day of month, season, the store's weekday profile.
    Calendar,
    /// The store's sales in the same weeks a year before.
    LastYear,
    /// The weekly promotion and the continuing Promo2.
    Promotion,
    /// Public and school holidays.
    Holidays,
    /// Nearby competitors.
    Competition,
    /// Closed days around the date (refurbishments, Sundays, holidays).
    Closures,
    /// The store's long-run growth: year-on-year change and the slope of its sales.
    Trend,
}

impl Driver {
    /// All drivers, in display order.
    pub const ALL: [Driver; 9] = [
        Self::StoreLevel,
        Self::RecentLevel,
        Self::Calendar,
        Self::LastYear,
        Self::Promotion,
        Self::Holidays,
        Self::Competition,
        Self::Closures,
        Self::Trend,
    ];
    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::StoreLevel => "store size & format",
            Self::RecentLevel => "recent sales on this weekday",
            Self::Calendar => "weekday & season",
            Self::LastYear => "same weeks last year",
            Self::Promotion => "promotion",
            Self::Holidays => "holidays",
            Self::Competition => "competition",
            Self::Closures => "closures",
            Self::Trend => "long-run trend",
        }
    }
    /// True for the drivers that make up the store's usual day for this weekday and season,
    /// where an explanation starts; false for what moves a day away from it.
    pub fn is_usual_day(self) -> bool {
        matches!(
            self,
            Self::StoreLevel | Self::RecentLevel | Self::Calendar | Self::LastYear
        )
    }
    /// Position in [`Driver::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

macro_rules! features {
    ($( $name:ident : $driver:ident ),* $(,)?) => {
        /// Feature positions in a row.
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(Debug, Clone, Copy)]
        #[repr(usize)]
        pub enum F { $( $name ),* }
        /// Feature names, in column order.
        pub const FEATURE_NAMES: &[&str] = &[ $( stringify!($name) ),* ];
        /// The driver of each feature, in column order.
        pub const FEATURE_DRIVERS: &[Driver] = &[ $( Driver::$driver ),* ];
    };
}

features! {
    store_id: StoreLevel,
    store_type: StoreLevel,
    assortment: StoreLevel,
    region: StoreLevel,
    store_mean_log: StoreLevel,
    store_log_customers: StoreLevel,
    store_log_basket: StoreLevel,
    store_volatility: StoreLevel,
    day_of_week: Calendar,
    day_of_month: Calendar,
    month: Calendar,
    week_of_year: Calendar,
    day_of_year: Calendar,
    year: Calendar,
    days_to_month_end: Calendar,
    store_dow_effect: Calendar,
    promo: Promotion,
    promo_day: Promotion,
    promo_last_week: Promotion,
    promo_next_week: Promotion,
    store_promo_effect: Promotion,
    promo2_active: Promotion,
    promo2_month: Promotion,
    promo2_weeks: Promotion,
    state_holiday: Holidays,
    school_holiday: Holidays,
    days_to_holiday: Holidays,
    days_since_holiday: Holidays,
    days_to_school_holiday: Holidays,
    days_since_school_holiday: Holidays,
    school_days_in_week: Holidays,
    holidays_in_week: Holidays,
    competition_distance: Competition,
    competition_months: Competition,
    closed_yesterday: Closures,
    closed_tomorrow: Closures,
    days_since_closure: Closures,
    days_to_closure: Closures,
    days_since_long_closure: Closures,
    days_to_long_closure: Closures,
    store_sunday_open: Closures,
    store_recent_delta: RecentLevel,
    store_yoy: Trend,
    ly_sales: LastYear,
    ly_week_mean: LastYear,
    // Recent history of the store on this weekday without promo, by window (its level), and
    // what a promo added on this weekday (constant in the plan: the `promo` flag switches it,
    // so a what-if on promo is carried by the promotion driver).
    swp_mean_1m: RecentLevel,
    swp_mean_3m: RecentLevel,
    swp_mean_6m: RecentLevel,
    swp_mean_12m: RecentLevel,
    swp_promo_gain_3m: Promotion,
    swp_promo_gain_12m: Promotion,
    store_trend_slope: Trend,
    // 0 = last year's same weeks, 1 = two years before (last year fell in a gap), NaN = none.
    ly_source: LastYear,
    // Event counters and distances in both directions.
    days_since_promo: Promotion,
    days_to_promo: Promotion,
    promo_last_7: Promotion,
    promo_next_7: Promotion,
    holidays_last_7: Holidays,
    holidays_next_7: Holidays,
    holidays_last_14: Holidays,
    holidays_next_14: Holidays,
    school_last_7: Holidays,
    school_next_7: Holidays,
    school_last_14: Holidays,
    school_next_14: Holidays,
    closed_last_7: Closures,
    closed_next_7: Closures,
    closed_last_14: Closures,
    closed_next_14: Closures,
    // School-holiday runs of the store's state (its calendar) and the store's response.
    school_run_day: Holidays,
    school_run_left: Holidays,
    school_run_len: Holidays,
    store_school_effect: Holidays,
    store_summer_effect: Holidays,
    // Days to the Christmas holidays (positive) or since them (negative), within
    // CHRISTMAS_WINDOW; NaN outside (inside, the weekday features are NaN: the date decides).
    christmas_position: Holidays,
}

/// Number of features.
pub const N_FEATURES: usize = FEATURE_NAMES.len();

/// Windows (days before the origin) of the store × weekday × promo means: 1, 3, 6, 12 months.
const SWP_WINDOWS: [usize; 4] = [30, 91, 182, 365];

/// A school-holiday run at least this long is the summer holiday.
const SUMMER_RUN: u16 = 28;

/// Per-store aggregates of sales before the origin.
#[derive(Debug, Clone, Copy)]
struct Profile {
    mean_log: f32,
    log_customers: f32,
    log_basket: f32,
    volatility: f32,
    dow_effect: [f32; 7],
    promo_effect: f32,
    recent_delta: f32,
    yoy: f32,
    sunday_open: f32,
    /// Mean log sales by weekday (0 = Monday), promo (0/1) and window ([`SWP_WINDOWS`]).
    swp: [[[f32; 4]; 2]; 7],
    trend_slope: f32,
    school_effect: f32,
    summer_effect: f32,
}

impl Profile {
    fn empty() -> Self {
        let nan = f32::NAN;
        Profile {
            mean_log: nan,
            log_customers: nan,
            log_basket: nan,
            volatility: nan,
            dow_effect: [nan; 7],
            promo_effect: nan,
            recent_delta: nan,
            yoy: nan,
            sunday_open: nan,
            swp: [[[nan; 4]; 2]; 7],
            trend_slope: nan,
            school_effect: nan,
            summer_effect: nan,
        }
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Difference of two means, when each side has at least `min` values.
fn mean_gap(a: &[f64], b: &[f64], min: usize) -> f32 {
    match (mean(a), mean(b)) {
        (Some(x), Some(y)) if a.len() >= min && b.len() >= min => (x - y) as f32,
        _ => f32::NAN,
    }
}

/// Open days with sales of store `s` in `[from, origin)`: (day, log sales, log customers, promo).
fn sales_rows(tl: &Timeline, s: usize, from: isize, origin: usize) -> Vec<(usize, f64, f64, bool)> {
    (from.max(0)..origin as isize)
        .filter_map(|d| {
            let p = tl.plan(s, d);
            let sales = tl.sales_before(s, d, origin)?;
            (p.open == OpenState::Open && sales > 0.0).then(|| {
                let cust = tl.customers_before(s, d, origin).unwrap_or(0.0);
                (
                    d as usize,
                    f64::from(sales).ln(),
                    f64::from(cust.max(1.0)).ln(),
                    p.promo,
                )
            })
        })
        .collect()
}

/// Mean log sales per weekday × promo × window over the year before the origin.
fn swp_means(tl: &Timeline, all: &[(usize, f64, f64, bool)], origin: usize) -> [[[f32; 4]; 2]; 7] {
    let mut acc = [[[(0.0f64, 0usize); 4]; 2]; 7];
    for r in all.iter().filter(|r| r.0 + 365 >= origin) {
        let age = origin - r.0;
        let w = tl.weekday(r.0) as usize - 1;
        for (k, &win) in SWP_WINDOWS.iter().enumerate() {
            if age <= win {
                let a = &mut acc[w][usize::from(r.3)][k];
                a.0 += r.1;
                a.1 += 1;
            }
        }
    }
    acc.map(|by_promo| {
        by_promo.map(|by_win| {
            by_win.map(|(s, n)| {
                if n >= 2 {
                    (s / n as f64) as f32
                } else {
                    f32::NAN
                }
            })
        })
    })
}

/// Least-squares slope of `(day, value)` points, per year.
fn slope_per_year(points: &[(f64, f64)]) -> f32 {
    if points.len() < 60 {
        return f32::NAN;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        f32::NAN
    } else {
        (sxy / sxx * 365.0) as f32
    }
}

fn profile(tl: &Timeline, s: usize, origin: usize, arr: &PlanArrays) -> Profile {
    let nan = f32::NAN;
    // Every open day with sales before the origin (all years: the summer response needs them).
    let all = sales_rows(tl, s, 0, origin);
    // The last year before the origin; all history before it when the year is too thin.
    let mut rows: Vec<(usize, f64, f64, bool)> = all
        .iter()
        .copied()
        .filter(|r| r.0 + 365 >= origin)
        .collect();
    if rows.len() < 60 {
        rows.clone_from(&all);
    }
    let logs: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let Some(m) = mean(&logs) else {
        return Profile::empty();
    };
    let cust: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let mc = mean(&cust).unwrap_or(f64::NAN);
    let mut dow = [nan; 7];
    for (w, slot) in dow.iter_mut().enumerate() {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| tl.weekday(r.0) as usize == w + 1)
            .map(|r| r.1)
            .collect();
        if v.len() >= 4 {
            *slot = (mean(&v).unwrap_or(m) - m) as f32;
        }
    }
    let by_promo = |p: bool| {
        mean(
            &rows
                .iter()
                .filter(|r| r.3 == p && tl.weekday(r.0) <= 5)
                .map(|r| r.1)
                .collect::<Vec<_>>(),
        )
    };
    let promo_effect = match (by_promo(true), by_promo(false)) {
        (Some(a), Some(b)) => (a - b) as f32,
        _ => nan,
    };
    // Residual after removing the level, weekday and promo means.
    let resid_of = |r: &(usize, f64, f64, bool)| {
        let w = dow[tl.weekday(r.0) as usize - 1];
        let pe = if !promo_effect.is_finite() {
            0.0
        } else if r.3 {
            f64::from(promo_effect) / 2.0
        } else {
            -f64::from(promo_effect) / 2.0
        };
        r.1 - m - if w.is_finite() { f64::from(w) } else { 0.0 } - pe
    };
    let resid: Vec<f64> = rows.iter().map(resid_of).collect();
    let volatility = (resid.iter().map(|x| x * x).sum::<f64>() / resid.len() as f64).sqrt();
    let recent: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 + 91 >= origin)
        .map(|r| r.1)
        .collect();
    let recent_delta = mean(&recent).map_or(nan, |r| (r - m) as f32);
    // Year over year: the last 91 days vs the same 91 days a year earlier.
    let year_ago: Vec<f64> = all
        .iter()
        .filter(|r| r.0 + 365 + 91 >= origin && r.0 + 365 < origin)
        .map(|r| r.1)
        .collect();
    let yoy = match (mean(&recent), mean(&year_ago)) {
        (Some(a), Some(b)) if recent.len() >= 20 && year_ago.len() >= 20 => (a - b) as f32,
        _ => nan,
    };
    let sundays: Vec<bool> = (origin.saturating_sub(365)..origin)
        .filter(|&d| tl.weekday(d) == 7)
        .map(|d| tl.plan(s, d as isize).open)
        .filter(|o| *o != OpenState::Unknown)
        .map(|o| o == OpenState::Open)
        .collect();
    let sunday_open = if sundays.is_empty() {
        nan
    } else {
        sundays.iter().filter(|&&o| o).count() as f32 / sundays.len() as f32
    };
    // Trend: slope of the residual over the last six months.
    let trend: Vec<(f64, f64)> = rows
        .iter()
        .zip(&resid)
        .filter(|(r, _)| r.0 + 182 >= origin)
        .map(|(r, e)| (r.0 as f64, *e))
        .collect();
    // School holidays: the last year's school days against the other days; the summer
    // response over every year available: summer-run days against the 4 weeks around them.
    let (mut school, mut other) = (Vec::new(), Vec::new());
    for (r, e) in rows.iter().zip(&resid) {
        if arr.run_len[r.0] > 0 {
            school.push(*e)
        } else {
            other.push(*e)
        }
    }
    let (mut summer, mut around) = (Vec::new(), Vec::new());
    for r in &all {
        if arr.run_len[r.0] >= SUMMER_RUN {
            summer.push(resid_of(r));
        } else if arr.run_len[r.0] == 0
            && (arr.to_summer[r.0] <= 28.0 || arr.since_summer[r.0] <= 28.0)
        {
            around.push(resid_of(r));
        }
    }
    Profile {
        mean_log: m as f32,
        log_customers: mc as f32,
        log_basket: (m - mc) as f32,
        volatility: volatility as f32,
        dow_effect: dow,
        promo_effect,
        recent_delta,
        yoy,
        sunday_open,
        swp: swp_means(tl, &all, origin),
        trend_slope: slope_per_year(&trend),
        school_effect: mean_gap(&school, &other, 10),
        summer_effect: mean_gap(&summer, &around, 10),
    }
}

/// Distance in days to the next (`forward`) or previous day where `pred` holds, capped.
fn distances(days: usize, cap: f32, forward: bool, pred: impl Fn(usize) -> bool) -> Vec<f32> {
    let mut out = vec![cap; days];
    let mut last: Option<usize> = None;
    let order: Box<dyn Iterator<Item = usize>> = if forward {
        Box::new((0..days).rev())
    } else {
        Box::new(0..days)
    };
    for d in order {
        if pred(d) {
            last = Some(d);
        }
        if let Some(l) = last {
            let dist = if forward { l - d } else { d - l };
            out[d] = (dist as f32).min(cap);
        }
    }
    out
}

/// Days either side of the Christmas holidays (the plan's `c` days) in which a day's place
/// to them outweighs its weekday: the surge before, the half days of the 24th and the 31st,
/// the quiet days between. On the data's calendar: 18 December to 2 January.
pub const CHRISTMAS_WINDOW: usize = 7;

/// Per-store arrays over the whole grid that do not depend on sales.
struct PlanArrays {
    /// Days to (positive) or since (negative) the nearest Christmas holiday within
    /// [`CHRISTMAS_WINDOW`], NaN elsewhere.
    christmas: Vec<f32>,
    to_holiday: Vec<f32>,
    since_holiday: Vec<f32>,
    to_school: Vec<f32>,
    since_school: Vec<f32>,
    since_closure: Vec<f32>,
    to_closure: Vec<f32>,
    since_long: Vec<f32>,
    to_long: Vec<f32>,
    since_promo: Vec<f32>,
    to_promo: Vec<f32>,
    /// Prefix counts (`len = days + 1`) of promo, public holiday, school holiday and
    /// non-Sunday closed days.
    counts: [Vec<u16>; 4],
    /// Day of the school-holiday run (0 = first day), -1 outside a run.
    run_day: Vec<f32>,
    /// Days left in the run after this one, -1 outside a run.
    run_left: Vec<f32>,
    /// Length of the run, 0 outside a run.
    run_len: Vec<u16>,
    since_summer: Vec<f32>,
    to_summer: Vec<f32>,
}

/// Index of each event in [`PlanArrays::counts`].
#[derive(Debug, Clone, Copy)]
enum Event {
    Promo,
    Holiday,
    School,
    Closed,
}

impl PlanArrays {
    /// Days with `event` in `[from, to)` (clamped to the grid).
    fn count(&self, event: Event, from: isize, to: isize) -> f32 {
        let c = &self.counts[event as usize];
        let n = c.len() as isize - 1;
        let (a, b) = (from.clamp(0, n) as usize, to.clamp(0, n) as usize);
        f32::from(c[b.max(a)] - c[a])
    }
}

fn prefix(n: usize, pred: impl Fn(usize) -> bool) -> Vec<u16> {
    let mut out = Vec::with_capacity(n + 1);
    let mut acc = 0u16;
    out.push(0);
    for d in 0..n {
        acc = acc.saturating_add(u16::from(pred(d)));
        out.push(acc);
    }
    out
}

/// School-holiday runs: (day in run, days left, run length) per day.
fn school_runs(n: usize, school: impl Fn(usize) -> bool) -> (Vec<f32>, Vec<f32>, Vec<u16>) {
    let (mut day, mut left, mut len) = (vec![-1.0; n], vec![-1.0; n], vec![0u16; n]);
    let mut d = 0;
    while d < n {
        if !school(d) {
            d += 1;
            continue;
        }
        let start = d;
        while d < n && school(d) {
            d += 1;
        }
        let l = d - start;
        for k in start..d {
            day[k] = (k - start) as f32;
            left[k] = (d - 1 - k) as f32;
            len[k] = u16::try_from(l).unwrap_or(u16::MAX);
        }
    }
    (day, left, len)
}

fn plan_arrays(tl: &Timeline, s: usize) -> PlanArrays {
    let n = tl.days;
    let p = |d: usize| tl.plan(s, d as isize);
    let hol = |d: usize| p(d).state_holiday != StateHoliday::None;
    let school_start = |d: usize| p(d).school_holiday && (d == 0 || !p(d - 1).school_holiday);
    let school_end = |d: usize| p(d).school_holiday && (d + 1 >= n || !p(d + 1).school_holiday);
    // A closure worth noting: a closed day that is not a Sunday.
    let closed = |d: usize| p(d).open == OpenState::Closed && tl.weekday(d) != 7;
    // Long closures: at least 5 consecutive closed days (refurbishment).
    let mut long = vec![false; n];
    let mut run = 0;
    for d in 0..=n {
        if d < n && p(d).open == OpenState::Closed {
            run += 1;
        } else {
            if run >= 5 {
                for x in long.iter_mut().take(d).skip(d - run) {
                    *x = true;
                }
            }
            run = 0;
        }
    }
    let promo = |d: usize| p(d).promo;
    let school = |d: usize| p(d).school_holiday;
    let (run_day, run_left, run_len) = school_runs(n, school);
    let summer = |d: usize| run_len[d] >= SUMMER_RUN;
    let xmas = |d: usize| p(d).state_holiday == StateHoliday::Christmas;
    let window = CHRISTMAS_WINDOW as f32;
    let to_xmas = distances(n, window + 1.0, true, xmas);
    let since_xmas = distances(n, window + 1.0, false, xmas);
    PlanArrays {
        christmas: to_xmas
            .iter()
            .zip(&since_xmas)
            .map(|(&to, &since)| match (to <= window, since <= window) {
                (true, _) => to,
                (false, true) => -since,
                (false, false) => f32::NAN,
            })
            .collect(),
        since_promo: distances(n, 30.0, false, promo),
        to_promo: distances(n, 30.0, true, promo),
        counts: [
            prefix(n, promo),
            prefix(n, hol),
            prefix(n, school),
            prefix(n, closed),
        ],
        since_summer: distances(n, 90.0, false, summer),
        to_summer: distances(n, 90.0, true, summer),
        run_day,
        run_left,
        run_len,
        to_holiday: distances(n, 30.0, true, hol),
        since_holiday: distances(n, 30.0, false, hol),
        to_school: distances(n, 30.0, true, school_start),
        since_school: distances(n, 30.0, false, school_end),
        since_closure: distances(n, 30.0, false, closed),
        to_closure: distances(n, 30.0, true, closed),
        since_long: distances(n, 90.0, false, |d| long[d]),
        to_long: distances(n, 30.0, true, |d| long[d]),
    }
}

/// The code of a store whose region has fewer than [`MIN_REGION_STORES`] stores, or that the
/// codes were not inferred with.
pub const LUMPED_REGION: f32 = 99.0;

/// Stores a region needs to get a code of its own: smaller "regions" are noise (a store with
/// odd data) and share [`LUMPED_REGION`].
pub const MIN_REGION_STORES: usize = 5;

/// Region codes by store id: stores that share the same public and school holiday calendar
/// are in the same German state (the data has no state column, the calendar reveals it).
///
/// Why a type: the codes number the regions by their store count, so they depend on which
/// stores are counted. Inferred once on the whole chain, they code each store the same way on
/// any share of it (a rank of a distributed training holds every N-th store; inferred on that
/// share alone, two regions of close size could swap numbers).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegionCodes {
    by_store: HashMap<u16, f32>,
}

impl RegionCodes {
    /// Infers the codes from the holiday calendars of `tl`'s stores.
    pub fn infer(tl: &Timeline) -> Self {
        // A window every store covers in the real data (before the 2014-H2 gap).
        let window = 1..tl.days.min(540);
        let sigs: Vec<Vec<u32>> = (0..tl.stores.len())
            .map(|s| {
                window
                    .clone()
                    .filter_map(|d| {
                        let p = tl.plan(s, d as isize);
                        let code = u32::from(p.state_holiday != StateHoliday::None)
                            | (u32::from(p.school_holiday) << 1);
                        (code != 0).then_some(d as u32 * 4 + code)
                    })
                    .collect()
            })
            .collect();
        let mut sizes: HashMap<&Vec<u32>, usize> = HashMap::new();
        for sig in &sigs {
            *sizes.entry(sig).or_default() += 1;
        }
        // Number regions by size (largest first), ties by signature for determinism.
        let mut ranked: Vec<(&Vec<u32>, usize)> = sizes.iter().map(|(k, n)| (*k, *n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let code: HashMap<&Vec<u32>, f32> = ranked
            .iter()
            .enumerate()
            .map(|(i, (k, n))| {
                (
                    *k,
                    if *n >= MIN_REGION_STORES {
                        i as f32
                    } else {
                        LUMPED_REGION
                    },
                )
            })
            .collect();
        let by_store = tl
            .stores
            .iter()
            .zip(&sigs)
            .map(|(&id, sig)| (id, code.get(sig).copied().unwrap_or(LUMPED_REGION)))
            .collect();
        Self { by_store }
    }

    /// Infers the codes from a sales history's calendar (none without a history).
    pub fn of_history(history: &storecast_data::SalesHistory) -> Option<Self> {
        Timeline::build(history, None).map(|tl| Self::infer(&tl))
    }

    /// The code of store `id` ([`LUMPED_REGION`] for a store the codes do not know).
    pub fn of(&self, id: u16) -> f32 {
        self.by_store.get(&id).copied().unwrap_or(LUMPED_REGION)
    }

    /// The codes of `tl`'s stores, by dense store index (what the feature builder reads).
    pub fn by_index(&self, tl: &Timeline) -> Vec<f32> {
        tl.stores.iter().map(|&id| self.of(id)).collect()
    }
}

/// Region codes of `tl`'s stores, inferred on those stores (see [`RegionCodes`]).
pub fn regions(tl: &Timeline) -> Vec<f32> {
    RegionCodes::infer(tl).by_index(tl)
}

/// A feature matrix (row-major) with the store-days it describes.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// (store index, day index) of each row.
    pub rows: Vec<(u32, u32)>,
    /// Row-major features, `rows.len() * N_FEATURES`.
    pub x: Vec<f32>,
}

impl Frame {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Features of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * N_FEATURES..(i + 1) * N_FEATURES]
    }
    /// Mutable features of row `i` (for what-if scenarios).
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.x[i * N_FEATURES..(i + 1) * N_FEATURES]
    }
}

/// Builds features for the given store-days as of `origin` (a day index: sales on or after it
/// are never read). `cells` are (store index, day index) pairs, grouped by store for speed.
pub fn build(tl: &Timeline, stores: &StoreTable, origin: usize, cells: &[(u32, u32)]) -> Frame {
    build_with_regions(tl, stores, origin, cells, &regions(tl))
}

/// [`build`] with the region codes already computed (they only depend on the calendar).
/// Each core fills its own run of stores straight into the one matrix (no part is built
/// apart and copied: the peak memory is the matrix itself).
pub fn build_with_regions(
    tl: &Timeline,
    stores: &StoreTable,
    origin: usize,
    cells: &[(u32, u32)],
    regions: &[f32],
) -> Frame {
    let mut x = vec![0.0f32; cells.len() * N_FEATURES];
    let parts = store_chunks(
        cells,
        crate::cores::batch_threads(cells.len(), PARALLEL_CELLS),
    );
    if parts.len() <= 1 {
        fill_part(tl, stores, origin, cells, regions, &mut x);
    } else {
        std::thread::scope(|scope| {
            let mut rest: &mut [f32] = &mut x;
            for part in &parts {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(part.len() * N_FEATURES);
                rest = tail;
                scope.spawn(move || fill_part(tl, stores, origin, part, regions, head));
            }
        });
    }
    Frame {
        rows: cells.to_vec(),
        x,
    }
}

/// Cells below which features are built on one thread (a what-if or one store's weeks).
const PARALLEL_CELLS: usize = 4096;

/// `cells` cut into at most `parts` runs of about equal length, each cut at a change of
/// store (a store's profile is computed once, in one part), in order.
fn store_chunks(cells: &[(u32, u32)], parts: usize) -> Vec<&[(u32, u32)]> {
    let target = cells.len().div_ceil(parts.max(1)).max(1);
    let mut out = Vec::with_capacity(parts);
    let mut rest = cells;
    while !rest.is_empty() {
        let mut end = target.min(rest.len());
        while end < rest.len() && rest[end].0 == rest[end - 1].0 {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

/// The features of `cells` written into `out` (`cells.len() * N_FEATURES` values), on one
/// thread.
fn fill_part(
    tl: &Timeline,
    stores: &StoreTable,
    origin: usize,
    cells: &[(u32, u32)],
    regions: &[f32],
    out: &mut [f32],
) {
    let mut current: Option<(u32, Profile, PlanArrays)> = None;
    for (&(s, d), dst) in cells.iter().zip(out.chunks_exact_mut(N_FEATURES)) {
        if current.as_ref().map(|c| c.0) != Some(s) {
            let su = s as usize;
            let arr = plan_arrays(tl, su);
            current = Some((s, profile(tl, su, origin, &arr), arr));
        }
        let Some((_, prof, arr)) = current.as_ref() else {
            continue;
        };
        dst.copy_from_slice(&row_features(
            tl,
            stores,
            origin,
            s as usize,
            d as usize,
            prof,
            arr,
            regions[s as usize],
        ));
    }
}

/// Days back to the same day `years` years before day `di`: the same weekday (52 weeks a
/// year), or, with `by_date` (the Christmas weeks, whose days are tied to the date), the
/// same calendar date.
fn years_back(tl: &Timeline, di: isize, years: u32, by_date: bool) -> isize {
    let weeks = 364 * years as isize;
    if !by_date || di < 0 {
        return weeks;
    }
    let date = tl.date(di as usize);
    date.checked_sub_months(chrono::Months::new(12 * years))
        .map_or(weeks, |then| (date - then).num_days() as isize)
}

/// Last year's sales of the same day (see [`years_back`]) and the mean of its week, relative
/// to the store's level; when last year's week has no sales (a gap in the data), two years
/// back. Returns (day, week mean, source: 0 = last year, 1 = two years back, NaN = none).
fn last_year(
    tl: &Timeline,
    s: usize,
    di: isize,
    origin: usize,
    level: f32,
    by_date: bool,
) -> (f32, f32, f32) {
    let nan = f32::NAN;
    for (source, years) in [(0.0, 1), (1.0, 2)] {
        let ly = di - years_back(tl, di, years, by_date);
        let week: Vec<f32> = (ly - 3..=ly + 3)
            .filter_map(|k| tl.sales_before(s, k, origin).filter(|v| *v > 0.0))
            .map(f32::ln)
            .collect();
        if week.len() < 3 {
            continue;
        }
        let day = match (tl.plan(s, ly).open, tl.sales_before(s, ly, origin)) {
            (OpenState::Open, Some(v)) if v > 0.0 => v.ln() - level,
            _ => nan,
        };
        let mean = week.iter().sum::<f32>() / week.len() as f32 - level;
        return (day, mean, source);
    }
    (nan, nan, nan)
}

#[allow(clippy::too_many_arguments)]
fn row_features(
    tl: &Timeline,
    stores: &StoreTable,
    origin: usize,
    s: usize,
    d: usize,
    prof: &Profile,
    arr: &PlanArrays,
    region: f32,
) -> [f32; N_FEATURES] {
    let nan = f32::NAN;
    let mut x = [nan; N_FEATURES];
    let store_id = tl.stores[s];
    let info = stores.get(store_id);
    let date = tl.date(d);
    let di = d as isize;
    let plan = tl.plan(s, di);
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    let dow = date.weekday().number_from_monday();

    x[F::store_id as usize] = f32::from(store_id);
    if let Some(info) = info {
        x[F::store_type as usize] = info.store_type.index() as f32;
        x[F::assortment as usize] = info.assortment.index() as f32;
        x[F::competition_distance as usize] = info.competition_distance.map_or(nan, |v| v as f32);
        if let Some(open) = info.competition_open_date() {
            let months =
                (date.year() - open.year()) * 12 + date.month() as i32 - open.month() as i32;
            x[F::competition_months as usize] = months.clamp(-24, 240) as f32;
        }
        let since = info.promo2_since_date();
        let active = since.is_some_and(|since| since <= date);
        x[F::promo2_active as usize] = b(active);
        x[F::promo2_month as usize] = b(active
            && info
                .promo_interval
                .is_some_and(|i| i.contains_month(date.month())));
        x[F::promo2_weeks as usize] = since.map_or(nan, |since| {
            ((date - since).num_days() as f32 / 7.0).clamp(-52.0, 312.0)
        });
    }
    x[F::region as usize] = region;
    x[F::store_mean_log as usize] = prof.mean_log;
    x[F::store_log_customers as usize] = prof.log_customers;
    x[F::store_log_basket as usize] = prof.log_basket;
    x[F::store_volatility as usize] = prof.volatility;

    x[F::day_of_week as usize] = dow as f32;
    x[F::day_of_month as usize] = date.day() as f32;
    x[F::month as usize] = date.month() as f32;
    x[F::week_of_year as usize] = date.iso_week().week() as f32;
    x[F::day_of_year as usize] = date.ordinal() as f32;
    x[F::year as usize] = date.year() as f32;
    let month_end = chrono::NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
        .and_then(|m| m.checked_add_months(chrono::Months::new(1)))
        .map_or(nan, |next| (next - date).num_days() as f32 - 1.0);
    x[F::days_to_month_end as usize] = month_end;
    x[F::store_dow_effect as usize] = prof.dow_effect[dow as usize - 1];

    x[F::promo as usize] = b(plan.promo);
    // Position inside the current promo run (0 = first promo day), -1 when no promo.
    x[F::promo_day as usize] = if plan.promo {
        let mut k = 0;
        while k < 14 && tl.plan(s, di - k - 1).promo {
            k += 1;
        }
        k as f32
    } else {
        -1.0
    };
    let week_has_promo = |offset: isize| {
        let monday = di - (dow as isize - 1) + offset * 7;
        (0..5).any(|k| tl.plan(s, monday + k).promo)
    };
    x[F::promo_last_week as usize] = b(week_has_promo(-1));
    x[F::promo_next_week as usize] = b(week_has_promo(1));
    x[F::store_promo_effect as usize] = prof.promo_effect;

    x[F::state_holiday as usize] = match plan.state_holiday {
        StateHoliday::None => 0.0,
        StateHoliday::Public => 1.0,
        StateHoliday::Easter => 2.0,
        StateHoliday::Christmas => 3.0,
    };
    x[F::school_holiday as usize] = b(plan.school_holiday);
    x[F::days_to_holiday as usize] = arr.to_holiday[d];
    x[F::days_since_holiday as usize] = arr.since_holiday[d];
    x[F::days_to_school_holiday as usize] = arr.to_school[d];
    x[F::days_since_school_holiday as usize] = arr.since_school[d];
    let monday = di - (dow as isize - 1);
    x[F::school_days_in_week as usize] = (0..7)
        .filter(|&k| tl.plan(s, monday + k).school_holiday)
        .count() as f32;
    x[F::holidays_in_week as usize] = (0..7)
        .filter(|&k| tl.plan(s, monday + k).state_holiday != StateHoliday::None)
        .count() as f32;

    x[F::closed_yesterday as usize] = b(tl.plan(s, di - 1).open == OpenState::Closed);
    x[F::closed_tomorrow as usize] = b(tl.plan(s, di + 1).open == OpenState::Closed);
    x[F::days_since_closure as usize] = arr.since_closure[d];
    x[F::days_to_closure as usize] = arr.to_closure[d];
    x[F::days_since_long_closure as usize] = arr.since_long[d];
    x[F::days_to_long_closure as usize] = arr.to_long[d];
    x[F::store_sunday_open as usize] = prof.sunday_open;

    x[F::store_recent_delta as usize] = prof.recent_delta;
    x[F::store_yoy as usize] = prof.yoy;
    let christmas = arr.christmas[d];
    x[F::christmas_position as usize] = christmas;
    if !christmas.is_nan() {
        // In the Christmas weeks the date decides, not the weekday: the Tuesday of ISO week
        // 52 was the 24th (a half day) in 2013 and the 23rd (the last full day) in 2014.
        // On the data, the 2014-12-20 origin's RMSPE fell 6.5 % and its WAPE 5.5 % (with
        // the same-date last year and christmas_position; WAPE lower on 10 of 12 origins).
        x[F::week_of_year as usize] = f32::NAN;
        x[F::day_of_week as usize] = f32::NAN;
        x[F::store_dow_effect as usize] = f32::NAN;
    }
    let (ly_sales, ly_week, ly_source) =
        last_year(tl, s, di, origin, prof.mean_log, !christmas.is_nan());
    x[F::ly_sales as usize] = ly_sales;
    x[F::ly_week_mean as usize] = ly_week;
    x[F::ly_source as usize] = ly_source;
    let swp = &prof.swp[dow as usize - 1];
    for (k, f) in [
        F::swp_mean_1m,
        F::swp_mean_3m,
        F::swp_mean_6m,
        F::swp_mean_12m,
    ]
    .into_iter()
    .enumerate()
    {
        x[f as usize] = swp[0][k];
    }
    x[F::swp_promo_gain_3m as usize] = swp[1][1] - swp[0][1];
    x[F::swp_promo_gain_12m as usize] = swp[1][3] - swp[0][3];
    x[F::store_trend_slope as usize] = prof.trend_slope;
    x[F::days_since_promo as usize] = arr.since_promo[d];
    x[F::days_to_promo as usize] = arr.to_promo[d];
    let counters = [
        (Event::Promo, 7, F::promo_last_7, F::promo_next_7),
        (Event::Holiday, 7, F::holidays_last_7, F::holidays_next_7),
        (Event::Holiday, 14, F::holidays_last_14, F::holidays_next_14),
        (Event::School, 7, F::school_last_7, F::school_next_7),
        (Event::School, 14, F::school_last_14, F::school_next_14),
        (Event::Closed, 7, F::closed_last_7, F::closed_next_7),
        (Event::Closed, 14, F::closed_last_14, F::closed_next_14),
    ];
    for (event, w, last, next) in counters {
        x[last as usize] = arr.count(event, di - w, di);
        x[next as usize] = arr.count(event, di + 1, di + 1 + w);
    }
    x[F::school_run_day as usize] = arr.run_day[d];
    x[F::school_run_left as usize] = arr.run_left[d];
    x[F::school_run_len as usize] = f32::from(arr.run_len[d]);
    x[F::store_school_effect as usize] = prof.school_effect;
    x[F::store_summer_effect as usize] = prof.summer_effect;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_drivers_align() {
        assert_eq!(FEATURE_NAMES.len(), FEATURE_DRIVERS.len());
        assert_eq!(FEATURE_NAMES[F::promo as usize], "promo");
        assert_eq!(FEATURE_DRIVERS[F::promo as usize], Driver::Promotion);
        assert_eq!(FEATURE_NAMES[F::ly_week_mean as usize], "ly_week_mean");
    }

    #[test]
    fn store_chunks_cut_only_where_the_store_changes() {
        let cells_of = |lens: &[u32]| -> Vec<(u32, u32)> {
            (0u32..)
                .zip(lens)
                .flat_map(|(s, &n)| (0..n).map(move |d| (s, d)))
                .collect()
        };
        let lens = |parts: Vec<&[(u32, u32)]>| parts.iter().map(|p| p.len()).collect::<Vec<_>>();
        let even = cells_of(&[6, 6, 6, 6]);
        assert_eq!(lens(store_chunks(&even, 2)), [12, 12]);
        assert_eq!(lens(store_chunks(&even, 4)), [6, 6, 6, 6]);
        // The cut at 8 falls inside the second store: the part runs to that store's end.
        let cells = cells_of(&[3, 10, 2]);
        assert_eq!(lens(store_chunks(&cells, 2)), [13, 2]);
        assert_eq!(store_chunks(&cells, 2).concat(), cells);
        assert_eq!(store_chunks(&cells, 1), vec![&cells[..]]);
        assert!(store_chunks(&[], 2).is_empty());
    }

    #[test]
    fn distances_forward_and_backward() {
        let hits = [false, false, true, false, false, true];
        let fwd = distances(6, 9.0, true, |d| hits[d]);
        assert_eq!(fwd, vec![2.0, 1.0, 0.0, 2.0, 1.0, 0.0]);
        let back = distances(6, 9.0, false, |d| hits[d]);
        assert_eq!(back, vec![9.0, 9.0, 0.0, 1.0, 2.0, 0.0]);
        let capped = distances(6, 1.0, true, |d| hits[d]);
        assert_eq!(capped[0], 1.0);
    }
}

#[cfg(test)]
mod driver_tests {
    use super::Driver;

    #[test]
    fn a_drivers_index_is_its_place_in_all() {
        for (i, d) in Driver::ALL.iter().enumerate() {
            assert_eq!(d.index(), i, "{d:?}");
        }
    }
}
