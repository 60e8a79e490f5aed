//! The jobs of storecast as library calls: input (data location, synthetic fallback, a model
//! on the plan), analysis and model reports, the business report, backtest, train, forecast
//! export, ingest, monitor, retrain-and-promote, the registry's audited actions, demo. The
//! CLI, the web app, a scheduler and a replay all run the same code the same way.
//!
//! Why this crate exists: a job (train a model, export a forecast, ...) is more than one
//! model call: it loads, signs, saves, writes companion files and reports what it did. When
//! that lived in the binary, nothing else could run it, and every caller that needed it
//! (a first page within a minute, a weekly operations step, uploads from the app) would have
//! copied it. Here each job takes typed settings, returns a typed result, reports progress
//! through [`Progress`] (step, done, total) and never prints: rendering is the caller's.
//! Nothing here depends on the web crate.

pub mod background;
pub mod backtest;
pub mod daemon;
pub mod demo;
pub mod error;
pub mod forecast;
pub mod ingest;
pub mod input;
pub mod models;
pub mod operations;
pub mod ops;
pub mod origins;
pub mod progress;
pub mod replay;
pub mod reports;
pub mod train;
pub mod validate;

pub use backtest::{backtest, BacktestRun, BacktestSummary};
pub use demo::{complete, demo, DemoPaths, DemoResult, DemoSettings, DemoStart, FirstModel};
pub use error::PipelineError;
pub use forecast::{export_forecast, ForecastExport, ForecastSettings};
pub use ingest::{ingest, Delivery, Ingested};
pub use ops::{chain_from_db, monitor, retrain, MonitorRun, Retrained};
pub use progress::{Progress, Recorder, Silent};
pub use train::{
    backtest_config, provisional_config, score_rows, train, train_distributed, ModelSettings,
    ScoreRow, TrainResult, TrainSettings, TrainSummary,
};
pub use validate::{validate, ValidateSettings, Validated};
