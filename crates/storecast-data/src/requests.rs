//! `test.csv`: the store-days to forecast, in the competition's format (an `Id` per row, no
//! sales, `Open` possibly blank). Blank `Open` stays `None` here; the policy for it belongs to
//! validation and forecasting, which state it.

use crate::domain::StateHoliday;
use crate::error::RowError;
use crate::history::{parse_state_holiday, parse_store_day};
use crate::reader::{read_table, Cells, TableMeta};
use crate::stream::RawFile;
use crate::LoadError;
use chrono::NaiveDate;

/// Column names of `test.csv`, in published order.
pub const COLUMNS: &[&str] = &[
    "Id",
    "Store",
    "DayOfWeek",
    "Date",
    "Open",
    "Promo",
    "StateHoliday",
    "SchoolHoliday",
];

/// One store-day to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastRequest {
    /// The row's id in the submission.
    pub id: u32,
    /// Store id.
    pub store: u16,
    /// Day of week as written (1..=7).
    pub day_of_week: u8,
    /// Date.
    pub date: NaiveDate,
    /// Planned open flag; `None` when blank in the file.
    pub open: Option<bool>,
    /// Planned promo.
    pub promo: bool,
    /// Public holiday.
    pub state_holiday: StateHoliday,
    /// School holiday.
    pub school_holiday: bool,
    /// 1-based line in the file (0 when built in memory).
    pub line: u32,
}

impl ForecastRequest {
    /// The request for a past store-day of the history: what was known ahead of it (open,
    /// promotion, holidays), as a plan row `id` (a replay, a re-scored fold).
    pub fn known_ahead(row: &crate::history::SalesRow, id: u32, line: u32) -> Self {
        Self {
            id,
            store: row.store,
            day_of_week: row.day_of_week,
            date: row.date,
            open: Some(row.open),
            promo: row.promo,
            state_holiday: row.state_holiday,
            school_holiday: row.school_holiday,
            line,
        }
    }
}

/// All requested store-days, in file order.
#[derive(Debug, Clone, Default)]
pub struct ForecastRequests {
    /// Rows in file order.
    pub rows: Vec<ForecastRequest>,
}

impl ForecastRequests {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// First and last date.
    pub fn date_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.rows.iter().map(|r| r.date).min()?;
        let last = self.rows.iter().map(|r| r.date).max()?;
        Some((first, last))
    }

    /// Reads a request file (test.csv format, optionally gzipped) strictly: the first bad row
    /// is an error naming its line and column.
    pub fn load_file(path: &std::path::Path) -> Result<Self, LoadError> {
        let raw = RawFile::read(path);
        let (table, meta) = Self::load(&raw)?;
        match meta.rejected.into_iter().next() {
            Some(first) => Err(LoadError::Row(Box::new(first))),
            None => Ok(table),
        }
    }

    pub(crate) fn load(file: &RawFile) -> Result<(Self, TableMeta), LoadError> {
        let mut rows = Vec::new();
        let meta = read_table(file, COLUMNS, |c| {
            rows.push(parse_row(c)?);
            Ok(())
        })?;
        Ok((Self { rows }, meta))
    }
}

fn parse_row(c: &Cells<'_>) -> Result<ForecastRequest, RowError> {
    let id: u32 = c.int(0)?;
    let (store, day_of_week, date) = parse_store_day(c, 1, 2, 3)?;
    Ok(ForecastRequest {
        id,
        store,
        day_of_week,
        date,
        open: c.opt_flag(4)?,
        promo: c.flag(5)?,
        state_holiday: parse_state_holiday(c, 6)?,
        school_holiday: c.flag(7)?,
        line: u32::try_from(c.line()).unwrap_or(u32::MAX),
    })
}
