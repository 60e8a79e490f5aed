//! The operations daemon: a folder watched for daily actuals files; each file that lands runs
//! the operations step ([`crate::operations::run_week`]): issue the active model's next six
//! weeks from the plan, ingest the file, monitor, retrain by policy. A stored file moves to
//! `done/`, a refused one to `refused/` with its report beside it.
//!
//! Why it survives a crash: the ingestion is one transaction (rows and audit row together), a
//! registration is written to a temporary file and renamed, a promotion is one audited pointer
//! switch; the file moves only after its step completed. A SIGKILL at any point leaves the
//! database and the registry consistent with the old model active, and the next run re-reads
//! the file (stored rows come back unchanged) and finishes the step. The test kills the
//! daemon during its retrain (tests/cli.rs); the other points rest on the argument above.

use crate::error::PipelineError;
use crate::ingest::Delivery;
use crate::operations::{run_week, OpsSettings, Week, WeekOutcome};
use crate::progress::Progress;
use chrono::Duration;
use std::path::{Path, PathBuf};
use storecast_data::{ChainData, ForecastRequests};
use storecast_store::{Registry, Store};

/// Where processed files go.
pub const DONE: &str = "done";
/// Where refused files go.
pub const REFUSED: &str = "refused";

/// The actuals files waiting in `watch` (`*.csv`, oldest name first).
pub fn pending(watch: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let read = std::fs::read_dir(watch)
        .map_err(|e| PipelineError::Input(format!("reading {}: {e}", watch.display())))?;
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    Ok(files)
}

/// The plan's store-days of the six weeks from the day after the last stored actual.
fn plan_ahead(
    base: &ChainData,
    store: &Store,
) -> Result<(chrono::NaiveDate, ForecastRequests), PipelineError> {
    let (_, range) = store
        .actuals_summary()
        .map_err(PipelineError::store("reading the stored actuals"))?;
    let (_, last) = range.ok_or_else(|| {
        PipelineError::Input("the database holds no actuals yet: ingest the history first".into())
    })?;
    let start = last + Duration::days(1);
    let end = start + Duration::weeks(crate::replay::HORIZON_WEEKS.into());
    let plan = base.requests.as_ref().ok_or_else(|| {
        PipelineError::Input("the data has no plan (test.csv) to forecast".into())
    })?;
    let rows = plan
        .rows
        .iter()
        .filter(|r| r.date >= start && r.date < end)
        .copied()
        .collect();
    Ok((start, ForecastRequests { rows }))
}

/// Runs the step for the file `path` and moves it to `done/` or `refused/`.
pub fn step_file(
    store: &Store,
    registry: &Registry,
    base: &ChainData,
    settings: &OpsSettings,
    path: &Path,
    progress: &mut dyn Progress,
) -> Result<WeekOutcome, PipelineError> {
    let bytes = storecast_data::read_bounded(path)
        .map_err(|e| PipelineError::Input(format!("reading {}: {e}", path.display())))?;
    let name = path.file_name().map_or_else(
        || "actuals.csv".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (start, plan) = plan_ahead(base, store)?;
    let week = Week {
        start,
        plan: &plan,
        actuals: Some(Delivery {
            bytes: &bytes,
            name: &name,
            actor: &settings.actor,
        }),
    };
    let outcome = run_week(store, registry, base, settings, week, progress)?;
    let to = match &outcome.ingested {
        Some(Err(report)) => {
            let dir = path.with_file_name(REFUSED);
            crate::reports::write(&dir.join(format!("{name}.txt")), report)?;
            dir
        }
        _ => path.with_file_name(DONE),
    };
    std::fs::create_dir_all(&to)
        .and_then(|()| std::fs::rename(path, to.join(&name)))
        .map_err(|e| PipelineError::Write {
            path: to.display().to_string(),
            source: e,
        })?;
    Ok(outcome)
}
