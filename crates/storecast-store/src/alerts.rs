//! Monitoring alerts: accuracy, coverage or data-freshness checks that crossed a threshold.
//!
//! Why this module exists: the monitor runs unattended (after each ingestion or on a schedule)
//! and its findings must outlive the process that found them, show up in the app until someone
//! has looked at them, and say who acknowledged them. Storing them next to the data they judge
//! keeps one place to look and one audit trail.

use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::Store;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What an alert is about (stored, shown and serialised by its snake_case name).
#[derive(
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Live RMSPE above its limit.
    Accuracy,
    /// Too few actuals inside the 80 % band (or too many: the band is too wide).
    Coverage80,
    /// Too few actuals inside the 95 % band.
    Coverage95,
    /// Systematic over- or under-forecasting.
    Bias,
    /// A model input drifted from its seasonal reference.
    Drift,
    /// A store's errors shifted (CUSUM alarm).
    Cusum,
    /// A delivery of actuals was refused (nothing was stored).
    Ingest,
}

impl AlertKind {
    /// Every kind, in report order.
    pub const ALL: [AlertKind; 7] = [
        Self::Accuracy,
        Self::Coverage80,
        Self::Coverage95,
        Self::Bias,
        Self::Drift,
        Self::Cusum,
        Self::Ingest,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Coverage80 => "coverage80",
            Self::Coverage95 => "coverage95",
            Self::Bias => "bias",
            Self::Drift => "drift",
            Self::Cusum => "cusum",
            Self::Ingest => "ingest",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Tests and callers may compare a kind with its name.
impl PartialEq<&str> for AlertKind {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// An alert to record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAlert {
    /// What was checked.
    pub kind: AlertKind,
    /// Where (`chain`, `store 12`, `model 2015-07-31-ab12cd34ef`, ...).
    pub scope: String,
    /// The measured value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// A sentence for people.
    pub message: String,
}

/// A recorded alert.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Id.
    pub id: i64,
    /// When raised (RFC 3339 UTC).
    pub at: String,
    /// What was checked.
    pub kind: AlertKind,
    /// Where.
    pub scope: String,
    /// Measured value.
    pub value: f64,
    /// Threshold crossed.
    pub threshold: f64,
    /// Message.
    pub message: String,
    /// Whether someone acknowledged it.
    pub acknowledged: bool,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<String>,
    /// What they noted (what was done about it).
    pub acknowledged_note: Option<String>,
}

/// Characters an acknowledgement's note may have.
pub const MAX_NOTE_CHARS: usize = 500;

const ALERT_COLUMNS: &str =
    "id, at, kind, scope, value, threshold, message, acknowledged, acknowledged_by, acknowledged_at, acknowledged_note";

fn alert_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(0)?,
        at: r.get(1)?,
        kind: {
            let name: String = r.get(2)?;
            AlertKind::from_name(&name).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    format!("unknown alert kind {name:?}").into(),
                )
            })?
        },
        scope: r.get(3)?,
        value: r.get(4)?,
        threshold: r.get(5)?,
        message: r.get(6)?,
        acknowledged: r.get(7)?,
        acknowledged_by: r.get(8)?,
        acknowledged_at: r.get(9)?,
        acknowledged_note: r.get(10)?,
    })
}

impl Store {
    /// Records an alert (with its audit row) and returns it.
    pub fn record_alert(&self, actor: &str, alert: &NewAlert) -> Result<Alert, StoreError> {
        if !alert.value.is_finite() || !alert.threshold.is_finite() {
            return Err(StoreError::InvalidInput(format!(
                "alert {} on {}: value and threshold must be finite",
                alert.kind, alert.scope
            )));
        }
        if alert.scope.trim().is_empty() {
            return Err(StoreError::InvalidInput("an alert needs a scope".into()));
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO alerts (at, kind, scope, value, threshold, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    crate::now(),
                    alert.kind.name(),
                    alert.scope,
                    alert.value,
                    alert.threshold,
                    alert.message
                ],
            )?;
            let id = tx.last_insert_rowid();
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::ALERT_RECORD,
                &alert.scope,
                &json!({
                    "alert_id": id,
                    "kind": alert.kind,
                    "value": alert.value,
                    "threshold": alert.threshold,
                }),
            )?;
            Ok(tx.query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_row,
            )?)
        })
    }

    /// Alerts, newest first; only unacknowledged ones when `open_only`.
    pub fn alerts(&self, open_only: bool) -> Result<Vec<Alert>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE acknowledged = 0 OR ?1 = 0 ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([open_only], alert_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Marks an alert as seen by `actor`, with a `note` (at most [`MAX_NOTE_CHARS`] characters;
    /// may be empty). Acknowledging twice is a no-op (no second audit row, the first note
    /// stays).
    pub fn acknowledge_alert(&self, actor: &str, id: i64, note: &str) -> Result<Alert, StoreError> {
        let note = note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(StoreError::InvalidInput(format!(
                "a note has at most {MAX_NOTE_CHARS} characters"
            )));
        }
        self.write(|tx| {
            let alert = tx
                .query_row(
                    &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                    [id],
                    alert_row,
                )
                .optional()?
                .ok_or(StoreError::UnknownAlert(id))?;
            if alert.acknowledged {
                return Ok(alert);
            }
            tx.execute(
                "UPDATE alerts SET acknowledged = 1, acknowledged_by = ?1, acknowledged_at = ?2,
                                   acknowledged_note = ?3
                 WHERE id = ?4",
                params![actor, crate::now(), note, id],
            )?;
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::ALERT_ACK,
                &alert.scope,
                &json!({ "alert_id": id, "kind": alert.kind, "note": note }),
            )?;
            Ok(tx.query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_row,
            )?)
        })
    }
}
