//! The forecasting model: features as of a forecast origin, LightGBM and the baselines it must
//! beat, rolling-origin backtests with the real six-week horizon, and versioned artifacts.
//!
//! Why one crate: these pieces share one contract (what is known at the origin) and are tested
//! together against it (the leakage test perturbs data after the origin and checks that no
//! feature moves).

pub mod cores;
pub mod ensemble;
pub mod features;
pub mod flat;
pub mod gbdt;
pub mod kind;
pub mod metrics;
pub mod shap;
pub mod timeline;

pub use ensemble::Ensemble;
pub use features::{Driver, Frame, FEATURE_DRIVERS, FEATURE_NAMES, N_FEATURES};
pub use gbdt::{Gbdt, GbdtError, GbdtParams, Objective, TreeEngine};
pub use kind::ModelKind;
pub use metrics::Metrics;
pub use timeline::{OpenState, Timeline};

use timeline::OpenState as O;

/// Store-days before `origin` that train the model: open, with sales > 0.
pub fn training_cells(tl: &Timeline, origin: usize) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for s in 0..tl.stores.len() {
        for d in 0..origin.min(tl.days) {
            if tl.plan(s, d as isize).open == O::Open
                && tl
                    .sales_before(s, d as isize, origin)
                    .is_some_and(|v| v > 0.0)
            {
                out.push((s as u32, d as u32));
            }
        }
    }
    out
}

/// Store-days in `[origin, origin + horizon)` planned open (closed days are forecast as 0).
pub fn horizon_cells(tl: &Timeline, origin: usize, horizon: usize) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for s in 0..tl.stores.len() {
        for d in origin..(origin + horizon).min(tl.days) {
            if tl.plan(s, d as isize).open == O::Open {
                out.push((s as u32, d as u32));
            }
        }
    }
    out
}
pub mod backtest;
pub mod baselines;
pub mod origins;

/// Log sales of each row of a training frame.
pub fn log_targets(tl: &Timeline, frame: &Frame) -> Vec<f32> {
    frame
        .rows
        .iter()
        .map(|&(s, d)| tl.actual_sales(s as usize, d as usize).map_or(0.0, f32::ln))
        .collect()
}
pub mod artifact;
pub mod forecaster;
pub mod intervals;
pub mod lfl;
pub mod training;

pub use artifact::ModelArtifact;
pub use forecaster::{DayForecast, ForecastError, Forecaster, Scenario};
