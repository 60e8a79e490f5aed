//! Development experiment: backtest with settings from the environment and print every
//! member's and the ensemble's RMSPE per fold (`MEMBERS`, `FOLDS`, `TREES`, `LR`, `BAG`,
//! `SAME_SEASON`, `BINS`, `LEAVES`, `DEPTH`, `MINLEAF`, `FF`, `STORECAST_DATA`).
use std::time::Instant;
use storecast_data::ChainData;
use storecast_model::backtest::{self, BacktestConfig, FoldScope};
use storecast_model::{ensemble, Timeline};

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("STORECAST_DATA").unwrap_or_else(|_| "../shared/data/rossmann".into());
    let t = Instant::now();
    let data = ChainData::load_dir(dir.as_ref())?.into_strict()?;
    let tl = Timeline::build(&data.history, None).ok_or("empty")?;
    let mut cfg = BacktestConfig {
        folds: env("FOLDS", 1),
        same_season: env("SAME_SEASON", 1) == 1,
        ..BacktestConfig::default()
    };
    cfg.params.num_trees = env("TREES", cfg.params.num_trees);
    cfg.params.learning_rate = env("LR", cfg.params.learning_rate);
    cfg.params.bagging_fraction = env("BAG", cfg.params.bagging_fraction);
    cfg.params.max_bin = env("BINS", cfg.params.max_bin);
    cfg.params.num_leaves = env("LEAVES", cfg.params.num_leaves);
    cfg.params.max_depth = env("DEPTH", cfg.params.max_depth);
    cfg.params.min_data_in_leaf = env("MINLEAF", cfg.params.min_data_in_leaf);
    cfg.params.feature_fraction = env("FF", cfg.params.feature_fraction);
    cfg.members = ensemble::default_members(&cfg.params)
        .into_iter()
        .take(env("MEMBERS", 1))
        .collect();
    let bt = backtest::run(&tl, &data.stores, &cfg, &mut |p| {
        eprintln!("{:?} {:?}", t.elapsed(), p)
    })?;
    let mut models = vec![backtest::MODEL.to_string(), "lightgbm_raw".to_string()];
    models.extend(bt.member_models());
    for m in &models {
        let cells: Vec<String> = bt
            .scopes()
            .into_iter()
            .map(|s| {
                format!(
                    "{}={:.4}",
                    s.label(bt.last_fold()),
                    bt.score(m, s).map_or(f64::NAN, |x| x.rmspe)
                )
            })
            .collect();
        println!("{m:<22} {}", cells.join("  "));
    }
    for f in &bt.folds {
        let mean_of = |m: &str| {
            bt.score(m, FoldScope::Fold(f.index))
                .map_or(f64::NAN, |x| x.rmspe)
        };
        println!(
            "fold {} {:?} {}..{} lightgbm {:.4}",
            f.index,
            f.kind,
            f.origin,
            f.end,
            mean_of(backtest::MODEL)
        );
    }
    println!("blend {:?}", bt.ensemble.blend);
    println!("total {:?}", t.elapsed());
    Ok(())
}
