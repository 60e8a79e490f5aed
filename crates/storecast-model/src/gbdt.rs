//! Gradient-boosted trees (LightGBM) behind a small, thread-safe handle. A fit goes through
//! `storecast-lightgbm`, whose dataset gets the training's parameters (its categorical
//! columns, its binning seed); loading a reference booster goes through `lightgbm3`.
//!
//! Why: LightGBM fits 1M rows in seconds on 2 cores and gives exact TreeSHAP contributions and
//! a text model format. Its `Booster` is a raw C handle (neither `Send` nor `Sync`), while the
//! CLI, the backtests and the web server all want a shareable model. So the booster lives on a
//! dedicated thread and [`Gbdt`] sends it jobs over a channel: cheap to clone, `Send + Sync`,
//! no `unsafe`. Predictions and explanations come from the model re-loaded from its text, by
//! the pure-Rust engines of [`crate::flat`] and [`crate::shap`] (bit for bit LightGBM's
//! numbers, 3.5× and 14× faster); LightGBM's booster is started only for a model they cannot
//! read and as the reference they are tested against. A saved artifact predicts bit for bit
//! what the freshly trained model predicted.
//!
//! LightGBM is not safe to run twice at once in one process: its thread count is OpenMP's
//! process-wide setting, and two fits in parallel threads crash it now and then (seen in CI: a
//! SIGSEGV when seven web tests trained their models at once). Every native call — building a
//! dataset, training, loading a booster, predicting with it — holds [`NATIVE`], so concurrent
//! callers queue instead of crashing. On 2 cores parallel fits would only oversubscribe anyway.

use crate::flat::{FlatError, FlatForest};
use crate::shap::Explainer;
use lightgbm3::Booster;
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use thiserror::Error;

/// Held across every call into LightGBM (see the module doc).
static NATIVE: Mutex<()> = Mutex::new(());

/// Takes the LightGBM lock; a panic of an earlier holder leaves no LightGBM state to protect,
/// so a poisoned lock is taken as it is.
fn native() -> std::sync::MutexGuard<'static, ()> {
    NATIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Errors from the boosting library or its thread.
#[derive(Debug, Error)]
pub enum GbdtError {
    /// LightGBM reported an error.
    #[error("LightGBM: {0}")]
    Library(String),
    /// The predictor thread is gone (it panicked or was shut down).
    #[error("the model's predictor thread stopped")]
    Stopped,
    /// Inputs of the wrong shape.
    #[error("feature matrix has {len} values, not a multiple of {features} features")]
    Shape {
        /// Values given.
        len: usize,
        /// Features expected.
        features: usize,
    },
}

/// Loss on the target (log sales).
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Squared error (what an artifact without the field was trained with, hence the serde
    /// default; the training default is [`Objective::Huber`], see [`GbdtParams::objective`]).
    #[default]
    Regression,
    /// Huber loss (squared near 0, linear in the tails: robust to rare collapsed days).
    Huber,
}

impl Objective {
    fn lightgbm_name(self) -> &'static str {
        match self {
            Self::Regression => "regression",
            Self::Huber => "huber",
        }
    }
}

/// Training parameters (documented defaults; see the methodology report for the choice).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    /// Boosting rounds (trees).
    pub num_trees: u32,
    /// Shrinkage per tree (0, 1].
    pub learning_rate: f64,
    /// Leaves per tree (≥ 2).
    pub num_leaves: u32,
    /// Maximum tree depth, 0 = no limit (a limit bounds the cost of exact TreeSHAP,
    /// O(trees · leaves · depth²)). Artifacts written before this field read as 0.
    #[serde(default)]
    pub max_depth: u32,
    /// Minimum rows in a leaf.
    pub min_data_in_leaf: u32,
    /// Share of features tried per tree (0, 1].
    pub feature_fraction: f64,
    /// Share of rows used per tree (0, 1].
    pub bagging_fraction: f64,
    /// L2 regularisation of leaf values.
    pub lambda_l2: f64,
    /// Histogram bins per feature.
    pub max_bin: u32,
    /// Random seed (bagging, feature sampling).
    pub seed: u64,
    /// Feature columns treated as categorical.
    pub categorical: Vec<usize>,
    /// Worker threads (0 = free cores).
    pub threads: usize,
    /// Loss. The default is Huber: against squared error, over 11 origins a year apart on the
    /// data, its WAPE was lower on 9 (mean -0.84 %) and its RMSPE on 6 (mean -0.04 %).
    /// Artifacts written before this field read as squared error.
    #[serde(default)]
    pub objective: Objective,
    /// Most rows one tree samples, or none: on a fit of more rows, the bagging fraction
    /// shrinks so that each tree draws this many (see [`MAX_ROWS_PER_TREE`]). Artifacts
    /// written before this field read as none.
    #[serde(default)]
    pub max_rows_per_tree: Option<u64>,
}

/// The default of [`GbdtParams::max_rows_per_tree`]. The data's model (1,115 stores, about
/// 0.8 M training rows) draws 0.8 of them, 0.64 M, per tree, and this cap never binds on it.
/// On a chain ten times the size, every tree of the uncapped default would draw 6.4 M rows,
/// ten times the validated model's sample at ten times the histogram cost (`storecast bench
/// scale`: the fits took 2,121 s, 1,587 s capped). With the cap, a tree draws 1 M rows, more
/// than the validated model's, and the trees together still see every row; on one origin of
/// that chain the capped model scored RMSPE 0.0929 against 0.0935 (see `docs/scaling.md`).
pub const MAX_ROWS_PER_TREE: u64 = 1_000_000;

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            num_trees: 800,
            learning_rate: 0.08,
            num_leaves: 63,
            max_depth: 10,
            min_data_in_leaf: 40,
            feature_fraction: 0.7,
            bagging_fraction: 0.8,
            lambda_l2: 1.0,
            max_bin: 255,
            seed: 20150619,
            categorical: Vec::new(),
            threads: 0,
            objective: Objective::Huber,
            max_rows_per_tree: Some(MAX_ROWS_PER_TREE),
        }
    }
}

impl GbdtParams {
    /// Threads to use: the configured number, or the free cores.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            crate::cores::free_cores()
        }
    }

    /// LightGBM's parameters: these settings, and the data-parallel learner over the machines
    /// of a joined network ([`storecast_cluster::Cluster::join`]), whose ranks each hold some
    /// of the rows.
    fn lightgbm_params(&self, rows: usize) -> serde_json::Value {
        let mut p = self.to_json();
        let machines = storecast_cluster::joined_machines();
        if machines > 1 {
            p["tree_learner"] = "data".into();
            p["num_machines"] = machines.into();
        }
        p["bagging_fraction"] = self.bagging_for(rows * machines).into();
        p
    }

    /// The share of `rows` each tree samples: the bagging fraction, lowered so that a tree
    /// draws at most [`GbdtParams::max_rows_per_tree`] rows.
    pub fn bagging_for(&self, rows: usize) -> f64 {
        match self.max_rows_per_tree {
            Some(cap) if (rows as f64) * self.bagging_fraction > cap as f64 => {
                cap as f64 / rows as f64
            }
            _ => self.bagging_fraction,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let cats: Vec<String> = self.categorical.iter().map(|c| c.to_string()).collect();
        let mut p = serde_json::json!({
            "objective": self.objective.lightgbm_name(),
            "alpha": 0.3,
            "metric": "rmse",
            "num_iterations": self.num_trees,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": if self.max_depth == 0 { -1 } else { i64::from(self.max_depth) },
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "deterministic": true,
            "force_row_wise": true,
            "num_threads": self.effective_threads(),
            "verbosity": -1,
        });
        if !cats.is_empty() {
            p["categorical_feature"] = serde_json::Value::String(cats.join(","));
        }
        p
    }
}

enum Job {
    Predict {
        x: Vec<f32>,
        contributions: bool,
        reply: mpsc::Sender<Result<Vec<f64>, String>>,
    },
}

/// The booster on its own thread, fed jobs over a channel.
struct BoosterThread {
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// How a model predicts: the flat forest and table TreeSHAP when the model text is one they
/// read (every model storecast trains), LightGBM itself otherwise and as the reference.
struct Engine {
    text: String,
    n_features: usize,
    flat: Option<FlatForest>,
    explainer: OnceLock<Explainer>,
    booster: OnceLock<Result<BoosterThread, String>>,
}

/// A fitted model: the model text and its prediction engines, shared by clones.
#[derive(Clone)]
pub struct Gbdt {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Gbdt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gbdt")
            .field("n_features", &self.engine.n_features)
            .field("text_bytes", &self.engine.text.len())
            .field("flat", &self.engine.flat.is_some())
            .finish()
    }
}

/// LightGBM's parameters as its C API reads them (`key=value`, space separated; LightGBM
/// strips the quotes of string values).
fn parameter_string(params: &serde_json::Value) -> String {
    params
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn flat(e: FlatError) -> GbdtError {
    GbdtError::Library(format!("flat engine: {e}"))
}

impl Gbdt {
    /// Fits on row-major `x` (`y.len()` rows × `names.len()` features).
    pub fn fit(
        x: &[f32],
        y: &[f32],
        names: &[&str],
        params: &GbdtParams,
    ) -> Result<Self, GbdtError> {
        let n_features = names.len();
        if n_features == 0 || x.len() != y.len() * n_features {
            return Err(GbdtError::Shape {
                len: x.len(),
                features: n_features,
            });
        }
        let settings = parameter_string(&params.lightgbm_params(y.len()));
        let text = {
            let _native = native();
            storecast_lightgbm::fit(x, y, names, &settings, params.num_trees)
                .map_err(|e| GbdtError::Library(e.to_string()))?
        };
        Self::from_text(text, n_features)
    }

    /// Loads a model from LightGBM's text format. Predictions come from the flat forest (bit
    /// for bit LightGBM's); a model it cannot read is predicted by LightGBM's booster.
    pub fn from_text(text: String, n_features: usize) -> Result<Self, GbdtError> {
        let parsed = match FlatForest::from_model_text(&text) {
            Ok(f) if f.n_features() == n_features => Some(f),
            Ok(f) => {
                return Err(GbdtError::Shape {
                    len: f.n_features(),
                    features: n_features,
                })
            }
            Err(FlatError::Unsupported(_)) => None,
            Err(e) => return Err(flat(e)),
        };
        let engine = Engine {
            text,
            n_features,
            flat: parsed,
            explainer: OnceLock::new(),
            booster: OnceLock::new(),
        };
        if engine.flat.is_none() {
            // Start LightGBM now, so an unreadable model fails at load, not at first use.
            engine.booster()?;
        }
        Ok(Self {
            engine: Arc::new(engine),
        })
    }

    fn check(&self, x: &[f32]) -> Result<(), GbdtError> {
        let nf = self.engine.n_features;
        if nf == 0 || !x.len().is_multiple_of(nf) {
            return Err(GbdtError::Shape {
                len: x.len(),
                features: nf,
            });
        }
        Ok(())
    }

    /// The engine that answers: the flat forest when it reads the model, else LightGBM.
    pub fn engine(&self) -> Box<dyn TreeEngine + '_> {
        match &self.engine.flat {
            Some(forest) => Box::new(FlatEngine {
                forest,
                engine: &self.engine,
            }),
            None => Box::new(LightGbmEngine(&self.engine)),
        }
    }

    /// LightGBM's own engine (the reference the flat forest is tested against).
    pub fn lightgbm(&self) -> Box<dyn TreeEngine + '_> {
        Box::new(LightGbmEngine(&self.engine))
    }

    /// Predictions (in the training target's space) for row-major `x`.
    pub fn predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.check(x)?;
        self.engine().predict(x)
    }

    /// Exact TreeSHAP contributions: per row, one value per feature and the base value last
    /// (`n_features + 1` values); they sum to the raw prediction.
    pub fn contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.check(x)?;
        self.engine().contributions(x)
    }

    /// The table TreeSHAP explainer, built on first use (None: a model the flat engine cannot
    /// read, explained by LightGBM).
    pub fn explainer(&self) -> Result<Option<&Explainer>, GbdtError> {
        self.engine.explainer()
    }

    /// LightGBM's own prediction (the reference the flat forest is tested against).
    pub fn lightgbm_predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.check(x)?;
        self.lightgbm().predict(x)
    }

    /// LightGBM's own `predict_contrib` (the reference of the table TreeSHAP).
    pub fn lightgbm_contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.check(x)?;
        self.lightgbm().contributions(x)
    }

    /// LightGBM's text model.
    pub fn model_text(&self) -> &str {
        &self.engine.text
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.engine.n_features
    }
}

/// What a fitted tree model answers, whichever engine runs it: LightGBM's own booster, or the
/// flat forest read from its text (bit for bit LightGBM's numbers, faster, and the tables of
/// the fast TreeSHAP). A model picks its engine once ([`Gbdt::engine`]); callers ask the
/// trait and never branch on which one it is.
pub trait TreeEngine {
    /// The engine's name (`flat`, `lightgbm`), for logs and benchmarks.
    fn name(&self) -> &'static str;
    /// Raw predictions for row-major `x`.
    fn predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError>;
    /// Exact contributions: per row, one value per feature and the base value last.
    fn contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError>;
}

/// The flat forest, with the model's lazily built TreeSHAP explainer.
struct FlatEngine<'a> {
    forest: &'a FlatForest,
    engine: &'a Engine,
}

impl TreeEngine for FlatEngine<'_> {
    fn name(&self) -> &'static str {
        "flat"
    }
    fn predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.forest.predict(x, self.engine.n_features).map_err(flat)
    }
    fn contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        match self.engine.explainer()? {
            Some(e) => e.contributions(x, self.engine.n_features).map_err(flat),
            None => self.engine.run(x, true),
        }
    }
}

/// LightGBM's booster on its own thread.
struct LightGbmEngine<'a>(&'a Engine);

impl TreeEngine for LightGbmEngine<'_> {
    fn name(&self) -> &'static str {
        "lightgbm"
    }
    fn predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.0.run(x, false)
    }
    fn contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        self.0.run(x, true)
    }
}

impl Engine {
    fn explainer(&self) -> Result<Option<&Explainer>, GbdtError> {
        let Some(forest) = &self.flat else {
            return Ok(None);
        };
        Ok(Some(
            self.explainer
                .get_or_init(|| Explainer::new(forest.clone())),
        ))
    }

    fn booster(&self) -> Result<&BoosterThread, GbdtError> {
        self.booster
            .get_or_init(|| BoosterThread::start(&self.text, self.n_features))
            .as_ref()
            .map_err(|e| GbdtError::Library(e.clone()))
    }

    fn run(&self, x: &[f32], contributions: bool) -> Result<Vec<f64>, GbdtError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::channel();
        self.booster()?
            .jobs
            .lock()
            .map_err(|_| GbdtError::Stopped)?
            .send(Job::Predict {
                x: x.to_vec(),
                contributions,
                reply,
            })
            .map_err(|_| GbdtError::Stopped)?;
        answer
            .recv()
            .map_err(|_| GbdtError::Stopped)?
            .map_err(GbdtError::Library)
    }
}

impl BoosterThread {
    /// Loads the booster on a dedicated thread; fails when LightGBM cannot read the text.
    fn start(text: &str, n_features: usize) -> Result<Self, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (tx, rx) = mpsc::channel::<Job>();
        let model_text = text.to_string();
        std::thread::Builder::new()
            .name("lightgbm-predictor".into())
            .spawn(move || {
                let loaded = {
                    let _native = native();
                    Booster::from_string(&model_text)
                };
                let booster = match loaded {
                    Ok(b) => {
                        let _ = ready_tx.send(Ok(()));
                        b
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                drop(model_text);
                while let Ok(Job::Predict {
                    x,
                    contributions,
                    reply,
                }) = rx.recv()
                {
                    let out = {
                        let _native = native();
                        predict_on(&booster, &x, n_features, contributions)
                    };
                    let _ = reply.send(out.map_err(|e| e.to_string()));
                }
            })
            .map_err(|e| format!("cannot start predictor thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                jobs: Mutex::new(tx),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the model's predictor thread stopped".into()),
        }
    }
}

fn predict_on(
    booster: &Booster,
    x: &[f32],
    n_features: usize,
    contributions: bool,
) -> Result<Vec<f64>, lightgbm3::Error> {
    let nf = n_features as i32;
    // Small requests (an API call) run on one thread, batches on all cores.
    let rows = x.len() / n_features.max(1);
    let threads = crate::cores::batch_threads(rows, crate::flat::PARALLEL_ROWS);
    if contributions {
        booster.predict_contrib(x, nf, true)
    } else {
        booster.predict_with_params(x, nf, true, &format!("num_threads={threads}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trees of a fit on one column of 12 codes whose effects are not ordered by code, and a
    /// noise column: the counts of categorical splits (`num_cat`) over the model's trees.
    fn categorical_splits(categorical: Vec<usize>) -> Result<(usize, Gbdt), GbdtError> {
        const EFFECT: [f32; 12] = [0.0, 2.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0];
        let n = 6_000;
        let x: Vec<f32> = (0..n)
            .flat_map(|i| [((i * 7) % 12) as f32, ((i * 7919) % 1000) as f32 / 1000.0])
            .collect();
        let y: Vec<f32> = x.chunks(2).map(|r| EFFECT[r[0] as usize]).collect();
        let params = GbdtParams {
            num_trees: 5,
            num_leaves: 2,
            learning_rate: 0.5,
            feature_fraction: 1.0,
            // Squared error: Huber's clipped gradients would take many more trees to get apart.
            objective: Objective::Regression,
            threads: 1,
            categorical,
            ..GbdtParams::default()
        };
        let model = Gbdt::fit(&x, &y, &["code", "noise"], &params)?;
        let cats = model
            .model_text()
            .lines()
            .filter_map(|l| l.strip_prefix("num_cat="))
            .filter(|v| *v != "0")
            .count();
        Ok((cats, model))
    }

    #[test]
    fn the_columns_named_categorical_are_split_as_categories() -> Result<(), GbdtError> {
        // Before the dataset got the parameters, no tree had a categorical split.
        let (named, model) = categorical_splits(vec![0])?;
        assert_eq!(named, 5, "every tree splits the codes as categories");
        // One split of two leaves separates the six codes of effect 2 from the others.
        let p = model.predict(&[1.0, 0.5, 2.0, 0.5])?;
        assert!(
            p[0] - p[1] > 1.0,
            "codes 1 and 2 apart after one split: {p:?}"
        );
        let (unnamed, _) = categorical_splits(Vec::new())?;
        assert_eq!(unnamed, 0, "a numeric column is split at thresholds");
        Ok(())
    }

    #[test]
    fn a_tree_draws_at_most_the_capped_rows() {
        let p = GbdtParams::default();
        // The data's final fit (804,056 rows): the cap does not bind.
        assert_eq!(p.bagging_for(804_056), 0.8);
        // Ten times the chain: a tree draws 1 M of 8 M rows.
        assert_eq!(p.bagging_for(8_000_000), 0.125);
        assert_eq!(p.bagging_for(1_250_000), 0.8);
        let uncapped = GbdtParams {
            max_rows_per_tree: None,
            ..p
        };
        assert_eq!(uncapped.bagging_for(8_000_000), 0.8);
    }

    #[test]
    fn fits_in_parallel_threads_queue_and_equal_a_lone_fit() -> Result<(), GbdtError> {
        // Before the lock: parallel fits in one process crashed LightGBM now and then.
        let n = 20_000;
        let x: Vec<f32> = (0..n * 3)
            .map(|i| match i % 3 {
                2 => ((i * 31) % 12) as f32,
                _ => ((i * 7919) % 1000) as f32 / 1000.0,
            })
            .collect();
        let y: Vec<f32> = x
            .chunks(3)
            .map(|r| r[0] * 3.0 + r[1] - r[2] * 0.1)
            .collect();
        let params = GbdtParams {
            num_trees: 60,
            threads: 1,
            categorical: vec![2],
            ..GbdtParams::default()
        };
        let alone = Gbdt::fit(&x, &y, &["a", "b", "c"], &params)?;
        let texts = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Gbdt::fit(&x, &y, &["a", "b", "c"], &params)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .expect("no panic")
                        .map(|m| m.model_text().to_string())
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        assert!(texts.iter().all(|t| t == alone.model_text()));
        Ok(())
    }

    #[test]
    fn fits_a_simple_function_and_round_trips() -> Result<(), GbdtError> {
        // y = 2·a + (b > 0.5): the trees must learn both parts.
        let n = 2000;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = (i % 100) as f32 / 100.0;
            let b = ((i * 37) % 101) as f32 / 101.0;
            x.extend([a, b]);
            y.push(2.0 * a + if b > 0.5 { 1.0 } else { 0.0 });
        }
        let params = GbdtParams {
            num_trees: 200,
            learning_rate: 0.1,
            num_leaves: 15,
            min_data_in_leaf: 5,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            threads: 1,
            ..GbdtParams::default()
        };
        let m = Gbdt::fit(&x, &y, &["a", "b"], &params)?;
        let p = m.predict(&x)?;
        let rmse = (p
            .iter()
            .zip(&y)
            .map(|(p, y)| (p - f64::from(*y)).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt();
        assert!(rmse < 0.05, "rmse {rmse}");
        // Contributions sum to the prediction.
        let c = m.contributions(&x[..20])?;
        for r in 0..10 {
            let s: f64 = c[r * 3..r * 3 + 3].iter().sum();
            assert!((s - p[r]).abs() < 1e-9);
        }
        // Reloading the text predicts the same bits; a clone shares the thread.
        let again = Gbdt::from_text(m.model_text().to_string(), 2)?;
        assert_eq!(again.predict(&x)?, p);
        let shared = m.clone();
        let h = std::thread::spawn(move || shared.predict(&[0.5, 0.9]));
        let from_thread = h.join().map_err(|_| GbdtError::Stopped)??;
        assert_eq!(from_thread, m.predict(&[0.5, 0.9])?);
        Ok(())
    }

    #[test]
    fn shape_errors_are_reported() {
        let err = Gbdt::fit(
            &[1.0, 2.0, 3.0],
            &[1.0, 2.0],
            &["a", "b"],
            &GbdtParams::default(),
        );
        assert!(matches!(err, Err(GbdtError::Shape { .. })));
    }
}
