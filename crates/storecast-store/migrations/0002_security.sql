-- storecast store, schema 2 (issue 13): keyed token hashes with optional expiry, a
-- hash-chained audit log with a keyed head, server-side sessions, corrections of actuals.

-- Users: token hashes become HMAC-SHA-256 under the server key ('hmac-sha256:<hex>'). Rows
-- from schema 1 keep their Argon2 hash, which no longer authenticates: rotate those tokens.
CREATE TABLE users_v2 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    role        TEXT    NOT NULL CHECK (role IN ('viewer', 'director', 'admin')),
    stores      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(stores) AND json_type(stores) = 'array'),
    token_id    TEXT    NOT NULL UNIQUE,
    token_hash  TEXT    NOT NULL CHECK (token_hash LIKE 'hmac-sha256:%' OR token_hash LIKE '$argon2id$%'),
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT,
    expires_at  TEXT,
    CHECK (role = 'viewer' OR stores = '[]')
);
INSERT INTO users_v2 (id, name, role, stores, token_id, token_hash, created_at, revoked_at)
    SELECT id, name, role, stores, token_id, token_hash, created_at, revoked_at FROM users;
DROP TABLE users;
ALTER TABLE users_v2 RENAME TO users;

-- Audit: each row carries HMAC(key, previous row's hash, its own fields). NULL only for rows
-- written under schema 1, which the first open under schema 2 seals in id order.
ALTER TABLE audit ADD COLUMN hash TEXT;

DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN OLD.hash IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
  OR NEW.action IS NOT OLD.action OR NEW.target IS NOT OLD.target OR NEW.details IS NOT OLD.details
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The chain's head, outside the audit table: the last row's id and hash, with a MAC under a
-- separate key, so that cutting rows off the end (or adding one) is detected.
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT    NOT NULL,
    mac       TEXT    NOT NULL
);

-- Server-side sessions of the web app: the cookie holds a random id, the table its keyed hash.
CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    last_seen   TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions (user_id);

-- Corrections of stored actuals: the previous values are kept, with who, when and why.
CREATE TABLE corrections (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    store          INTEGER NOT NULL,
    date           TEXT    NOT NULL,
    previous       TEXT    NOT NULL CHECK (json_valid(previous)),
    corrected      TEXT    NOT NULL CHECK (json_valid(corrected)),
    reason         TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    ingestion_id   INTEGER NOT NULL REFERENCES ingestions (id),
    at             TEXT    NOT NULL,
    actor          TEXT    NOT NULL
);
