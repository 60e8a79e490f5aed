//! `train.csv`: the daily sales history, one row per store and day, held as typed columns.
//! Sales and customers are kept signed so that validation can report negative values instead
//! of the loader rejecting them as a type error.

use crate::domain::StateHoliday;
use crate::error::{RowError, RowProblem};
use crate::reader::{read_table, Cells, TableMeta};
use crate::stream::RawFile;
use crate::LoadError;
use chrono::{Datelike, NaiveDate};

/// Column names of `train.csv`, in published order.
pub const COLUMNS: &[&str] = &[
    "Store",
    "DayOfWeek",
    "Date",
    "Sales",
    "Customers",
    "Open",
    "Promo",
    "StateHoliday",
    "SchoolHoliday",
];

/// One row of the history (a convenience view; storage is columnar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesRow {
    /// Store id.
    pub store: u16,
    /// ISO day of week as written in the file (1 = Monday .. 7 = Sunday).
    pub day_of_week: u8,
    /// Calendar date.
    pub date: NaiveDate,
    /// Turnover of the day (€).
    pub sales: i32,
    /// Number of customers.
    pub customers: i32,
    /// Whether the store was open.
    pub open: bool,
    /// Whether the store ran its (weekly) promotion that day.
    pub promo: bool,
    /// Public holiday kind.
    pub state_holiday: StateHoliday,
    /// Whether public schools were closed.
    pub school_holiday: bool,
}

/// The daily sales history as columns. All columns have the same length; `line` keeps each
/// row's line in its file so findings can point back to it.
#[derive(Debug, Clone, Default)]
pub struct SalesHistory {
    /// Store id.
    pub store: Vec<u16>,
    /// Day of week as written (1..=7).
    pub day_of_week: Vec<u8>,
    /// Calendar date.
    pub date: Vec<NaiveDate>,
    /// Sales (€).
    pub sales: Vec<i32>,
    /// Customers.
    pub customers: Vec<i32>,
    /// Open flag.
    pub open: Vec<bool>,
    /// Promo flag.
    pub promo: Vec<bool>,
    /// State holiday.
    pub state_holiday: Vec<StateHoliday>,
    /// School holiday flag.
    pub school_holiday: Vec<bool>,
    /// 1-based line in the source file.
    pub line: Vec<u32>,
}

impl SalesHistory {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Row `i` as a struct.
    pub fn row(&self, i: usize) -> SalesRow {
        SalesRow {
            store: self.store[i],
            day_of_week: self.day_of_week[i],
            date: self.date[i],
            sales: self.sales[i],
            customers: self.customers[i],
            open: self.open[i],
            promo: self.promo[i],
            state_holiday: self.state_holiday[i],
            school_holiday: self.school_holiday[i],
        }
    }

    /// Appends a row (`line` is its line in the source file, 0 when it has none).
    pub fn push(&mut self, row: SalesRow, line: u32) {
        self.store.push(row.store);
        self.day_of_week.push(row.day_of_week);
        self.date.push(row.date);
        self.sales.push(row.sales);
        self.customers.push(row.customers);
        self.open.push(row.open);
        self.promo.push(row.promo);
        self.state_holiday.push(row.state_holiday);
        self.school_holiday.push(row.school_holiday);
        self.line.push(line);
    }

    /// First and last date, or `None` when empty.
    pub fn date_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.date.iter().min()?;
        let last = self.date.iter().max()?;
        Some((*first, *last))
    }

    /// Distinct store ids, ascending.
    pub fn store_ids(&self) -> Vec<u16> {
        let mut seen = vec![false; usize::from(u16::MAX) + 1];
        for &s in &self.store {
            seen[usize::from(s)] = true;
        }
        (0..=u16::MAX).filter(|&s| seen[usize::from(s)]).collect()
    }

    /// Row indices grouped by store (index = store id), each group sorted by date.
    /// Stores without rows get an empty group.
    pub fn rows_by_store(&self) -> Vec<Vec<usize>> {
        let max = self.store.iter().copied().max().map_or(0, usize::from);
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); max + 1];
        for (i, &s) in self.store.iter().enumerate() {
            groups[usize::from(s)].push(i);
        }
        for g in &mut groups {
            g.sort_by_key(|&i| self.date[i]);
        }
        groups
    }

    pub(crate) fn load(file: &RawFile) -> Result<(Self, TableMeta), LoadError> {
        let mut table = SalesHistory::default();
        let estimate = usize::try_from(file.size_hint() / 32).unwrap_or(0);
        table.reserve(estimate);
        let meta = read_table(file, COLUMNS, |c| {
            let row = parse_row(c)?;
            table.push(row, u32::try_from(c.line()).unwrap_or(u32::MAX));
            Ok(())
        })?;
        Ok((table, meta))
    }

    fn reserve(&mut self, n: usize) {
        self.store.reserve(n);
        self.day_of_week.reserve(n);
        self.date.reserve(n);
        self.sales.reserve(n);
        self.customers.reserve(n);
        self.open.reserve(n);
        self.promo.reserve(n);
        self.state_holiday.reserve(n);
        self.school_holiday.reserve(n);
        self.line.reserve(n);
    }
}

/// Parses the cells shared by `train.csv` and `test.csv` rows: store, weekday, date.
pub(crate) fn parse_store_day(
    c: &Cells<'_>,
    store: usize,
    dow: usize,
    date: usize,
) -> Result<(u16, u8, NaiveDate), RowError> {
    let store_id: u16 = c.int(store)?;
    if store_id == 0 {
        return Err(c.error(
            store,
            RowProblem::OutOfRange {
                allowed: "1..=65535".into(),
            },
        ));
    }
    let day_of_week: u8 = c.int(dow)?;
    if !(1..=7).contains(&day_of_week) {
        return Err(c.error(
            dow,
            RowProblem::OutOfRange {
                allowed: "1..=7".into(),
            },
        ));
    }
    let date = c.date(date)?;
    Ok((store_id, day_of_week, date))
}

/// Parses a `StateHoliday` cell; a numeric `0.0` is accepted as `0`.
pub(crate) fn parse_state_holiday(c: &Cells<'_>, col: usize) -> Result<StateHoliday, RowError> {
    c.code(col, "0, a, b, c", |t| {
        StateHoliday::from_code(t).or(if t == "0.0" {
            Some(StateHoliday::None)
        } else {
            None
        })
    })
}

fn parse_row(c: &Cells<'_>) -> Result<SalesRow, RowError> {
    let (store, day_of_week, date) = parse_store_day(c, 0, 1, 2)?;
    Ok(SalesRow {
        store,
        day_of_week,
        date,
        sales: c.int(3)?,
        customers: c.int(4)?,
        open: c.flag(5)?,
        promo: c.flag(6)?,
        state_holiday: parse_state_holiday(c, 7)?,
        school_holiday: c.flag(8)?,
    })
}

/// ISO weekday number (1 = Monday) of a date.
pub fn iso_weekday(date: NaiveDate) -> u8 {
    // number_from_monday is 1..=7, always fits.
    date.weekday().number_from_monday() as u8
}
