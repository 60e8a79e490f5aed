//! `storecast synth`: write a synthetic chain with planted effects to a directory.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

pub fn run(stores: u16, seed: u64, out: &Path, quirks: bool) -> Result<ExitCode> {
    let cfg = storecast_synth::SynthConfig {
        stores,
        seed,
        quirks,
        ..storecast_synth::SynthConfig::default()
    };
    let chain = storecast_synth::generate(&cfg).context("generating the synthetic chain")?;
    chain
        .write_to_dir(out)
        .with_context(|| format!("writing the synthetic chain to {}", out.display()))?;
    eprintln!(
        "wrote a synthetic chain of {stores} stores (seed {seed}{}) to {}: train.csv, store.csv, test.csv, test_truth.csv, effects.json",
        if quirks { ", with the real data's quirks" } else { ", clean" },
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
