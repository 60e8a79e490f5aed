//! Actual sales: ingestion of delivered `train.csv`-format files, and read-back for retraining
//! and monitoring.
//!
//! Why this module exists: once the app runs, new actuals arrive as files every day or week,
//! and the history the next model trains on must be exactly what was validated, never a half
//! loaded file nor a silently overwritten number. So a file is loaded with the same loader and
//! validated with the same rules as the original data, and it goes in whole or not at all:
//! any unparsable row, any error-severity finding on the file, or any row contradicting a
//! stored one refuses the file with the evidence, and nothing is written. Re-delivering a file
//! (or rows already stored with the same values) changes nothing and is counted as unchanged,
//! so a retried upload is always safe.

use crate::audit::{self, actions};
use crate::error::{Conflict, Implausible, IngestError, StoreError};
use crate::Store;
use chrono::NaiveDate;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use storecast_data::{
    history, stores, ChainData, LoadReport, SalesHistory, SalesRow, StateHoliday, StoreTable,
    FILE_STORES,
};
use storecast_validate::{validate, Severity, ValidateConfig, ValidationReport};

/// What an accepted file did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    /// Id of the `ingestions` row recording this delivery.
    pub ingestion_id: i64,
    /// File name as given.
    pub file_name: String,
    /// SHA-256 of the delivered bytes.
    pub sha256: String,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows that were new and were stored.
    pub inserted: usize,
    /// Rows already stored with identical values (left as they were).
    pub unchanged: usize,
    /// Stored rows replaced by the file's values (only with [`IngestOptions::correct`]).
    pub corrected: usize,
    /// The validation report (no error findings; warnings and infos worth showing).
    pub report: ValidationReport,
}

/// One recorded delivery (a row of `ingestions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingestion {
    /// Id.
    pub id: i64,
    /// File name as given.
    pub file_name: String,
    /// SHA-256 of the delivered bytes.
    pub sha256: String,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows stored.
    pub inserted: usize,
    /// Rows already present, identical.
    pub unchanged: usize,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who delivered it.
    pub actor: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A header-only file with the given columns (an empty table for the loader).
fn header_only(columns: &[&str]) -> Vec<u8> {
    format!("{}\n", columns.join(",")).into_bytes()
}

/// Loads `bytes` as the history (named `name` in messages) next to the store table in use
/// (instead of a store.csv).
fn load_with_stores(
    name: &str,
    bytes: Vec<u8>,
    origin: String,
    stores: &StoreTable,
) -> Result<LoadReport, Box<storecast_data::LoadError>> {
    let mut load =
        ChainData::from_bytes_as(name, bytes, header_only(stores::COLUMNS), None, origin)
            .map_err(Box::new)?;
    load.data.stores = stores.clone();
    // The store table was not read from a file here: its (empty) file summary would mislead.
    load.tables.retain(|t| t.file != FILE_STORES);
    Ok(load)
}

/// Loads and validates a delivered file. Returns the parsed rows and the report, or the
/// refusal. Error findings that the store table produces on its own (validated with an empty
/// history) are not the file's fault and do not refuse it; they stay in the report.
pub fn check_file(
    bytes: &[u8],
    file_name: &str,
    stores: &StoreTable,
) -> Result<(SalesHistory, ValidationReport), IngestError> {
    let load_err = |source| IngestError::Load {
        file: file_name.to_string(),
        source,
    };
    let cfg = ValidateConfig::default();
    let load = load_with_stores(
        file_name,
        bytes.to_vec(),
        format!("{file_name} (delivery)"),
        stores,
    )
    .map_err(load_err)?;
    let report = validate(&load, &cfg);
    let baseline = load_with_stores(
        file_name,
        header_only(history::COLUMNS),
        "store table alone".into(),
        stores,
    )
    .map_err(load_err)?;
    let baseline = validate(&baseline, &cfg);
    let blocking: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.count > baseline.count(f.rule))
        .map(|f| f.rule.to_string())
        .collect();
    if !load.rejected.is_empty() || !blocking.is_empty() {
        return Err(IngestError::Invalid {
            file: file_name.to_string(),
            rejected_rows: load.tables.iter().map(|t| t.rows_rejected).sum(),
            blocking_rules: blocking,
            report: Box::new(report),
        });
    }
    Ok((load.data.history, report))
}

/// Columns of `actuals` in [`SalesRow`] order, for SELECTs.
const ROW_COLUMNS: &str =
    "store, date, day_of_week, sales, customers, open, promo, state_holiday, school_holiday";

fn conversion_error(col: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, what.into())
}

/// Reads a [`SalesRow`] from columns 0..9 in [`ROW_COLUMNS`] order.
fn sales_row(r: &Row<'_>) -> rusqlite::Result<SalesRow> {
    let store: i64 = r.get(0)?;
    let date: String = r.get(1)?;
    let holiday: String = r.get(7)?;
    Ok(SalesRow {
        store: u16::try_from(store)
            .map_err(|_| conversion_error(0, format!("store {store} out of range")))?,
        date: parse_date(&date).map_err(|e| conversion_error(1, e))?,
        day_of_week: r.get(2)?,
        sales: r.get(3)?,
        customers: r.get(4)?,
        open: r.get(5)?,
        promo: r.get(6)?,
        state_holiday: StateHoliday::from_code(&holiday)
            .ok_or_else(|| conversion_error(7, format!("state holiday {holiday:?}")))?,
        school_holiday: r.get(8)?,
    })
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| format!("date {text:?}: {e}"))
}

fn stored_row(
    conn: &Connection,
    store: u16,
    date: NaiveDate,
) -> rusqlite::Result<Option<SalesRow>> {
    conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM actuals WHERE store = ?1 AND date = ?2"
    ))?
    .query_row(params![store, date.to_string()], sales_row)
    .optional()
}

impl Store {
    /// Ingests a delivered file of actuals in `train.csv` format (plain or gzipped).
    ///
    /// The file is loaded with `storecast-data` and validated with `storecast-validate` against
    /// `stores` (the store table in use). It is refused whole, with nothing written, when a row
    /// does not parse, when a rule of error severity fails on it (e.g. `Open=0` with sales, a
    /// store not in `stores`, a duplicated store-day), or when a row has the store and date of
    /// a stored row but other values. Rows already stored with identical values are counted
    /// as unchanged, so delivering the same file twice changes no actual. An accepted file
    /// (even one that adds nothing) is recorded in `ingestions` and in the audit log, in the
    /// same transaction as its rows.
    pub fn ingest_csv(
        &self,
        bytes: &[u8],
        file_name: &str,
        actor: &str,
        stores: &StoreTable,
    ) -> Result<IngestOutcome, IngestError> {
        self.ingest_csv_with(bytes, file_name, actor, stores, &IngestOptions::default())
    }

    /// [`Store::ingest_csv`] with options (accepting implausible rows, with a reason).
    pub fn ingest_csv_with(
        &self,
        bytes: &[u8],
        file_name: &str,
        actor: &str,
        stores: &StoreTable,
        options: &IngestOptions,
    ) -> Result<IngestOutcome, IngestError> {
        if actor.trim().is_empty() {
            return Err(StoreError::InvalidInput("ingestion needs an actor".into()).into());
        }
        let sha256 = hex(&Sha256::digest(bytes));
        let (history, report) = check_file(bytes, file_name, stores)?;
        let n = history.len();
        if let Some(allowed) = &options.only_stores {
            let rows: Vec<(u32, u16)> = (0..n)
                .filter(|&i| !allowed.contains(&history.store[i]))
                .map(|i| (history.line[i], history.store[i]))
                .collect();
            if !rows.is_empty() {
                return Err(IngestError::OutOfScope {
                    file: file_name.to_string(),
                    rows,
                });
            }
        }
        let accepted = nonblank(options.accept_implausible.as_deref());
        self.write(|tx| {
            let odd = implausible_rows(tx, &history, chrono::Utc::now().date_naive())?;
            if !odd.is_empty() && accepted.is_none() {
                return Err(IngestError::Implausible {
                    file: file_name.to_string(),
                    rows: odd,
                });
            }
            // Classify every row first: nothing is written unless the whole file is consistent.
            let mut new_rows = Vec::new();
            let mut conflicts = Vec::new();
            for i in 0..n {
                let row = history.row(i);
                match stored_row(tx, row.store, row.date)? {
                    None => new_rows.push(i),
                    Some(stored) if stored == row => {}
                    Some(stored) => conflicts.push(Conflict {
                        line: history.line[i],
                        stored,
                        incoming: row,
                    }),
                }
            }
            let correcting = nonblank(options.correct.as_deref());
            if !conflicts.is_empty() && correcting.is_none() {
                return Err(IngestError::Conflict {
                    file: file_name.to_string(),
                    conflicts,
                });
            }
            let inserted = new_rows.len();
            let corrected = conflicts.len();
            let unchanged = n - inserted - corrected;
            let at = crate::now();
            tx.execute(
                "INSERT INTO ingestions (file_name, sha256, rows, inserted, unchanged, corrected, at, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![file_name, sha256, n, inserted, unchanged, corrected, at, actor],
            )?;
            let ingestion_id = tx.last_insert_rowid();
            if let Some(reason) = correcting {
                apply_corrections(tx, &conflicts, reason, ingestion_id, &at, actor)?;
            }
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO actuals (store, date, day_of_week, sales, customers, open, promo,
                                          state_holiday, school_holiday, ingestion_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for &i in &new_rows {
                    let r = history.row(i);
                    insert.execute(params![
                        r.store,
                        r.date.to_string(),
                        r.day_of_week,
                        r.sales,
                        r.customers,
                        r.open,
                        r.promo,
                        r.state_holiday.code(),
                        r.school_holiday,
                        ingestion_id,
                    ])?;
                }
            }
            let dates = history
                .date_range()
                .map(|(a, b)| json!([a.to_string(), b.to_string()]));
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::INGEST,
                file_name,
                &json!({
                    "ingestion_id": ingestion_id,
                    "sha256": sha256,
                    "rows": n,
                    "inserted": inserted,
                    "unchanged": unchanged,
                    "dates": dates,
                    "stores": history.store_ids().len(),
                    "warnings": report.summary.warnings,
                    "implausible_accepted": accepted.map(|reason| json!({"rows": odd.len(), "reason": reason})),
                    "corrected": correcting.map(|reason| json!({"rows": corrected, "reason": reason})),
                }),
            )?;
            Ok(IngestOutcome {
                ingestion_id,
                file_name: file_name.to_string(),
                sha256: sha256.clone(),
                rows: n,
                inserted,
                unchanged,
                corrected,
                report: report.clone(),
            })
        })
    }

    /// Every stored actual as a [`SalesHistory`] (ordered by date, then store; `line` is 0),
    /// ready to retrain on.
    pub fn history(&self) -> Result<SalesHistory, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW_COLUMNS} FROM actuals ORDER BY date, store"
        ))?;
        let mut out = SalesHistory::default();
        for row in stmt.query_map([], sales_row)? {
            out.push(row?, 0);
        }
        Ok(out)
    }

    /// Stored actuals with `from <= date <= to`, ordered by date, then store.
    pub fn actuals_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SalesRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW_COLUMNS} FROM actuals WHERE date BETWEEN ?1 AND ?2 ORDER BY date, store"
        ))?;
        let rows = stmt.query_map(params![from.to_string(), to.to_string()], sales_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Number of stored actuals and their first and last date.
    pub fn actuals_summary(&self) -> Result<(usize, Option<(NaiveDate, NaiveDate)>), StoreError> {
        let conn = self.conn();
        let (n, first, last): (i64, Option<String>, Option<String>) = conn.query_row(
            "SELECT COUNT(*), MIN(date), MAX(date) FROM actuals",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let range = match (first, last) {
            (Some(a), Some(b)) => Some((
                parse_date(&a).map_err(StoreError::Corrupt)?,
                parse_date(&b).map_err(StoreError::Corrupt)?,
            )),
            _ => None,
        };
        Ok((usize::try_from(n).unwrap_or(0), range))
    }

    /// SHA-256 over every stored actual in a canonical text form (sorted by store and date):
    /// identifies the exact data a model was retrained on, whatever files delivered it.
    pub fn actuals_fingerprint(&self) -> Result<String, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW_COLUMNS} FROM actuals ORDER BY store, date"
        ))?;
        let mut hasher = Sha256::new();
        for row in stmt.query_map([], sales_row)? {
            let r = row?;
            hasher.update(
                format!(
                    "{},{},{},{},{},{},{},{},{}\n",
                    r.store,
                    r.day_of_week,
                    r.date,
                    r.sales,
                    r.customers,
                    u8::from(r.open),
                    u8::from(r.promo),
                    r.state_holiday.code(),
                    u8::from(r.school_holiday)
                )
                .as_bytes(),
            );
        }
        Ok(hex(&hasher.finalize()))
    }

    /// Every recorded delivery, oldest first.
    pub fn ingestions(&self) -> Result<Vec<Ingestion>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, file_name, sha256, rows, inserted, unchanged, at, actor
             FROM ingestions ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Ingestion {
                id: r.get(0)?,
                file_name: r.get(1)?,
                sha256: r.get(2)?,
                rows: r.get(3)?,
                inserted: r.get(4)?,
                unchanged: r.get(5)?,
                at: r.get(6)?,
                actor: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// A reason given on the command line, if it says something.
fn nonblank(reason: Option<&str>) -> Option<&str> {
    reason.map(str::trim).filter(|r| !r.is_empty())
}

fn row_json(r: &SalesRow) -> serde_json::Value {
    json!({
        "sales": r.sales,
        "customers": r.customers,
        "open": r.open,
        "promo": r.promo,
        "state_holiday": r.state_holiday.code(),
        "school_holiday": r.school_holiday,
    })
}

/// Replaces the stored rows of `conflicts` by the file's values, keeping each previous row in
/// `corrections` (same transaction as the ingestion and its audit row).
fn apply_corrections(
    tx: &Connection,
    conflicts: &[Conflict],
    reason: &str,
    ingestion_id: i64,
    at: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let mut update = tx.prepare_cached(
        "UPDATE actuals SET sales = ?3, customers = ?4, open = ?5, promo = ?6,
                state_holiday = ?7, school_holiday = ?8, ingestion_id = ?9
         WHERE store = ?1 AND date = ?2",
    )?;
    let mut keep = tx.prepare_cached(
        "INSERT INTO corrections (store, date, previous, corrected, reason, ingestion_id, at, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for c in conflicts {
        let r = &c.incoming;
        update.execute(params![
            r.store,
            r.date.to_string(),
            r.sales,
            r.customers,
            r.open,
            r.promo,
            r.state_holiday.code(),
            r.school_holiday,
            ingestion_id,
        ])?;
        keep.execute(params![
            r.store,
            r.date.to_string(),
            row_json(&c.stored).to_string(),
            row_json(r).to_string(),
            reason,
            ingestion_id,
            at,
            actor,
        ])?;
    }
    Ok(())
}

/// One kept correction: a stored actual replaced, with its previous values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    /// Store.
    pub store: u16,
    /// Day.
    pub date: String,
    /// The values before (JSON).
    pub previous: serde_json::Value,
    /// The values after (JSON).
    pub corrected: serde_json::Value,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}

impl Store {
    /// Every correction of stored actuals, oldest first.
    pub fn corrections(&self) -> Result<Vec<Correction>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT store, date, previous, corrected, reason, actor, at FROM corrections ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u16>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (store, date, previous, corrected, reason, actor, at) = row?;
            let parse = |t: &str| {
                serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("correction: {e}")))
            };
            Ok(Correction {
                store,
                date,
                previous: parse(&previous)?,
                corrected: parse(&corrected)?,
                reason,
                actor,
                at,
            })
        })
        .collect()
    }
}

/// Options of an ingestion.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Store rows the plausibility check refuses, for this reason (audited).
    pub accept_implausible: Option<String>,
    /// Replace stored actuals that the file contradicts, for this reason: each replaced row
    /// keeps its previous values in `corrections` with who, when and why (audited). Without
    /// it a contradicting file is refused whole.
    pub correct: Option<String>,
    /// The stores the deliverer may deliver for (a store manager's), `None` for all: a file
    /// with a row of another store is refused whole, naming each such line.
    pub only_stores: Option<Vec<u16>>,
}

/// Sales of one day above this are not a drugstore's (the chain's record is about 41,500 €).
pub const MAX_DAY_SALES: i32 = 1_000_000;

/// A store's sales are implausible above this multiple of its 99th percentile of stored open
/// days (with at least [`PLAUSIBLE_MIN_DAYS`] of them).
pub const PLAUSIBLE_SALES_FACTOR: f64 = 5.0;

/// Stored open days a store needs before its own range is used.
pub const PLAUSIBLE_MIN_DAYS: usize = 30;

/// Rows of `history` that are not plausible actuals: dated after tomorrow, or more than 400
/// days before the first stored actual (25 years before today when none is stored), or with
/// sales above [`MAX_DAY_SALES`] or far above the store's stored range.
fn implausible_rows(
    tx: &Connection,
    history: &SalesHistory,
    today: NaiveDate,
) -> Result<Vec<Implausible>, StoreError> {
    let first: Option<String> = tx.query_row("SELECT min(date) FROM actuals", [], |r| r.get(0))?;
    let earliest = first
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .map_or(today - chrono::Duration::days(25 * 365), |d| {
            d - chrono::Duration::days(400)
        });
    let latest = today + chrono::Duration::days(1);
    let mut caps: std::collections::HashMap<u16, f64> = Default::default();
    let mut out = Vec::new();
    for i in 0..history.len() {
        let r = history.row(i);
        let mut why = Vec::new();
        if r.date > latest || r.date < earliest {
            why.push(format!("date outside {earliest} .. {latest}"));
        }
        if r.sales > MAX_DAY_SALES {
            why.push(format!("sales {} above {MAX_DAY_SALES}", r.sales));
        } else if r.sales > 0 {
            let cap = match caps.get(&r.store) {
                Some(c) => *c,
                None => {
                    let c = store_cap(tx, r.store)?;
                    caps.insert(r.store, c);
                    c
                }
            };
            if f64::from(r.sales) > cap {
                why.push(format!(
                    "sales {} above {PLAUSIBLE_SALES_FACTOR} x the store's 99th percentile ({:.0})",
                    r.sales,
                    cap / PLAUSIBLE_SALES_FACTOR
                ));
            }
        }
        if !why.is_empty() {
            out.push(Implausible {
                line: history.line[i],
                store: r.store,
                date: r.date,
                why: why.join("; "),
            });
        }
    }
    Ok(out)
}

/// The highest plausible sales of a store: [`PLAUSIBLE_SALES_FACTOR`] × its 99th percentile
/// of stored open days, or [`MAX_DAY_SALES`] with too few of them.
fn store_cap(tx: &Connection, store: u16) -> Result<f64, StoreError> {
    let mut stmt =
        tx.prepare_cached("SELECT sales FROM actuals WHERE store = ?1 AND open = 1 AND sales > 0")?;
    let mut sales: Vec<i64> = stmt
        .query_map([store], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if sales.len() < PLAUSIBLE_MIN_DAYS {
        return Ok(f64::from(MAX_DAY_SALES));
    }
    sales.sort_unstable();
    let p99 = sales[(sales.len() - 1) * 99 / 100] as f64;
    Ok((p99 * PLAUSIBLE_SALES_FACTOR).min(f64::from(MAX_DAY_SALES)))
}
