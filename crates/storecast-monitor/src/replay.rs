//! The record of operations over weeks (a replay, later a live history): per week the model
//! served, the live accuracy of what it issued, the alerts, the retrain and its decision.
//!
//! Why here: these are monitoring results over time, free of I/O; the operations step fills
//! them, the reports crate turns them into a document, and tests read them.

use crate::Accuracy;
use chrono::NaiveDate;
use serde::Serialize;
use storecast_store::{AlertKind, NewAlert, Switch};

/// Why a retrain ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RetrainReason {
    /// The weekly schedule.
    Schedule {
        /// Weeks since the last training.
        weeks: u32,
    },
    /// An alert brought it forward.
    Alert {
        /// The alert's kind.
        alert: AlertKind,
        /// Where.
        scope: String,
    },
}

impl std::fmt::Display for RetrainReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Schedule { weeks } => write!(f, "scheduled ({weeks} weeks)"),
            Self::Alert { alert, scope } => write!(f, "early: {alert} alert on {scope}"),
        }
    }
}

/// A retrain and its promotion decision.
#[derive(Debug, Clone, Serialize)]
pub struct WeekRetrain {
    /// Why it ran.
    pub reason: RetrainReason,
    /// The candidate's version.
    pub version: String,
    /// The promotion decision's reason.
    pub decision: String,
    /// The switch, when promoted.
    pub promoted: Option<Switch>,
    /// The candidate's last-fold RMSPE.
    pub last_fold_rmspe: Option<f64>,
}

/// One week of operations.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayWeek {
    /// Its first day.
    pub start: NaiveDate,
    /// The model that issued its forecast.
    pub served: String,
    /// The forecasts issued at its start, scored on its actuals.
    pub live: Accuracy,
    /// RMSPE of the forecasts for this week issued `h` weeks before its start (h = 0..5),
    /// with their scored store-days.
    pub by_horizon: Vec<(u32, f64, usize)>,
    /// Rows ingested, or why the delivery was refused.
    pub ingested: Result<usize, String>,
    /// Alerts raised this week (new ones).
    pub alerts: Vec<NewAlert>,
    /// The monitor's CUSUM alarms (all stores, the served model's issued forecasts).
    pub cusum_alarms: usize,
    /// The week's retrain.
    pub retrain: Option<WeekRetrain>,
}

/// Weeks of operations (written as replay.json).
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// The first day replayed.
    pub from: NaiveDate,
    /// The model trained on the history before `from`.
    pub initial_model: String,
    /// Every week.
    pub weeks: Vec<ReplayWeek>,
    /// Retrain schedule in weeks (0: alerts only).
    pub every_weeks: u32,
    /// Alerts that bring a retrain forward.
    pub early_on: Vec<AlertKind>,
    /// Boosting rounds of a retrain.
    pub retrain_trees: u32,
    /// Backtest folds of a retrain.
    pub retrain_folds: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Replay {
    /// The lowest and highest weekly live RMSPE.
    pub fn rmspe_range(&self) -> Option<(f64, f64)> {
        let v: Vec<f64> = self
            .weeks
            .iter()
            .map(|w| w.live.rmspe)
            .filter(|r| r.is_finite())
            .collect();
        let lo = v.iter().copied().reduce(f64::min)?;
        let hi = v.iter().copied().reduce(f64::max)?;
        Some((lo, hi))
    }

    /// Retrains run and promoted.
    pub fn retrains(&self) -> (usize, usize) {
        let run: Vec<&WeekRetrain> = self
            .weeks
            .iter()
            .filter_map(|w| w.retrain.as_ref())
            .collect();
        let promoted = run.iter().filter(|t| t.promoted.is_some()).count();
        (run.len(), promoted)
    }

    /// Alerts raised, by kind.
    pub fn alerts_by_kind(&self) -> Vec<(AlertKind, usize)> {
        AlertKind::ALL
            .into_iter()
            .map(|k| {
                let n = self
                    .weeks
                    .iter()
                    .flat_map(|w| &w.alerts)
                    .filter(|a| a.kind == k)
                    .count();
                (k, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
