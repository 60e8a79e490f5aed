//! The train job: backtest, calibrate and fit on the whole history, sign with the registry's
//! key, save the artifact and precompute its explanation table next to it.

use crate::error::PipelineError;
use crate::progress::{steps, training_events, Progress};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use storecast_data::ChainData;
use storecast_explain::table::{CacheStore, Filled};
use storecast_model::artifact::CoverageRow;
use storecast_model::backtest::{BacktestConfig, BacktestResult};
use storecast_model::features::RegionCodes;
use storecast_model::ModelKind;
use storecast_model::{training, ForecastError, ModelArtifact};

/// The model's settings a user chooses (the rest are the tuned defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSettings {
    /// Backtest folds of six weeks, ending on the last history day.
    pub folds: usize,
    /// Boosting rounds; `None` keeps the tuned default.
    pub trees: Option<u32>,
    /// Worker threads; `None` uses the free cores.
    pub threads: Option<usize>,
    /// LightGBM fits in the ensemble (1 = a single model).
    pub members: usize,
    /// Shrinkage per tree; `None` keeps the tuned default.
    pub learning_rate: Option<f64>,
    /// Leaves per tree; `None` keeps the tuned default.
    pub leaves: Option<u32>,
    /// Depth limit of a tree; `None` keeps the tuned default.
    pub depth: Option<u32>,
    /// Share of the features each tree may use; `None` keeps the tuned default.
    pub feature_fraction: Option<f64>,
    /// Loss on log sales; `None` keeps the tuned default.
    pub objective: Option<storecast_model::Objective>,
    /// Most rows one tree samples (0 = no cap); `None` keeps the default cap.
    pub max_rows_per_tree: Option<u64>,
    /// Whether the store type, assortment, region and state holiday are split as categories
    /// (`false`: as the numbers of their codes); `None` keeps the default (as numbers).
    pub categorical: Option<bool>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            folds: 3,
            trees: None,
            threads: None,
            members: 1,
            learning_rate: None,
            leaves: None,
            depth: None,
            feature_fraction: None,
            objective: None,
            max_rows_per_tree: None,
            categorical: None,
        }
    }
}

/// The backtest configuration of `m`: the tuned defaults with the user's choices and the
/// same-season fold.
pub fn backtest_config(m: &ModelSettings) -> BacktestConfig {
    let mut cfg = BacktestConfig {
        folds: m.folds,
        ..BacktestConfig::default()
    };
    // The tree shape first: the ensemble's members derive theirs from it.
    if let Some(r) = m.learning_rate {
        cfg.params.learning_rate = r;
    }
    if let Some(l) = m.leaves {
        cfg.params.num_leaves = l;
    }
    if let Some(d) = m.depth {
        cfg.params.max_depth = d;
    }
    if let Some(f) = m.feature_fraction {
        cfg.params.feature_fraction = f;
    }
    if let Some(o) = m.objective {
        cfg.params.objective = o;
    }
    if let Some(cap) = m.max_rows_per_tree {
        cfg.params.max_rows_per_tree = (cap > 0).then_some(cap);
    }
    if let Some(categorical) = m.categorical {
        cfg.params.categorical = if categorical {
            storecast_model::backtest::categorical_columns()
        } else {
            Vec::new()
        };
    }
    cfg.members = storecast_model::ensemble::default_members(&cfg.params)
        .into_iter()
        .take(m.members)
        .collect();
    cfg.same_season = true;
    if let Some(t) = m.trees {
        cfg.params.num_trees = t;
    }
    if let Some(t) = m.threads {
        cfg.params.threads = t;
    }
    cfg
}

/// What the train job needs.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// How to train.
    pub backtest: BacktestConfig,
    /// Where the artifact goes (its explanation table goes next to it).
    pub out: PathBuf,
    /// The registry whose key signs the artifact.
    pub registry: PathBuf,
    /// Mark the artifact as a provisional model (see [`provisional_config`]).
    pub provisional: bool,
}

/// Boosting rounds of a provisional model.
pub const PROVISIONAL_TREES: u32 = 150;
/// Learning rate of a provisional model (larger steps for fewer trees).
pub const PROVISIONAL_LEARNING_RATE: f64 = 0.2;

/// The configuration of a provisional model: served at once while the full model trains,
/// so it must fit in well under a minute on 2 cores and still say how good it is. One rolling
/// fold (its score is the figure the app shows), no same-season fold, few large trees.
pub fn provisional_config(threads: Option<usize>) -> BacktestConfig {
    let mut cfg = backtest_config(&ModelSettings {
        folds: 1,
        trees: Some(PROVISIONAL_TREES),
        threads,
        learning_rate: Some(PROVISIONAL_LEARNING_RATE),
        ..ModelSettings::default()
    });
    cfg.same_season = false;
    cfg
}

/// What the train job made.
#[derive(Debug)]
pub struct TrainResult {
    /// The signed artifact, as saved.
    pub artifact: ModelArtifact,
    /// The backtest it was judged on.
    pub backtest: BacktestResult,
    /// Seconds per step.
    pub timings: Vec<(String, f64)>,
    /// Where the artifact was saved.
    pub saved_to: PathBuf,
    /// The explanation table: `None` when the data has no forecast horizon; the error when it
    /// could not be made (training still succeeded; the server computes it then).
    pub explanations: Option<Result<Filled, String>>,
    /// Seconds for the whole job.
    pub seconds: f64,
}

/// Trains a model on `chain`, signs it with the registry's key, saves it to `settings.out`
/// and precomputes its explanation table beside it.
pub fn train(
    chain: &ChainData,
    settings: &TrainSettings,
    progress: &mut dyn Progress,
) -> Result<TrainResult, PipelineError> {
    let t = Instant::now();
    let registry = open_registry(settings)?;
    let trained = fit(chain, None, settings, progress)?;
    finish(chain, settings, &registry, trained, progress, t)
}

/// One rank of a training on several machines: the same job as [`train`], on this rank's
/// stores only (their features computed here), every fit made by LightGBM's data-parallel
/// learner with the other ranks. Rank 0 signs and saves the model (one artifact like any
/// other) and returns it; the others return `None`. The backtest inside scores the stores of
/// the rank that runs it: rank 0's artifact carries its share's figures, an interleaved sample
/// of the chain (its origin says so).
pub fn train_distributed(
    chain: &ChainData,
    settings: &TrainSettings,
    cluster: &storecast_cluster::Cluster,
    progress: &mut dyn Progress,
) -> Result<Option<TrainResult>, PipelineError> {
    let t = Instant::now();
    // Rank 0 checks its registry before the others wait on it for a whole training.
    let registry = (cluster.rank() == 0)
        .then(|| open_registry(settings))
        .transpose()?;
    let share = partition(chain, cluster);
    let joined = cluster.join()?;
    let mut trained = fit(&share.chain, Some(&share.regions), settings, progress)?;
    drop(joined);
    let mine = share.stores;
    drop(share);
    let Some(registry) = registry else {
        return Ok(None);
    };
    trained.artifact.data_origin = format!(
        "{} (trained on {} machines; its backtest scores rank 0's {mine} of {} stores)",
        chain.origin,
        cluster.size(),
        chain.stores.rows.len()
    );
    trained.artifact.seal();
    finish(chain, settings, &registry, trained, progress, t).map(Some)
}

/// A rank's share of a chain.
#[derive(Debug)]
pub struct Share {
    /// The rank's stores (every `size`-th store of the sorted ids) and their history.
    pub chain: ChainData,
    /// How many stores the share holds.
    pub stores: usize,
    /// The region codes of the whole chain: a feature of a store is the same on every rank
    /// and in a single-process training.
    pub regions: RegionCodes,
}

/// This rank's share of `chain`.
pub fn partition(chain: &ChainData, cluster: &storecast_cluster::Cluster) -> Share {
    let mut ids: Vec<u16> = chain.stores.rows.iter().map(|s| s.store).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut mine = vec![false; usize::from(u16::MAX) + 1];
    let mut count = 0;
    for (position, &id) in ids.iter().enumerate() {
        if cluster.owns(position) {
            mine[usize::from(id)] = true;
            count += 1;
        }
    }
    Share {
        chain: chain.restricted(|s| mine[usize::from(s)]),
        stores: count,
        regions: RegionCodes::of_history(&chain.history).unwrap_or_default(),
    }
}

fn open_registry(settings: &TrainSettings) -> Result<storecast_store::Registry, PipelineError> {
    storecast_store::Registry::open(&settings.registry).map_err(|source| PipelineError::Registry {
        path: settings.registry.display().to_string(),
        source,
    })
}

/// Backtest, calibration and final fit of [`training::train`], with progress.
fn fit(
    chain: &ChainData,
    regions: Option<&RegionCodes>,
    settings: &TrainSettings,
    progress: &mut dyn Progress,
) -> Result<training::Trained, PipelineError> {
    let trained = {
        let mut events = training_events(progress);
        training::train_with_regions(chain, regions, &settings.backtest, &mut events)
            .map_err(|e| PipelineError::model("training the model")(ForecastError::from(e)))?
    };
    progress.report(steps::FINAL_FIT, 1, 1);
    Ok(trained)
}

/// Marks, signs and saves a trained model, and precomputes its explanation table.
fn finish(
    chain: &ChainData,
    settings: &TrainSettings,
    registry: &storecast_store::Registry,
    mut trained: training::Trained,
    progress: &mut dyn Progress,
    t: Instant,
) -> Result<TrainResult, PipelineError> {
    if settings.provisional {
        trained.artifact.provisional = true;
        trained.artifact.seal();
    }
    registry.sign(&mut trained.artifact);
    trained.artifact.save(&settings.out)?;
    let dir = storecast_model::artifact::companion_dir(&settings.out);
    let explanations = explain_ahead(
        chain,
        &trained.artifact,
        &cache_store(registry, dir),
        progress,
    );
    Ok(TrainResult {
        artifact: trained.artifact,
        backtest: trained.backtest,
        timings: trained.timings,
        saved_to: settings.out.clone(),
        explanations,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// The explanation caches in `dir`, signed with `registry`'s key (the server checks them
/// with the same key, and recomputes a cache that does not verify).
pub fn cache_store(registry: &storecast_store::Registry, dir: &Path) -> CacheStore {
    let registry = registry.clone();
    CacheStore {
        dir: dir.to_path_buf(),
        seal: std::sync::Arc::new(move |bytes| registry.seal_explanations(bytes)),
    }
}

/// The explanation table of a new model, written into `cache` (next to it, or the registry),
/// so the server starts in seconds on it. `None` without a forecast horizon.
pub fn explain_ahead(
    chain: &ChainData,
    artifact: &ModelArtifact,
    cache: &CacheStore,
    progress: &mut dyn Progress,
) -> Option<Result<Filled, String>> {
    chain.requests.as_ref()?;
    let mut rows =
        |done: usize, total: usize| progress.report(steps::EXPLANATIONS, done as u64, total as u64);
    Some(
        storecast_explain::table::precompute(chain, artifact.clone(), cache, &mut rows)
            .map_err(|e| e.to_string()),
    )
}

/// One model's score on one scope of the backtest.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    /// Model name (`lightgbm`, the baselines, ensemble members).
    pub model: String,
    /// Fold label ("1", "last", "all", ...).
    pub fold: String,
    /// The scores.
    #[serde(flatten)]
    pub metrics: storecast_model::Metrics,
}

/// The scores of every model on every scope of a backtest, in display order.
pub fn score_rows(bt: &BacktestResult) -> Vec<ScoreRow> {
    let last = bt.last_fold();
    let models: Vec<String> = ModelKind::ALL
        .iter()
        .map(|m| m.name().to_string())
        .chain(bt.member_models())
        .collect();
    let mut out = Vec::new();
    for model in &models {
        for scope in bt.scopes() {
            if let Some(metrics) = bt.score(model, scope) {
                out.push(ScoreRow {
                    model: model.clone(),
                    fold: scope.label(last),
                    metrics,
                });
            }
        }
    }
    out
}

/// The figures of a finished training, for people and scripts alike.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    /// The model's version.
    pub model_version: String,
    /// Rows of the final fit.
    pub train_rows: usize,
    /// First history day.
    pub train_start: chrono::NaiveDate,
    /// Last history day.
    pub train_end: chrono::NaiveDate,
    /// The bias correction factor.
    pub correction: f64,
    /// Where the artifact was saved.
    pub saved_to: PathBuf,
    /// Seconds for the whole job.
    pub seconds: f64,
    /// Seconds per step.
    pub timings: Vec<(String, f64)>,
    /// Backtest scores of every model and scope.
    pub scores: Vec<ScoreRow>,
    /// Held-out interval coverage.
    pub coverage: Vec<CoverageRow>,
    /// What became of the explanation table (one line), when the data has a horizon.
    pub explanations: Option<String>,
}

impl TrainResult {
    /// The figures of this training.
    pub fn summary(&self) -> TrainSummary {
        let a = &self.artifact;
        TrainSummary {
            model_version: a.model_version.clone(),
            train_rows: a.train_rows,
            train_start: a.train_start,
            train_end: a.train_end,
            correction: a.scale,
            saved_to: self.saved_to.clone(),
            seconds: self.seconds,
            timings: self.timings.clone(),
            scores: score_rows(&self.backtest),
            coverage: a.coverage.clone(),
            explanations: self.explanations.as_ref().map(|e| match e {
                Ok(f) => f.to_string(),
                Err(e) => format!("explanations not precomputed ({e}); serve computes them"),
            }),
        }
    }
}
