//! The audit log: who did what, when, to what.
//!
//! Why this module exists: an operator or an auditor must be able to answer "who loaded this
//! file", "who gave this person access", "which model was active on that day". Every write of
//! the store appends its audit row in the same transaction as the change, so there is never a
//! change without its record nor a record of a change that did not happen. The table refuses
//! updates and deletions (triggers), so the log is append-only even for someone with SQL access
//! through this schema.

use crate::error::StoreError;
use crate::Store;
use rusqlite::{params, Connection};
use serde::Serialize;

/// One audit row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Sequence number (increasing).
    pub id: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who (a user name, or a system actor such as `cli` or `monitor`).
    pub actor: String,
    /// What, as a dotted verb (`actuals.ingest`, `user.add`, `model.promote`, ...).
    pub action: String,
    /// What it was done to (a file name, a user name, a model version).
    pub target: String,
    /// Structured details (JSON object).
    pub details: serde_json::Value,
}

/// Audit actions written by this crate (callers may add their own, e.g. `model.promote`).
pub mod actions {
    /// A file of actuals was accepted (including a no-op re-delivery).
    pub const INGEST: &str = "actuals.ingest";
    /// Forecasts were recorded as issued.
    pub const FORECASTS_RECORD: &str = "forecasts.record";
    /// A user was created.
    pub const USER_ADD: &str = "user.add";
    /// A user's token was replaced.
    pub const USER_ROTATE: &str = "user.rotate_token";
    /// A user's access was revoked.
    pub const USER_REVOKE: &str = "user.revoke";
    /// A monitoring alert was raised.
    pub const ALERT_RECORD: &str = "alert.record";
    /// A monitoring alert was acknowledged.
    pub const ALERT_ACK: &str = "alert.acknowledge";
}

/// Appends one audit row on `conn` (call inside the transaction of the change it records).
pub(crate) fn append(
    conn: &Connection,
    actor: &str,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> Result<i64, StoreError> {
    if actor.trim().is_empty() {
        return Err(StoreError::InvalidInput(
            "an audited action needs a non-empty actor".into(),
        ));
    }
    let details = if details.is_null() {
        "{}".to_string()
    } else {
        serde_json::to_string(details)?
    };
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![crate::now(), actor, action, target, details],
    )?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// Appends an audit row on its own (for actions outside the database, such as model
    /// registry promotions, or refused ingestions). Returns its id.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<i64, StoreError> {
        self.write(|tx| append(tx, actor, action, target, &details))
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, actor, action, target, details FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, actor, action, target, details) = row?;
            let details = serde_json::from_str(&details)
                .map_err(|e| StoreError::Corrupt(format!("audit row {id}: details: {e}")))?;
            out.push(AuditEntry {
                id,
                at,
                actor,
                action,
                target,
                details,
            });
        }
        Ok(out)
    }
}
