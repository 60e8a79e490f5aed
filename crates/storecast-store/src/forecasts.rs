//! Issued forecasts, and their comparison with the actuals that arrive later.
//!
//! Why this module exists: monitoring a forecast needs the numbers that were actually handed
//! to store managers, by which model version and when, not a re-run of today's model over past
//! dates. Recording what was issued, keyed by model version, store and date, lets the monitor
//! join issued forecasts with actuals as the actuals are ingested and measure real accuracy
//! and interval coverage per model.

use crate::actuals::parse_date;
use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::Store;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use storecast_model::DayForecast;

/// One issued forecast store-day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForecastRow {
    /// Store id.
    pub store: u16,
    /// Date forecast.
    pub date: NaiveDate,
    /// Point forecast of sales (€).
    pub sales: f64,
    /// Lower 80 % bound.
    pub lo80: f64,
    /// Upper 80 % bound.
    pub hi80: f64,
    /// Lower 95 % bound.
    pub lo95: f64,
    /// Upper 95 % bound.
    pub hi95: f64,
}

impl From<&DayForecast> for ForecastRow {
    fn from(f: &DayForecast) -> Self {
        Self {
            store: f.store,
            date: f.date,
            sales: f.sales,
            lo80: f.interval.lo80,
            hi80: f.interval.hi80,
            lo95: f.interval.lo95,
            hi95: f.interval.hi95,
        }
    }
}

/// What [`Store::record_forecasts`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// New store-days recorded.
    pub inserted: usize,
    /// Store-days already recorded with the same numbers (left as they were).
    pub unchanged: usize,
    /// Store-days reissued with other numbers (e.g. a changed promotion plan): the latest
    /// issue replaces the earlier one and its `issued_at`.
    pub replaced: usize,
}

/// An issued forecast next to the actual of the same store-day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastVsActual {
    /// Model version that issued it.
    pub model_version: String,
    /// When it was (last) issued (RFC 3339 UTC).
    pub issued_at: String,
    /// The forecast.
    pub forecast: ForecastRow,
    /// Actual sales.
    pub actual_sales: i32,
    /// Whether the store was actually open.
    pub actual_open: bool,
    /// Actual customers.
    pub actual_customers: i32,
}

impl ForecastVsActual {
    /// Whether the actual fell inside the 80 % band.
    pub fn inside80(&self) -> bool {
        let a = f64::from(self.actual_sales);
        self.forecast.lo80 <= a && a <= self.forecast.hi80
    }

    /// Whether the actual fell inside the 95 % band.
    pub fn inside95(&self) -> bool {
        let a = f64::from(self.actual_sales);
        self.forecast.lo95 <= a && a <= self.forecast.hi95
    }
}

impl Store {
    /// Records forecasts as issued by `model_version` (one transaction, with an audit row).
    /// Re-recording identical numbers changes nothing; different numbers for a recorded
    /// store-day replace them (see [`RecordOutcome::replaced`]). Values must be finite.
    pub fn record_forecasts(
        &self,
        actor: &str,
        model_version: &str,
        rows: &[ForecastRow],
    ) -> Result<RecordOutcome, StoreError> {
        if model_version.trim().is_empty() {
            return Err(StoreError::InvalidInput("empty model version".into()));
        }
        for r in rows {
            let values = [r.sales, r.lo80, r.hi80, r.lo95, r.hi95];
            if values.iter().any(|v| !v.is_finite()) || r.store == 0 {
                return Err(StoreError::InvalidInput(format!(
                    "forecast for store {} on {} has a non-finite value or store 0",
                    r.store, r.date
                )));
            }
        }
        self.write(|tx| {
            let issued_at = crate::now();
            let mut out = RecordOutcome {
                inserted: 0,
                unchanged: 0,
                replaced: 0,
            };
            {
                let mut find = tx.prepare_cached(
                    "SELECT sales, lo80, hi80, lo95, hi95 FROM forecasts
                     WHERE model_version = ?1 AND store = ?2 AND date = ?3",
                )?;
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO forecasts (model_version, store, date, issued_at, sales, lo80,
                                            hi80, lo95, hi95)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (model_version, store, date) DO UPDATE SET
                         issued_at = excluded.issued_at, sales = excluded.sales,
                         lo80 = excluded.lo80, hi80 = excluded.hi80,
                         lo95 = excluded.lo95, hi95 = excluded.hi95",
                )?;
                for r in rows {
                    let date = r.date.to_string();
                    let stored: Option<[f64; 5]> = find
                        .query_row(params![model_version, r.store, date], |q| {
                            Ok([q.get(0)?, q.get(1)?, q.get(2)?, q.get(3)?, q.get(4)?])
                        })
                        .optional()?;
                    let new = [r.sales, r.lo80, r.hi80, r.lo95, r.hi95];
                    match stored {
                        Some(s) if s == new => {
                            out.unchanged += 1;
                            continue;
                        }
                        Some(_) => out.replaced += 1,
                        None => out.inserted += 1,
                    }
                    upsert.execute(params![
                        model_version,
                        r.store,
                        date,
                        issued_at,
                        r.sales,
                        r.lo80,
                        r.hi80,
                        r.lo95,
                        r.hi95
                    ])?;
                }
            }
            let first = rows.iter().map(|r| r.date).min();
            let last = rows.iter().map(|r| r.date).max();
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::FORECASTS_RECORD,
                model_version,
                &json!({
                    "rows": rows.len(),
                    "inserted": out.inserted,
                    "unchanged": out.unchanged,
                    "replaced": out.replaced,
                    "dates": first.zip(last).map(|(a, b)| [a.to_string(), b.to_string()]),
                }),
            )?;
            Ok(out)
        })
    }

    /// Issued forecasts of `model_version` (or of every version when `None`) that have an
    /// actual, ordered by model version, date and store.
    pub fn forecast_vs_actual(
        &self,
        model_version: Option<&str>,
    ) -> Result<Vec<ForecastVsActual>, StoreError> {
        self.forecast_vs_actual_of(model_version, None)
    }

    /// [`Store::forecast_vs_actual`] of one store (every store when `None`): a store's own
    /// record without reading the chain's.
    pub fn forecast_vs_actual_of(
        &self,
        model_version: Option<&str>,
        store: Option<u16>,
    ) -> Result<Vec<ForecastVsActual>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT f.model_version, f.issued_at, f.store, f.date, f.sales, f.lo80, f.hi80,
                    f.lo95, f.hi95, a.sales, a.open, a.customers
             FROM forecasts f
             JOIN actuals a ON a.store = f.store AND a.date = f.date
             WHERE (?1 IS NULL OR f.model_version = ?1) AND (?2 IS NULL OR f.store = ?2)
             ORDER BY f.model_version, f.date, f.store",
        )?;
        let rows = stmt.query_map(rusqlite::params![model_version, store], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u16>(2)?,
                r.get::<_, String>(3)?,
                [
                    r.get::<_, f64>(4)?,
                    r.get::<_, f64>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, f64>(8)?,
                ],
                r.get::<_, i32>(9)?,
                r.get::<_, bool>(10)?,
                r.get::<_, i32>(11)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (model_version, issued_at, store, date, v, sales, open, customers) = row?;
            out.push(ForecastVsActual {
                model_version,
                issued_at,
                forecast: ForecastRow {
                    store,
                    date: parse_date(&date).map_err(StoreError::Corrupt)?,
                    sales: v[0],
                    lo80: v[1],
                    hi80: v[2],
                    lo95: v[3],
                    hi95: v[4],
                },
                actual_sales: sales,
                actual_open: open,
                actual_customers: customers,
            });
        }
        Ok(out)
    }

    /// Model versions with recorded forecasts, with their store-day count, by version.
    pub fn forecast_versions(&self) -> Result<Vec<(String, usize)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT model_version, COUNT(*) FROM forecasts GROUP BY model_version ORDER BY 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
