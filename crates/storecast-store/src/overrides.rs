//! Managers' overrides of the forecast, every edit kept; directors' acknowledgements.
//!
//! Why this module exists: an override changes the plan a store works to, so who changed
//! what, when, against which model forecast and model version must be answerable afterwards
//! (and scored once the actuals arrive: Forecast Value Added). Rows are only ever appended:
//! the latest row of a store-day is the override in force, a row without a kind clears it,
//! and every write carries its audit row in the same transaction. The rules of what may be
//! entered live in `storecast_plan::overrides`; this module stores what passed them.

use crate::actuals::parse_date;
use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::Store;
use chrono::NaiveDate;
use rusqlite::{params, Row};
use serde::Serialize;
use serde_json::json;
use storecast_plan::overrides::{Adjustment, AdjustmentKind, DayOverride, Reason};

/// One stored edit of a store-day's override.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct OverrideRecord {
    /// Row id (edit order).
    pub id: i64,
    /// Store id.
    pub store: u16,
    /// Day.
    pub date: NaiveDate,
    /// The adjustment entered; `None` when this edit cleared the override.
    pub adjustment: Option<Adjustment>,
    /// Why.
    pub reason: Reason,
    /// Note.
    pub note: String,
    /// Model version whose forecast it replaced.
    pub model_version: String,
    /// That forecast (€).
    pub model_forecast: f64,
    /// The plan it gave then (€).
    pub plan: f64,
    /// Who.
    pub author: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// A director's acknowledgement of a store on the exception list.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionAck {
    /// Row id.
    pub id: i64,
    /// Store id.
    pub store: u16,
    /// What was decided.
    pub note: String,
    /// Model version the list was computed on.
    pub model_version: String,
    /// Who.
    pub author: String,
    /// When.
    pub at: String,
}

const COLUMNS: &str =
    "id, store, date, kind, value, reason, note, model_version, model_forecast, plan, author, at";

fn record_row(r: &Row<'_>) -> rusqlite::Result<Result<OverrideRecord, String>> {
    let date: String = r.get(2)?;
    let kind: Option<String> = r.get(3)?;
    let reason: String = r.get(5)?;
    let value: f64 = r.get(4)?;
    let (id, store, note, model_version, model_forecast, plan, author, at) = (
        r.get(0)?,
        r.get(1)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    );
    Ok((|| {
        let adjustment = kind
            .map(|k| {
                k.parse::<AdjustmentKind>()
                    .map(|kind| Adjustment { kind, value })
                    .map_err(|e| e.to_string())
            })
            .transpose()?;
        Ok(OverrideRecord {
            id,
            store,
            date: parse_date(&date)?,
            adjustment,
            reason: reason
                .parse()
                .map_err(|e: storecast_plan::OverrideError| e.to_string())?,
            note,
            model_version,
            model_forecast,
            plan,
            author,
            at,
        })
    })())
}

impl Store {
    /// Records accepted overrides of one store (already checked by
    /// `OverrideInput::expand`), with one audit row, in one transaction.
    pub fn record_overrides(
        &self,
        actor: &str,
        model_version: &str,
        days: &[DayOverride],
    ) -> Result<Vec<i64>, StoreError> {
        self.append_overrides(actor, model_version, days, false)
    }

    /// Clears the overrides of `days` (their model forecast stands again), audited.
    pub fn clear_overrides(
        &self,
        actor: &str,
        model_version: &str,
        days: &[DayOverride],
    ) -> Result<Vec<i64>, StoreError> {
        self.append_overrides(actor, model_version, days, true)
    }

    fn append_overrides(
        &self,
        actor: &str,
        model_version: &str,
        days: &[DayOverride],
        clear: bool,
    ) -> Result<Vec<i64>, StoreError> {
        if days.is_empty() {
            return Err(StoreError::InvalidInput("no day to change".into()));
        }
        if days
            .iter()
            .any(|d| !d.plan.is_finite() || !d.model.is_finite() || d.plan < 0.0)
        {
            return Err(StoreError::InvalidInput(
                "plan values must be finite and >= 0".into(),
            ));
        }
        let at = crate::now();
        self.write(|tx| {
            let mut ids = Vec::with_capacity(days.len());
            for d in days {
                let kind = (!clear).then(|| d.adjustment.kind.code());
                tx.execute(
                    "INSERT INTO overrides (store, date, kind, value, reason, note, model_version,
                                            model_forecast, plan, author, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        d.store,
                        d.date.to_string(),
                        kind,
                        if clear { 0.0 } else { d.adjustment.value },
                        d.reason.code(),
                        d.note,
                        model_version,
                        d.model,
                        if clear { d.model } else { d.plan },
                        actor,
                        at
                    ],
                )?;
                ids.push(tx.last_insert_rowid());
            }
            let stores: std::collections::BTreeSet<u16> = days.iter().map(|d| d.store).collect();
            let target = stores
                .iter()
                .map(|s| format!("store {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            let detail: Vec<_> = days
                .iter()
                .map(|d| {
                    json!({ "store": d.store, "date": d.date.to_string(),
                            "kind": (!clear).then(|| d.adjustment.kind.code()),
                            "value": d.adjustment.value, "reason": d.reason.code(),
                            "model": d.model, "plan": d.plan })
                })
                .collect();
            let action = if clear {
                actions::OVERRIDE_CLEAR
            } else {
                actions::OVERRIDE_RECORD
            };
            audit::append(
                tx,
                &self.keys,
                actor,
                action,
                &target,
                &json!({ "model_version": model_version, "days": detail }),
            )?;
            Ok(ids)
        })
    }

    /// The overrides in force (the latest edit of each store-day, unless it cleared it), of
    /// `store` or of every store, by store and date.
    pub fn overrides_in_force(
        &self,
        store: Option<u16>,
    ) -> Result<Vec<OverrideRecord>, StoreError> {
        self.query_overrides(
            &format!(
                "SELECT {COLUMNS} FROM overrides o
                 WHERE (?1 IS NULL OR store = ?1) AND kind IS NOT NULL
                   AND id = (SELECT MAX(id) FROM overrides i
                             WHERE i.store = o.store AND i.date = o.date)
                 ORDER BY store, date"
            ),
            store,
        )
    }

    /// Every edit of `store`'s overrides, newest first.
    pub fn override_history(&self, store: u16) -> Result<Vec<OverrideRecord>, StoreError> {
        self.query_overrides(
            &format!("SELECT {COLUMNS} FROM overrides WHERE store = ?1 ORDER BY id DESC"),
            Some(store),
        )
    }

    fn query_overrides(
        &self,
        sql: &str,
        store: Option<u16>,
    ) -> Result<Vec<OverrideRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([store], record_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?.map_err(StoreError::Corrupt)?);
        }
        Ok(out)
    }

    /// Records a director's acknowledgement of `store` on the exception list, audited.
    pub fn acknowledge_exception(
        &self,
        actor: &str,
        store: u16,
        note: &str,
        model_version: &str,
    ) -> Result<ExceptionAck, StoreError> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(StoreError::InvalidInput(
                "an acknowledgement needs a note (1 to 500 characters)".into(),
            ));
        }
        let at = crate::now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO exception_acks (store, note, model_version, author, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![store, note, model_version, actor, at],
            )?;
            let id = tx.last_insert_rowid();
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::EXCEPTION_ACK,
                &format!("store {store}"),
                &json!({ "note": note, "model_version": model_version }),
            )?;
            Ok(ExceptionAck {
                id,
                store,
                note: note.to_string(),
                model_version: model_version.to_string(),
                author: actor.to_string(),
                at: at.clone(),
            })
        })
    }

    /// The latest acknowledgement of each store.
    pub fn exception_acks(&self) -> Result<Vec<ExceptionAck>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, store, note, model_version, author, at FROM exception_acks a
             WHERE id = (SELECT MAX(id) FROM exception_acks b WHERE b.store = a.store)
             ORDER BY store",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ExceptionAck {
                id: r.get(0)?,
                store: r.get(1)?,
                note: r.get(2)?,
                model_version: r.get(3)?,
                author: r.get(4)?,
                at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, value: f64) -> DayOverride {
        DayOverride {
            store: 3,
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date"),
            adjustment: Adjustment {
                kind: AdjustmentKind::DeltaPct,
                value,
            },
            reason: Reason::LocalEvent,
            note: "fair".into(),
            model: 1000.0,
            plan: 1000.0 * (1.0 + value / 100.0),
        }
    }

    #[test]
    fn every_edit_is_kept_the_latest_is_in_force_and_each_is_audited() {
        let s = Store::open_in_memory().expect("db");
        s.record_overrides(
            "anna",
            "v1",
            &[day("2015-06-22", 10.0), day("2015-06-23", 5.0)],
        )
        .expect("record");
        s.record_overrides("anna", "v1", &[day("2015-06-22", 20.0)])
            .expect("edit");
        s.clear_overrides("anna", "v1", &[day("2015-06-23", 5.0)])
            .expect("clear");
        let now = s.overrides_in_force(Some(3)).expect("in force");
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].adjustment.map(|a| a.value), Some(20.0));
        assert!((now[0].plan - 1200.0).abs() < 1e-9);
        assert_eq!(s.override_history(3).expect("history").len(), 4);
        assert!(s.overrides_in_force(Some(4)).expect("other").is_empty());
        let log = s.audit_log(10).expect("audit");
        let kinds: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            kinds.iter().filter(|k| k.starts_with("override.")).count(),
            3,
            "{kinds:?}"
        );
        assert!(s.verify_audit().expect("verify").is_intact());
    }

    #[test]
    fn an_acknowledgement_needs_a_note_and_the_latest_counts() {
        let s = Store::open_in_memory().expect("db");
        assert!(s.acknowledge_exception("dir", 5, "  ", "v1").is_err());
        s.acknowledge_exception("dir", 5, "called the manager", "v1")
            .expect("ack");
        s.acknowledge_exception("dir", 5, "event confirmed", "v1")
            .expect("ack");
        let acks = s.exception_acks().expect("acks");
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].note, "event confirmed");
    }
}
