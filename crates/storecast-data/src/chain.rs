//! The three tables loaded together, with what loading saw: per-file fingerprints, rows
//! rejected (with reasons) and unknown columns. Lenient loading keeps going past bad rows so
//! validation can report them all; strict loading (for training and forecasting) refuses data
//! with any rejected row and names the first one.

use crate::error::{LoadError, RowError};
use crate::history::SalesHistory;
use crate::location::{find_file, FILE_STORES, FILE_TEST, FILE_TRAIN};
use crate::reader::TableMeta;
use crate::requests::ForecastRequests;
use crate::stores::StoreTable;
use crate::stream::RawFile;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What loading one file saw.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct TableSummary {
    /// File name.
    pub file: String,
    /// SHA-256 of its (decompressed) bytes.
    pub sha256: String,
    /// Data rows seen.
    pub rows_seen: usize,
    /// Rows loaded.
    pub rows_loaded: usize,
    /// Rows rejected (listed in [`LoadReport::rejected`], up to [`crate::MAX_REJECTED_KEPT`]).
    pub rows_rejected: usize,
    /// Header columns that the schema does not use.
    pub extra_columns: Vec<String>,
}

/// The chain's data, typed.
#[derive(Debug, Clone)]
pub struct ChainData {
    /// `train.csv`.
    pub history: SalesHistory,
    /// `store.csv`.
    pub stores: StoreTable,
    /// `test.csv`, when present.
    pub requests: Option<ForecastRequests>,
    /// SHA-256 over the files' own hashes: identifies the exact input.
    pub fingerprint: String,
    /// Where the data came from, in words (a directory, or "synthetic chain, seed 42").
    pub origin: String,
}

/// Lenient load result: the data plus everything that was not loaded and why.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// The loaded tables.
    pub data: ChainData,
    /// The rejected rows with their reasons, in file order per file: every one, up to
    /// [`crate::MAX_REJECTED_KEPT`] per file ([`TableSummary::rows_rejected`] counts them all).
    pub rejected: Vec<RowError>,
    /// One summary per file read.
    pub tables: Vec<TableSummary>,
}

impl LoadReport {
    /// The data, or the first rejected row as an error.
    pub fn into_strict(self) -> Result<ChainData, LoadError> {
        match self.rejected.into_iter().next() {
            Some(first) => Err(LoadError::Row(Box::new(first))),
            None => Ok(self.data),
        }
    }
}

impl ChainData {
    /// The part of the chain whose stores `keep` accepts: their history rows (in file order,
    /// lines kept), their store rows and their forecast requests. The fingerprint and origin
    /// stay the whole chain's: the part is a share of that input (a rank of a distributed
    /// training computes features for its own stores only).
    pub fn restricted(&self, keep: impl Fn(u16) -> bool) -> ChainData {
        let mut history = SalesHistory::default();
        for i in (0..self.history.len()).filter(|&i| keep(self.history.store[i])) {
            history.push(self.history.row(i), self.history.line[i]);
        }
        let stores = StoreTable::from_rows(
            self.stores
                .rows
                .iter()
                .filter(|s| keep(s.store))
                .cloned()
                .collect(),
        );
        let requests = self.requests.as_ref().map(|r| ForecastRequests {
            rows: r.rows.iter().filter(|q| keep(q.store)).cloned().collect(),
        });
        ChainData {
            history,
            stores,
            requests,
            fingerprint: self.fingerprint.clone(),
            origin: self.origin.clone(),
        }
    }

    /// Loads `train.csv`, `store.csv` and (if present) `test.csv` from `dir`, each optionally
    /// gzipped, keeping going past bad rows.
    pub fn load_dir(dir: &Path) -> Result<LoadReport, LoadError> {
        let need = |name: &str| {
            find_file(dir, name).ok_or_else(|| LoadError::MissingFile {
                dir: dir.to_path_buf(),
                name: name.to_string(),
            })
        };
        let train = RawFile::read(&need(FILE_TRAIN)?);
        let stores = RawFile::read(&need(FILE_STORES)?);
        let test = find_file(dir, FILE_TEST).map(|p| RawFile::read(&p));
        Self::from_raw(train, stores, test, dir.display().to_string())
    }

    /// Loads the tables from bytes in memory (an embedded or generated chain).
    pub fn from_bytes(
        train: Vec<u8>,
        stores: Vec<u8>,
        test: Option<Vec<u8>>,
        origin: impl Into<String>,
    ) -> Result<LoadReport, LoadError> {
        Self::from_bytes_as(FILE_TRAIN, train, stores, test, origin)
    }

    /// [`ChainData::from_bytes`] with the history's file named `train_name` in every message
    /// (a delivery of actuals is named as its deliverer named it, not `train.csv`).
    pub fn from_bytes_as(
        train_name: &str,
        train: Vec<u8>,
        stores: Vec<u8>,
        test: Option<Vec<u8>>,
        origin: impl Into<String>,
    ) -> Result<LoadReport, LoadError> {
        let wrap = |name: &str, bytes: Vec<u8>| RawFile::from_bytes(name.to_string(), bytes);
        let train = wrap(train_name, train);
        let stores = wrap(FILE_STORES, stores);
        let test = test.map(|t| wrap(FILE_TEST, t));
        Self::from_raw(train, stores, test, origin.into())
    }

    fn from_raw(
        train: RawFile,
        stores: RawFile,
        test: Option<RawFile>,
        origin: String,
    ) -> Result<LoadReport, LoadError> {
        // The large history parses on its own thread while the small tables parse here.
        let (history, store_part, test_part) = std::thread::scope(|s| {
            let h = s.spawn(|| SalesHistory::load(&train));
            let st = StoreTable::load(&stores);
            let te = test.as_ref().map(ForecastRequests::load).transpose();
            let h = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (h, st, te)
        });
        let (history, history_meta) = history?;
        let (stores_table, stores_meta) = store_part?;
        let test_part = test_part?;

        let mut tables = vec![summary(&train, &history_meta, history.len())];
        tables.push(summary(&stores, &stores_meta, stores_table.len()));
        let mut rejected = history_meta.rejected;
        rejected.extend(stores_meta.rejected);
        let mut hasher = Sha256::new();
        hasher.update(history_meta.sha256.as_bytes());
        hasher.update(stores_meta.sha256.as_bytes());
        let requests = match (test.as_ref(), test_part) {
            (Some(raw), Some((req, meta))) => {
                tables.push(summary(raw, &meta, req.len()));
                hasher.update(meta.sha256.as_bytes());
                rejected.extend(meta.rejected);
                Some(req)
            }
            _ => None,
        };
        let fingerprint = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LoadReport {
            data: ChainData {
                history,
                stores: stores_table,
                requests,
                fingerprint,
                origin,
            },
            rejected,
            tables,
        })
    }
}

fn summary(file: &RawFile, meta: &TableMeta, loaded: usize) -> TableSummary {
    TableSummary {
        file: file.name.clone(),
        sha256: meta.sha256.clone(),
        rows_seen: meta.rows_seen,
        rows_loaded: loaded,
        rows_rejected: meta.rows_rejected,
        extra_columns: meta.extra_columns.clone(),
    }
}
