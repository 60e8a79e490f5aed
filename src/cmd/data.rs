//! `storecast validate`, `analyze` and `synth`: the data's quality report, the statistical
//! analysis, and a synthetic chain with planted effects.

use crate::cli::{DataArgs, SynthArgs, ValidateArgs};
use crate::cmd::{load, print_json};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_validate::render;

/// Runs every rule, prints the summary, writes JSON/HTML; exit 0 or 1 (2 when unreadable).
pub fn validate(a: &ValidateArgs) -> Result<ExitCode> {
    let to_stdout = a.json.as_deref() == Some(Path::new("-"));
    let settings = storecast_pipeline::ValidateSettings {
        json: a.json.clone().filter(|_| !to_stdout),
        html: a.html.clone(),
    };
    let v = storecast_pipeline::validate(&load(&a.data)?, &settings)?;
    let report = v.report;
    if to_stdout {
        print_json(&report)?;
    } else {
        print!("{}", render::to_text(&report, a.examples));
    }
    for f in &v.files {
        eprintln!("wrote {}", f.display());
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The analysis job, its headlines printed.
pub fn analyze(data: &DataArgs, out: &Path) -> Result<ExitCode> {
    let load = load(data)?;
    let settings = storecast_pipeline::ValidateSettings {
        json: None,
        html: Some(out.join("validation.html")),
    };
    let validation = storecast_pipeline::validate(&load, &settings)?.report;
    let t = Instant::now();
    let a = storecast_pipeline::reports::analysis(&load, &validation, out, out)?;
    eprintln!("analysis computed in {:.1} s", t.elapsed().as_secs_f64());
    for h in &a.headlines {
        println!("{}. {}", h.rank, h.text);
    }
    eprintln!(
        "wrote {0}/analysis.html, analysis.md, analysis.json (and validation.html for its links)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a synthetic chain with planted effects.
pub fn synth(a: &SynthArgs) -> Result<ExitCode> {
    let quirks = !a.no_quirks;
    let cfg = storecast_synth::SynthConfig {
        stores: a.stores,
        seed: a.seed,
        quirks,
        ..storecast_synth::SynthConfig::default()
    };
    let chain = storecast_synth::generate(&cfg).context("generating the synthetic chain")?;
    chain
        .write_to_dir(&a.out)
        .with_context(|| format!("writing the synthetic chain to {}", a.out.display()))?;
    eprintln!(
        "wrote a synthetic chain of {} stores (seed {}{}) to {}: train.csv, store.csv, test.csv, test_truth.csv, effects.json",
        a.stores,
        a.seed,
        if quirks { ", with the real data's quirks" } else { ", clean" },
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
