//! Production monitoring of the forecasts the app has issued.
//!
//! Why this crate exists: a model that backtested well can still go wrong in production: the
//! chain changes (new promotion patterns, refurbishments, a competitor wave), data deliveries
//! drift, or the intervals turn out too narrow. Managers only trust a forecast that someone
//! watches. This crate holds the computations of that watch, free of I/O so each can be tested
//! on hand-made numbers:
//!
//! - [`accuracy`]: live RMSPE, WAPE, bias and 80/95 % interval coverage of issued forecasts
//!   against the actuals that arrived later, for the chain, each store type, store and ISO week;
//! - [`drift`]: input drift of every model feature (population stability index), against the
//!   same weeks one year earlier so that seasonality is not mistaken for drift;
//! - [`cusum`]: a two-sided CUSUM per store on standardised log-errors, which finds a lasting
//!   shift in a store's errors days after it starts, while a 6-week RMSPE would dilute it;
//! - [`report`]: [`evaluate`] turns threshold breaches into alert records for
//!   `storecast-store`, and [`prometheus_gauges`] renders the headline numbers for `/metrics`;
//! - [`promotion`]: whether a retrained candidate may replace the active model.
//!
//! Every threshold comes from [`MonitorConfig`] (serde, TOML-friendly, documented defaults).

pub mod accuracy;
pub mod config;
pub mod cusum;
pub mod drift;
pub mod prometheus;
pub mod promotion;
pub mod replay;
pub mod report;

pub use accuracy::{
    by_horizon_week, live_accuracy, store_types, Accuracy, HorizonAccuracy, LiveAccuracy,
    StoreAccuracy, TypeAccuracy, WeekAccuracy,
};
pub use config::{CusumConfig, MonitorConfig, PromotionPolicy, SigmaSource};
pub use cusum::{cusum_path, store_cusums, CusumAlarm, CusumPath, Direction, StoreCusum};
pub use drift::{
    feature_drift, psi, seasonal_reference, window_cells, DriftLevel, FeatureDrift,
    SEASONAL_LAG_DAYS,
};
pub use prometheus::prometheus_gauges;
pub use promotion::{
    candidate_on_days, decide_promotion, decide_promotion_rescored, decide_promotion_same_days,
    rescore_current, Basis, Decision,
};
pub use report::{evaluate, fresh_alerts, AlertKind, MonitorReport, Thresholds};

use thiserror::Error;

/// Errors of the monitor.
#[derive(Debug, Error)]
pub enum MonitorError {
    /// A configuration value is out of range.
    #[error("invalid monitor configuration: {0}")]
    Config(String),
    /// The rows mix forecasts of several model versions (monitor one version at a time).
    #[error("forecast rows of several model versions ({0}): monitor one version at a time")]
    MixedVersions(String),
    /// The rows were issued by another model than the one given as reference.
    #[error("forecast rows are of model {rows}, the reference artifact is {artifact}")]
    WrongModel {
        /// Version found in the rows.
        rows: String,
        /// Version of the artifact.
        artifact: String,
    },
    /// A drift sample is empty or cannot be placed on the grid.
    #[error("drift: {0}")]
    Drift(String),
    /// Re-scoring the current model is impossible or would not be out of sample.
    #[error("rescoring: {0}")]
    Rescore(String),
    /// The Prometheus gauges could not be built or written.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The model failed while re-scoring.
    #[error(transparent)]
    Forecast(#[from] storecast_model::ForecastError),
}
