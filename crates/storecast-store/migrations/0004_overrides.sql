-- storecast store, schema 4 (issue 16): managers' overrides of the forecast, every edit kept
-- (the latest row of a store-day is in force; kind NULL clears it), and directors'
-- acknowledgements of the exception list.
CREATE TABLE overrides (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    store          INTEGER NOT NULL CHECK (store > 0),
    date           TEXT    NOT NULL CHECK (length(date) = 10),
    kind           TEXT    CHECK (kind IN ('estimate', 'delta_eur', 'delta_pct')),
    value          REAL    NOT NULL,
    reason         TEXT    NOT NULL,
    note           TEXT    NOT NULL DEFAULT '',
    model_version  TEXT    NOT NULL,
    model_forecast REAL    NOT NULL,
    plan           REAL    NOT NULL CHECK (plan >= 0),
    author         TEXT    NOT NULL,
    at             TEXT    NOT NULL
);
CREATE INDEX overrides_store_date ON overrides (store, date, id);
CREATE TABLE exception_acks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    store         INTEGER NOT NULL CHECK (store > 0),
    note          TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    author        TEXT    NOT NULL,
    at            TEXT    NOT NULL
);
CREATE INDEX exception_acks_store ON exception_acks (store, id);
