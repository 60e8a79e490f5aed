//! Explanations as a lookup: the TreeSHAP contributions of every explainable forecast row of
//! the horizon, computed once per model and kept compactly (one `f32` per feature and row,
//! the base value in `f64`), so that explaining a store-day is a read plus a few hundred
//! floating-point operations instead of an exact TreeSHAP pass over the whole model.
//!
//! Why a disk cache too: the exact TreeSHAP over a large model costs milliseconds per row and
//! the horizon has tens of thousands of rows, minutes of CPU. The contributions are saved next
//! to the model, keyed by the model's checksum and the data fingerprint, with a SHA-256 of the
//! payload and the row grid; a restart reads them back, anything that does not match is
//! recomputed and rewritten.

use crate::contributions::{explainable, explanation_of, Explanation};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use storecast_model::{Ensemble, Frame, GbdtError, Scenario, N_FEATURES};
use thiserror::Error;

const MAGIC: &[u8] = b"STORECAST-EXPLAIN\n";
const FORMAT: u32 = 2;
const NONE: u32 = u32::MAX;

/// Errors of the explanation table.
#[derive(Debug, Error)]
pub enum TableError {
    /// The cache file could not be read or written.
    #[error("explanation cache {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] GbdtError),
    /// The model's output has an unexpected shape.
    #[error("TreeSHAP returned {got} values for {rows} rows")]
    Shape {
        /// Values returned.
        got: usize,
        /// Rows asked.
        rows: usize,
    },
    /// Computation stopped because nobody uses the model any more.
    #[error("cancelled")]
    Cancelled,
}

/// Signs a cache's bytes (the registry's key, behind a closure so this crate needs no store).
pub type Seal = std::sync::Arc<dyn Fn(&[u8]) -> String + Send + Sync>;

/// Where a table's cache file lives and the key that signs it (the registry's): a cache
/// whose signature does not verify is refused and recomputed, so an edited file is never
/// served.
#[derive(Clone)]
pub struct CacheStore {
    /// The directory of the cache files.
    pub dir: PathBuf,
    /// The signature of a cache's bytes under the registry's key.
    pub seal: Seal,
}

impl std::fmt::Debug for CacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// What a cache file must match: the model and the data it explains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheKey {
    /// The model artifact's checksum.
    pub model_checksum: String,
    /// The data fingerprint.
    pub data_fingerprint: String,
}

impl CacheKey {
    /// The cache file for this key in `dir`.
    pub fn file_in(&self, dir: &Path) -> PathBuf {
        let h = Sha256::digest(format!(
            "{}\n{}",
            self.model_checksum, self.data_fingerprint
        ));
        let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
        dir.join(format!("explanations-{hex}.bin"))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    format: u32,
    key: CacheKey,
    rows: usize,
    width: usize,
    payload_sha256: String,
    /// The registry key's signature of the fields above.
    mac: String,
}

impl Header {
    /// The bytes the signature covers: every field but the signature.
    fn signed(&self) -> Vec<u8> {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.format,
            self.key.model_checksum,
            self.key.data_fingerprint,
            self.rows,
            self.width,
            self.payload_sha256
        )
        .into_bytes()
    }
}

/// TreeSHAP output of the table's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    /// Per row, `N_FEATURES` log contributions.
    pub values: Vec<f32>,
    /// Per row, the base value.
    pub base: Vec<f64>,
}

/// Outcome of a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// The precomputed explanation.
    Ready(Box<Explanation>),
    /// The day is closed by plan (or outside the table): nothing to explain.
    NotExplained,
    /// The contributions are still being computed.
    Pending,
}

/// The explainable rows of the horizon and, once computed, their contributions.
pub struct ExplainTable {
    days: usize,
    origin: usize,
    /// Row of (store index, horizon day), `NONE` when not explainable.
    index: Vec<u32>,
    cells: Vec<(u32, u32)>,
    x: Vec<f32>,
    scale: f64,
    contributions: OnceLock<Contributions>,
}

impl std::fmt::Debug for ExplainTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplainTable")
            .field("rows", &self.cells.len())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl ExplainTable {
    /// The explainable rows of `frame` (the horizon's features), empty contributions.
    pub fn new(sc: &Scenario, frame: &Frame, scale: f64) -> Self {
        let days = sc.tl.days.saturating_sub(sc.origin);
        let mut index = vec![NONE; sc.tl.stores.len() * days];
        let mut cells = Vec::new();
        let mut x = Vec::new();
        for (i, &cell) in frame.rows.iter().enumerate() {
            let (s, d) = (cell.0 as usize, cell.1 as usize);
            if d < sc.origin || !explainable(sc, cell) {
                continue;
            }
            if let Some(slot) = index.get_mut(s * days + (d - sc.origin)) {
                *slot = cells.len() as u32;
                cells.push(cell);
                x.extend_from_slice(frame.row(i));
            }
        }
        Self {
            days,
            origin: sc.origin,
            index,
            cells,
            x,
            scale,
            contributions: OnceLock::new(),
        }
    }

    /// Rows in the table.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when no row is explainable.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// True once the contributions are in.
    pub fn is_ready(&self) -> bool {
        self.contributions.get().is_some()
    }

    /// The explanation of `(store index, day index)`.
    pub fn lookup(&self, sc: &Scenario, s: usize, d: usize) -> Lookup {
        let Some(c) = self.contributions.get() else {
            return Lookup::Pending;
        };
        let row = d
            .checked_sub(self.origin)
            .filter(|h| *h < self.days)
            .and_then(|h| self.index.get(s * self.days + h))
            .copied()
            .filter(|r| *r != NONE);
        let Some(r) = row.map(|r| r as usize) else {
            return Lookup::NotExplained;
        };
        let mut full = Vec::with_capacity(N_FEATURES + 1);
        full.extend(
            c.values[r * N_FEATURES..(r + 1) * N_FEATURES]
                .iter()
                .map(|v| f64::from(*v)),
        );
        full.push(c.base[r]);
        let row_x = &self.x[r * N_FEATURES..(r + 1) * N_FEATURES];
        Lookup::Ready(Box::new(explanation_of(
            sc,
            self.scale,
            self.cells[r],
            row_x,
            &full,
        )))
    }

    /// Computes the contributions with the model (every member) in chunks of `chunk` rows; `keep_going` is asked
    /// between chunks (false cancels, e.g. when the model was swapped out).
    pub fn compute(
        &self,
        gbdt: &Ensemble,
        chunk: usize,
        mut keep_going: impl FnMut() -> bool,
    ) -> Result<Contributions, TableError> {
        let width = N_FEATURES + 1;
        let mut values = Vec::with_capacity(self.len() * N_FEATURES);
        let mut base = Vec::with_capacity(self.len());
        for xs in self.x.chunks(chunk.max(1) * N_FEATURES) {
            if !keep_going() {
                return Err(TableError::Cancelled);
            }
            let rows = xs.len() / N_FEATURES;
            let c = gbdt.contributions(xs)?;
            if c.len() != rows * width {
                return Err(TableError::Shape { got: c.len(), rows });
            }
            for r in c.chunks(width) {
                values.extend(r[..N_FEATURES].iter().map(|v| *v as f32));
                base.push(r[N_FEATURES]);
            }
        }
        Ok(Contributions { values, base })
    }

    /// Installs computed or loaded contributions (false when the shape does not fit or they
    /// were already installed).
    pub fn install(&self, c: Contributions) -> bool {
        c.base.len() == self.len()
            && c.values.len() == self.len() * N_FEATURES
            && self.contributions.set(c).is_ok()
    }

    fn payload(&self, c: &Contributions) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * (8 + 8 + 4 * N_FEATURES));
        for (s, d) in &self.cells {
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&d.to_le_bytes());
        }
        for b in &c.base {
            out.extend_from_slice(&b.to_le_bytes());
        }
        for v in &c.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Writes the installed contributions to `path` atomically (temp file, then rename), signed
    /// with `seal`, readable by its owner only.
    pub fn save(
        &self,
        path: &Path,
        key: &CacheKey,
        seal: &dyn Fn(&[u8]) -> String,
    ) -> Result<(), TableError> {
        let io = |source| TableError::Io {
            path: path.display().to_string(),
            source,
        };
        let Some(c) = self.contributions.get() else {
            return Ok(());
        };
        let payload = self.payload(c);
        let mut header = Header {
            format: FORMAT,
            key: key.clone(),
            rows: self.len(),
            width: N_FEATURES,
            payload_sha256: hex(&Sha256::digest(&payload)),
            mac: String::new(),
        };
        header.mac = seal(&header.signed());
        let header = serde_json::to_string(&header).map_err(|e| io(e.into()))?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut f = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io)?
        };
        f.write_all(MAGIC).map_err(io)?;
        f.write_all(header.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.write_all(&payload).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads contributions saved for `key` and these rows; `Ok(Err(reason))` when the file is
    /// missing or does not match (other key, other rows, corrupted payload).
    pub fn load(
        &self,
        path: &Path,
        key: &CacheKey,
        seal: &dyn Fn(&[u8]) -> String,
    ) -> Result<Result<Contributions, String>, TableError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err("no cache file".into()))
            }
            Err(source) => {
                return Err(TableError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Ok(self.parse(&bytes, key, seal))
    }

    fn parse(
        &self,
        bytes: &[u8],
        key: &CacheKey,
        seal: &dyn Fn(&[u8]) -> String,
    ) -> Result<Contributions, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not an explanation cache")?;
        let nl = rest.iter().position(|b| *b == b'\n').ok_or("no header")?;
        let header: Header =
            serde_json::from_slice(&rest[..nl]).map_err(|e| format!("bad header: {e}"))?;
        if header.format != FORMAT || header.width != N_FEATURES {
            return Err("other format".into());
        }
        if header.key != *key {
            return Err("made for another model or other data".into());
        }
        if seal(&header.signed()) != header.mac {
            return Err("its signature does not verify under the registry's key".into());
        }
        if header.rows != self.len() {
            return Err(format!("{} rows, expected {}", header.rows, self.len()));
        }
        let payload = &rest[nl + 1..];
        if hex(&Sha256::digest(payload)) != header.payload_sha256 {
            return Err("payload checksum mismatch".into());
        }
        let n = self.len();
        if payload.len() != n * (8 + 8 + 4 * N_FEATURES) {
            return Err("payload length mismatch".into());
        }
        let (cells, rest) = payload.split_at(n * 8);
        let (base, values) = rest.split_at(n * 8);
        let le4 = |b: &[u8]| [b[0], b[1], b[2], b[3]];
        let same_cells = cells.chunks_exact(8).zip(&self.cells).all(|(b, (s, d))| {
            u32::from_le_bytes(le4(&b[..4])) == *s && u32::from_le_bytes(le4(&b[4..])) == *d
        });
        if !same_cells {
            return Err("other rows".into());
        }
        let base = base
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        let values = values
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(le4(b)))
            .collect();
        Ok(Contributions { values, base })
    }
}

/// Rows per TreeSHAP call when filling a table (cancellation and progress are checked
/// between chunks).
pub const CHUNK: usize = 2048;

/// Where a table's contributions came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Read from a cache file that matched the model, the data and the rows.
    Read(PathBuf),
    /// Computed, because `why` (no cache file, another model...); `saved` says where it went
    /// or why it was not written.
    Computed {
        /// Why the cache was not used.
        why: String,
        /// The file written, or why none was.
        saved: Result<PathBuf, String>,
    },
    /// Not filled: the computation failed or was cancelled.
    Failed(String),
}

/// The outcome of [`ExplainTable::fill`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    /// Rows of the table.
    pub rows: usize,
    /// Seconds it took.
    pub seconds: f64,
    /// Where the contributions came from.
    pub source: Source,
}

impl std::fmt::Display for Filled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, secs) = (self.rows, self.seconds);
        match &self.source {
            Source::Read(p) => write!(
                f,
                "explanations: {rows} rows read from {} in {secs:.1} s",
                p.display()
            ),
            Source::Computed { why, saved } => {
                let saved = match saved {
                    Ok(p) => format!("saved to {}", p.display()),
                    Err(e) => format!("not saved: {e}"),
                };
                write!(
                    f,
                    "explanations: {rows} rows computed in {secs:.1} s ({why}); {saved}"
                )
            }
            Source::Failed(e) => write!(f, "explanations: not precomputed: {e}"),
        }
    }
}

impl ExplainTable {
    /// Fills the table: reads the cache file of `key` in `cache` when it matches and its
    /// signature verifies, else computes the contributions with `gbdt` (reporting rows done of
    /// the total after each chunk; `keep_going` false cancels) and saves them there, signed.
    pub fn fill(
        &self,
        gbdt: &Ensemble,
        key: &CacheKey,
        cache: Option<&CacheStore>,
        keep_going: impl Fn() -> bool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Filled {
        let t = std::time::Instant::now();
        let file = cache.map(|c| (key.file_in(&c.dir), c.seal.clone()));
        let mut why = "no cache directory".to_string();
        if let Some((f, seal)) = &file {
            match self.load(f, key, seal.as_ref()) {
                Ok(Ok(c)) => {
                    if self.install(c) {
                        return self.filled(t, Source::Read(f.clone()));
                    }
                    why = "cache does not fit the rows".into();
                }
                Ok(Err(reason)) => why = reason,
                Err(e) => why = e.to_string(),
            }
        }
        let total = self.len();
        let done = std::cell::Cell::new(0usize);
        let computed = self.compute(gbdt, CHUNK, || {
            progress(done.get().min(total), total);
            done.set(done.get() + CHUNK);
            keep_going()
        });
        let c = match computed {
            Ok(c) => c,
            Err(e) => return self.filled(t, Source::Failed(e.to_string())),
        };
        progress(total, total);
        self.install(c);
        let saved = match &file {
            Some((f, seal)) => self
                .save(f, key, seal.as_ref())
                .map(|()| f.clone())
                .map_err(|e| e.to_string()),
            None => Err("no cache directory".into()),
        };
        self.filled(t, Source::Computed { why, saved })
    }

    fn filled(&self, t: std::time::Instant, source: Source) -> Filled {
        Filled {
            rows: self.len(),
            seconds: t.elapsed().as_secs_f64(),
            source,
        }
    }
}

/// Computes the explanation table of a new model over the horizon of `chain` (every open
/// forecast row) and saves it in `dir`, where the server reads it: training calls this, so a
/// new model's first start reads the table in seconds instead of computing it.
pub fn precompute(
    chain: &storecast_data::ChainData,
    artifact: storecast_model::ModelArtifact,
    cache: &CacheStore,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Filled, storecast_model::ForecastError> {
    let requests = chain.requests.clone().unwrap_or_default();
    let sc = Scenario::new(&chain.history, &requests)?;
    let forecaster = storecast_model::Forecaster::new(artifact)?;
    let frame = sc.features(&chain.stores, &sc.all_cells());
    let table = ExplainTable::new(&sc, &frame, forecaster.artifact.scale);
    let key = CacheKey {
        model_checksum: forecaster.artifact.checksum.clone(),
        data_fingerprint: chain.fingerprint.clone(),
    };
    Ok(table.fill(forecaster.gbdt(), &key, Some(cache), || true, progress))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
