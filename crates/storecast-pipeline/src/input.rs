//! The input a job runs on: the chain's files where the user said (`--data`, `$STORECAST_DATA`)
//! or in a default directory, else the built-in synthetic chain; and a model on the data's
//! forecast scenario (history + test.csv plan).
//!
//! Why here: every job starts from the same input, and the fallback to synthetic data must be
//! said by every caller the same way ([`Input`]'s text), so nobody mistakes generated numbers
//! for a real chain's.

use crate::PipelineError;
use std::fmt;
use std::path::Path;
use storecast_data::location::ENV_VAR;
use storecast_data::{ChainData, DataLocation, LoadReport};
use storecast_model::{Forecaster, ModelArtifact, Scenario};

/// Stores in the built-in synthetic chain.
pub const SYNTH_STORES: u16 = 200;
/// Seed of the built-in synthetic chain.
pub const SYNTH_SEED: u64 = 42;

/// Where the chain comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A directory of files, and why it was chosen.
    Directory(DataLocation),
    /// No directory holds the files: the built-in synthetic chain.
    Synthetic,
}

impl Input {
    /// The input for an explicit `--data` (or none): the flag, `$STORECAST_DATA`, the default
    /// directories, else the synthetic chain.
    pub fn locate(flag: Option<&Path>) -> Self {
        let env = std::env::var_os(ENV_VAR);
        DataLocation::resolve(flag, env.as_deref()).map_or(Self::Synthetic, Self::Directory)
    }

    /// Loads the chain leniently (bad rows collected in the report, not fatal).
    pub fn load(&self) -> Result<LoadReport, PipelineError> {
        match self {
            Self::Directory(loc) => {
                ChainData::load_dir(&loc.dir).map_err(|source| PipelineError::Load {
                    what: format!("loading the chain's files from {}", loc.dir.display()),
                    source,
                })
            }
            Self::Synthetic => synthetic(),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(loc) => write!(f, "data: {} (from {})", loc.dir.display(), loc.source),
            Self::Synthetic => write!(
                f,
                "data: no data directory found (--data, ${ENV_VAR}, ../shared/data/rossmann, data/); \
                 using the built-in SYNTHETIC chain ({SYNTH_STORES} stores, seed {SYNTH_SEED}) — \
                 its numbers describe generated data, not a real chain"
            ),
        }
    }
}

/// The built-in synthetic chain, loaded through the same code path as real files.
pub fn synthetic() -> Result<LoadReport, PipelineError> {
    let cfg = storecast_synth::SynthConfig {
        stores: SYNTH_STORES,
        seed: SYNTH_SEED,
        ..storecast_synth::SynthConfig::default()
    };
    let chain = storecast_synth::generate(&cfg)
        .map_err(|e| PipelineError::Input(format!("generating the synthetic chain: {e}")))?;
    ChainData::from_bytes(
        chain.train_csv(),
        chain.store_csv(),
        Some(chain.test_csv()),
        format!("built-in synthetic chain ({SYNTH_STORES} stores, seed {SYNTH_SEED})"),
    )
    .map_err(|source| PipelineError::Load {
        what: "loading the synthetic chain".into(),
        source,
    })
}

/// The chain of a load, refusing rows that did not parse (training and forecasting need
/// every row).
pub fn strict(report: LoadReport) -> Result<ChainData, PipelineError> {
    report.into_strict().map_err(|source| PipelineError::Load {
        what: "the data has rows that do not parse; run `storecast validate` for the full list"
            .into(),
        source,
    })
}

/// Loads a model artifact, saying how to make one when it is missing.
pub fn model(path: &Path) -> Result<ModelArtifact, PipelineError> {
    ModelArtifact::load(path).map_err(|e| {
        PipelineError::Input(format!(
            "loading the model {} ({e}); train one with `storecast train --out {}`",
            path.display(),
            path.display()
        ))
    })
}

/// A model on the forecast scenario of the data: the history and its test.csv plan.
pub struct OnPlan {
    /// The chain.
    pub chain: ChainData,
    /// The model.
    pub forecaster: Forecaster,
    /// History + plan.
    pub scenario: Scenario,
}

impl OnPlan {
    /// The model of `artifact` on the chain's history and plan.
    pub fn new(chain: ChainData, artifact: ModelArtifact) -> Result<Self, PipelineError> {
        let requests = chain.requests.clone().ok_or_else(|| {
            PipelineError::Input("the data has no test.csv: nothing to forecast".into())
        })?;
        let scenario = Scenario::new(&chain.history, &requests)
            .map_err(PipelineError::model("building the forecast scenario"))?;
        let forecaster = Forecaster::new(artifact)
            .map_err(|e| PipelineError::Input(format!("starting the model: {e}")))?;
        Ok(Self {
            chain,
            forecaster,
            scenario,
        })
    }
}
