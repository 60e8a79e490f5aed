//! The demo job: the whole pipeline on one data set, into one folder, ready to serve:
//! validate → analyze → a model (the one trained on this data, else a provisional one at once
//! or the full one) → registered and promoted (audited) → reports → forecast of the plan →
//! issued forecasts recorded and a demo admin. [`complete`] trains the full model after a
//! provisional start, and swaps it in through the registry.
//!
//! Why a job: the first minutes of a newcomer run this. Served at once on a provisional model
//! with the full pipeline in the background (the CLI starts [`complete`] with
//! [`crate::background::spawn`]), or all at once (`--no-serve`): the same steps either way.

use crate::error::PipelineError;
use crate::progress::Progress;
use crate::reports::write;
use crate::train::{backtest_config, provisional_config, train, TrainSettings};
use std::path::{Path, PathBuf};
use storecast_data::{ChainData, LoadReport};
use storecast_model::backtest::{BacktestConfig, BacktestResult};
use storecast_model::{DayForecast, ModelArtifact};
use storecast_store::{Registry, Role, Store, Switch};
use storecast_validate::ValidationReport;

/// Who the demo's own actions are audited as.
pub const DEMO_ACTOR: &str = "demo";

/// Steps of the demo besides training's.
pub mod demo_steps {
    /// Data validation.
    pub const VALIDATE: &str = "validate";
    /// The statistical analysis.
    pub const ANALYSIS: &str = "analysis";
    /// Methodology and business reports.
    pub const REPORTS: &str = "reports";
    /// Issued forecasts recorded, demo admin ready.
    pub const DATABASE: &str = "database";
    /// The full model registered and promoted.
    pub const PROMOTE: &str = "promote";
}

/// How the demo starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoStart {
    /// Train the full model before returning (nothing left for later).
    Full,
    /// Without a full model for this data, serve a provisional model now and leave the full
    /// model to [`complete`].
    Provisional,
}

/// How the demo trains: when to serve, and the two models' configurations.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// Serve at once on a provisional model, or train the full one first.
    pub start: DemoStart,
    /// The full model's training (folds, trees, threads).
    pub full: BacktestConfig,
    /// The provisional model's training.
    pub provisional: BacktestConfig,
}

impl DemoSettings {
    /// The tuned full model and the quick provisional one.
    pub fn new(start: DemoStart) -> Self {
        Self {
            start,
            full: backtest_config(&Default::default()),
            provisional: provisional_config(None),
        }
    }
}

/// Which model the demo serves first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstModel {
    /// The full model trained earlier on this data.
    ReusedFull,
    /// The full model, trained now.
    TrainedFull,
    /// A provisional model trained earlier on this data (the full one did not finish).
    ReusedProvisional,
    /// A provisional model, trained now.
    TrainedProvisional,
}

impl FirstModel {
    /// True when the full model is still to be trained ([`complete`]).
    pub fn is_provisional(self) -> bool {
        matches!(self, Self::ReusedProvisional | Self::TrainedProvisional)
    }
    /// True when it was trained by this run.
    pub fn trained_now(self) -> bool {
        matches!(self, Self::TrainedFull | Self::TrainedProvisional)
    }
}

/// What the demo made, and where.
#[derive(Debug)]
pub struct DemoResult {
    /// The data, strictly loaded (what the app serves).
    pub chain: ChainData,
    /// The validation of the data.
    pub validation: ValidationReport,
    /// The analysis' headlines, most important first.
    pub headlines: Vec<String>,
    /// The served model (signed, registered, active).
    pub artifact: ModelArtifact,
    /// How it was obtained.
    pub first: FirstModel,
    /// Its backtest, when trained now.
    pub backtest: Option<BacktestResult>,
    /// Forecasts written to `submission.csv`.
    pub forecasts: usize,
    /// Issued forecasts recorded in the database (new rows).
    pub recorded: usize,
    /// The demo admin's token (shown once).
    pub token: storecast_store::Token,
    /// Files of the run.
    pub paths: DemoPaths,
}

/// Where the demo writes.
#[derive(Debug, Clone)]
pub struct DemoPaths {
    /// The output folder.
    pub out: PathBuf,
    /// The full model's file.
    pub model: PathBuf,
    /// The provisional model's file.
    pub provisional: PathBuf,
    /// The full model's backtest.
    pub backtest: PathBuf,
    /// The registry.
    pub registry: PathBuf,
    /// The database.
    pub db: PathBuf,
    /// Report bodies for the app.
    pub reports: PathBuf,
}

impl DemoPaths {
    /// The demo's files under `out`.
    pub fn under(out: &Path) -> Self {
        Self {
            out: out.to_path_buf(),
            model: out.join("model.json"),
            provisional: out.join("provisional").join("model.json"),
            backtest: out.join("backtest.json"),
            registry: out.join("registry"),
            db: out.join("storecast.db"),
            reports: out.join("reports"),
        }
    }
}

/// Runs the demo on `load` into `out`.
pub fn demo(
    load: LoadReport,
    out: &Path,
    settings: &DemoSettings,
    progress: &mut dyn Progress,
) -> Result<DemoResult, PipelineError> {
    let paths = DemoPaths::under(out);
    progress.report(demo_steps::VALIDATE, 0, 1);
    let files = crate::ValidateSettings {
        json: Some(out.join("validation.json")),
        html: Some(out.join("validation.html")),
    };
    let validation = crate::validate(&load, &files)?.report;
    progress.report(demo_steps::VALIDATE, 1, 1);

    progress.report(demo_steps::ANALYSIS, 0, 1);
    let analysis = crate::reports::analysis(&load, &validation, out, &paths.reports)?;
    progress.report(demo_steps::ANALYSIS, 1, 1);
    let headlines = analysis.headlines.iter().map(|h| h.text.clone()).collect();
    let chain = crate::input::strict(load)?;

    let registry = open_registry(&paths)?;
    let store = open_store(&paths)?;
    let (artifact, backtest, first) = model_for(&chain, &paths, &registry, settings, progress)?;
    let file = if first.is_provisional() {
        &paths.provisional
    } else {
        &paths.model
    };
    serve_version(&registry, &store, file, "the demo's model")?;
    if !first.is_provisional() {
        let bt = match &backtest {
            Some(bt) => bt.clone(),
            None => read_backtest(&paths.backtest)?,
        };
        write_reports(&bt, &artifact, &chain.origin, out, &paths.reports, progress)?;
    }
    let (forecasts, rows) = forecast_plan(&chain, &artifact, &paths, progress)?;
    progress.report(demo_steps::DATABASE, 0, 1);
    let recorded = record(&store, &artifact, &rows)?;
    let token = demo_admin(&store)?;
    progress.report(demo_steps::DATABASE, 1, 1);
    Ok(DemoResult {
        chain,
        validation,
        headlines,
        artifact,
        first,
        backtest,
        forecasts,
        recorded,
        token,
        paths,
    })
}

/// What [`complete`] did.
#[derive(Debug)]
pub struct Completed {
    /// The full model.
    pub artifact: ModelArtifact,
    /// The registry switch to it (`None` when it was already active).
    pub switch: Option<Switch>,
}

/// Trains the full model on `chain` after a provisional start, writes its backtest and
/// reports, records its forecasts, registers it and promotes it (audited as the demo's own
/// The demo's model reports (methodology and business), under the default monitoring
/// thresholds the demo monitors with.
fn write_reports(
    bt: &BacktestResult,
    artifact: &ModelArtifact,
    origin: &str,
    out: &Path,
    app_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(), PipelineError> {
    progress.report(demo_steps::REPORTS, 0, 1);
    let monitor = storecast_monitor::MonitorConfig::default();
    crate::reports::model_reports(bt, artifact, &monitor, origin, out, app_dir)?;
    progress.report(demo_steps::REPORTS, 1, 1);
    Ok(())
}

/// action): a server following the registry swaps it in.
pub fn complete(
    chain: &ChainData,
    paths: &DemoPaths,
    settings: &DemoSettings,
    progress: &mut dyn Progress,
) -> Result<Completed, PipelineError> {
    let registry = open_registry(paths)?;
    let store = open_store(paths)?;
    let (artifact, bt) = train_full(chain, paths, &settings.full, progress)?;
    write_reports(
        &bt,
        &artifact,
        &chain.origin,
        &paths.out,
        &paths.reports,
        progress,
    )?;
    let (_, rows) = forecast_plan(chain, &artifact, paths, progress)?;
    progress.report(demo_steps::PROMOTE, 0, 1);
    record(&store, &artifact, &rows)?;
    let reason = "the full model replaces the provisional model";
    let switch = serve_version(&registry, &store, &paths.model, reason)?;
    progress.report(demo_steps::PROMOTE, 1, 1);
    Ok(Completed { artifact, switch })
}

fn open_registry(paths: &DemoPaths) -> Result<Registry, PipelineError> {
    Registry::open(&paths.registry).map_err(PipelineError::registry("opening the registry"))
}

fn open_store(paths: &DemoPaths) -> Result<Store, PipelineError> {
    Store::open(&paths.db).map_err(PipelineError::store("opening the database"))
}

fn read_backtest(path: &Path) -> Result<BacktestResult, PipelineError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PipelineError::Input(format!("reading {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Input(format!("{} is not a backtest: {e}", path.display())))
}

/// Registers the artifact saved in `file` and makes it the active version unless it is
/// already (both audited as the demo's); the switch when there was one.
fn serve_version(
    registry: &Registry,
    store: &Store,
    file: &Path,
    reason: &str,
) -> Result<Option<Switch>, PipelineError> {
    let reg = crate::models::register(registry, store, file, DEMO_ACTOR)?;
    let current = registry
        .current_version()
        .map_err(PipelineError::registry("reading the active version"))?;
    if current.as_deref() == Some(reg.version.as_str()) {
        return Ok(None);
    }
    crate::models::promote(registry, store, &reg.version, DEMO_ACTOR, Some(reason)).map(Some)
}

/// The model the demo serves first: the full model trained on this data (with its backtest
/// on file), else the provisional one trained on it, else one trained now as `start` says.
fn model_for(
    chain: &ChainData,
    paths: &DemoPaths,
    registry: &Registry,
    settings: &DemoSettings,
    progress: &mut dyn Progress,
) -> Result<(ModelArtifact, Option<BacktestResult>, FirstModel), PipelineError> {
    let fits = |file: &Path| {
        ModelArtifact::load(file)
            .ok()
            .filter(|a| a.data_fingerprint == chain.fingerprint && registry.verify(a).is_ok())
    };
    if let Some(a) = fits(&paths.model).filter(|_| paths.backtest.is_file()) {
        return Ok((a, None, FirstModel::ReusedFull));
    }
    if settings.start == DemoStart::Full {
        let (a, bt) = train_full(chain, paths, &settings.full, progress)?;
        return Ok((a, Some(bt), FirstModel::TrainedFull));
    }
    if let Some(a) = fits(&paths.provisional) {
        return Ok((a, None, FirstModel::ReusedProvisional));
    }
    let settings = TrainSettings {
        backtest: settings.provisional.clone(),
        out: paths.provisional.clone(),
        registry: paths.registry.clone(),
        provisional: true,
    };
    let trained = train(chain, &settings, progress)?;
    Ok((
        trained.artifact,
        Some(trained.backtest),
        FirstModel::TrainedProvisional,
    ))
}

/// Trains the full model into `paths.model` and writes its backtest beside it.
fn train_full(
    chain: &ChainData,
    paths: &DemoPaths,
    config: &BacktestConfig,
    progress: &mut dyn Progress,
) -> Result<(ModelArtifact, BacktestResult), PipelineError> {
    let settings = TrainSettings {
        backtest: config.clone(),
        out: paths.model.clone(),
        registry: paths.registry.clone(),
        provisional: false,
    };
    let trained = train(chain, &settings, progress)?;
    let json =
        serde_json::to_vec(&trained.backtest).map_err(|e| PipelineError::Input(e.to_string()))?;
    write(&paths.backtest, json)?;
    Ok((trained.artifact, trained.backtest))
}

/// Forecasts the data's plan (test.csv) into `submission.csv`: the rows written and the days.
fn forecast_plan(
    chain: &ChainData,
    artifact: &ModelArtifact,
    paths: &DemoPaths,
    progress: &mut dyn Progress,
) -> Result<(usize, Vec<DayForecast>), PipelineError> {
    let requests = chain
        .requests
        .clone()
        .ok_or_else(|| PipelineError::Input("no test.csv in the data".into()))?;
    let settings = crate::forecast::ForecastSettings {
        out: paths.out.join("submission.csv"),
        intervals: true,
    };
    let (export, rows) = crate::forecast::export_forecast_rows(
        chain,
        artifact.clone(),
        &requests,
        &settings,
        progress,
    )?;
    Ok((export.rows, rows))
}

/// Records the issued forecasts `rows` of `artifact` (for monitoring): the new rows.
fn record(
    store: &Store,
    artifact: &ModelArtifact,
    rows: &[DayForecast],
) -> Result<usize, PipelineError> {
    let issued: Vec<storecast_store::ForecastRow> = rows
        .iter()
        .filter(|f| f.open)
        .map(storecast_store::ForecastRow::from)
        .collect();
    let rec = store
        .record_forecasts(DEMO_ACTOR, &artifact.model_version, &issued)
        .map_err(PipelineError::store("recording the issued forecasts"))?;
    Ok(rec.inserted)
}

/// The demo admin, with a fresh token.
fn demo_admin(store: &Store) -> Result<storecast_store::Token, PipelineError> {
    let token = match store
        .user("demo-admin")
        .map_err(PipelineError::store("reading users"))?
    {
        Some(_) => store.rotate_token(DEMO_ACTOR, "demo-admin"),
        None => store.add_user(DEMO_ACTOR, "demo-admin", Role::Admin),
    }
    .map_err(PipelineError::store("creating the demo admin"))?
    .1;
    Ok(token)
}
