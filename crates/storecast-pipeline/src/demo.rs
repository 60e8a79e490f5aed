//! The demo job: the whole pipeline on one data set, into one folder, ready to serve:
//! validate → analyze → reuse the model trained on this data or train one → methodology and
//! business reports → forecast of the plan → issued forecasts recorded and a demo admin.
//!
//! Why a job: the first minutes of a newcomer run this; the app (a provisional model served at
//! once, the full pipeline in the background) and the CLI call the same steps.

use crate::error::PipelineError;
use crate::progress::Progress;
use crate::reports::write;
use crate::train::{backtest_config, train, TrainSettings};
use std::path::{Path, PathBuf};
use storecast_data::LoadReport;
use storecast_model::backtest::BacktestResult;
use storecast_model::ModelArtifact;
use storecast_store::{Registry, Role, Store};
use storecast_validate::{render, validate, ValidateConfig, ValidationReport};

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
}

/// What the demo made, and where.
#[derive(Debug)]
pub struct DemoResult {
    /// The data, strictly loaded (what the app serves).
    pub chain: storecast_data::ChainData,
    /// The validation of the data.
    pub validation: ValidationReport,
    /// The analysis' headlines, most important first.
    pub headlines: Vec<String>,
    /// The served model (signed, registered, active).
    pub artifact: ModelArtifact,
    /// True when a model trained on this data was reused.
    pub reused: bool,
    /// Its backtest.
    pub backtest: BacktestResult,
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
    /// The model file.
    pub model: PathBuf,
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
    progress: &mut dyn Progress,
) -> Result<DemoResult, PipelineError> {
    let paths = DemoPaths::under(out);
    progress.report(demo_steps::VALIDATE, 0, 1);
    let validation = validate(&load, &ValidateConfig::default());
    let json = render::to_json(&validation).map_err(|e| PipelineError::Input(e.to_string()))?;
    let html = render::to_html(&validation).map_err(|e| PipelineError::Input(e.to_string()))?;
    write(&out.join("validation.json"), json)?;
    write(&out.join("validation.html"), html)?;
    progress.report(demo_steps::VALIDATE, 1, 1);

    progress.report(demo_steps::ANALYSIS, 0, 1);
    let analysis = crate::reports::analysis(&load, &validation, out, &paths.reports)?;
    progress.report(demo_steps::ANALYSIS, 1, 1);
    let headlines = analysis.headlines.iter().map(|h| h.text.clone()).collect();
    let chain = load
        .into_strict()
        .map_err(|e| PipelineError::Input(format!("the data has rows that do not parse: {e}")))?;

    let registry =
        Registry::open(&paths.registry).map_err(PipelineError::registry("opening the registry"))?;
    let (artifact, backtest, reused) = model_for(&chain, &paths, &registry, progress)?;
    let reg = registry
        .register(&artifact)
        .map_err(PipelineError::registry("registering the model"))?;
    if registry.current_version().ok().flatten().as_deref() != Some(reg.version.as_str()) {
        registry
            .promote(&reg.version)
            .map_err(PipelineError::registry("promoting the model"))?;
    }

    progress.report(demo_steps::REPORTS, 0, 1);
    crate::reports::model_reports(&backtest, &artifact, &chain.origin, out, &paths.reports)?;
    progress.report(demo_steps::REPORTS, 1, 1);

    let requests = chain
        .requests
        .clone()
        .ok_or_else(|| PipelineError::Input("no test.csv in the data".into()))?;
    let settings = crate::forecast::ForecastSettings {
        out: out.join("submission.csv"),
        intervals: true,
    };
    let (export, rows) = crate::forecast::export_forecast_rows(
        &chain,
        artifact.clone(),
        &requests,
        &settings,
        progress,
    )?;

    progress.report(demo_steps::DATABASE, 0, 1);
    let (recorded, token) = database(&artifact, &rows, &paths.db)?;
    progress.report(demo_steps::DATABASE, 1, 1);
    Ok(DemoResult {
        chain,
        validation,
        headlines,
        artifact,
        reused,
        backtest,
        forecasts: export.rows,
        recorded,
        token,
        paths,
    })
}

/// The model trained on this data (signed by the demo's registry) with its backtest, or a
/// new one trained now.
fn model_for(
    chain: &storecast_data::ChainData,
    paths: &DemoPaths,
    registry: &Registry,
    progress: &mut dyn Progress,
) -> Result<(ModelArtifact, BacktestResult, bool), PipelineError> {
    let bt_path = paths.out.join("backtest.json");
    let reuse = ModelArtifact::load(&paths.model)
        .ok()
        .filter(|a| a.data_fingerprint == chain.fingerprint && registry.verify(a).is_ok())
        .zip(
            std::fs::read(&bt_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<BacktestResult>(&b).ok()),
        );
    if let Some((a, bt)) = reuse {
        return Ok((a, bt, true));
    }
    let settings = TrainSettings {
        backtest: backtest_config(&Default::default()),
        out: paths.model.clone(),
        registry: paths.registry.clone(),
        provisional: false,
    };
    let trained = train(chain, &settings, progress)?;
    let json =
        serde_json::to_vec(&trained.backtest).map_err(|e| PipelineError::Input(e.to_string()))?;
    write(&bt_path, json)?;
    Ok((trained.artifact, trained.backtest, false))
}

/// Records the issued forecasts `rows` (for monitoring) and gives the demo admin a fresh token.
fn database(
    artifact: &ModelArtifact,
    rows: &[storecast_model::DayForecast],
    db: &Path,
) -> Result<(usize, storecast_store::Token), PipelineError> {
    let store = Store::open(db).map_err(PipelineError::store("opening the database"))?;
    let issued: Vec<storecast_store::ForecastRow> = rows
        .iter()
        .filter(|f| f.open)
        .map(storecast_store::ForecastRow::from)
        .collect();
    let rec = store
        .record_forecasts("demo", &artifact.model_version, &issued)
        .map_err(PipelineError::store("recording the issued forecasts"))?;
    let token = match store
        .user("demo-admin")
        .map_err(PipelineError::store("reading users"))?
    {
        Some(_) => store.rotate_token("demo", "demo-admin"),
        None => store.add_user("demo", "demo-admin", Role::Admin),
    }
    .map_err(PipelineError::store("creating the demo admin"))?
    .1;
    Ok((rec.inserted, token))
}
