//! `store.csv`: one row of attributes per store (format, assortment, competition, continuing
//! promotion). Blank cells are `None`; `PromoInterval` keeps its raw text next to the parsed
//! value so validation can report unknown intervals instead of losing them.

use crate::domain::{Assortment, PromoInterval, StoreType};
use crate::error::{RowError, RowProblem};
use crate::reader::{read_table, Cells, TableMeta};
use crate::stream::RawFile;
use crate::LoadError;
use chrono::NaiveDate;

/// Column names of `store.csv`, in published order.
pub const COLUMNS: &[&str] = &[
    "Store",
    "StoreType",
    "Assortment",
    "CompetitionDistance",
    "CompetitionOpenSinceMonth",
    "CompetitionOpenSinceYear",
    "Promo2",
    "Promo2SinceWeek",
    "Promo2SinceYear",
    "PromoInterval",
];

/// Attributes of one store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreInfo {
    /// Store id.
    pub store: u16,
    /// Store format.
    pub store_type: StoreType,
    /// Assortment level.
    pub assortment: Assortment,
    /// Distance to the nearest competitor (m), blank when unknown.
    pub competition_distance: Option<f64>,
    /// Month (1..=12) the nearest competitor opened.
    pub competition_open_since_month: Option<u8>,
    /// Year the nearest competitor opened.
    pub competition_open_since_year: Option<u16>,
    /// Whether the store takes part in the continuing promotion.
    pub promo2: bool,
    /// ISO week the store joined Promo2.
    pub promo2_since_week: Option<u8>,
    /// Year the store joined Promo2.
    pub promo2_since_year: Option<u16>,
    /// Raw `PromoInterval` text, `None` when blank.
    pub promo_interval_text: Option<String>,
    /// Parsed interval, `None` when blank or unknown.
    pub promo_interval: Option<PromoInterval>,
    /// 1-based line in the file.
    pub line: u32,
}

impl StoreInfo {
    /// First day of the month the nearest competitor opened, when both parts are known.
    pub fn competition_open_date(&self) -> Option<NaiveDate> {
        let y = i32::from(self.competition_open_since_year?);
        let m = u32::from(self.competition_open_since_month?);
        NaiveDate::from_ymd_opt(y, m, 1)
    }

    /// Monday of the ISO week the store joined Promo2, when known.
    pub fn promo2_since_date(&self) -> Option<NaiveDate> {
        if !self.promo2 {
            return None;
        }
        let y = i32::from(self.promo2_since_year?);
        let w = u32::from(self.promo2_since_week?);
        NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon)
    }
}

/// All stores, in file order, with an id index.
#[derive(Debug, Clone, Default)]
pub struct StoreTable {
    /// Stores in file order.
    pub rows: Vec<StoreInfo>,
    by_id: Vec<Option<usize>>,
}

impl StoreTable {
    /// Builds a table from rows (the last row wins for a repeated id).
    pub fn from_rows(rows: Vec<StoreInfo>) -> Self {
        let max = rows.iter().map(|r| usize::from(r.store)).max().unwrap_or(0);
        let mut by_id = vec![None; max + 1];
        for (i, r) in rows.iter().enumerate() {
            by_id[usize::from(r.store)] = Some(i);
        }
        Self { rows, by_id }
    }

    /// The store with this id.
    pub fn get(&self, store: u16) -> Option<&StoreInfo> {
        let i = (*self.by_id.get(usize::from(store))?)?;
        self.rows.get(i)
    }

    /// Number of stores.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn load(file: &RawFile) -> Result<(Self, TableMeta), LoadError> {
        let mut rows = Vec::new();
        let meta = read_table(file, COLUMNS, |c| {
            rows.push(parse_row(c)?);
            Ok(())
        })?;
        Ok((Self::from_rows(rows), meta))
    }
}

fn month_or_week(c: &Cells<'_>, col: usize, max: u8) -> Result<Option<u8>, RowError> {
    let v: Option<u8> = c.opt_int(col)?;
    match v {
        Some(x) if x == 0 || x > max => Err(c.error(
            col,
            RowProblem::OutOfRange {
                allowed: format!("1..={max}"),
            },
        )),
        _ => Ok(v),
    }
}

fn parse_row(c: &Cells<'_>) -> Result<StoreInfo, RowError> {
    let store: u16 = c.int(0)?;
    if store == 0 {
        return Err(c.error(
            0,
            RowProblem::OutOfRange {
                allowed: "1..=65535".into(),
            },
        ));
    }
    let interval_text = c.text(9)?;
    Ok(StoreInfo {
        store,
        store_type: c.code(1, "a, b, c, d", StoreType::from_code)?,
        assortment: c.code(2, "a, b, c", Assortment::from_code)?,
        competition_distance: c.opt_f64(3)?,
        competition_open_since_month: month_or_week(c, 4, 12)?,
        competition_open_since_year: c.opt_int(5)?,
        promo2: c.flag(6)?,
        promo2_since_week: month_or_week(c, 7, 53)?,
        promo2_since_year: c.opt_int(8)?,
        promo_interval_text: (!interval_text.is_empty()).then(|| interval_text.to_string()),
        promo_interval: PromoInterval::from_text(interval_text),
        line: u32::try_from(c.line()).unwrap_or(u32::MAX),
    })
}
