//! The model registry: trained model versions on disk and which one is active.
//!
//! Why files and not the database: the artifacts are large, self-verifying JSON files that
//! other tools copy around, and the active version must never disagree with the files it
//! names. With the directory as the only source of truth, there is no second store that a
//! crash could leave out of step. The layout:
//!
//! ```text
//! <dir>/versions/<model_version>.json   immutable artifacts (atomic write, checksum on load)
//! <dir>/CURRENT                         the active version's name, replaced atomically
//! <dir>/HISTORY                         append-only JSON lines: every promotion and rollback
//! <dir>/.lock                           held while a process changes the registry
//! <dir>/signing.key                      the key artifacts are signed with (0600; or $STORECAST_KEY)
//! ```
//!
//! Authenticity: a checksum only catches accidents (anyone can recompute it), so every
//! artifact is signed with an HMAC-SHA-256 of its checksum under the registry's key when it is
//! trained ([`Registry::sign`]), and [`Registry::register`], [`Registry::load`] and
//! [`Registry::open_file`] refuse a file without a valid signature: a forged model (issue 13:
//! scale ×1.5 and a recomputed checksum) is refused, and the refusal does not say what would
//! pass.
//!
//! Crash safety: an artifact appears under its final name only by `rename` after `fsync`, so
//! a crash leaves at most a dot-named temp file, which readers ignore and the next writer
//! removes. `CURRENT` is written to a temp file, synced and renamed over the old one (then the
//! directory is synced), so readers see the old or the new version, never a mix. `HISTORY` is
//! appended after `CURRENT` is switched; if a crash falls between the two, the next change
//! notices that the replayed history does not end at `CURRENT` and records the missing step.

use crate::error::RegistryError;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use storecast_model::artifact::{ArtifactError, FORMAT_VERSION};
use storecast_model::{ModelArtifact, FEATURE_NAMES};

const VERSIONS: &str = "versions";
const CURRENT: &str = "CURRENT";
const HISTORY: &str = "HISTORY";
const LOCK: &str = ".lock";
const SIGNING_KEY: &str = "signing.key";
/// How long a change waits for another process's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// One listed version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    /// The version (file stem).
    pub version: String,
    /// When it was trained (empty when the file cannot be read).
    pub trained_at: String,
    /// Last training day.
    pub train_end: Option<chrono::NaiveDate>,
    /// Fingerprint of its training data.
    pub data_fingerprint: String,
    /// Code version that trained it.
    pub code_version: String,
    /// LightGBM's RMSPE on the last backtest fold, when the artifact has it.
    pub last_fold_rmspe: Option<f64>,
    /// LightGBM's RMSPE on each backtest fold, oldest first.
    pub fold_rmspe: Vec<f64>,
    /// Whether it is the active version.
    pub active: bool,
    /// Why the file cannot be used (corrupt, edited, incompatible), if so.
    pub problem: Option<String>,
}

/// What [`Registry::register`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The version.
    pub version: String,
    /// Its file.
    pub path: PathBuf,
    /// True when the identical artifact was already registered (nothing was written).
    pub already_present: bool,
    /// The artifact's checksum.
    pub checksum: String,
}

/// What [`Registry::promote`] or [`Registry::rollback`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switch {
    /// Active version before.
    pub from: Option<String>,
    /// Active version after.
    pub to: String,
    /// False when `to` was already active (nothing was written).
    pub changed: bool,
}

/// One line of `HISTORY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `promote` or `rollback`.
    pub action: String,
    /// The version made active.
    pub version: String,
    /// The version active before.
    pub from: Option<String>,
    /// True for a step recorded after a crash had cut it off from `HISTORY`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

const PROMOTE: &str = "promote";
const ROLLBACK: &str = "rollback";

/// The model registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    signer: crate::keys::Key,
    explanations: crate::keys::Key,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Whether `version` can name a file safely.
pub fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && !version.starts_with('.')
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_version(version: &str) -> Result<(), RegistryError> {
    if valid_version(version) {
        Ok(())
    } else {
        Err(RegistryError::InvalidVersion(version.to_string()))
    }
}

/// LightGBM's RMSPE on each of the artifact's backtest folds, oldest first.
pub fn fold_rmspe(a: &ModelArtifact) -> Vec<f64> {
    (1..=a.folds.len())
        .filter_map(|f| {
            a.scores
                .iter()
                .find(|s| s.model == storecast_model::backtest::MODEL && s.fold == f)
                .map(|s| s.metrics.rmspe)
        })
        .collect()
}

/// LightGBM's RMSPE on the artifact's last backtest fold.
pub fn last_fold_rmspe(a: &ModelArtifact) -> Option<f64> {
    let last = a
        .folds
        .iter()
        .map(|f| f.index)
        .max()
        .or_else(|| a.scores.iter().map(|s| s.fold).max())?;
    a.scores
        .iter()
        .find(|s| s.model == storecast_model::backtest::MODEL && s.fold == last)
        .map(|s| s.metrics.rmspe)
        .filter(|v| v.is_finite())
}

fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Exclusive right to change the registry: an OS advisory lock (`flock`) on the lock file,
/// released when the file is closed — on drop, and by the kernel when the holder dies, so a
/// crashed writer never leaves a lock to be guessed stale and two processes can never both
/// take it over.
struct LockGuard {
    _file: File,
}

impl Registry {
    /// Opens the registry at `dir`, creating the directory layout when missing.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let dir = dir.as_ref().to_path_buf();
        let versions = dir.join(VERSIONS);
        fs::create_dir_all(&versions).map_err(io(&versions))?;
        let master = crate::keys::Key::resolve(&dir.join(SIGNING_KEY))?;
        let signer = master.derive(crate::keys::Purpose::Artifact);
        let explanations = master.derive(crate::keys::Purpose::Explanations);
        Ok(Self {
            dir,
            signer,
            explanations,
        })
    }

    /// Signs a sealed artifact with this registry's key (training calls this).
    pub fn sign(&self, artifact: &mut ModelArtifact) {
        artifact.signature = Some(self.signer.mac_hex(&[artifact.checksum.as_bytes()]));
    }

    /// The signature of an explanation cache's `bytes` under this registry's key (a key of
    /// its own, derived from the registry's): a cache edited without the key is refused.
    pub fn seal_explanations(&self, bytes: &[u8]) -> String {
        self.explanations.mac_hex(&[bytes])
    }

    /// Whether `artifact` carries a valid signature of this registry's key (constant-time).
    pub fn verify(&self, artifact: &ModelArtifact) -> Result<(), RegistryError> {
        let version = artifact.model_version.clone();
        match &artifact.signature {
            None => Err(RegistryError::Unsigned(version)),
            Some(sig) if self.signer.verify_hex(&[artifact.checksum.as_bytes()], sig) => Ok(()),
            Some(_) => Err(RegistryError::BadSignature(version)),
        }
    }

    /// Loads an artifact file from anywhere (`serve --model`) and checks its checksum and
    /// signature.
    pub fn open_file(&self, path: &Path) -> Result<ModelArtifact, RegistryError> {
        let a = ModelArtifact::load(path)?;
        self.verify(&a)?;
        Ok(a)
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `version`.
    pub fn version_path(&self, version: &str) -> PathBuf {
        self.dir.join(VERSIONS).join(format!("{version}.json"))
    }

    fn lock(&self) -> Result<LockGuard, RegistryError> {
        let path = self.dir.join(LOCK);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockGuard { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() > LOCK_WAIT {
                        return Err(RegistryError::Busy(path.display().to_string()));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
    }

    /// Removes temp files a crashed writer left (dot-named files in `versions/`, `CURRENT`
    /// temps in the root). Call only while holding the lock.
    fn clean_temps(&self) -> Result<Vec<PathBuf>, RegistryError> {
        let mut removed = Vec::new();
        let versions = self.dir.join(VERSIONS);
        for (dir, is_temp) in [
            (
                &versions,
                (|n: &str| n.starts_with('.')) as fn(&str) -> bool,
            ),
            (&self.dir, |n: &str| n.starts_with(".CURRENT.tmp-")),
        ] {
            for entry in fs::read_dir(dir).map_err(io(dir))? {
                let entry = entry.map_err(io(dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_temp(&name) && entry.file_type().map_err(io(dir))?.is_file() {
                    fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
                    removed.push(entry.path());
                }
            }
        }
        Ok(removed)
    }

    /// Adds an artifact under its `model_version`. Versions are immutable: registering the
    /// identical artifact again does nothing; a different artifact under an existing version
    /// is refused. The artifact must be sealed and loadable by this build. Leftover temp files
    /// of crashed writers are removed.
    pub fn register(&self, artifact: &ModelArtifact) -> Result<Registered, RegistryError> {
        let version = artifact.model_version.clone();
        check_version(&version)?;
        let path = self.version_path(&version);
        let mut sealed = artifact.clone();
        sealed.seal();
        if sealed.checksum != artifact.checksum {
            return Err(RegistryError::NotSealed(version));
        }
        self.verify(artifact)?;
        let shown = path.display().to_string();
        if artifact.format_version != FORMAT_VERSION {
            return Err(ArtifactError::Format {
                path: shown,
                found: artifact.format_version,
            }
            .into());
        }
        if artifact.features != FEATURE_NAMES {
            return Err(ArtifactError::Features { path: shown }.into());
        }
        let _lock = self.lock()?;
        self.clean_temps()?;
        if path.exists() {
            let stored = ModelArtifact::load(&path)?;
            if stored.checksum == artifact.checksum {
                return Ok(Registered {
                    version,
                    path,
                    already_present: true,
                    checksum: stored.checksum,
                });
            }
            return Err(RegistryError::VersionConflict {
                version,
                stored: stored.checksum,
                new: artifact.checksum.clone(),
            });
        }
        artifact.save(&path)?;
        // Prove the file reads back before anyone can promote it.
        ModelArtifact::load(&path)?;
        Ok(Registered {
            version,
            path,
            already_present: false,
            checksum: artifact.checksum.clone(),
        })
    }

    /// Loads and verifies a registered version.
    pub fn load(&self, version: &str) -> Result<ModelArtifact, RegistryError> {
        check_version(version)?;
        let path = self.version_path(version);
        if !path.exists() {
            return Err(RegistryError::UnknownVersion(version.to_string()));
        }
        self.open_file(&path)
    }

    /// Registered version names, sorted (temp files and other names are ignored).
    pub fn versions(&self) -> Result<Vec<String>, RegistryError> {
        let dir = self.dir.join(VERSIONS);
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".json") {
                if valid_version(stem) && entry.file_type().map_err(io(&dir))?.is_file() {
                    out.push(stem.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every registered version with its key facts, oldest training first. A file that fails
    /// to load is listed with its `problem` rather than hidden.
    pub fn list(&self) -> Result<Vec<VersionInfo>, RegistryError> {
        let active = self.current_version()?;
        let mut out = Vec::new();
        for version in self.versions()? {
            let is_active = active.as_deref() == Some(version.as_str());
            let info = match self.load(&version) {
                Ok(a) => VersionInfo {
                    trained_at: a.trained_at.clone(),
                    train_end: Some(a.train_end),
                    data_fingerprint: a.data_fingerprint.clone(),
                    code_version: a.code_version.clone(),
                    last_fold_rmspe: last_fold_rmspe(&a),
                    fold_rmspe: fold_rmspe(&a),
                    active: is_active,
                    problem: None,
                    version,
                },
                Err(e) => VersionInfo {
                    trained_at: String::new(),
                    train_end: None,
                    data_fingerprint: String::new(),
                    code_version: String::new(),
                    last_fold_rmspe: None,
                    fold_rmspe: Vec::new(),
                    active: is_active,
                    problem: Some(e.to_string()),
                    version,
                },
            };
            out.push(info);
        }
        out.sort_by(|a, b| (&a.trained_at, &a.version).cmp(&(&b.trained_at, &b.version)));
        Ok(out)
    }

    /// The active version's name, if one was promoted.
    pub fn current_version(&self) -> Result<Option<String>, RegistryError> {
        let path = self.dir.join(CURRENT);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let version = text.trim();
        if !valid_version(version) {
            return Err(RegistryError::Corrupt {
                path: path.display().to_string(),
                problem: format!("does not name a version: {version:?}"),
            });
        }
        Ok(Some(version.to_string()))
    }

    /// The active version and its verified artifact, if one was promoted.
    pub fn current(&self) -> Result<Option<(String, ModelArtifact)>, RegistryError> {
        match self.current_version()? {
            None => Ok(None),
            Some(v) => {
                let a = self.load(&v)?;
                Ok(Some((v, a)))
            }
        }
    }

    /// Every readable `HISTORY` line, oldest first (a line torn by a crash is skipped).
    pub fn history(&self) -> Result<Vec<HistoryEntry>, RegistryError> {
        let path = self.dir.join(HISTORY);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<HistoryEntry>(l).ok())
            .collect())
    }

    /// The stack of activations replayed from `HISTORY` (a promotion pushes, a rollback pops).
    fn stack(history: &[HistoryEntry]) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        for e in history {
            if e.action == ROLLBACK {
                stack.pop();
                if stack.last() != Some(&e.version) {
                    // A history written by hand or cut oddly: trust the line.
                    stack.push(e.version.clone());
                }
            } else {
                stack.push(e.version.clone());
            }
        }
        stack
    }

    fn append_history(&self, entry: &HistoryEntry) -> Result<(), RegistryError> {
        let path = self.dir.join(HISTORY);
        let mut line = serde_json::to_string(entry).map_err(|e| RegistryError::Corrupt {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        line.push('\n');
        // A line torn by a crash must not swallow this one: start on a fresh line.
        let torn = fs::read(&path)
            .map(|b| b.last().is_some_and(|&c| c != b'\n'))
            .unwrap_or(false);
        if torn {
            line.insert(0, '\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(&path))?;
        sync_dir(&self.dir)
    }

    /// Replaces `CURRENT` atomically: temp file, fsync, rename, fsync of the directory.
    fn write_current(&self, version: &str) -> Result<(), RegistryError> {
        let path = self.dir.join(CURRENT);
        let tmp = self.dir.join(format!(".CURRENT.tmp-{}", unique_suffix()));
        let result = (|| {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(format!("{version}\n").as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io(&tmp))?;
            drop(f);
            fs::rename(&tmp, &path).map_err(io(&path))?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// The activation stack, with a step a crash cut off from `HISTORY` written back.
    /// Call only while holding the lock.
    fn repaired_stack(&self, current: Option<&str>) -> Result<Vec<String>, RegistryError> {
        let mut stack = Self::stack(&self.history()?);
        let Some(current) = current else {
            return Ok(stack);
        };
        if stack.last().map(String::as_str) == Some(current) {
            return Ok(stack);
        }
        let top = stack.last().cloned();
        let n = stack.len();
        let was_rollback = n >= 2 && stack[n - 2] == current;
        self.append_history(&HistoryEntry {
            at: crate::now(),
            action: if was_rollback { ROLLBACK } else { PROMOTE }.to_string(),
            version: current.to_string(),
            from: top,
            recovered: true,
        })?;
        if was_rollback {
            stack.pop();
        } else {
            stack.push(current.to_string());
        }
        Ok(stack)
    }

    /// Makes `version` the active one (it must be registered and load cleanly).
    pub fn promote(&self, version: &str) -> Result<Switch, RegistryError> {
        check_version(version)?;
        let _lock = self.lock()?;
        self.load(version)?;
        let from = self.current_version()?;
        self.repaired_stack(from.as_deref())?;
        if from.as_deref() == Some(version) {
            return Ok(Switch {
                from,
                to: version.to_string(),
                changed: false,
            });
        }
        self.write_current(version)?;
        self.append_history(&HistoryEntry {
            at: crate::now(),
            action: PROMOTE.into(),
            version: version.to_string(),
            from: from.clone(),
            recovered: false,
        })?;
        Ok(Switch {
            from,
            to: version.to_string(),
            changed: true,
        })
    }

    /// Makes the previously active version active again (repeatable: each rollback steps one
    /// promotion further back).
    pub fn rollback(&self) -> Result<Switch, RegistryError> {
        let _lock = self.lock()?;
        let current = self.current_version()?.ok_or(RegistryError::NoneActive)?;
        let stack = self.repaired_stack(Some(&current))?;
        let n = stack.len();
        if n < 2 {
            return Err(RegistryError::NothingToRollBack(current));
        }
        let target = stack[n - 2].clone();
        self.load(&target)?;
        self.write_current(&target)?;
        self.append_history(&HistoryEntry {
            at: crate::now(),
            action: ROLLBACK.into(),
            version: target.clone(),
            from: Some(current.clone()),
            recovered: false,
        })?;
        Ok(Switch {
            from: Some(current),
            to: target,
            changed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_are_safe_file_names() {
        assert!(valid_version("2015-07-31-ab12cd34ef"));
        assert!(!valid_version(""));
        assert!(!valid_version("../etc/passwd"));
        assert!(!valid_version(".hidden"));
        assert!(!valid_version("a/b"));
        assert!(!valid_version(&"x".repeat(129)));
    }

    fn entry(action: &str, version: &str) -> HistoryEntry {
        HistoryEntry {
            at: String::new(),
            action: action.into(),
            version: version.into(),
            from: None,
            recovered: false,
        }
    }

    #[test]
    fn history_replays_as_a_stack() {
        let h = [
            entry(PROMOTE, "a"),
            entry(PROMOTE, "b"),
            entry(PROMOTE, "c"),
            entry(ROLLBACK, "b"),
        ];
        assert_eq!(Registry::stack(&h), vec!["a", "b"]);
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn a_lock_left_by_a_dead_writer_is_taken_by_exactly_one_process_at_a_time() {
        // Before: two writers that both judged a dead writer's lock stale each removed it and
        // created their own, and both went on holding "the" lock.
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Arc::new(Registry::open(dir.path()).expect("open"));
        let inside = Arc::new(AtomicUsize::new(0));
        for _round in 0..10 {
            // The dead writer's lock file: a pid that does not run, an old file.
            fs::write(dir.path().join(LOCK), "999999999").expect("stale lock");
            let barrier = Arc::new(Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (reg, inside, barrier) = (reg.clone(), inside.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let _guard = reg.lock().expect("lock");
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        std::thread::sleep(Duration::from_millis(15));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        now
                    })
                })
                .collect();
            for h in handles {
                assert_eq!(
                    h.join().expect("joins"),
                    1,
                    "two holders of the lock at once"
                );
            }
        }
    }
}
