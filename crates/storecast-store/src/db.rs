//! Opening the database: connection settings and schema migrations.
//!
//! Why this module exists: every deployment (a laptop, the server, CI) must end up with the
//! same schema without anyone running SQL by hand, and a binary must refuse a database written
//! by a newer schema instead of misreading it. Migrations are SQL files compiled into the
//! binary, numbered, applied in order inside one transaction and recorded in
//! `schema_version`, so opening twice (or from two processes at once) is harmless.

use crate::error::StoreError;
use crate::keys::{Key, Keys};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version reached after this step (1, 2, ...; strictly increasing).
    pub version: i64,
    /// What the step does.
    pub description: &'static str,
    /// The SQL, run as one batch.
    pub sql: &'static str,
}

/// Every migration, in order. Append only: never edit a released step, add a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "actuals, ingestions, forecasts, users, audit, alerts",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "keyed token hashes and expiry, hash-chained audit, sessions, corrections",
        sql: include_str!("../migrations/0002_security.sql"),
    },
    Migration {
        version: 3,
        description: "ingestions count corrected rows",
        sql: include_str!("../migrations/0003_corrections.sql"),
    },
    Migration {
        version: 4,
        description: "managers' overrides (every edit kept) and exception acknowledgements",
        sql: include_str!("../migrations/0004_overrides.sql"),
    },
    Migration {
        version: 5,
        description: "alert acknowledgements carry a note",
        sql: include_str!("../migrations/0005_alert_notes.sql"),
    },
];

/// The schema version this build creates and understands.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// How long a writer waits for another connection's lock before failing with "busy".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded database: actuals, issued forecasts, users, audit log and alerts.
///
/// One connection behind a mutex: `Store` is `Send + Sync`, so a web server can share it in an
/// `Arc`. Every write method runs in one transaction together with its audit row.
pub struct Store {
    conn: Mutex<Connection>,
    pub(crate) keys: Keys,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// The parent directory is created when missing; a new database file (and so its WAL and
    /// shared-memory files, which SQLite creates with the database's mode) is 0600. The key is
    /// `$STORECAST_KEY`, else the key file `<path>.key` (created 0600 on first use).
    ///
    /// The path is resolved once (symlinks followed), so a database reached through a link
    /// uses the key beside the real file. A database that already holds keyed rows (users,
    /// audit) is refused when its key is missing: a new key would fork them.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = resolved(path.as_ref())?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let key_path = crate::keys::db_key_path(&path);
        refuse_keyless(&path, &key_path)?;
        let made_key = !key_path.exists() && std::env::var_os(crate::keys::KEY_ENV).is_none();
        let key = Key::resolve(&key_path)?;
        let opened = Self::open_with_key(&path, &key);
        if opened.is_err() && made_key {
            // A key made for a database that could not be opened would pair with nothing.
            let _ = std::fs::remove_file(&key_path);
        }
        opened
    }

    /// Opens a database that must already exist, never creating it nor its key: what commands
    /// that only read (`audit verify`, `audit show`) use.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = resolved(path.as_ref())?;
        if !path.is_file() {
            return Err(StoreError::NoDatabase(path.display().to_string()));
        }
        let key_path = crate::keys::db_key_path(&path);
        if std::env::var_os(crate::keys::KEY_ENV).is_none() && !key_path.exists() {
            return Err(StoreError::MissingKey {
                db: path.display().to_string(),
                key: key_path.display().to_string(),
            });
        }
        Self::open(&path)
    }

    /// [`Store::open`] with an explicit master key.
    pub fn open_with_key(path: impl AsRef<Path>, key: &Key) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |source| StoreError::Io { path: p, source }
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        match crate::keys::create_private(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => warn_if_shared(path),
            Err(e) => return Err(io(path)(e)),
        }
        let conn = Connection::open(path)?;
        Self::init(conn, Some(path.to_path_buf()), key)
    }

    /// A private, empty in-memory database (tests, dry runs), with a random key.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None, &Key::random())
    }

    fn init(mut conn: Connection, path: Option<PathBuf>, key: &Key) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer; an in-memory database answers "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // Migrations rebuild tables that others reference, which SQLite allows only with
        // foreign keys off; every reference is checked before they are turned back on.
        conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = FULL;")?;
        migrate(&mut conn)?;
        let dangling: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = dangling {
            return Err(StoreError::Corrupt(format!(
                "table {table} references rows that do not exist"
            )));
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        let keys = Keys::from_master(key);
        crate::audit::seal_legacy_rows(&mut conn, &keys)?;
        Ok(Self {
            conn: Mutex::new(conn),
            keys,
            path,
        })
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn();
        current_version(&conn)
    }

    /// A number that changes whenever another connection (another process: the CLI revoking
    /// a user, the daemon ingesting) committed a write since this connection last asked
    /// (SQLite's `PRAGMA data_version`). Caches of database state compare it per request.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn();
        Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The connection (poisoning is ignored: SQLite rolls back an unfinished transaction when
    /// its `Transaction` is dropped during the panic, so the data stays consistent).
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in an IMMEDIATE transaction (the write lock is taken up front, so two writers
    /// never deadlock upgrading); commits when `f` returns `Ok`, rolls back otherwise.
    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?)
}

/// Applies every migration newer than the database's version, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version     INTEGER PRIMARY KEY,
             description TEXT NOT NULL,
             applied_at  TEXT NOT NULL
         );",
    )?;
    let found = current_version(&tx)?;
    let supported = latest_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let fail = |source| StoreError::Migration {
            version: m.version,
            description: m.description,
            source,
        };
        tx.execute_batch(m.sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.description, crate::now()],
        )
        .map_err(fail)?;
    }
    tx.commit()?;
    Ok(())
}

/// Warns when an existing database file can be read by other users (it holds token hashes,
/// sessions and the audit log; storecast creates it 0600).
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "the database {} is readable by other users (mode {mode:o}): run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

/// `path` with symlinks resolved: the real file when it exists, else the resolved directory
/// and the file name (a link to a missing file resolves to its target).
fn resolved(path: &Path) -> Result<PathBuf, StoreError> {
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Ok(real) = std::fs::canonicalize(path) {
        return Ok(real);
    }
    let target = match std::fs::read_link(path) {
        Ok(t) if t.is_absolute() => t,
        Ok(t) => path.parent().map_or(t.clone(), |d| d.join(t)),
        Err(_) => path.to_path_buf(),
    };
    match (target.parent(), target.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() && dir.exists() => {
            Ok(std::fs::canonicalize(dir).map_err(io)?.join(name))
        }
        _ => Ok(target),
    }
}

/// Refuses to go on when the database at `db` holds keyed rows and neither its key file nor
/// `$STORECAST_KEY` is there.
fn refuse_keyless(db: &Path, key: &Path) -> Result<(), StoreError> {
    if std::env::var_os(crate::keys::KEY_ENV).is_some() || key.exists() || !db.is_file() {
        return Ok(());
    }
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let keyed = |table: &str| -> bool {
        conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
            r.get::<_, bool>(0)
        })
        .unwrap_or(false)
    };
    if keyed("users") || keyed("audit") {
        return Err(StoreError::MissingKey {
            db: db.display().to_string(),
            key: key.display().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_strictly_increasing_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "migration {} out of order",
                m.description
            );
        }
    }
}
