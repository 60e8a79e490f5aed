//! `storecast validate`: run every rule, print the summary, write JSON/HTML, exit 0/1/2.

use crate::cli::DataArgs;
use crate::cmd::write_file;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use storecast_validate::{render, validate, ValidateConfig};

pub fn run(
    data: &DataArgs,
    json: Option<&Path>,
    html: Option<&Path>,
    examples: usize,
) -> Result<ExitCode> {
    let load = crate::input::load(data)?;
    let report = validate(&load, &ValidateConfig::default());
    print!("{}", render::to_text(&report, examples));
    if let Some(path) = json {
        write_file(path, render::to_json(&report)?.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = html {
        write_file(path, render::to_html(&report)?.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
