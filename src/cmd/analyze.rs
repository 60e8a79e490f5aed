//! `storecast analyze` and `storecast bench analyze`: the statistical analysis for sales teams.

use crate::cli::DataArgs;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_analysis::{analyze, AnalysisConfig};
use storecast_validate::{validate, ValidateConfig};

/// Runs the analysis and writes its three outputs (plus the body for the web app).
pub fn write(
    load: &storecast_data::LoadReport,
    out: &Path,
) -> Result<storecast_analysis::Analysis> {
    let validation = validate(load, &ValidateConfig::default());
    let t = Instant::now();
    let a = analyze(&load.data, Some(&validation), &AnalysisConfig::default());
    eprintln!("analysis computed in {:.1} s", t.elapsed().as_secs_f64());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    storecast_analysis::write_outputs(&a, out).context("writing the analysis")?;
    crate::cmd::write_file(
        &out.join("validation.html"),
        storecast_validate::render::to_html(&validation)?.as_bytes(),
    )?;
    Ok(a)
}

pub fn run(data: &DataArgs, out: &Path) -> Result<ExitCode> {
    let load = crate::input::load(data)?;
    let a = write(&load, out)?;
    for h in &a.headlines {
        println!("{}. {}", h.rank, h.text);
    }
    eprintln!(
        "wrote {0}/analysis.html, analysis.md, analysis.json (and validation.html for its links)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
