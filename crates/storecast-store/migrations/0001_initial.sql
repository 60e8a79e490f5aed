-- storecast store, schema 1: actuals with their ingestions, issued forecasts, users,
-- the append-only audit log and monitoring alerts.
-- Dates are TEXT 'YYYY-MM-DD'; instants are TEXT RFC 3339 UTC with milliseconds
-- ('2015-08-01T06:00:00.000Z'), so that text order is time order.

CREATE TABLE ingestions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name   TEXT    NOT NULL,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    rows        INTEGER NOT NULL CHECK (rows >= 0),
    inserted    INTEGER NOT NULL CHECK (inserted >= 0),
    unchanged   INTEGER NOT NULL CHECK (unchanged >= 0),
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    CHECK (inserted + unchanged = rows)
);

CREATE TABLE actuals (
    store          INTEGER NOT NULL CHECK (store BETWEEN 1 AND 65535),
    date           TEXT    NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    day_of_week    INTEGER NOT NULL CHECK (day_of_week BETWEEN 1 AND 7),
    sales          INTEGER NOT NULL,
    customers      INTEGER NOT NULL,
    open           INTEGER NOT NULL CHECK (open IN (0, 1)),
    promo          INTEGER NOT NULL CHECK (promo IN (0, 1)),
    state_holiday  TEXT    NOT NULL CHECK (state_holiday IN ('0', 'a', 'b', 'c')),
    school_holiday INTEGER NOT NULL CHECK (school_holiday IN (0, 1)),
    ingestion_id   INTEGER NOT NULL REFERENCES ingestions (id),
    PRIMARY KEY (store, date)
) WITHOUT ROWID;

CREATE INDEX actuals_by_date ON actuals (date);

CREATE TABLE forecasts (
    model_version TEXT    NOT NULL,
    store         INTEGER NOT NULL CHECK (store BETWEEN 1 AND 65535),
    date          TEXT    NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    issued_at     TEXT    NOT NULL,
    sales         REAL    NOT NULL,
    lo80          REAL    NOT NULL,
    hi80          REAL    NOT NULL,
    lo95          REAL    NOT NULL,
    hi95          REAL    NOT NULL,
    PRIMARY KEY (model_version, store, date)
) WITHOUT ROWID;

CREATE INDEX forecasts_by_store_date ON forecasts (store, date);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    role        TEXT    NOT NULL CHECK (role IN ('viewer', 'director', 'admin')),
    stores      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(stores) AND json_type(stores) = 'array'),
    token_id    TEXT    NOT NULL UNIQUE,
    token_hash  TEXT    NOT NULL CHECK (token_hash LIKE '$argon2id$%'),
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT,
    CHECK (role = 'viewer' OR stores = '[]')
);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);

-- The audit log is append-only: the database itself refuses edits and deletions.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    value            REAL    NOT NULL,
    threshold        REAL    NOT NULL,
    message          TEXT    NOT NULL,
    acknowledged     INTEGER NOT NULL DEFAULT 0 CHECK (acknowledged IN (0, 1)),
    acknowledged_by  TEXT,
    acknowledged_at  TEXT
);

CREATE INDEX alerts_open ON alerts (acknowledged, id);
