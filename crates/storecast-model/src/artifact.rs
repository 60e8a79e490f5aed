//! The model artifact: one versioned, checksummed JSON file holding everything needed to
//! reproduce and audit a forecast: LightGBM's text model, feature list and drivers, parameters,
//! bias correction, interval calibration, backtest metrics, the training data's fingerprint and
//! the code version. Written atomically (temp file, fsync, rename) so a crash never leaves a
//! half-written model behind.

use crate::backtest::{Fold, ScoreRow};
use crate::features::{Driver, FEATURE_NAMES};
use crate::gbdt::GbdtParams;
use crate::intervals::{IntervalCalibration, ResidualBlocks};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use thiserror::Error;

/// Format version of the artifact file.
pub const FORMAT_VERSION: u32 = 1;
/// The code version compiled into this binary.
pub const CODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("STORECAST_GIT_SHA"));

/// Errors reading or writing an artifact.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a valid artifact.
    #[error("{path}: not a storecast model artifact: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The checksum does not match the content.
    #[error("{path}: the content does not match its checksum (file corrupted or edited)")]
    Checksum {
        /// The file.
        path: String,
    },
    /// Written by an incompatible version.
    #[error("{path}: artifact format {found}, this build reads format {FORMAT_VERSION}")]
    Format {
        /// The file.
        path: String,
        /// Format found.
        found: u32,
    },
    /// The feature list differs from this build's.
    #[error("{path}: the model's features differ from this build's features; retrain it")]
    Features {
        /// The file.
        path: String,
    },
}

/// Backtest figures kept with the model.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageRow {
    /// What was covered (e.g. "last fold", "store type a").
    pub scope: String,
    /// Share inside the 80 % band.
    pub cover80: f64,
    /// Share inside the 95 % band.
    pub cover95: f64,
    /// Store-days.
    pub n: usize,
}

/// The extra members of an ensemble and how they are blended. Empty (the default, and what
/// artifacts written before the ensemble read as) means the single model in
/// [`ModelArtifact::lightgbm_model`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSpec {
    /// Member names; the first is the model in `lightgbm_model`.
    pub names: Vec<String>,
    /// Member weights (sum 1), same order.
    pub weights: Vec<f64>,
    /// LightGBM text models of the members after the first.
    pub extra_models: Vec<String>,
    /// Correction per store type (index = `StoreType::index`), absolute factors; the
    /// forecast applies `scale` and a log offset of `ln(type_scale / scale)`.
    pub type_scales: [f64; 4],
}

/// Everything about a trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelArtifact {
    /// File format.
    pub format_version: u32,
    /// Model version: last training day and a content hash.
    pub model_version: String,
    /// When it was trained (UTC, RFC 3339).
    pub trained_at: String,
    /// Code version that trained it.
    pub code_version: String,
    /// Fingerprint of the training data files.
    pub data_fingerprint: String,
    /// Where the training data came from.
    pub data_origin: String,
    /// First and last training day.
    pub train_start: NaiveDate,
    /// Last training day (the forecast origin is the day after).
    pub train_end: NaiveDate,
    /// Rows the final model trained on.
    pub train_rows: usize,
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// Driver of each feature.
    pub drivers: Vec<Driver>,
    /// Model parameters.
    pub params: GbdtParams,
    /// Multiplicative bias correction tuned on the backtests.
    pub scale: f64,
    /// Interval calibration from the backtests.
    pub intervals: IntervalCalibration,
    /// Residual blocks for intervals of sums (store weeks, store types, the chain).
    pub residuals: ResidualBlocks,
    /// Backtest folds.
    pub folds: Vec<Fold>,
    /// Backtest metrics per model and fold.
    pub scores: Vec<ScoreRow>,
    /// Measured interval coverage.
    pub coverage: Vec<CoverageRow>,
    /// LightGBM's text model (the first ensemble member).
    pub lightgbm_model: String,
    /// The other ensemble members and the blend.
    #[serde(default)]
    pub ensemble: EnsembleSpec,
    /// A quick provisional model (few trees, one fold), served until the full model is
    /// trained; pages and the API say so. Artifacts written before it read as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    /// SHA-256 of the artifact with this field empty and without `signature`.
    pub checksum: String,
    /// HMAC-SHA-256 of `checksum` under the registry's signing key (set by
    /// `Registry::sign`; checked on register and on load by the registry and the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The directory a model file lives in (`.` for a bare file name): where the file is written
/// and where its companion files (its explanation table) go and are looked for.
pub fn companion_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl ModelArtifact {
    /// Starts the artifact's model: every member with its weight, and the store-type offsets.
    pub fn ensemble_model(&self) -> Result<crate::Ensemble, crate::GbdtError> {
        let nf = self.features.len();
        let first = crate::Gbdt::from_text(self.lightgbm_model.clone(), nf)?;
        let e = &self.ensemble;
        if e.weights.is_empty() {
            return Ok(crate::Ensemble::single(first));
        }
        let mut members = vec![(first, e.weights[0])];
        for (text, w) in e.extra_models.iter().zip(e.weights.iter().skip(1)) {
            members.push((crate::Gbdt::from_text(text.clone(), nf)?, *w));
        }
        Ok(crate::Ensemble::new(
            members,
            crate::ensemble::type_offsets(&e.type_scales, self.scale),
        ))
    }

    /// SHA-256 of the artifact's JSON value with an empty checksum. Hashing the generic JSON
    /// value (keys sorted) rather than this struct keeps old files verifiable after fields are
    /// added to the struct.
    fn digest_value(value: &serde_json::Value) -> String {
        let mut v = value.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("checksum".into(), serde_json::Value::String(String::new()));
            obj.remove("signature");
        }
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn digest(&self) -> String {
        serde_json::to_value(self).map_or_else(|_| String::new(), |v| Self::digest_value(&v))
    }

    /// The last backtest fold and `model`'s score on it (the figure a promotion and a
    /// provisional model are judged by).
    pub fn last_fold_score(&self, model: &str) -> Option<(&Fold, crate::Metrics)> {
        let fold = self.folds.iter().max_by_key(|f| f.index)?;
        let m = self
            .scores
            .iter()
            .find(|s| s.model == model && s.fold == fold.index)?
            .metrics;
        Some((fold, m))
    }

    /// What to say about a provisional model (`None` for a full one): its last-fold accuracy
    /// and that the full model replaces it.
    pub fn provisional_note(&self) -> Option<String> {
        self.provisional.then(|| {
            let rmspe = self
                .last_fold_score(crate::backtest::MODEL)
                .map_or("not measured".to_string(), |(_, m)| format!("{:.4}", m.rmspe));
            format!(
                "Provisional model (quick fit, last-fold RMSPE {rmspe}): the full model is being trained and replaces it when ready."
            )
        })
    }

    /// Fills `checksum` (call after every change).
    pub fn seal(&mut self) {
        self.checksum = self.digest();
    }

    /// Writes the artifact atomically: temp file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), ArtifactError> {
        let io = |source| ArtifactError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = companion_dir(path);
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name()
                .map_or("model".into(), |n| n.to_string_lossy().into_owned()),
            std::process::id()
        ));
        let bytes = serde_json::to_vec(self).map_err(|source| ArtifactError::Json {
            path: path.display().to_string(),
            source,
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads and verifies an artifact (format, checksum, feature list).
    pub fn load(path: &Path) -> Result<Self, ArtifactError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ArtifactError::Io {
            path: p.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Json {
                path: p.clone(),
                source,
            })?;
        let computed = Self::digest_value(&value);
        let a: ModelArtifact =
            serde_json::from_value(value).map_err(|source| ArtifactError::Json {
                path: p.clone(),
                source,
            })?;
        if a.format_version != FORMAT_VERSION {
            return Err(ArtifactError::Format {
                path: p,
                found: a.format_version,
            });
        }
        if computed != a.checksum {
            return Err(ArtifactError::Checksum { path: p });
        }
        // The features are the model's inputs and must match; the drivers are how this code
        // groups them for explanations (recorded for the audit), so an artifact written under
        // an earlier grouping still loads and is explained with today's groups.
        if a.features != FEATURE_NAMES {
            return Err(ArtifactError::Features { path: p });
        }
        Ok(a)
    }
}
