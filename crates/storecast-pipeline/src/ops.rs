//! The operations jobs: a monitor run (live accuracy, drift, alerts recorded once) and a
//! retrain with its promotion decision (registered, audited, promoted only when the policy
//! allows), on the actuals the database holds.
//!
//! Why here: the weekly operations step, its replay and the app's operations pages run the
//! same monitor and the same promotion rule as the CLI; a decision taken in two places would
//! drift.

use crate::error::PipelineError;
use crate::progress::{training_events, Progress};
use storecast_data::ChainData;
use storecast_explain::table::Filled;
use storecast_model::backtest::{BacktestConfig, BacktestResult, MODEL};
use storecast_model::{training, Forecaster, ModelArtifact, Timeline};
use storecast_monitor::{Decision, MonitorConfig, MonitorReport};
use storecast_store::audit::actions;
use storecast_store::{Alert, Registry, Store, Switch};

/// The chain as the database knows it: its ingested actuals, with the store table and plan
/// of `base` (the data directory).
pub fn chain_from_db(base: ChainData, store: &Store) -> Result<ChainData, PipelineError> {
    let history = store
        .history()
        .map_err(PipelineError::store("reading the actuals"))?;
    if history.is_empty() {
        return Err(PipelineError::Input(
            "the database holds no actuals yet: ingest them first (`storecast ingest --file train.csv`)".into(),
        ));
    }
    Ok(ChainData {
        history,
        stores: base.stores,
        requests: base.requests,
        fingerprint: store
            .actuals_fingerprint()
            .map_err(PipelineError::store("fingerprinting the actuals"))?,
        origin: "ingested actuals".into(),
    })
}

/// The monitoring thresholds and promotion policy of `path` (JSON; defaults when `None`),
/// checked.
pub fn monitor_config(path: Option<&std::path::Path>) -> Result<MonitorConfig, PipelineError> {
    let cfg: MonitorConfig = match path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .map_err(|e| PipelineError::Input(format!("reading {}: {e}", p.display())))?;
            serde_json::from_slice(&bytes).map_err(|e| {
                PipelineError::Input(format!(
                    "{} is not a valid monitor config: {e}",
                    p.display()
                ))
            })?
        }
        None => MonitorConfig::default(),
    };
    cfg.validate()
        .map_err(|e| PipelineError::Input(format!("monitor config: {e}")))?;
    Ok(cfg)
}

/// What a monitor run found.
#[derive(Debug)]
pub struct MonitorRun {
    /// The active model's version.
    pub version: String,
    /// Live accuracy, coverage, drift, CUSUM and the alerts raised.
    pub report: MonitorReport,
    /// Alerts new in this run (recorded now).
    pub fresh: Vec<storecast_store::NewAlert>,
    /// Every open alert after the run.
    pub open: Vec<Alert>,
}

/// The chain for drift: the database's actuals, preceded by the days of `base` before the
/// first of them (a server whose database holds only the deliveries since its history still
/// has last year's weeks to compare with).
fn chain_for_monitoring(base: ChainData, store: &Store) -> Result<ChainData, PipelineError> {
    let early = base.history.clone();
    let mut chain = chain_from_db(base, store)?;
    let Some((first, _)) = chain.history.date_range() else {
        return Ok(chain);
    };
    let mut history = storecast_data::SalesHistory::default();
    for i in (0..early.len()).filter(|&i| early.date[i] < first) {
        history.push(early.row(i), early.line[i]);
    }
    if history.is_empty() {
        return Ok(chain);
    }
    for i in 0..chain.history.len() {
        history.push(chain.history.row(i), chain.history.line[i]);
    }
    chain.history = history;
    Ok(chain)
}

/// Scores the issued forecasts of `artifact`'s model against the ingested actuals and measures
/// drift against the same weeks last year, recording nothing: what the app's monitoring page
/// shows, and the first half of [`monitor`].
pub fn assess(
    store: &Store,
    artifact: &ModelArtifact,
    base: ChainData,
    cfg: &MonitorConfig,
) -> Result<MonitorReport, PipelineError> {
    let types = storecast_monitor::store_types(&base.stores);
    let rows = store
        .forecast_vs_actual(Some(&artifact.model_version))
        .map_err(PipelineError::store("reading issued forecasts"))?;
    if rows.is_empty() {
        // Nothing scored yet (no actuals of the forecast days): an empty report, not an error.
        return storecast_monitor::evaluate(&rows, &types, Some(artifact), Vec::new(), cfg)
            .map_err(|e| PipelineError::Input(format!("monitor: {e}")));
    }
    let chain = chain_for_monitoring(base, store)?;
    let drift: Result<_, String> = match (
        Timeline::build(&chain.history, chain.requests.as_ref()),
        rows.first(),
        rows.last(),
    ) {
        (Some(tl), Some(first), Some(last)) => {
            let origin = tl.day_index(artifact.train_end).map_or(0, |d| d + 1);
            let cur = storecast_monitor::window_cells(
                &tl,
                first.forecast.date.min(last.forecast.date),
                first.forecast.date.max(last.forecast.date),
            );
            let reference = storecast_monitor::seasonal_reference(&tl, &cur);
            storecast_monitor::feature_drift(&tl, &chain.stores, &cur, &reference, origin, cfg)
                .map_err(|e| e.to_string())
        }
        _ => Err("the actuals and the history hold no day to compare".to_string()),
    };
    let (drift, unavailable) = match drift {
        Ok(d) => (d, None),
        Err(why) => {
            tracing::warn!("input drift not measured: {why}");
            (Vec::new(), Some(format!("input drift not measured: {why}")))
        }
    };
    let mut report = storecast_monitor::evaluate(&rows, &types, Some(artifact), drift, cfg)
        .map_err(|e| PipelineError::Input(format!("monitor: {e}")))?;
    report.drift_unavailable = unavailable;
    Ok(report)
}

/// Scores the active model's issued forecasts against the ingested actuals, measures drift
/// against the same weeks last year, and records the alerts not already open.
pub fn monitor(
    store: &Store,
    registry: &Registry,
    base: ChainData,
    cfg: &MonitorConfig,
) -> Result<MonitorRun, PipelineError> {
    let (version, artifact) = registry
        .current()
        .map_err(PipelineError::registry("reading the active model"))?
        .ok_or_else(|| PipelineError::Input("no active model in the registry".into()))?;
    let report = assess(store, &artifact, base, cfg)?;
    let fresh = record_alerts(store, &report)?;
    let open = store
        .alerts(true)
        .map_err(PipelineError::store("reading alerts"))?;
    Ok(MonitorRun {
        version,
        report,
        fresh,
        open,
    })
}

/// Records the alerts of `report` that are not already open; returns them.
pub fn record_alerts(
    store: &Store,
    report: &MonitorReport,
) -> Result<Vec<storecast_store::NewAlert>, PipelineError> {
    let open = store
        .alerts(true)
        .map_err(PipelineError::store("reading alerts"))?;
    let fresh = storecast_monitor::fresh_alerts(&report.alerts, &open);
    for a in &fresh {
        store
            .record_alert("monitor", a)
            .map_err(PipelineError::store("recording an alert"))?;
    }
    Ok(fresh)
}

/// What a retrain did.
#[derive(Debug)]
pub struct Retrained {
    /// The candidate's registered version.
    pub version: String,
    /// Its backtest.
    pub backtest: BacktestResult,
    /// The promotion decision and its reason.
    pub decision: Decision,
    /// The switch, when the candidate was promoted.
    pub promoted: Option<Switch>,
    /// Its explanation table in the registry (`None` without a forecast horizon).
    pub explanations: Option<Result<Filled, String>>,
}

/// Retrains on the ingested actuals, registers the candidate (audited), decides on the
/// promotion against the active model re-scored on the candidate's last fold, and promotes
/// (audited) or records the refusal with its reason.
pub fn retrain(
    store: &Store,
    registry: &Registry,
    base: ChainData,
    backtest: &BacktestConfig,
    cfg: &MonitorConfig,
    actor: &str,
    progress: &mut dyn Progress,
) -> Result<Retrained, PipelineError> {
    let chain = chain_from_db(base, store)?;
    let trained = {
        let mut events = training_events(progress);
        training::train(&chain, backtest, &mut events)
            .map_err(|e| PipelineError::model("retraining")(e.into()))?
    };
    let mut cand = trained.artifact;
    registry.sign(&mut cand);
    let decision = decide(registry, &chain, &cand, &trained.backtest, cfg)?;
    let r = store
        .audited(
            actor,
            actions::MODEL_REGISTER,
            &cand.model_version,
            serde_json::json!({"source": "retrain"}),
            || registry.register(&cand),
        )
        .map_err(|e| PipelineError::Store(format!("registering the candidate: {e}")))?;
    let cache = crate::train::cache_store(registry, registry.dir());
    let explanations = crate::train::explain_ahead(&chain, &cand, &cache, progress);
    let promoted = if decision.promote {
        Some(crate::models::promote(
            registry,
            store,
            &r.version,
            actor,
            Some(&decision.reason),
        )?)
    } else {
        store
            .audit(
                actor,
                actions::MODEL_PROMOTION_REFUSED,
                &r.version,
                serde_json::json!({"reason": decision.reason}),
            )
            .map_err(PipelineError::Audit)?;
        None
    };
    Ok(Retrained {
        version: r.version,
        backtest: trained.backtest,
        decision,
        promoted,
        explanations,
    })
}

/// The promotion decision for `cand`: against the active model re-scored on the candidate's
/// last fold when it was trained before that fold; on the fold's days after its training when
/// it was trained inside it (weekly retraining); else on each one's recorded scores; promoted
/// at once when none is active.
fn decide(
    registry: &Registry,
    chain: &ChainData,
    cand: &storecast_model::ModelArtifact,
    backtest: &BacktestResult,
    cfg: &MonitorConfig,
) -> Result<Decision, PipelineError> {
    let current = registry
        .current()
        .map_err(PipelineError::registry("reading the active model"))?;
    let Some((version, current)) = current else {
        return Ok(storecast_monitor::decide_promotion(
            cand,
            None,
            &cfg.promotion,
        ));
    };
    let policy = &cfg.promotion;
    let Some(fold) = cand.last_fold_score(MODEL).map(|(f, _)| f.clone()) else {
        return Ok(storecast_monitor::decide_promotion(
            cand,
            Some(&current),
            policy,
        ));
    };
    let rescore = |fold: &storecast_model::backtest::Fold| {
        let f = Forecaster::new(current.clone()).map_err(|e| e.to_string())?;
        storecast_monitor::rescore_current(&f, &chain.history, &chain.stores, fold)
            .map_err(|e| e.to_string())
    };
    if current.train_end < fold.origin {
        return Ok(match rescore(&fold) {
            Ok(m) => storecast_monitor::decide_promotion_rescored(cand, &version, &m, policy),
            Err(e) => {
                let why = format!("the active model {version} could not be re-scored on the candidate's fold ({e}), so the two were not compared on the same days; check the cause, or promote by hand");
                tracing::warn!("{why}");
                storecast_monitor::decide_promotion(cand, Some(&current), policy).refused(&why)
            }
        });
    }
    let from = current.train_end + chrono::Duration::days(1);
    if from > fold.end {
        return Ok(storecast_monitor::decide_promotion(
            cand,
            Some(&current),
            policy,
        ));
    }
    let after = storecast_model::backtest::Fold {
        origin: from,
        ..fold.clone()
    };
    match rescore(&after) {
        Ok(m) => {
            let c = storecast_monitor::candidate_on_days(
                &backtest.predictions,
                fold.index,
                from,
                fold.end,
            );
            Ok(storecast_monitor::decide_promotion_same_days(
                cand,
                &c,
                &version,
                &m,
                (from, fold.end),
                policy,
            ))
        }
        Err(e) => {
            let why = format!("the active model {version} could not be scored on the fold's days after its training ({e}), so the two were not compared on the same days; check the cause, or promote by hand");
            tracing::warn!("{why}");
            Ok(storecast_monitor::decide_promotion(cand, Some(&current), policy).refused(&why))
        }
    }
}
