//! The in-memory rows and their byte-exact CSV rendering.
//!
//! Why this module exists: the synthetic chain stands in for the real files, so the loader
//! must not be able to tell them apart by format. The published files have small, easy to
//! get wrong conventions (quoted header and strings in `store.csv` only, `Open` as `1.0` in
//! `test.csv`, the `Sept` spelling, date-descending order); writing them by hand here, not
//! through a generic CSV serialiser, keeps every byte under control and makes the writer
//! infallible and fast.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::StateHoliday;
use crate::stores::{Assortment, PromoInterval, StoreType};

/// Header of `train.csv`.
pub const TRAIN_HEADER: &str =
    "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday";
/// Header of `store.csv` (quoted, as published).
pub const STORE_HEADER: &str = "\"Store\",\"StoreType\",\"Assortment\",\"CompetitionDistance\",\"CompetitionOpenSinceMonth\",\"CompetitionOpenSinceYear\",\"Promo2\",\"Promo2SinceWeek\",\"Promo2SinceYear\",\"PromoInterval\"";
/// Header of `test.csv`.
pub const TEST_HEADER: &str = "Id,Store,DayOfWeek,Date,Open,Promo,StateHoliday,SchoolHoliday";
/// Header of `test_truth.csv`.
pub const TEST_TRUTH_HEADER: &str = "Id,Sales";

/// One `train.csv` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainRow {
    /// Store id.
    pub store: u16,
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub day_of_week: u8,
    /// Day.
    pub date: NaiveDate,
    /// Sales in € (0 when closed).
    pub sales: u32,
    /// Customers (0 when closed).
    pub customers: u32,
    /// Whether the store was open.
    pub open: bool,
    /// Chain promo that day.
    pub promo: bool,
    /// State holiday code of the store's state.
    pub state_holiday: StateHoliday,
    /// School holiday in the store's state.
    pub school_holiday: bool,
}

/// One `store.csv` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRow {
    /// Store id.
    pub store: u16,
    /// Store type.
    pub store_type: StoreType,
    /// Assortment.
    pub assortment: Assortment,
    /// Distance to the nearest competitor in metres (blank for a few stores under quirks).
    pub competition_distance: Option<u32>,
    /// Month the nearest competitor opened.
    pub competition_open_since_month: Option<u32>,
    /// Year the nearest competitor opened.
    pub competition_open_since_year: Option<i32>,
    /// Whether the store takes part in Promo2.
    pub promo2: bool,
    /// ISO week Promo2 started.
    pub promo2_since_week: Option<u32>,
    /// ISO year Promo2 started.
    pub promo2_since_year: Option<i32>,
    /// Promo2 relaunch months.
    pub promo_interval: Option<PromoInterval>,
}

/// One `test.csv` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRow {
    /// Row id, from 1.
    pub id: u32,
    /// Store id.
    pub store: u16,
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub day_of_week: u8,
    /// Day.
    pub date: NaiveDate,
    /// Whether the store is open; `None` for the blank quirk cells.
    pub open: Option<bool>,
    /// Chain promo that day.
    pub promo: bool,
    /// State holiday code of the store's state.
    pub state_holiday: StateHoliday,
    /// School holiday in the store's state.
    pub school_holiday: bool,
}

/// One `test_truth.csv` row: the true sales behind a `test.csv` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestTruthRow {
    /// The `test.csv` id.
    pub id: u32,
    /// True sales (0 when closed).
    pub sales: u32,
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v.unsigned_abs());
}

fn push_two(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

fn push_date(buf: &mut Vec<u8>, d: NaiveDate) {
    let y = d.year();
    if (0..=9999).contains(&y) {
        let y = y.unsigned_abs();
        push_two(buf, y / 100);
        push_two(buf, y % 100);
    } else {
        push_i64(buf, i64::from(y));
    }
    buf.push(b'-');
    push_two(buf, d.month());
    buf.push(b'-');
    push_two(buf, d.day());
}

fn push_flag(buf: &mut Vec<u8>, v: bool) {
    buf.push(if v { b'1' } else { b'0' });
}

fn push_opt<T: Into<i64>>(buf: &mut Vec<u8>, v: Option<T>) {
    if let Some(v) = v {
        push_i64(buf, v.into());
    }
}

fn push_header(buf: &mut Vec<u8>, header: &str) {
    buf.extend_from_slice(header.as_bytes());
    buf.push(b'\n');
}

/// Renders `train.csv`.
pub(crate) fn train_csv(rows: &[TrainRow]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + rows.len() * 34);
    push_header(&mut buf, TRAIN_HEADER);
    for r in rows {
        push_u64(&mut buf, u64::from(r.store));
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.day_of_week));
        buf.push(b',');
        push_date(&mut buf, r.date);
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.sales));
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.customers));
        buf.push(b',');
        push_flag(&mut buf, r.open);
        buf.push(b',');
        push_flag(&mut buf, r.promo);
        buf.push(b',');
        buf.extend_from_slice(r.state_holiday.code().as_bytes());
        buf.push(b',');
        push_flag(&mut buf, r.school_holiday);
        buf.push(b'\n');
    }
    buf
}

/// Renders `store.csv` (strings quoted, blanks empty, blank interval as `""`).
pub(crate) fn store_csv(rows: &[StoreRow]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + rows.len() * 48);
    push_header(&mut buf, STORE_HEADER);
    for r in rows {
        push_u64(&mut buf, u64::from(r.store));
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(r.store_type.code().as_bytes());
        buf.extend_from_slice(b"\",\"");
        buf.extend_from_slice(r.assortment.code().as_bytes());
        buf.extend_from_slice(b"\",");
        push_opt(&mut buf, r.competition_distance);
        buf.push(b',');
        push_opt(&mut buf, r.competition_open_since_month);
        buf.push(b',');
        push_opt(&mut buf, r.competition_open_since_year);
        buf.push(b',');
        push_flag(&mut buf, r.promo2);
        buf.push(b',');
        push_opt(&mut buf, r.promo2_since_week);
        buf.push(b',');
        push_opt(&mut buf, r.promo2_since_year);
        buf.extend_from_slice(b",\"");
        if let Some(i) = r.promo_interval {
            buf.extend_from_slice(i.text().as_bytes());
        }
        buf.extend_from_slice(b"\"\n");
    }
    buf
}

/// Renders `test.csv` (`Open` as `1.0` / `0.0` / blank).
pub(crate) fn test_csv(rows: &[TestRow]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + rows.len() * 32);
    push_header(&mut buf, TEST_HEADER);
    for r in rows {
        push_u64(&mut buf, u64::from(r.id));
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.store));
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.day_of_week));
        buf.push(b',');
        push_date(&mut buf, r.date);
        buf.push(b',');
        match r.open {
            Some(true) => buf.extend_from_slice(b"1.0"),
            Some(false) => buf.extend_from_slice(b"0.0"),
            None => {}
        }
        buf.push(b',');
        push_flag(&mut buf, r.promo);
        buf.push(b',');
        buf.extend_from_slice(r.state_holiday.code().as_bytes());
        buf.push(b',');
        push_flag(&mut buf, r.school_holiday);
        buf.push(b'\n');
    }
    buf
}

/// Renders `test_truth.csv`.
pub(crate) fn test_truth_csv(rows: &[TestTruthRow]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 + rows.len() * 12);
    push_header(&mut buf, TEST_TRUTH_HEADER);
    for r in rows {
        push_u64(&mut buf, u64::from(r.id));
        buf.push(b',');
        push_u64(&mut buf, u64::from(r.sales));
        buf.push(b'\n');
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ymd;

    #[test]
    fn rows_render_like_the_published_files() {
        let train = TrainRow {
            store: 1,
            day_of_week: 5,
            date: ymd(2015, 6, 19),
            sales: 4202,
            customers: 487,
            open: true,
            promo: true,
            state_holiday: StateHoliday::None,
            school_holiday: false,
        };
        let text = String::from_utf8(train_csv(&[train])).expect("utf8");
        assert_eq!(
            text,
            format!("{TRAIN_HEADER}\n1,5,2015-06-19,4202,487,1,1,0,0\n")
        );

        let plain = StoreRow {
            store: 1,
            store_type: StoreType::C,
            assortment: Assortment::Basic,
            competition_distance: Some(1270),
            competition_open_since_month: Some(9),
            competition_open_since_year: Some(2008),
            promo2: false,
            promo2_since_week: None,
            promo2_since_year: None,
            promo_interval: None,
        };
        let promo2 = StoreRow {
            store: 2,
            store_type: StoreType::A,
            assortment: Assortment::Basic,
            competition_distance: Some(570),
            competition_open_since_month: Some(11),
            competition_open_since_year: Some(2007),
            promo2: true,
            promo2_since_week: Some(13),
            promo2_since_year: Some(2010),
            promo_interval: Some(PromoInterval::JanAprJulOct),
        };
        let text = String::from_utf8(store_csv(&[plain, promo2])).expect("utf8");
        assert_eq!(
            text,
            format!(
                "{STORE_HEADER}\n1,\"c\",\"a\",1270,9,2008,0,,,\"\"\n2,\"a\",\"a\",570,11,2007,1,13,2010,\"Jan,Apr,Jul,Oct\"\n"
            )
        );

        let test = TestRow {
            id: 1,
            store: 1,
            day_of_week: 4,
            date: ymd(2015, 9, 17),
            open: Some(true),
            promo: true,
            state_holiday: StateHoliday::None,
            school_holiday: false,
        };
        let blank = TestRow {
            open: None,
            id: 2,
            ..test
        };
        let text = String::from_utf8(test_csv(&[test, blank])).expect("utf8");
        assert_eq!(
            text,
            format!("{TEST_HEADER}\n1,1,4,2015-09-17,1.0,1,0,0\n2,1,4,2015-09-17,,1,0,0\n")
        );
    }
}
