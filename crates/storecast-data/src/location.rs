//! Where the chain's files are: `--data DIR`, else `$STORECAST_DATA`, else the shared default
//! `../shared/data/rossmann` when it holds the files, else `data/`. An explicit choice (flag or
//! variable) is never silently replaced by another; only the defaults fall through.

use std::fmt;
use std::path::{Path, PathBuf};

/// File name of the sales history.
pub const FILE_TRAIN: &str = "train.csv";
/// File name of the store attributes.
pub const FILE_STORES: &str = "store.csv";
/// File name of the store-days to forecast.
pub const FILE_TEST: &str = "test.csv";
/// Environment variable naming the data directory.
pub const ENV_VAR: &str = "STORECAST_DATA";
/// Default data directory, relative to the project root.
pub const SHARED_DEFAULT: &str = "../shared/data/rossmann";
/// Fallback data directory, relative to the working directory.
pub const LOCAL_DEFAULT: &str = "data";

/// How the data directory was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationSource {
    /// `--data DIR`.
    Flag,
    /// `$STORECAST_DATA`.
    Env,
    /// `../shared/data/rossmann`.
    SharedDefault,
    /// `data/`.
    LocalDefault,
}

impl fmt::Display for LocationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "--data",
            Self::Env => "$STORECAST_DATA",
            Self::SharedDefault => "default ../shared/data/rossmann",
            Self::LocalDefault => "default data/",
        })
    }
}

/// The real data for integration tests: `$STORECAST_DATA`, else [`SHARED_DEFAULT`] beside the
/// workspace; `None` (the caller prints SKIPPED) when no `train.csv` is there.
pub fn real_data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os(ENV_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(SHARED_DEFAULT)
        });
    dir.join(FILE_TRAIN).is_file().then_some(dir)
}

/// A data directory and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLocation {
    /// The directory.
    pub dir: PathBuf,
    /// How it was chosen.
    pub source: LocationSource,
}

impl DataLocation {
    /// Resolves the data directory from a flag and an environment value (pass
    /// `std::env::var_os(ENV_VAR)`). `None` means no explicit choice was made and neither default
    /// directory holds a `train.csv`: the caller decides the fallback (the synthetic chain).
    pub fn resolve(flag: Option<&Path>, env: Option<&std::ffi::OsStr>) -> Option<Self> {
        if let Some(dir) = flag {
            return Some(Self {
                dir: dir.to_path_buf(),
                source: LocationSource::Flag,
            });
        }
        if let Some(dir) = env.filter(|v| !v.is_empty()) {
            return Some(Self {
                dir: PathBuf::from(dir),
                source: LocationSource::Env,
            });
        }
        [
            (SHARED_DEFAULT, LocationSource::SharedDefault),
            (LOCAL_DEFAULT, LocationSource::LocalDefault),
        ]
        .into_iter()
        .find(|(dir, _)| find_file(Path::new(dir), FILE_TRAIN).is_some())
        .map(|(dir, source)| Self {
            dir: PathBuf::from(dir),
            source,
        })
    }
}

/// `dir/name` or `dir/name.gz`, whichever exists (plain first).
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Some(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.is_file().then_some(gz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_and_env_beats_defaults() {
        let got = DataLocation::resolve(Some(Path::new("/x")), Some("/y".as_ref()));
        assert_eq!(
            got.map(|l| (l.dir, l.source)),
            Some(("/x".into(), LocationSource::Flag))
        );
        let got = DataLocation::resolve(None, Some("/y".as_ref()));
        assert_eq!(
            got.map(|l| (l.dir, l.source)),
            Some(("/y".into(), LocationSource::Env))
        );
    }

    #[test]
    fn finds_gzipped_file() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        assert!(find_file(dir.path(), FILE_TRAIN).is_none());
        std::fs::write(dir.path().join("train.csv.gz"), b"")?;
        assert_eq!(
            find_file(dir.path(), FILE_TRAIN),
            Some(dir.path().join("train.csv.gz"))
        );
        std::fs::write(dir.path().join("train.csv"), b"")?;
        assert_eq!(
            find_file(dir.path(), FILE_TRAIN),
            Some(dir.path().join("train.csv"))
        );
        Ok(())
    }
}
