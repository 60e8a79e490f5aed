//! Fixtures shared by the integration tests: a small store table, train.csv-format files,
//! hand-built model artifacts and a raw dump of the database tables.
#![allow(dead_code)]

use chrono::{Duration, NaiveDate};
use rusqlite::types::ValueRef;
use std::path::Path;
use storecast_data::history::iso_weekday;
use storecast_data::{ChainData, StoreTable};
use storecast_model::artifact::{CODE_VERSION, FORMAT_VERSION};
use storecast_model::backtest::{Fold, ScoreRow, MODEL};
use storecast_model::intervals::{IntervalCalibration, ResidualBlocks};
use storecast_model::{GbdtParams, Metrics, ModelArtifact, FEATURE_DRIVERS, FEATURE_NAMES};

pub const STORE_HEADER: &str = "Store,StoreType,Assortment,CompetitionDistance,CompetitionOpenSinceMonth,CompetitionOpenSinceYear,Promo2,Promo2SinceWeek,Promo2SinceYear,PromoInterval";
pub const TRAIN_HEADER: &str =
    "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday";

/// store.csv text for stores 1..=3 (clean).
pub fn store_csv() -> String {
    format!(
        "{STORE_HEADER}\n\
         1,c,a,1270,9,2008,0,,,\n\
         2,a,a,570,11,2007,1,13,2010,\"Jan,Apr,Jul,Oct\"\n\
         3,a,a,14130,12,2006,1,14,2011,\"Jan,Apr,Jul,Oct\"\n"
    )
}

/// Parses store.csv text into the table the store validates against.
pub fn store_table_from(csv: &str) -> StoreTable {
    ChainData::from_bytes(
        format!("{TRAIN_HEADER}\n").into_bytes(),
        csv.as_bytes().to_vec(),
        None,
        "fixture",
    )
    .expect("store fixture loads")
    .data
    .stores
}

/// The clean store table of stores 1..=3.
pub fn stores() -> StoreTable {
    store_table_from(&store_csv())
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// One train.csv line for a plausible day (closed on Sundays).
pub fn train_line(store: u16, day: NaiveDate) -> String {
    let dow = iso_weekday(day);
    let open = dow != 7;
    let promo = open && (day.ordinal() / 7) & 1 == 0;
    let (sales, customers) = if open {
        let base = 4000 + 1000 * i32::from(store) + 37 * (day.ordinal() as i32 % 11);
        (base + if promo { 900 } else { 0 }, base / 9)
    } else {
        (0, 0)
    };
    format!(
        "{store},{dow},{day},{sales},{customers},{},{},0,{}",
        u8::from(open),
        u8::from(promo),
        u8::from(dow <= 5 && day.day() >= 20)
    )
}

use chrono::Datelike;

/// train.csv text for `stores` over `days` days from `from`, newest first like the original.
pub fn train_csv(stores: &[u16], from: NaiveDate, days: i64) -> String {
    let mut out = format!("{TRAIN_HEADER}\n");
    for d in (0..days).rev() {
        for &s in stores {
            out.push_str(&train_line(s, from + Duration::days(d)));
            out.push('\n');
        }
    }
    out
}

/// Every row of `table` as text, sorted: a content dump that two states can be compared by.
pub fn dump(db: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open db for dump");
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table}"))
        .expect("prepare dump");
    let n = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            let mut cells = Vec::with_capacity(n);
            for i in 0..n {
                cells.push(match r.get_ref(i)? {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => format!("{v:?}"),
                    ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("blob{b:?}"),
                });
            }
            Ok(cells.join("|"))
        })
        .expect("query dump")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.sort();
    rows
}

/// Dump of every table of the schema.
pub fn dump_all(db: &Path) -> Vec<(String, Vec<String>)> {
    [
        "actuals",
        "ingestions",
        "forecasts",
        "users",
        "audit",
        "alerts",
        "schema_version",
    ]
    .iter()
    .map(|t| (t.to_string(), dump(db, t)))
    .collect()
}

/// A sealed artifact with a fake model text (no training), loadable by this build.
pub fn artifact(version: &str, model_text: &str, last_rmspe: f64) -> ModelArtifact {
    let metrics = |rmspe: f64| Metrics {
        rmspe,
        mape: rmspe * 0.8,
        wape: rmspe * 0.7,
        bias: 0.01,
        mean_log_error: 0.01,
        n: 100,
    };
    let fold = |index: usize, origin: NaiveDate| Fold {
        index,
        kind: Default::default(),
        profile: Default::default(),
        origin,
        end: origin + Duration::days(41),
        train_rows: 1000,
        scored_rows: 100,
        last_year_fallback: 0.0,
        closed_days: 0,
        no_recent_stores: 0,
        seconds: 0.0,
    };
    let mut a = ModelArtifact {
        format_version: FORMAT_VERSION,
        model_version: version.to_string(),
        trained_at: format!("2015-08-01T00:00:00Z/{version}"),
        code_version: CODE_VERSION.to_string(),
        data_fingerprint: "ab".repeat(32),
        data_origin: "test fixture".into(),
        train_start: date(2013, 1, 1),
        train_end: date(2015, 7, 31),
        train_rows: 1000,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        drivers: FEATURE_DRIVERS.to_vec(),
        params: GbdtParams::default(),
        scale: 0.985,
        intervals: IntervalCalibration {
            volatility_cuts: [0.1, 0.2],
            bands: Vec::new(),
        },
        residuals: ResidualBlocks {
            chain_weeks: Vec::new(),
            store_week: [Vec::new(), Vec::new(), Vec::new()],
            day: [Vec::new(), Vec::new(), Vec::new()],
            volatility_cuts: [0.1, 0.2],
            widen: Default::default(),
        },
        folds: vec![fold(1, date(2015, 5, 8)), fold(2, date(2015, 6, 20))],
        scores: vec![
            ScoreRow {
                model: MODEL.to_string(),
                fold: 1,
                metrics: metrics(last_rmspe + 0.02),
            },
            ScoreRow {
                model: MODEL.to_string(),
                fold: 2,
                metrics: metrics(last_rmspe),
            },
            ScoreRow {
                model: "last_year".to_string(),
                fold: 2,
                metrics: metrics(0.3),
            },
        ],
        coverage: Vec::new(),
        lightgbm_model: model_text.to_string(),
        ensemble: Default::default(),
        provisional: false,
        checksum: String::new(),
        signature: None,
    };
    a.seal();
    a
}
