//! `storecast validate`, `analyze` and `synth`: the data's quality report, the statistical
//! analysis, and a synthetic chain with planted effects.

use crate::cli::{DataArgs, SynthArgs, ValidateArgs};
use crate::cmd::{load, write_file};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_validate::{render, validate as check, ValidateConfig};

/// Runs every rule, prints the summary, writes JSON/HTML; exit 0 or 1 (2 when unreadable).
pub fn validate(a: &ValidateArgs) -> Result<ExitCode> {
    let report = check(&load(&a.data)?, &ValidateConfig::default());
    print!("{}", render::to_text(&report, a.examples));
    if let Some(path) = &a.json {
        write_file(path, render::to_json(&report)?.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.html {
        write_file(path, render::to_html(&report)?.as_bytes())?;
        eprintln!("wrote {}", path.display());
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
    let validation = check(&load, &ValidateConfig::default());
    let t = Instant::now();
    let a = storecast_pipeline::reports::analysis(&load, &validation, out, out)?;
    eprintln!("analysis computed in {:.1} s", t.elapsed().as_secs_f64());
    write_file(
        &out.join("validation.html"),
        render::to_html(&validation)?.as_bytes(),
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
