//! A dense per-store daily grid covering the history and the planned horizon.
//!
//! Why: features look at neighbouring days (closed tomorrow? days to the next holiday? sales
//! on the same weekday last year?). A dense `store × day` grid makes those look-ups O(1) and
//! makes the forecast-time rule explicit: plan columns (open, promo, holidays) are known for
//! every day, sales only before the origin. [`Timeline::sales_before`] is the one door to
//! sales, so no feature can read a sale on or after the origin.

use chrono::{Datelike, Duration, NaiveDate};
use storecast_data::{ForecastRequests, SalesHistory, StateHoliday};

/// Open state of a store-day in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    /// No row for this store-day (a gap in the data).
    Unknown,
    /// Closed.
    Closed,
    /// Open.
    Open,
}

/// The planned (known in advance) facts of one store-day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanDay {
    /// Open state.
    pub open: OpenState,
    /// Promo running.
    pub promo: bool,
    /// Public holiday.
    pub state_holiday: StateHoliday,
    /// School holiday.
    pub school_holiday: bool,
}

const UNKNOWN_DAY: PlanDay = PlanDay {
    open: OpenState::Unknown,
    promo: false,
    state_holiday: StateHoliday::None,
    school_holiday: false,
};

/// The grid. Cell `(s, d)` is store index `s` (see [`Timeline::stores`]) on day `start + d`.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// First day of the grid.
    pub start: NaiveDate,
    /// Number of days.
    pub days: usize,
    /// Store ids by dense index, ascending.
    pub stores: Vec<u16>,
    index_of: Vec<Option<u32>>,
    plan: Vec<PlanDay>,
    sales: Vec<f32>,
    customers: Vec<f32>,
}

impl Timeline {
    /// Builds the grid from the history and, optionally, planned rows after it. Sales of the
    /// history are stored as given; plan rows have no sales.
    pub fn build(history: &SalesHistory, plan: Option<&ForecastRequests>) -> Option<Self> {
        let (mut first, mut last) = history.date_range()?;
        if let Some((_, plan_last)) = plan.and_then(|p| p.date_range()) {
            last = last.max(plan_last);
        }
        if let Some((plan_first, _)) = plan.and_then(|p| p.date_range()) {
            first = first.min(plan_first);
        }
        let days = usize::try_from((last - first).num_days() + 1).ok()?;
        let mut ids: Vec<u16> = history.store_ids();
        if let Some(p) = plan {
            ids.extend(p.rows.iter().map(|r| r.store));
            ids.sort_unstable();
            ids.dedup();
        }
        let mut index_of = vec![None; usize::from(*ids.last()?) + 1];
        for (i, &s) in ids.iter().enumerate() {
            index_of[usize::from(s)] = u32::try_from(i).ok();
        }
        let cells = ids.len() * days;
        let mut tl = Timeline {
            start: first,
            days,
            stores: ids,
            index_of,
            plan: vec![UNKNOWN_DAY; cells],
            sales: vec![f32::NAN; cells],
            customers: vec![f32::NAN; cells],
        };
        for i in 0..history.len() {
            let r = history.row(i);
            if let Some(c) = tl.cell(r.store, r.date) {
                tl.plan[c] = PlanDay {
                    open: if r.open {
                        OpenState::Open
                    } else {
                        OpenState::Closed
                    },
                    promo: r.promo,
                    state_holiday: r.state_holiday,
                    school_holiday: r.school_holiday,
                };
                tl.sales[c] = r.sales as f32;
                tl.customers[c] = r.customers as f32;
            }
        }
        if let Some(p) = plan {
            for r in &p.rows {
                if let Some(c) = tl.cell(r.store, r.date) {
                    // Blank Open in a plan is treated as open (see the validation policy).
                    tl.plan[c] = PlanDay {
                        open: if r.open.unwrap_or(true) {
                            OpenState::Open
                        } else {
                            OpenState::Closed
                        },
                        promo: r.promo,
                        state_holiday: r.state_holiday,
                        school_holiday: r.school_holiday,
                    };
                }
            }
        }
        Some(tl)
    }

    /// A grid holding only store index `s` (same days), for cheap what-if copies.
    pub fn single_store(&self, s: usize) -> Timeline {
        let range = s * self.days..(s + 1) * self.days;
        let store = self.stores[s];
        let mut index_of = vec![None; usize::from(store) + 1];
        index_of[usize::from(store)] = Some(0);
        Timeline {
            start: self.start,
            days: self.days,
            stores: vec![store],
            index_of,
            plan: self.plan[range.clone()].to_vec(),
            sales: self.sales[range.clone()].to_vec(),
            customers: self.customers[range].to_vec(),
        }
    }

    /// Dense index of a store id.
    pub fn store_index(&self, store: u16) -> Option<usize> {
        self.index_of
            .get(usize::from(store))
            .copied()
            .flatten()
            .map(|i| i as usize)
    }

    /// Day index of a date, if inside the grid.
    pub fn day_index(&self, date: NaiveDate) -> Option<usize> {
        let d = (date - self.start).num_days();
        usize::try_from(d).ok().filter(|&d| d < self.days)
    }

    /// Date of a day index.
    pub fn date(&self, day: usize) -> NaiveDate {
        self.start + Duration::days(day as i64)
    }

    fn cell(&self, store: u16, date: NaiveDate) -> Option<usize> {
        Some(self.store_index(store)? * self.days + self.day_index(date)?)
    }

    /// The plan of store index `s` on day `d`; unknown outside the grid.
    pub fn plan(&self, s: usize, d: isize) -> PlanDay {
        if d < 0 || d as usize >= self.days {
            return UNKNOWN_DAY;
        }
        self.plan[s * self.days + d as usize]
    }

    /// Replaces the plan of store index `s` on day `d` (what-if scenarios). Days outside the
    /// grid are ignored.
    pub fn set_plan(&mut self, s: usize, d: usize, plan: PlanDay) {
        if s < self.stores.len() && d < self.days {
            self.plan[s * self.days + d] = plan;
        }
    }

    /// Sales of store index `s` on day `d`, only when `d` is before `origin` (else `None`):
    /// the single access path to sales, which makes features leak-free by construction.
    pub fn sales_before(&self, s: usize, d: isize, origin: usize) -> Option<f32> {
        if d < 0 || d as usize >= origin || d as usize >= self.days {
            return None;
        }
        let v = self.sales[s * self.days + d as usize];
        (!v.is_nan()).then_some(v)
    }

    /// Customers of store index `s` on day `d`, only before `origin`.
    pub fn customers_before(&self, s: usize, d: isize, origin: usize) -> Option<f32> {
        if d < 0 || d as usize >= origin || d as usize >= self.days {
            return None;
        }
        let v = self.customers[s * self.days + d as usize];
        (!v.is_nan()).then_some(v)
    }

    /// Actual sales (for scoring backtests only, never for features).
    pub fn actual_sales(&self, s: usize, d: usize) -> Option<f32> {
        let v = *self.sales.get(s * self.days + d)?;
        (!v.is_nan()).then_some(v)
    }

    /// ISO weekday (1 = Monday) of a day index.
    pub fn weekday(&self, d: usize) -> u32 {
        // By arithmetic, not through the date: the features ask for millions of weekdays.
        (self.start.weekday().num_days_from_monday() + (d % 7) as u32) % 7 + 1
    }
}
