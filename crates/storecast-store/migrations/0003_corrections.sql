-- storecast store, schema 3 (issue 13, point 7): an ingestion may correct stored actuals
-- (`ingest --correct REASON`); it counts them apart from the new and the unchanged rows.
-- Rebuilt because SQLite cannot change a CHECK; run with foreign keys off (see db.rs), checked
-- after.
CREATE TABLE ingestions_v3 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name   TEXT    NOT NULL,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    rows        INTEGER NOT NULL CHECK (rows >= 0),
    inserted    INTEGER NOT NULL CHECK (inserted >= 0),
    unchanged   INTEGER NOT NULL CHECK (unchanged >= 0),
    corrected   INTEGER NOT NULL DEFAULT 0 CHECK (corrected >= 0),
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    CHECK (inserted + unchanged + corrected = rows)
);
INSERT INTO ingestions_v3 (id, file_name, sha256, rows, inserted, unchanged, at, actor)
    SELECT id, file_name, sha256, rows, inserted, unchanged, at, actor FROM ingestions;
DROP TABLE ingestions;
ALTER TABLE ingestions_v3 RENAME TO ingestions;
