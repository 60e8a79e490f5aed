//! Test fixtures: a synthetic chain loaded the way the product loads files, and a model
//! trained quickly on it.
//!
//! Why this crate exists: the model, explanation, monitor, pipeline, reports and web tests
//! all need "a small clean chain and a quick model"; written in each, the fixture had been
//! copied into five crates and drifted in small ways. A dev-only crate serves them all (no
//! production crate depends on it), each test still choosing its size, seed and trees.

use storecast_data::ChainData;
use storecast_model::backtest::BacktestConfig;
use storecast_model::training::{self, Trained};
use storecast_synth::{SynthChain, SynthConfig};

pub use storecast_synth;

/// A clean chain's settings: `stores` stores from `seed`, no data quirks.
pub fn clean(stores: u16, seed: u64) -> SynthConfig {
    SynthConfig {
        stores,
        seed,
        quirks: false,
        ..SynthConfig::default()
    }
}

/// The chain `cfg` generates.
pub fn generate(cfg: &SynthConfig) -> SynthChain {
    storecast_synth::generate(cfg).expect("the synthetic chain generates")
}

/// `c` loaded from its CSV files as the product loads them (with its `test.csv` when
/// `with_test`), strict: a test chain must be clean.
pub fn load(c: &SynthChain, with_test: bool) -> ChainData {
    ChainData::from_bytes(
        c.train_csv(),
        c.store_csv(),
        with_test.then(|| c.test_csv()),
        "synthetic test chain",
    )
    .expect("the synthetic chain loads")
    .into_strict()
    .expect("the synthetic chain is clean")
}

/// The chain of `cfg`, loaded (see [`load`]).
pub fn chain_of(cfg: &SynthConfig, with_test: bool) -> ChainData {
    load(&generate(cfg), with_test)
}

/// A clean chain of `stores` stores from `seed`, with its `test.csv`.
pub fn chain(stores: u16, seed: u64) -> ChainData {
    chain_of(&clean(stores, seed), true)
}

/// A quick backtest: `folds` rolling folds of `trees` trees at `learning_rate` on
/// `threads` threads (no same-season fold, one model).
pub fn quick(folds: usize, trees: u32, learning_rate: f64, threads: usize) -> BacktestConfig {
    let mut cfg = BacktestConfig {
        folds,
        ..BacktestConfig::default()
    };
    cfg.params.num_trees = trees;
    cfg.params.learning_rate = learning_rate;
    cfg.params.threads = threads;
    cfg
}

/// `chain` trained with `cfg` (backtest, final fit, intervals).
pub fn train(chain: &ChainData, cfg: &BacktestConfig) -> Trained {
    training::train(chain, cfg, &mut |_| {}).expect("the quick model trains")
}
