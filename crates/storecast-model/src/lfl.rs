//! Like-for-like comparison of a forecast with the same weekdays a year earlier.
//!
//! Why this module exists: "growth vs last year" over all stores mixes in stores that have no
//! last year to compare with (180 stores of the real chain have no rows from 2014-07-01 to
//! 2014-12-31, most of last year's comparison window) and stores that were closed for a
//! refurbishment then; on the real data that turned +2 % into +20 % on the app's first screen
//! and ranked stores "growing" +800 %. Growth is compared only over comparable store-days: the
//! forecast day is open, the day 364 days earlier (same weekday) has a row, was open with sales,
//! and lies outside any closure of a week or more (with a week's margin, for the reopening
//! effect). A store is comparable when most of its open horizon days are; the chain and
//! store-type figures sum comparable stores only and state how many they are. One function
//! computes it and every page, API answer and report calls it.

use crate::timeline::{OpenState, Timeline};

/// Days between a day and its comparison day (52 weeks: same weekday).
pub const YEAR_DAYS: isize = 364;
/// A run of at least this many closed days (or days without a row) is a refurbishment, not a
/// weekly closure.
pub const CLOSURE_RUN: usize = 7;
/// Days around such a run that are not comparable either (clearance before, reopening after).
pub const CLOSURE_MARGIN: usize = 7;
/// Share of a store's open horizon days that must be comparable for the store to be.
pub const MIN_COMPARABLE_SHARE: f64 = 0.8;

/// One store's comparison (sums over its comparable days only).
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LikeForLike {
    /// Forecast over the comparable days.
    pub forecast: f64,
    /// Actual sales of the comparison days.
    pub last_year: f64,
    /// Comparable days.
    pub comparable_days: usize,
    /// Open forecast days.
    pub open_days: usize,
}

impl LikeForLike {
    /// Whether the store has a comparable last year.
    pub fn comparable(&self) -> bool {
        self.open_days > 0
            && self.last_year > 0.0
            && self.comparable_days as f64 >= MIN_COMPARABLE_SHARE * self.open_days as f64
    }

    /// Expected like-for-like change, when comparable.
    pub fn change(&self) -> Option<f64> {
        self.comparable()
            .then(|| self.forecast / self.last_year - 1.0)
    }

    /// Adds a comparable store to an aggregate (non-comparable ones are left out).
    pub fn add(&mut self, store: &LikeForLike) {
        if store.comparable() {
            self.forecast += store.forecast;
            self.last_year += store.last_year;
            self.comparable_days += store.comparable_days;
            self.open_days += store.open_days;
        }
    }
}

/// Days of store index `s` before `origin` that lie in or near a closure of
/// [`CLOSURE_RUN`] days or more.
fn near_long_closures(tl: &Timeline, s: usize, origin: usize) -> Vec<bool> {
    let mut out = vec![false; origin];
    let mut run_start = None;
    for d in 0..=origin {
        // Sundays (most stores close them) neither start nor break a run.
        if d < origin && tl.weekday(d) == 7 {
            continue;
        }
        let closed = d < origin
            && matches!(
                tl.plan(s, d as isize).open,
                OpenState::Closed | OpenState::Unknown
            );
        match (closed, run_start) {
            (true, None) => run_start = Some(d),
            (false, Some(a)) => {
                if d - a >= CLOSURE_RUN {
                    let lo = a.saturating_sub(CLOSURE_MARGIN);
                    let hi = (d + CLOSURE_MARGIN).min(origin);
                    out[lo..hi].iter_mut().for_each(|x| *x = true);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    out
}

/// The like-for-like comparison of store index `s`: `days` are its forecast days as (day
/// index in `tl`, open, forecast), `origin` the first forecast day (sales are read before it).
pub fn store_like_for_like(
    tl: &Timeline,
    s: usize,
    origin: usize,
    days: impl IntoIterator<Item = (usize, bool, f64)>,
) -> LikeForLike {
    let blocked = near_long_closures(tl, s, origin);
    let mut out = LikeForLike::default();
    for (d, open, forecast) in days {
        if !open {
            continue;
        }
        out.open_days += 1;
        let ly = d as isize - YEAR_DAYS;
        let ly_open = tl.plan(s, ly).open == OpenState::Open;
        let sales = tl.sales_before(s, ly, origin).filter(|v| *v > 0.0);
        let free = usize::try_from(ly).is_ok_and(|i| !blocked.get(i).copied().unwrap_or(true));
        if let (true, Some(v), true) = (ly_open, sales, free) {
            out.forecast += forecast;
            out.last_year += f64::from(v);
            out.comparable_days += 1;
        }
    }
    out
}
