//! Typed errors. Three families because callers react differently to each: a [`StoreError`] is
//! the database or a bad argument (an operator mistake or an outage), an [`IngestError`] is a
//! data file refused for a reason the data steward must fix (and carries the evidence), and a
//! [`RegistryError`] concerns the model files on disk.

use storecast_data::{LoadError, SalesRow};
use storecast_model::artifact::ArtifactError;
use storecast_validate::ValidationReport;
use thiserror::Error;

/// Errors of the SQLite store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite failed (I/O, locking, constraint).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file or its directory could not be prepared.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A schema migration failed; the database is left at the version before it.
    #[error("database migration {version} ({description}) failed: {source}")]
    Migration {
        /// Migration number.
        version: i64,
        /// What the migration does.
        description: &'static str,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The database was written by a newer build with a schema this build does not know.
    #[error("database schema version {found} is newer than this build supports ({supported}); upgrade storecast")]
    SchemaTooNew {
        /// Version in the database.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
    /// The database holds keyed rows (users, audit) but its key is missing: a fresh key would
    /// fork every keyed value (tokens refused, the audit log reported broken at row 1).
    #[error("the database {db} holds users and an audit log keyed with {key}, which is missing: restore the key file with the database (or set $STORECAST_KEY); nothing was changed")]
    MissingKey {
        /// The database file.
        db: String,
        /// The key file expected beside it.
        key: String,
    },
    /// The database does not exist (a command that only reads it).
    #[error("no database at {0}")]
    NoDatabase(String),
    /// An argument is not acceptable (bad user name, empty store list, NaN forecast, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A user with this name already exists (revoked users keep their name).
    #[error("user {0:?} already exists")]
    UserExists(String),
    /// No user with this name.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The user is already revoked.
    #[error("user {0:?} is already revoked")]
    AlreadyRevoked(String),
    /// No alert with this id.
    #[error("no alert with id {0}")]
    UnknownAlert(i64),
    /// A stored value cannot be read back (the database was edited by hand or is damaged).
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
    /// JSON (de)serialisation of details failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The server key could not be had.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

/// One row of an incoming file that is not plausible as an actual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implausible {
    /// 1-based line in the incoming file.
    pub line: u32,
    /// Store id.
    pub store: u16,
    /// Date of the row.
    pub date: chrono::NaiveDate,
    /// What is implausible.
    pub why: String,
}

impl std::fmt::Display for Implausible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: store {} on {}: {}",
            self.line, self.store, self.date, self.why
        )
    }
}

/// One row of an incoming file that contradicts a row already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// 1-based line in the incoming file.
    pub line: u32,
    /// The row already in the database.
    pub stored: SalesRow,
    /// The row in the file.
    pub incoming: SalesRow,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, i) = (&self.stored, &self.incoming);
        write!(
            f,
            "line {}: store {} on {}: stored sales={} customers={} open={} promo={} state_holiday={} school_holiday={}, file has sales={} customers={} open={} promo={} state_holiday={} school_holiday={}",
            self.line,
            i.store,
            i.date,
            s.sales,
            s.customers,
            u8::from(s.open),
            u8::from(s.promo),
            s.state_holiday.code(),
            u8::from(s.school_holiday),
            i.sales,
            i.customers,
            u8::from(i.open),
            u8::from(i.promo),
            i.state_holiday.code(),
            u8::from(i.school_holiday),
        )
    }
}

/// Why a file of actuals was refused. Nothing of the file was written in every case.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The file cannot be read as a `train.csv` table at all (binary, empty, wrong header).
    #[error("{file}: {source}")]
    Load {
        /// File name as given.
        file: String,
        /// The cause.
        source: Box<LoadError>,
    },
    /// Some row could not be parsed, or a validation rule of error severity failed on the
    /// file. The report lists every problem with file, line, store and date.
    #[error("{file}: refused, nothing written: {rejected_rows} unparsable row(s); failing error rules: {}", if blocking_rules.is_empty() { "none".to_string() } else { blocking_rules.join(", ") })]
    Invalid {
        /// File name as given.
        file: String,
        /// Rows that could not be parsed.
        rejected_rows: usize,
        /// Error-severity rules that the file (not the store table) fails.
        blocking_rules: Vec<String>,
        /// The full validation report (file + store table in use).
        report: Box<ValidationReport>,
    },
    /// Some rows are not plausible actuals (a date far from the history and today, sales far
    /// above the store's range): refused unless accepted with a reason.
    #[error("{file}: refused, nothing written: {} implausible row(s) (to store them anyway, give a reason: `ingest --accept-implausible REASON`); first: {}", rows.len(), rows.first().map(ToString::to_string).unwrap_or_default())]
    Implausible {
        /// File name as given.
        file: String,
        /// Every implausible row, in file order.
        rows: Vec<Implausible>,
    },
    /// Some rows have the same store and date as stored rows but different values.
    #[error("{file}: refused, nothing written: {} row(s) contradict stored actuals; first: {}", conflicts.len(), conflicts.first().map(ToString::to_string).unwrap_or_default())]
    Conflict {
        /// File name as given.
        file: String,
        /// Every contradicting row, in file order.
        conflicts: Vec<Conflict>,
    },
    /// Some rows are of stores the deliverer may not deliver for (a store manager's upload
    /// holds another store's rows).
    #[error("{file}: refused, nothing written: {} row(s) of stores you may not deliver for; first: line {}, store {}", rows.len(), rows.first().map_or(0, |r| r.0), rows.first().map_or(0, |r| r.1))]
    OutOfScope {
        /// File name as given.
        file: String,
        /// (line, store) of every such row, in file order.
        rows: Vec<(u32, u16)>,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for IngestError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(StoreError::Sqlite(e))
    }
}

/// Errors of the model registry.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A version file failed to load (corrupt, edited, incompatible).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The version string cannot name a file safely.
    #[error("invalid model version {0:?}: use letters, digits, '.', '_' or '-' (at most 128, not starting with '.')")]
    InvalidVersion(String),
    /// The artifact's checksum does not match its content (modified after `seal()`).
    #[error("model {0}: the artifact's checksum does not match its content; seal() it after every change")]
    NotSealed(String),
    /// A different artifact is already registered under this version; versions are immutable.
    #[error("model {version} is already registered with different content (stored checksum {stored}, new {new}); versions are immutable")]
    VersionConflict {
        /// The version.
        version: String,
        /// Checksum on disk.
        stored: String,
        /// Checksum of the refused artifact.
        new: String,
    },
    /// No such version in the registry.
    #[error("no model version {0:?} in the registry")]
    UnknownVersion(String),
    /// The artifact carries no signature of this registry's key.
    #[error("model {0}: not signed; only models trained here (or signed with `storecast models sign`) are accepted")]
    Unsigned(String),
    /// The artifact's signature does not verify under this registry's key (forged or edited,
    /// or signed with another key). The message does not say what would pass.
    #[error("model {0}: the signature does not verify; the file was changed or signed elsewhere")]
    BadSignature(String),
    /// The registry's signing key could not be had.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// Rollback needs an earlier active version.
    #[error("nothing to roll back to: no version was active before {0}")]
    NothingToRollBack(String),
    /// No version is active.
    #[error("no model version is active yet; promote one first")]
    NoneActive,
    /// Another process holds the registry lock.
    #[error("{0}: the registry is locked by another process; retry in a moment")]
    Busy(String),
    /// A registry file has content this build cannot read.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}
