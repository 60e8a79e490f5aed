//! The replay: operations run week by week over a stretch of history, as if it were live. A
//! model trained on the history before `from` only is served; then for each week the
//! operations step ([`crate::operations::run_week`]) issues the next six weeks, ingests that
//! week's actuals (taken from the history, delivered as a train.csv file), monitors and
//! retrains by policy. Each week is scored on what was issued for it: live RMSPE, WAPE, bias
//! and 80/95 % coverage of the forecasts issued at its start, and RMSPE by horizon week of
//! those issued one to five weeks earlier.
//!
//! Why: a chain buys operations when it sees them keep the forecasts good week after week;
//! the replay is that evidence on the real data, and its short synthetic twin is a test.

use crate::error::PipelineError;
use crate::ingest::Delivery;
use crate::operations::{run_week, OpsSettings, Week};
use crate::progress::Progress;
use crate::reports::write;
use crate::train::{train, TrainSettings};
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use storecast_data::{ChainData, ForecastRequest, ForecastRequests, SalesHistory};
use storecast_model::backtest::BacktestConfig;
use storecast_model::DayForecast;
pub use storecast_monitor::replay::{Replay, ReplayWeek};
use storecast_monitor::Accuracy;
use storecast_store::{ForecastRow, ForecastVsActual, Registry, Store};

/// The replay's steps as they report.
pub mod replay_steps {
    /// Storing the history before the replay.
    pub const HISTORY: &str = "history";
    /// The weeks replayed (units: weeks).
    pub const WEEKS: &str = "replay weeks";
}

/// Weeks a forecast covers.
pub const HORIZON_WEEKS: u32 = 6;

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplaySettings {
    /// The first day replayed (the first forecast's first day).
    pub from: NaiveDate,
    /// Weeks replayed.
    pub weeks: u32,
    /// Output folder: database, registry, models, replay.json, replay.html and replay.md.
    pub out: PathBuf,
    /// How the first model (history before `from`) trains.
    pub initial: BacktestConfig,
    /// The operations: monitoring, retrain policy and training, actor.
    pub ops: OpsSettings,
}

/// The rows of `h` whose date is in `[from, to)`.
fn rows_between(h: &SalesHistory, from: NaiveDate, to: NaiveDate) -> Vec<usize> {
    (0..h.len())
        .filter(|&i| h.date[i] >= from && h.date[i] < to)
        .collect()
}

/// The rows `idx` of `h` as a train.csv file.
fn as_csv(h: &SalesHistory, idx: &[usize]) -> Result<Vec<u8>, PipelineError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| PipelineError::Input(format!("writing actuals: {e}"));
    w.write_record(storecast_data::history::COLUMNS)
        .map_err(fail)?;
    for &i in idx {
        let r = h.row(i);
        w.write_record([
            r.store.to_string(),
            r.day_of_week.to_string(),
            r.date.to_string(),
            r.sales.to_string(),
            r.customers.to_string(),
            u8::from(r.open).to_string(),
            u8::from(r.promo).to_string(),
            r.state_holiday.code().to_string(),
            u8::from(r.school_holiday).to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| PipelineError::Input(format!("writing actuals: {e}")))
}

/// The rows `idx` of `h` as a plan (what was known ahead: open, promotion, holidays).
fn as_plan(h: &SalesHistory, idx: &[usize]) -> ForecastRequests {
    let rows = idx
        .iter()
        .enumerate()
        .map(|(n, &i)| ForecastRequest::known_ahead(&h.row(i), n as u32 + 1, n as u32 + 2))
        .collect();
    ForecastRequests { rows }
}

/// The issued forecasts `issued` for the days in `[from, to)` against the actuals.
fn scored(
    issued: &[DayForecast],
    version: &str,
    actual: &HashMap<(u16, NaiveDate), (i32, bool, i32)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<ForecastVsActual> {
    issued
        .iter()
        .filter(|f| f.open && f.date >= from && f.date < to)
        .filter_map(|f| {
            let &(sales, open, customers) = actual.get(&(f.store, f.date))?;
            Some(ForecastVsActual {
                model_version: version.to_string(),
                issued_at: String::new(),
                forecast: ForecastRow::from(f),
                actual_sales: sales,
                actual_open: open,
                actual_customers: customers,
            })
        })
        .collect()
}

/// The history before `from` stored in a fresh database, and the first model trained on it,
/// registered and promoted.
fn start(
    chain: &ChainData,
    settings: &ReplaySettings,
    store: &Store,
    registry: &Registry,
    progress: &mut dyn Progress,
) -> Result<String, PipelineError> {
    let h = &chain.history;
    let before = rows_between(h, NaiveDate::MIN, settings.from);
    if before.is_empty() {
        return Err(PipelineError::Input(format!(
            "no history before {}",
            settings.from
        )));
    }
    progress.report(replay_steps::HISTORY, 0, 1);
    let bytes = as_csv(h, &before)?;
    let actor = settings.ops.actor.as_str();
    let delivery = Delivery {
        bytes: &bytes,
        name: "history-before-replay.csv",
        actor,
    };
    if let crate::Ingested::Refused(r) =
        crate::ingest(store, delivery, &chain.stores, &Default::default())?
    {
        let n = r.summary.errors;
        return Err(PipelineError::Input(format!(
            "the history before the replay was refused ({n} errors)"
        )));
    }
    progress.report(replay_steps::HISTORY, 1, 1);
    let first_plan = as_plan(
        h,
        &rows_between(
            h,
            settings.from,
            settings.from + Duration::weeks(HORIZON_WEEKS.into()),
        ),
    );
    let initial =
        crate::ops::chain_from_db(crate::operations::with_plan(chain, &first_plan), store)?;
    let file = settings.out.join("initial").join("model.json");
    let trained = train(
        &initial,
        &TrainSettings {
            backtest: settings.initial.clone(),
            out: file.clone(),
            registry: registry.dir().to_path_buf(),
            provisional: false,
        },
        progress,
    )?;
    crate::models::register(registry, store, &file, actor)?;
    let version = trained.artifact.model_version;
    crate::models::promote(
        registry,
        store,
        &version,
        actor,
        Some("the replay's first model"),
    )?;
    Ok(version)
}

/// Replays `settings.weeks` weeks of `chain`'s history from `settings.from`.
pub fn replay(
    chain: &ChainData,
    settings: &ReplaySettings,
    progress: &mut dyn Progress,
) -> Result<Replay, PipelineError> {
    let t = Instant::now();
    let store = Store::open(settings.out.join("replay.db"))
        .map_err(PipelineError::store("opening the replay's database"))?;
    let registry = Registry::open(settings.out.join("registry"))
        .map_err(PipelineError::registry("opening the replay's registry"))?;
    let initial_model = start(chain, settings, &store, &registry, progress)?;
    let h = &chain.history;
    let horizon = Duration::weeks(HORIZON_WEEKS.into());
    let end = settings.from + Duration::weeks(settings.weeks.into());
    let actual: HashMap<(u16, NaiveDate), (i32, bool, i32)> = rows_between(h, settings.from, end)
        .into_iter()
        .map(|i| {
            (
                (h.store[i], h.date[i]),
                (h.sales[i], h.open[i], h.customers[i]),
            )
        })
        .collect();
    let mut issued: Vec<(String, Vec<DayForecast>)> = Vec::new();
    let mut weeks = Vec::new();
    for w in 0..settings.weeks {
        progress.report(replay_steps::WEEKS, w.into(), settings.weeks.into());
        let start = settings.from + Duration::weeks(w.into());
        let next = start + Duration::weeks(1);
        let plan = as_plan(h, &rows_between(h, start, start + horizon));
        let bytes = as_csv(h, &rows_between(h, start, next))?;
        let name = format!("actuals-{start}.csv");
        let delivery = Delivery {
            bytes: &bytes,
            name: &name,
            actor: &settings.ops.actor,
        };
        let week = Week {
            start,
            plan: &plan,
            actuals: Some(delivery),
        };
        let o = run_week(&store, &registry, chain, &settings.ops, week, progress)?;
        issued.push((o.served.clone(), o.issued));
        let by_horizon = issued
            .iter()
            .rev()
            .take(HORIZON_WEEKS as usize)
            .enumerate()
            .map(|(ago, (version, rows))| {
                let a = Accuracy::compute(&scored(rows, version, &actual, start, next));
                (ago as u32, a.rmspe, a.n)
            })
            .collect();
        let (version, rows) = &issued[issued.len() - 1];
        let live = Accuracy::compute(&scored(rows, version, &actual, start, next));
        let monitor = o.monitor.as_ref();
        weeks.push(ReplayWeek {
            start,
            served: o.served,
            live,
            by_horizon,
            ingested: o.ingested.unwrap_or(Ok(0)),
            alerts: monitor.map_or_else(Vec::new, |m| m.fresh.clone()),
            cusum_alarms: monitor.map_or(0, |m| m.report.cusum_alarms),
            retrain: o.retrain,
        });
    }
    progress.report(
        replay_steps::WEEKS,
        settings.weeks.into(),
        settings.weeks.into(),
    );
    let replay = Replay {
        from: settings.from,
        initial_model,
        weeks,
        every_weeks: settings.ops.every_weeks,
        early_on: settings.ops.early_on.clone(),
        retrain_trees: settings.ops.retrain.params.num_trees,
        retrain_folds: settings.ops.retrain.folds,
        seconds: t.elapsed().as_secs_f64(),
    };
    let json =
        serde_json::to_vec_pretty(&replay).map_err(|e| PipelineError::Input(e.to_string()))?;
    write(&settings.out.join("replay.json"), json)?;
    let doc = storecast_reports::replay::replay(&replay, &chain.origin);
    write(&settings.out.join("replay.html"), doc.to_html()?)?;
    write(&settings.out.join("replay.md"), doc.to_markdown())?;
    Ok(replay)
}
