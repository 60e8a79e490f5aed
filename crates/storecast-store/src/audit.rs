//! The audit log: who did what, when, to what; tamper-evident.
//!
//! Why this module exists: an operator or an auditor must be able to answer "who loaded this
//! file", "who gave this person access", "which model was active on that day", and trust the
//! answer. Every write of the store appends its audit row in the same transaction as the
//! change, so there is never a change without its record nor a record of a change that did not
//! happen; refused writes are recorded too. Triggers refuse updates and deletions, but anyone
//! with SQL access can drop a trigger or `INSERT OR REPLACE` a row, so the log is also a hash
//! chain: each row carries HMAC-SHA-256, under a key the database does not hold, of the
//! previous row's hash and its own fields, and a keyed head (last id and hash) lives in its own
//! table. [`Store::verify_audit`] recomputes the chain and names the first row that an edit,
//! deletion, insertion, reordering or truncation broke. What it cannot detect: someone who
//! holds the key, or a whole database restored from an older copy (keep the key and backups
//! apart, and ship the log off the machine if that matters).

use crate::error::StoreError;
use crate::keys::Keys;
use crate::Store;
use rusqlite::{params, Connection, OptionalExtension};
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
    /// A user signed in to the web app (a session started).
    pub const SESSION_START: &str = "session.start";
    /// A user signed out (a session ended).
    pub const SESSION_END: &str = "session.end";
    /// A manager entered or changed overrides of the forecast.
    pub const OVERRIDE_RECORD: &str = "override.record";
    /// A manager removed overrides (the model's forecast stands again).
    pub const OVERRIDE_CLEAR: &str = "override.clear";
    /// A director acknowledged a store on the exception list.
    pub const EXCEPTION_ACK: &str = "exception.acknowledge";
    /// A model version was registered.
    pub const MODEL_REGISTER: &str = "model.register";
    /// A model version's registration was refused.
    pub const MODEL_REGISTER_REFUSED: &str = "model.register.refused";
    /// A retrained candidate was not promoted (the policy said no).
    pub const MODEL_PROMOTION_REFUSED: &str = "model.promotion_refused";
    /// A model version was made active.
    pub const MODEL_PROMOTE: &str = "model.promote";
    /// The previously active model version was made active again.
    pub const MODEL_ROLLBACK: &str = "model.rollback";
    /// A model artifact was signed.
    pub const MODEL_SIGN: &str = "model.sign";
    /// Someone tried an action their role does not allow (details: the action tried).
    pub const DENIED: &str = "access.denied";
}

/// The hash of one row, chained on the previous row's hash.
fn row_hash(keys: &Keys, prev: &str, row: &RawRow) -> String {
    keys.audit.mac_hex(&[
        prev.as_bytes(),
        &row.id.to_be_bytes(),
        row.at.as_bytes(),
        row.actor.as_bytes(),
        row.action.as_bytes(),
        row.target.as_bytes(),
        row.details.as_bytes(),
    ])
}

fn head_parts(last_id: i64, last_hash: &str) -> [Vec<u8>; 2] {
    [
        last_id.to_be_bytes().to_vec(),
        last_hash.as_bytes().to_vec(),
    ]
}

fn write_head(
    conn: &Connection,
    keys: &Keys,
    last_id: i64,
    last_hash: &str,
) -> rusqlite::Result<()> {
    let parts = head_parts(last_id, last_hash);
    let mac = keys.head.mac_hex(&[&parts[0], &parts[1]]);
    conn.execute(
        "INSERT INTO audit_head (singleton, last_id, last_hash, mac) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
        params![last_id, last_hash, mac],
    )?;
    Ok(())
}

/// One audit row as stored.
struct RawRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
    hash: Option<String>,
}

const RAW_COLUMNS: &str = "id, at, actor, action, target, details, hash";

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        details: r.get(5)?,
        hash: r.get(6)?,
    })
}

/// Appends one audit row on `conn` (call inside the transaction of the change it records),
/// chained on the last row, and moves the keyed head to it.
pub(crate) fn append(
    conn: &Connection,
    keys: &Keys,
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
    let last: Option<(i64, Option<String>)> = conn
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (last_id, prev) = last.map_or((0, String::new()), |(id, h)| (id, h.unwrap_or_default()));
    let row = RawRow {
        id: last_id + 1,
        at: crate::now(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        details,
        hash: None,
    };
    let hash = row_hash(keys, &prev, &row);
    conn.execute(
        "INSERT INTO audit (id, at, actor, action, target, details, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            row.id,
            row.at,
            row.actor,
            row.action,
            row.target,
            row.details,
            hash
        ],
    )?;
    write_head(conn, keys, row.id, &hash)?;
    Ok(row.id)
}

/// Chains rows written before schema 2 (hash NULL), in id order, and sets the head. Runs at
/// every open; a no-op once sealed.
pub(crate) fn seal_legacy_rows(conn: &mut Connection, keys: &Keys) -> Result<(), StoreError> {
    let unsealed: i64 =
        conn.query_row("SELECT COUNT(*) FROM audit WHERE hash IS NULL", [], |r| {
            r.get(0)
        })?;
    if unsealed == 0 {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let rows: Vec<RawRow> = {
        let mut stmt = tx.prepare(&format!("SELECT {RAW_COLUMNS} FROM audit ORDER BY id"))?;
        let rows = stmt.query_map([], raw_row)?;
        rows.collect::<Result<_, _>>()?
    };
    let mut prev = String::new();
    for row in &rows {
        let hash = match &row.hash {
            Some(h) => h.clone(),
            None => {
                let h = row_hash(keys, &prev, row);
                tx.execute(
                    "UPDATE audit SET hash = ?1 WHERE id = ?2",
                    params![h, row.id],
                )?;
                h
            }
        };
        prev = hash;
    }
    if let Some(last) = rows.last() {
        write_head(&tx, keys, last.id, &prev)?;
    }
    tx.commit()?;
    Ok(())
}

/// The result of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Rows checked.
    pub rows: usize,
    /// The first row found wrong and what is wrong, or `None` when the whole chain holds.
    pub first_bad: Option<BadRow>,
}

/// A row where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// The row's id (for a truncation: the last id the head vouches for).
    pub id: i64,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit row {}: {}", self.id, self.problem)
    }
}

impl AuditVerification {
    /// Whether the log is intact.
    pub fn is_intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

fn bad(id: i64, problem: impl Into<String>) -> Option<BadRow> {
    Some(BadRow {
        id,
        problem: problem.into(),
    })
}

/// Walks the chain in id order; the first break, if any.
fn first_break(rows: &[RawRow], keys: &Keys) -> Option<BadRow> {
    let mut prev = String::new();
    let first = rows.first().map_or(1, |r| r.id.min(1));
    for (expected_id, row) in (first..).zip(rows) {
        if row.id != expected_id {
            return bad(
                row.id,
                format!(
                    "expected row {expected_id} here: rows before it were deleted or renumbered"
                ),
            );
        }
        let Some(stored) = row.hash.as_deref() else {
            return bad(row.id, "has no chain hash (inserted outside storecast)");
        };
        let computed = row_hash(keys, &prev, row);
        if computed != stored {
            return bad(
                row.id,
                "its hash does not match its content and the previous row (edited, replaced, reordered, or a row before it was removed)",
            );
        }
        prev = computed;
    }
    None
}

/// Checks the keyed head against the last row.
fn head_break(
    conn: &Connection,
    keys: &Keys,
    last: Option<&RawRow>,
) -> Result<Option<BadRow>, StoreError> {
    let head: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT last_id, last_hash, mac FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match (head, last) {
        (None, None) => None,
        (None, Some(l)) => bad(l.id, "the keyed head of the chain is missing"),
        (Some((id, hash, mac)), last) => {
            let parts = head_parts(id, &hash);
            if !keys.head.verify_hex(&[&parts[0], &parts[1]], &mac) {
                bad(id, "the keyed head of the chain was altered")
            } else {
                match last {
                    None => bad(id, "every row up to this one was deleted"),
                    Some(l) if l.id < id => bad(
                        id,
                        format!("rows {}..={id} were cut off the end of the log", l.id + 1),
                    ),
                    Some(l) if l.id > id => {
                        bad(id + 1, "appended outside storecast (after the keyed head)")
                    }
                    Some(l) if l.hash.as_deref() != Some(hash.as_str()) => {
                        bad(l.id, "is not the row the keyed head vouches for")
                    }
                    Some(_) => None,
                }
            }
        }
    })
}

/// Why [`Store::audited`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditedError<E: std::fmt::Display> {
    /// The audit row could not be written: the change was not made.
    #[error("the audit log cannot be written, so the change was not made: {0}")]
    Audit(StoreError),
    /// The change itself failed (recorded as `<action>.failed`).
    #[error("{0}")]
    Change(E),
}

impl<E: std::fmt::Display> From<rusqlite::Error> for AuditedError<E> {
    fn from(e: rusqlite::Error) -> Self {
        Self::Audit(StoreError::Sqlite(e))
    }
}

impl<E: std::fmt::Display> From<StoreError> for AuditedError<E> {
    fn from(e: StoreError) -> Self {
        Self::Audit(e)
    }
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
        self.write(|tx| append(tx, &self.keys, actor, action, target, &details))
    }

    /// Runs `change` (an action outside the database, such as a model registry switch) only
    /// when its audit row can be written, and inside the audit row's transaction: the row is
    /// appended first (write lock held), then `change` runs, then both commit. When `change`
    /// fails, its row is rolled back and a `<action>.failed` row with the error is written
    /// instead. When the database cannot be written, `change` does not run.
    pub fn audited<T, E: std::fmt::Display>(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
        change: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, AuditedError<E>> {
        let result = self.write(|tx| {
            append(tx, &self.keys, actor, action, target, &details)?;
            change().map_err(AuditedError::Change)
        });
        if let Err(AuditedError::Change(e)) = &result {
            let failed = format!("{action}.failed");
            let mut d = details;
            if let Some(obj) = d.as_object_mut() {
                obj.insert("error".into(), serde_json::Value::String(e.to_string()));
            }
            self.audit(actor, &failed, target, d)
                .map_err(AuditedError::Audit)?;
        }
        result
    }

    /// Recomputes the audit chain and its keyed head; names the first broken row.
    pub fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        let conn = self.conn();
        let rows: Vec<RawRow> = {
            let mut stmt = conn.prepare(&format!("SELECT {RAW_COLUMNS} FROM audit ORDER BY id"))?;
            let rows = stmt.query_map([], raw_row)?;
            rows.collect::<Result<_, _>>()?
        };
        let first_bad = match first_break(&rows, &self.keys) {
            Some(b) => Some(b),
            None => head_break(&conn, &self.keys, rows.last())?,
        };
        Ok(AuditVerification {
            rows: rows.len(),
            first_bad,
        })
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_rows(None, limit)
    }

    /// The newest `limit` audit rows of `action`, newest first.
    pub fn audit_of(&self, action: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_rows(Some(action), limit)
    }

    fn audit_rows(
        &self,
        action: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, actor, action, target, details FROM audit
             WHERE ?2 IS NULL OR action = ?2 ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(rusqlite::params![limit, action], |r| {
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
