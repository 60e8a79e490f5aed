//! Finds the input the user meant and loads it: an explicit `--data` or `$STORECAST_DATA`, the
//! default directories, and, when none holds the files, the built-in synthetic chain. The
//! fallback is always announced on stderr so nobody mistakes synthetic numbers for real ones.

use crate::cli::DataArgs;
use anyhow::{Context, Result};
use storecast_data::location::ENV_VAR;
use storecast_data::{ChainData, DataLocation, LoadReport};

/// Stores in the built-in synthetic chain.
pub const SYNTH_STORES: u16 = 200;
/// Seed of the built-in synthetic chain.
pub const SYNTH_SEED: u64 = 42;

/// Loads the chain leniently (bad rows collected, not fatal).
pub fn load(args: &DataArgs) -> Result<LoadReport> {
    let env = std::env::var_os(ENV_VAR);
    match DataLocation::resolve(args.data.as_deref(), env.as_deref()) {
        Some(loc) => {
            eprintln!("data: {} (from {})", loc.dir.display(), loc.source);
            ChainData::load_dir(&loc.dir)
                .with_context(|| format!("loading the chain's files from {}", loc.dir.display()))
        }
        None => {
            eprintln!(
                "data: no data directory found (--data, ${ENV_VAR}, ../shared/data/rossmann, data/); \
                 using the built-in SYNTHETIC chain ({SYNTH_STORES} stores, seed {SYNTH_SEED}) — \
                 its numbers describe generated data, not a real chain"
            );
            synthetic()
        }
    }
}

/// The built-in synthetic chain, loaded through the same code path as real files.
pub fn synthetic() -> Result<LoadReport> {
    let cfg = storecast_synth::SynthConfig {
        stores: SYNTH_STORES,
        seed: SYNTH_SEED,
        ..storecast_synth::SynthConfig::default()
    };
    let chain = storecast_synth::generate(&cfg).context("generating the synthetic chain")?;
    ChainData::from_bytes(
        chain.train_csv(),
        chain.store_csv(),
        Some(chain.test_csv()),
        format!("built-in synthetic chain ({SYNTH_STORES} stores, seed {SYNTH_SEED})"),
    )
    .context("loading the synthetic chain")
}

/// The model of `model` on the forecast scenario of the data (history + test.csv plan).
pub fn model_on_plan(args: &DataArgs, model: &std::path::Path) -> Result<storecast_bench::Loaded> {
    let artifact = storecast_model::ModelArtifact::load(model).with_context(|| {
        format!(
            "loading the model (train one with `storecast train --out {}`)",
            model.display()
        )
    })?;
    let chain = load(args)?
        .into_strict()
        .context("the data has rows that do not parse; run `storecast validate`")?;
    let requests = chain
        .requests
        .clone()
        .context("the data has no test.csv: nothing to forecast")?;
    let scenario = storecast_model::Scenario::new(&chain.history, &requests)?;
    let forecaster = storecast_model::Forecaster::new(artifact).context("starting the model")?;
    Ok(storecast_bench::Loaded {
        chain,
        forecaster,
        scenario,
    })
}
