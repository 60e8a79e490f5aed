//! Embedded storage and the model registry: what the industrialised app stands on.
//!
//! Why this crate exists: running forecasts as a service needs state that outlives a process
//! and can be trusted afterwards: the actuals delivered over time (validated, idempotent, never
//! silently overwritten), the forecasts that were actually issued (to monitor real accuracy),
//! who may see what (users, roles, hashed tokens), what was done by whom (an append-only audit
//! log written in the same transaction as each change), monitoring alerts, and which trained
//! model is active (with rollback).
//!
//! Why SQLite (via `rusqlite`, bundled): one file, no server to run, transactions, WAL for a
//! web server's concurrent readers, and the same schema everywhere through embedded
//! migrations. Why the model registry is plain files instead: artifacts are large
//! self-verifying files, and keeping the active-version pointer beside them (replaced
//! atomically) means a crash can never split "which model" from "the model".

pub mod actuals;
pub mod alerts;
pub mod audit;
pub mod db;
pub mod error;
pub mod forecasts;
pub mod keys;
pub mod overrides;
pub mod registry;
pub mod sessions;
pub mod users;

pub use actuals::{Correction, IngestOptions, IngestOutcome, Ingestion};
pub use alerts::{Alert, AlertKind, NewAlert, MAX_NOTE_CHARS};
pub use audit::AuditEntry;
pub use audit::{AuditVerification, AuditedError, BadRow};
pub use db::Store;
pub use error::{Conflict, Implausible, IngestError, RegistryError, StoreError};
pub use forecasts::{ForecastRow, ForecastVsActual, RecordOutcome};
pub use keys::Key;
pub use overrides::{ExceptionAck, OverrideRecord};
pub use registry::{HistoryEntry, Registered, Registry, Switch, VersionInfo};
pub use sessions::{NewSession, Session, SessionPolicy};
pub use users::{expiry_from, AuthFailure, AuthOutcome, Role, Token, User};

/// Now, as stored: RFC 3339 UTC with milliseconds (text order is time order).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
