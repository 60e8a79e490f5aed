//! The validation job: every quality rule on a load, the report written as JSON and HTML where
//! asked.
//!
//! Why a job: the CLI's `validate`, the demo and an ingestion from the app check data the same
//! way and write the same files.

use crate::error::PipelineError;
use crate::reports::write;
use std::path::PathBuf;
use storecast_data::LoadReport;
use storecast_validate::{render, ValidateConfig, ValidationReport};

/// Where the report goes besides the result.
#[derive(Debug, Clone, Default)]
pub struct ValidateSettings {
    /// The full report as JSON.
    pub json: Option<PathBuf>,
    /// A self-contained HTML report.
    pub html: Option<PathBuf>,
}

/// What the validation found and wrote.
#[derive(Debug)]
pub struct Validated {
    /// The report.
    pub report: ValidationReport,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Runs every rule on `load` and writes the report where `settings` says.
pub fn validate(
    load: &LoadReport,
    settings: &ValidateSettings,
) -> Result<Validated, PipelineError> {
    let report = storecast_validate::validate(load, &ValidateConfig::default());
    let rendering = |e: storecast_validate::render::RenderError| {
        PipelineError::Input(format!("rendering the validation report: {e}"))
    };
    let mut files = Vec::new();
    if let Some(path) = &settings.json {
        write(path, render::to_json(&report).map_err(rendering)?)?;
        files.push(path.clone());
    }
    if let Some(path) = &settings.html {
        write(path, render::to_html(&report).map_err(rendering)?)?;
        files.push(path.clone());
    }
    Ok(Validated { report, files })
}
