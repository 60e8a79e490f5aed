//! The chain's calendar: Easter, state holidays, school holidays and the promo schedule.
//!
//! Why this module exists: in the real data most of the day-to-day structure comes from the
//! calendar, not from the stores: which days are state holidays (and so closures), which days
//! are school holidays, which weeks carry a promotion. Every store of a state shares that
//! state's calendar and every store shares the promo schedule, exactly as in the published
//! files, so the calendar is built once here and the simulation only looks it up.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::ymd;

pub use storecast_data::StateHoliday;

/// One state holiday of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// The day.
    pub date: NaiveDate,
    /// Its `StateHoliday` code.
    pub kind: StateHoliday,
}

/// The calendar of one (internal) state: its state holidays and school-holiday windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateCalendar {
    /// Internal region code (e.g. `BY`); not written to `store.csv`, as in the real data.
    pub code: String,
    /// State holidays inside the data range (train and test), ascending.
    pub holidays: Vec<Holiday>,
    /// School-holiday windows `(first, last)` day inclusive, clipped to the data range.
    pub school_holidays: Vec<(NaiveDate, NaiveDate)>,
}

/// Which regional holidays a state keeps on top of the national ones.
#[derive(Debug, Clone, Copy)]
struct Regional {
    epiphany: bool,
    corpus_christi: bool,
    assumption: bool,
    reformation: bool,
    all_saints: bool,
}

/// The internal states: code, share of stores, regional holidays (German rules).
const STATES: [(&str, f64, Regional); 6] = [
    ("NW", 0.25, reg(false, true, false, false, true)),
    ("BY", 0.20, reg(true, true, true, false, true)),
    ("BW", 0.15, reg(true, true, false, false, true)),
    ("HE", 0.15, reg(false, true, false, false, false)),
    ("SN", 0.12, reg(false, false, false, true, false)),
    ("BE", 0.13, reg(false, false, false, false, false)),
];

const fn reg(
    epiphany: bool,
    corpus_christi: bool,
    assumption: bool,
    reformation: bool,
    all_saints: bool,
) -> Regional {
    Regional {
        epiphany,
        corpus_christi,
        assumption,
        reformation,
        all_saints,
    }
}

/// Number of internal states.
pub(crate) const STATE_COUNT: usize = STATES.len();

/// Code of the internal state with this index.
pub(crate) fn state_code(index: usize) -> &'static str {
    STATES[index % STATE_COUNT].0
}

/// Share of stores in each state, in state-index order.
pub(crate) fn state_shares() -> [f64; STATE_COUNT] {
    STATES.map(|s| s.1)
}

/// Easter Sunday of a Gregorian year (anonymous Gregorian computus, Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction.
    ymd(year, month.unsigned_abs(), day.unsigned_abs())
}

fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(date)
}

/// First Monday on or after `date`.
fn monday_on_or_after(date: NaiveDate) -> NaiveDate {
    let back = i64::from(date.weekday().num_days_from_monday());
    if back == 0 {
        date
    } else {
        shift(date, 7 - back)
    }
}

/// Monday of the week containing `date`.
pub(crate) fn monday_of(date: NaiveDate) -> NaiveDate {
    shift(date, -i64::from(date.weekday().num_days_from_monday()))
}

/// State holidays of state `index` for one year.
fn holidays_of_year(index: usize, year: i32) -> Vec<Holiday> {
    let regional = STATES[index % STATE_COUNT].2;
    let easter = easter_sunday(year);
    let mut list = vec![
        (ymd(year, 1, 1), StateHoliday::Public),
        (shift(easter, -2), StateHoliday::Easter),
        (shift(easter, 1), StateHoliday::Easter),
        (ymd(year, 5, 1), StateHoliday::Public),
        (shift(easter, 39), StateHoliday::Public),
        (shift(easter, 50), StateHoliday::Public),
        (ymd(year, 10, 3), StateHoliday::Public),
        (ymd(year, 12, 25), StateHoliday::Christmas),
        (ymd(year, 12, 26), StateHoliday::Christmas),
    ];
    if regional.epiphany {
        list.push((ymd(year, 1, 6), StateHoliday::Public));
    }
    if regional.corpus_christi {
        list.push((shift(easter, 60), StateHoliday::Public));
    }
    if regional.assumption {
        list.push((ymd(year, 8, 15), StateHoliday::Public));
    }
    if regional.reformation {
        list.push((ymd(year, 10, 31), StateHoliday::Public));
    }
    if regional.all_saints {
        list.push((ymd(year, 11, 1), StateHoliday::Public));
    }
    // Two holidays can fall on one day (Ascension = 1 May in 2008): keep the first listed.
    let mut by_date = BTreeMap::new();
    for (date, kind) in list {
        by_date.entry(date).or_insert(kind);
    }
    by_date
        .into_iter()
        .map(|(date, kind)| Holiday { date, kind })
        .collect()
}

/// School-holiday windows of state `index` starting in `year` (Easter 2 weeks, summer 6
/// weeks staggered by state and rotating by year, autumn 1–2 weeks, Christmas 2 weeks).
fn school_windows_of_year(index: usize, year: i32) -> Vec<(NaiveDate, NaiveDate)> {
    let i = index as i64;
    let easter = easter_sunday(year);
    let easter_window = if matches!(index % 2, 0) {
        (shift(easter, -13), easter)
    } else {
        (shift(easter, -6), shift(easter, 7))
    };
    let slot = (i + i64::from(year)).rem_euclid(STATE_COUNT as i64);
    let summer_start = shift(monday_on_or_after(ymd(year, 6, 20)), slot * 7);
    let autumn_start = shift(monday_on_or_after(ymd(year, 10, 1)), (i % 4) * 7);
    let autumn_len = if matches!(index % 3, 0) { 14 } else { 7 };
    let christmas_start = shift(ymd(year, 12, 21), i % 3);
    vec![
        easter_window,
        (summer_start, shift(summer_start, 41)),
        (autumn_start, shift(autumn_start, autumn_len - 1)),
        (christmas_start, shift(christmas_start, 13)),
    ]
}

/// The state calendar of state `index` over `[from, to]`.
pub(crate) fn state_calendar(index: usize, from: NaiveDate, to: NaiveDate) -> StateCalendar {
    let years = (from.year() - 1)..=to.year();
    let holidays = years
        .clone()
        .flat_map(|y| holidays_of_year(index, y))
        .filter(|h| h.date >= from && h.date <= to)
        .collect();
    let mut school_holidays: Vec<(NaiveDate, NaiveDate)> = years
        .flat_map(|y| school_windows_of_year(index, y))
        .filter(|&(a, b)| b >= from && a <= to)
        .map(|(a, b)| (a.max(from), b.min(to)))
        .collect();
    school_holidays.sort();
    StateCalendar {
        code: state_code(index).to_string(),
        holidays,
        school_holidays,
    }
}

/// The chain-wide promo schedule over `[from, to]`: Mondays of promo weeks (promo runs
/// Monday–Friday of those weeks). Weeks alternate on/off, with an occasional second off week.
pub(crate) fn promo_weeks<R: Rng>(rng: &mut R, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut weeks = Vec::new();
    let mut monday = monday_of(from);
    let mut on = rng.gen_bool(0.5);
    let mut off_run = 0;
    while monday <= to {
        if on {
            weeks.push(monday);
            on = false;
            off_run = 0;
        } else {
            off_run += 1;
            // After one off week: usually back on, sometimes (15 %) one more off week.
            on = off_run >= 2 || !rng.gen_bool(0.15);
        }
        monday = shift(monday, 7);
    }
    weeks
}

/// Day-indexed lookups over the whole generated range (train and test).
pub(crate) struct DayTable {
    /// First day (index 0).
    pub start: NaiveDate,
    /// Every day of the range.
    pub dates: Vec<NaiveDate>,
    /// ISO weekday 1..=7.
    pub dow: Vec<u8>,
    /// Chain-wide promo flag.
    pub promo: Vec<bool>,
    /// Per state: holiday code of each day.
    pub holiday: Vec<Vec<StateHoliday>>,
    /// Per state: school-holiday flag of each day.
    pub school: Vec<Vec<bool>>,
    /// Week index (weeks counted from the Monday on or before `start`).
    pub week: Vec<usize>,
}

impl DayTable {
    pub(crate) fn new(
        from: NaiveDate,
        to: NaiveDate,
        promo_weeks: &[NaiveDate],
        states: &[StateCalendar],
    ) -> Self {
        let dates: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let first_monday = monday_of(from);
        let promo_set: std::collections::BTreeSet<NaiveDate> =
            promo_weeks.iter().copied().collect();
        let dow = dates
            .iter()
            .map(|d| d.weekday().number_from_monday() as u8)
            .collect();
        let promo = dates
            .iter()
            .map(|d| {
                let wd = d.weekday();
                wd != Weekday::Sat && wd != Weekday::Sun && promo_set.contains(&monday_of(*d))
            })
            .collect();
        let week = dates
            .iter()
            .map(|d| ((*d - first_monday).num_days() / 7) as usize)
            .collect();
        let index_of = |d: NaiveDate| (d - from).num_days() as usize;
        let holiday = states
            .iter()
            .map(|s| {
                let mut v = vec![StateHoliday::None; dates.len()];
                for h in &s.holidays {
                    v[index_of(h.date)] = h.kind;
                }
                v
            })
            .collect();
        let school = states
            .iter()
            .map(|s| {
                let mut v = vec![false; dates.len()];
                for &(a, b) in &s.school_holidays {
                    for flag in &mut v[index_of(a)..=index_of(b)] {
                        *flag = true;
                    }
                }
                v
            })
            .collect();
        Self {
            start: from,
            dates,
            dow,
            promo,
            holiday,
            school,
            week,
        }
    }

    /// Index of a date inside the table (the date must be inside the range).
    pub(crate) fn index(&self, date: NaiveDate) -> usize {
        (date - self.start).num_days().max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates_are_right() {
        assert_eq!(easter_sunday(2013), ymd(2013, 3, 31));
        assert_eq!(easter_sunday(2014), ymd(2014, 4, 20));
        assert_eq!(easter_sunday(2015), ymd(2015, 4, 5));
        assert_eq!(easter_sunday(2000), ymd(2000, 4, 23));
        assert_eq!(easter_sunday(2019), ymd(2019, 4, 21));
        assert_eq!(easter_sunday(1961), ymd(1961, 4, 2));
    }

    #[test]
    fn national_and_regional_holidays() {
        let by = state_calendar(1, ymd(2015, 1, 1), ymd(2015, 12, 31));
        let kind = |d| by.holidays.iter().find(|h| h.date == d).map(|h| h.kind);
        assert_eq!(kind(ymd(2015, 4, 3)), Some(StateHoliday::Easter)); // Good Friday
        assert_eq!(kind(ymd(2015, 4, 6)), Some(StateHoliday::Easter)); // Easter Monday
        assert_eq!(kind(ymd(2015, 5, 14)), Some(StateHoliday::Public)); // Ascension
        assert_eq!(kind(ymd(2015, 5, 25)), Some(StateHoliday::Public)); // Whit Monday
        assert_eq!(kind(ymd(2015, 6, 4)), Some(StateHoliday::Public)); // Corpus Christi
        assert_eq!(kind(ymd(2015, 12, 25)), Some(StateHoliday::Christmas));
        assert_eq!(kind(ymd(2015, 1, 6)), Some(StateHoliday::Public));
        let be = state_calendar(5, ymd(2015, 1, 1), ymd(2015, 12, 31));
        assert!(!be.holidays.iter().any(|h| h.date == ymd(2015, 1, 6)));
        assert_eq!(be.holidays.len(), 9);
    }

    #[test]
    fn promo_weeks_alternate() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let weeks = promo_weeks(&mut rng, ymd(2013, 1, 1), ymd(2015, 12, 31));
        assert!(weeks.iter().all(|w| w.weekday() == Weekday::Mon));
        for pair in weeks.windows(2) {
            let gap = (pair[1] - pair[0]).num_days();
            assert!(gap == 14 || gap == 21, "gap {gap}");
        }
        assert!(weeks.len() > 60 && weeks.len() < 80, "{}", weeks.len());
    }
}
