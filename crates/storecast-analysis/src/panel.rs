//! The history as a dense store × day panel with per-day flags.
//!
//! Why this module exists: nearly every finding compares a store with itself on other days
//! (the same weekday a week earlier, the neighbouring non-promo week, the weeks before an
//! event). Those look-ups are O(1) on a dense grid indexed by day, and the flags that decide
//! which days are comparable ("normal" days: open, selling, no holiday, not next to a holiday
//! closure or a long closure) are computed once here instead of in every finding.

use chrono::{Datelike, NaiveDate};
use storecast_data::{Assortment, ChainData, StateHoliday, StoreInfo, StoreType};

/// A row exists for the store-day.
pub const F_PRESENT: u16 = 1;
/// The store was open.
pub const F_OPEN: u16 = 1 << 1;
/// The store ran its promotion.
pub const F_PROMO: u16 = 1 << 2;
/// Schools were closed.
pub const F_SCHOOL: u16 = 1 << 3;
/// A state holiday (a, b or c).
pub const F_HOLIDAY: u16 = 1 << 4;
/// Last open day before a closure that contains a state holiday.
pub const F_PRE: u16 = 1 << 5;
/// First open day after a closure that contains a state holiday.
pub const F_POST: u16 = 1 << 6;
/// The closure after this pre-holiday day contains Christmas.
pub const F_PRE_XMAS: u16 = 1 << 7;
/// Within a week before or four weeks after a long closure.
pub const F_NEAR_LONG: u16 = 1 << 8;
/// A normal day: open with sales, no holiday, none of the flags above.
pub const F_NORMAL: u16 = 1 << 9;
/// Shift of the 2-bit holiday kind (0 none, 1 public, 2 Easter, 3 Christmas).
const KIND_SHIFT: u16 = 10;

/// Days before a long closure that are not normal (closing-down effects).
const LONG_BEFORE: usize = 7;
/// Days after a long closure that are not normal (reopening effects).
const LONG_AFTER: usize = 28;

/// One store's days.
#[derive(Debug, Clone)]
pub struct StoreSeries {
    /// Store id.
    pub id: u16,
    /// Format.
    pub store_type: StoreType,
    /// Assortment.
    pub assortment: Assortment,
    /// The store.csv row.
    pub info: StoreInfo,
    /// Sales per day (0 when closed or missing).
    pub sales: Vec<f64>,
    /// Customers per day.
    pub customers: Vec<f64>,
    /// Flags per day (`F_*`).
    pub flags: Vec<u16>,
    /// Long closures: first and last closed day (inclusive).
    pub long_closures: Vec<(usize, usize)>,
}

impl StoreSeries {
    /// True when every bit of `f` is set on day `d`.
    #[inline]
    pub fn has(&self, d: usize, f: u16) -> bool {
        self.flags[d] & f == f
    }
    /// Normal day.
    #[inline]
    pub fn normal(&self, d: usize) -> bool {
        self.flags[d] & F_NORMAL != 0
    }
    /// Holiday kind on day `d`.
    pub fn holiday(&self, d: usize) -> StateHoliday {
        match (self.flags[d] >> KIND_SHIFT) & 3 {
            1 => StateHoliday::Public,
            2 => StateHoliday::Easter,
            3 => StateHoliday::Christmas,
            _ => StateHoliday::None,
        }
    }
}

/// The dense panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// First day.
    pub start: NaiveDate,
    /// Days in the grid.
    pub n_days: usize,
    /// Dates by day index.
    pub dates: Vec<NaiveDate>,
    /// Weekday by day index (0 = Monday .. 6 = Sunday).
    pub dow: Vec<u8>,
    /// Days between the Monday of the first week and `start`.
    pub week_offset: usize,
    /// Weeks (Monday-based) touched by the grid.
    pub n_weeks: usize,
    /// Stores with history and a store.csv row, ascending id.
    pub stores: Vec<StoreSeries>,
    /// Store indices by store type (`StoreType::index`).
    pub by_type: [Vec<usize>; 4],
    /// Rows of the history.
    pub rows: usize,
    /// Open days with sales.
    pub open_days: usize,
    /// Store ids with history but no store.csv row (left out).
    pub unknown_stores: Vec<u16>,
    /// Stores in store.csv without any history row.
    pub stores_without_history: Vec<u16>,
}

fn kind_code(h: StateHoliday) -> u16 {
    match h {
        StateHoliday::None => 0,
        StateHoliday::Public => 1,
        StateHoliday::Easter => 2,
        StateHoliday::Christmas => 3,
    }
}

impl Panel {
    /// Builds the panel; `min_closure_days` decides what counts as a long closure.
    pub fn build(data: &ChainData, min_closure_days: usize) -> Option<Self> {
        let h = &data.history;
        let (start, end) = h.date_range()?;
        let n_days = usize::try_from((end - start).num_days()).ok()? + 1;
        let dates: Vec<NaiveDate> = start.iter_days().take(n_days).collect();
        let dow: Vec<u8> = dates
            .iter()
            .map(|d| d.weekday().num_days_from_monday() as u8)
            .collect();
        let week_offset = usize::from(dow[0]);
        let n_weeks = (n_days + week_offset).div_ceil(7);

        let groups = h.rows_by_store();
        let mut stores = Vec::new();
        let mut unknown_stores = Vec::new();
        let mut open_days = 0;
        for (id, rows) in groups.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let Ok(id) = u16::try_from(id) else { continue };
            let Some(info) = data.stores.get(id) else {
                unknown_stores.push(id);
                continue;
            };
            let mut sales = vec![0.0; n_days];
            let mut customers = vec![0.0; n_days];
            let mut flags = vec![0u16; n_days];
            for &i in rows {
                let Ok(d) = usize::try_from((h.date[i] - start).num_days()) else {
                    continue;
                };
                let mut f = F_PRESENT;
                if h.open[i] {
                    f |= F_OPEN;
                }
                if h.promo[i] {
                    f |= F_PROMO;
                }
                if h.school_holiday[i] {
                    f |= F_SCHOOL;
                }
                if h.state_holiday[i].is_holiday() {
                    f |= F_HOLIDAY;
                }
                f |= kind_code(h.state_holiday[i]) << KIND_SHIFT;
                flags[d] = f;
                sales[d] = f64::from(h.sales[i].max(0));
                customers[d] = f64::from(h.customers[i].max(0));
                if h.open[i] && h.sales[i] > 0 {
                    open_days += 1;
                }
            }
            let long_closures = mark_closures(&mut flags, min_closure_days);
            for d in 0..n_days {
                let f = flags[d];
                let ok = f & (F_PRESENT | F_OPEN) == (F_PRESENT | F_OPEN)
                    && sales[d] > 0.0
                    && f & (F_HOLIDAY | F_PRE | F_POST | F_NEAR_LONG) == 0;
                if ok {
                    flags[d] |= F_NORMAL;
                }
            }
            stores.push(StoreSeries {
                id,
                store_type: info.store_type,
                assortment: info.assortment,
                info: info.clone(),
                sales,
                customers,
                flags,
                long_closures,
            });
        }
        let stores_without_history: Vec<u16> = data
            .stores
            .rows
            .iter()
            .map(|r| r.store)
            .filter(|&id| groups.get(usize::from(id)).is_none_or(|g| g.is_empty()))
            .collect();
        let mut by_type: [Vec<usize>; 4] = Default::default();
        for (i, s) in stores.iter().enumerate() {
            by_type[s.store_type.index()].push(i);
        }
        Some(Self {
            start,
            n_days,
            dates,
            dow,
            week_offset,
            n_weeks,
            stores,
            by_type,
            rows: h.len(),
            open_days,
            unknown_stores,
            stores_without_history,
        })
    }

    /// Week index of day `d`.
    #[inline]
    pub fn week(&self, d: usize) -> usize {
        (d + self.week_offset) / 7
    }

    /// Day index of weekday `w` (0 = Monday) in week `k`, when inside the grid.
    #[inline]
    pub fn day(&self, k: usize, w: usize) -> Option<usize> {
        let x = k * 7 + w;
        x.checked_sub(self.week_offset).filter(|&d| d < self.n_days)
    }

    /// Day index of a date, when inside the grid.
    pub fn index(&self, date: NaiveDate) -> Option<usize> {
        let d = usize::try_from((date - self.start).num_days()).ok()?;
        (d < self.n_days).then_some(d)
    }

    /// Last day of the grid.
    pub fn end(&self) -> NaiveDate {
        self.dates[self.n_days - 1]
    }
}

/// Marks pre/post-holiday-closure days and long closures; returns the long closures.
fn mark_closures(flags: &mut [u16], min_closure_days: usize) -> Vec<(usize, usize)> {
    let n = flags.len();
    let present_open = |f: u16| f & (F_PRESENT | F_OPEN) == (F_PRESENT | F_OPEN);
    let closed = |f: u16| f & F_PRESENT != 0 && f & F_OPEN == 0;
    let mut long = Vec::new();
    let mut d = 0;
    while d < n {
        if !closed(flags[d]) {
            d += 1;
            continue;
        }
        let a = d;
        let (mut any_holiday, mut xmas, mut non_holiday) = (false, false, 0usize);
        while d < n && closed(flags[d]) {
            if flags[d] & F_HOLIDAY != 0 {
                any_holiday = true;
                xmas |= (flags[d] >> KIND_SHIFT) & 3 == 3;
            } else {
                non_holiday += 1;
            }
            d += 1;
        }
        let b = d - 1;
        let before_open = a > 0 && present_open(flags[a - 1]);
        let after_open = d < n && present_open(flags[d]);
        if any_holiday && before_open && after_open {
            flags[a - 1] |= F_PRE;
            if xmas {
                flags[a - 1] |= F_PRE_XMAS;
            }
            flags[d] |= F_POST;
        }
        if non_holiday >= min_closure_days {
            long.push((a, b));
            for f in flags.iter_mut().take(a).skip(a.saturating_sub(LONG_BEFORE)) {
                *f |= F_NEAR_LONG;
            }
            for f in flags.iter_mut().skip(b + 1).take(LONG_AFTER) {
                *f |= F_NEAR_LONG;
            }
        }
    }
    long
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_mark_neighbours() {
        // open open [closed holiday] [closed] open ... then a 9-day closure.
        let o = F_PRESENT | F_OPEN;
        let c = F_PRESENT;
        let hol = F_PRESENT | F_HOLIDAY | (3 << KIND_SHIFT);
        let mut flags = vec![o, o, hol, c, o, o];
        flags.extend(std::iter::repeat_n(c, 9));
        flags.extend(std::iter::repeat_n(o, 40));
        let long = mark_closures(&mut flags, 7);
        assert!(flags[1] & F_PRE != 0 && flags[1] & F_PRE_XMAS != 0);
        assert!(flags[4] & F_POST != 0);
        assert!(flags[0] & F_PRE == 0 && flags[5] & F_PRE == 0);
        assert_eq!(long, vec![(6, 14)]);
        assert!(flags[5] & F_NEAR_LONG != 0 && flags[15] & F_NEAR_LONG != 0);
        assert!(flags[15 + LONG_AFTER] & F_NEAR_LONG == 0);
    }
}
