//! `storecast analyze`: the statistical analysis for sales teams (the pipeline's analysis job),
//! its headlines printed.

use crate::cli::DataArgs;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_validate::{validate, ValidateConfig};

pub fn run(data: &DataArgs, out: &Path) -> Result<ExitCode> {
    let load = crate::input::load(data)?;
    let validation = validate(&load, &ValidateConfig::default());
    let t = Instant::now();
    let a = storecast_pipeline::reports::analysis(&load, &validation, out, out)?;
    eprintln!("analysis computed in {:.1} s", t.elapsed().as_secs_f64());
    crate::cmd::write_file(
        &out.join("validation.html"),
        storecast_validate::render::to_html(&validation)?.as_bytes(),
    )?;
    for h in &a.headlines {
        println!("{}. {}", h.rank, h.text);
    }
    eprintln!(
        "wrote {0}/analysis.html, analysis.md, analysis.json (and validation.html for its links)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
