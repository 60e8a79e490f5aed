//! One business week of operations, the step a scheduler runs and a replay repeats: issue the
//! active model's next six weeks (with intervals) and store them, ingest the week's actuals
//! (the checks of `ingest`; a refused file writes nothing and raises an alert), run the
//! monitor (live accuracy, coverage, drift, CUSUM, alerts), and retrain by policy (on a
//! schedule, or early on an alert) with the promotion decided by the promotion policy. Every
//! write is audited by the storage crate or here.
//!
//! Why one step: the daemon that watches a folder and the replay over history prove the same
//! thing only if they run the same code; each piece (forecast, ingest, monitor, retrain) is
//! the job the CLI runs alone.

use crate::error::PipelineError;
use crate::ingest::{ingest, Delivery, Ingested};
use crate::ops::{chain_from_db, monitor, retrain, MonitorRun};
use crate::progress::Progress;
use chrono::NaiveDate;
use storecast_data::{ChainData, ForecastRequests};
use storecast_model::backtest::BacktestConfig;
use storecast_model::{DayForecast, Forecaster, Scenario};
use storecast_monitor::replay::{RetrainReason, WeekRetrain};
use storecast_monitor::MonitorConfig;
use storecast_store::{AlertKind, NewAlert, Registry, Store};

/// How operations run.
#[derive(Debug, Clone)]
pub struct OpsSettings {
    /// Monitoring thresholds and the promotion policy.
    pub monitor: MonitorConfig,
    /// How a retrain trains.
    pub retrain: BacktestConfig,
    /// Retrain when the stored actuals reach this many weeks past the newest registered
    /// model's training end (0: only on alerts). Counted from the registry, so a refused
    /// candidate waits its turn like a promoted one, and a restart keeps the count.
    pub every_weeks: u32,
    /// Alerts that bring a retrain forward.
    pub early_on: Vec<AlertKind>,
    /// Who the step's actions are audited as.
    pub actor: String,
}

/// One week's inputs.
#[derive(Debug, Clone, Copy)]
pub struct Week<'a> {
    /// The first day of the week (the forecast's first day).
    pub start: NaiveDate,
    /// The store-days of the next six weeks, from `start` (open, promotion, holidays).
    pub plan: &'a ForecastRequests,
    /// The week's actuals, as delivered.
    pub actuals: Option<Delivery<'a>>,
}

/// What the week did.
#[derive(Debug)]
pub struct WeekOutcome {
    /// The week's first day.
    pub start: NaiveDate,
    /// The model that issued the week's forecast.
    pub served: String,
    /// The six weeks issued (every store-day of the plan).
    pub issued: Vec<DayForecast>,
    /// Rows ingested (new), or why the delivery was refused.
    pub ingested: Option<Result<usize, String>>,
    /// The monitor's run after the ingestion.
    pub monitor: Option<MonitorRun>,
    /// The retrain, when the policy asked for one.
    pub retrain: Option<WeekRetrain>,
}

/// `base`'s store table with `plan` ahead and no history: what the monitor and the retrain
/// take (they read the history from the database themselves).
pub(crate) fn with_plan(base: &ChainData, plan: &ForecastRequests) -> ChainData {
    ChainData {
        history: Default::default(),
        stores: base.stores.clone(),
        requests: Some(plan.clone()),
        fingerprint: String::new(),
        origin: base.origin.clone(),
    }
}

/// Forecasts `plan` with the active model on the stored history and records the open days.
fn issue(
    store: &Store,
    registry: &Registry,
    chain: &ChainData,
    plan: &ForecastRequests,
    actor: &str,
) -> Result<(String, Vec<DayForecast>), PipelineError> {
    let (version, artifact) = registry
        .current()
        .map_err(PipelineError::registry("reading the active model"))?
        .ok_or_else(|| PipelineError::Input("no active model in the registry".into()))?;
    let forecaster = Forecaster::new(artifact)
        .map_err(|e| PipelineError::model("starting the model")(e.into()))?;
    let sc = Scenario::new(&chain.history, plan)
        .map_err(PipelineError::model("building the forecast grid"))?;
    let rows = forecaster
        .forecast_requests(&sc, &chain.stores, plan)
        .map_err(PipelineError::model("forecasting"))?;
    let open: Vec<storecast_store::ForecastRow> = rows
        .iter()
        .filter(|f| f.open)
        .map(storecast_store::ForecastRow::from)
        .collect();
    store
        .record_forecasts(actor, &version, &open)
        .map_err(PipelineError::store("recording the issued forecasts"))?;
    Ok((version, rows))
}

/// Ingests the week's delivery; a refusal is an alert (nothing was written).
fn take_actuals(
    store: &Store,
    delivery: Delivery<'_>,
    base: &ChainData,
) -> Result<Result<usize, String>, PipelineError> {
    let options = storecast_store::IngestOptions::default();
    match ingest(store, delivery, &base.stores, &options)? {
        Ingested::Stored(o) => Ok(Ok(o.inserted)),
        Ingested::Refused(report) => {
            let errors = report.summary.errors;
            let message = format!(
                "{} was refused ({errors} failed checks); nothing was stored: fix and deliver it again",
                delivery.name
            );
            let alert = NewAlert {
                kind: AlertKind::Ingest,
                scope: format!("file {}", delivery.name),
                value: errors as f64,
                threshold: 0.0,
                message: message.clone(),
            };
            store
                .record_alert(delivery.actor, &alert)
                .map_err(PipelineError::store("recording the refusal's alert"))?;
            Ok(Err(message))
        }
    }
}

/// The retrain the policy asks for now, if any: the schedule (weeks of stored actuals past
/// the newest registered model's training end), else an alert of a kind that brings it forward.
fn retrain_reason(
    settings: &OpsSettings,
    store: &Store,
    registry: &Registry,
    run: &MonitorRun,
) -> Result<Option<RetrainReason>, PipelineError> {
    let (_, range) = store
        .actuals_summary()
        .map_err(PipelineError::store("reading the stored actuals"))?;
    let trained = registry
        .list()
        .map_err(PipelineError::registry("listing the registry"))?
        .iter()
        .filter_map(|v| v.train_end)
        .max();
    if let (Some((_, last)), Some(trained)) = (range, trained) {
        let weeks = u32::try_from((last - trained).num_days() / 7).unwrap_or(0);
        if settings.every_weeks > 0 && weeks >= settings.every_weeks {
            return Ok(Some(RetrainReason::Schedule { weeks }));
        }
    }
    Ok(run
        .fresh
        .iter()
        .find(|a| settings.early_on.contains(&a.kind))
        .map(|a| RetrainReason::Alert {
            alert: a.kind,
            scope: a.scope.clone(),
        }))
}

/// Runs one week of operations on `store` and `registry` (`base`: the store table).
pub fn run_week(
    store: &Store,
    registry: &Registry,
    base: &ChainData,
    settings: &OpsSettings,
    week: Week<'_>,
    progress: &mut dyn Progress,
) -> Result<WeekOutcome, PipelineError> {
    let chain = chain_from_db(with_plan(base, week.plan), store)?;
    let (served, issued) = issue(store, registry, &chain, week.plan, &settings.actor)?;
    drop(chain);
    let ingested = match week.actuals {
        Some(d) => Some(take_actuals(store, d, base)?),
        None => None,
    };
    let monitored = monitor(
        store,
        registry,
        with_plan(base, week.plan),
        &settings.monitor,
    )?;
    let retrain = match retrain_reason(settings, store, registry, &monitored)? {
        None => None,
        Some(reason) => {
            let r = retrain(
                store,
                registry,
                with_plan(base, week.plan),
                &settings.retrain,
                &settings.monitor,
                &settings.actor,
                progress,
            )?;
            let last_fold_rmspe = r
                .backtest
                .scores
                .iter()
                .filter(|s| s.model == storecast_model::backtest::MODEL)
                .max_by_key(|s| s.fold)
                .map(|s| s.metrics.rmspe);
            Some(WeekRetrain {
                reason,
                version: r.version,
                decision: r.decision.reason,
                promoted: r.promoted,
                last_fold_rmspe,
            })
        }
    };
    Ok(WeekOutcome {
        start: week.start,
        served,
        issued,
        ingested,
        monitor: Some(monitored),
        retrain,
    })
}
