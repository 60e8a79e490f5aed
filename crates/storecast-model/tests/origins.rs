//! A backtest at chosen origins on a synthetic chain: each origin is its own fold, trained on
//! the history before it; the model's error sits just above the noise planted in the chain
//! (which no forecast can remove) and below every baseline's; WAPE and MASE are scored over
//! every store-day, closed days included.

use chrono::NaiveDate;
use storecast_model::backtest::{self, FoldKind};
use storecast_model::origins::origin_table;
use storecast_model::{ModelKind, Timeline};
use storecast_synth::SynthConfig;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn a_backtest_at_chosen_origins_recovers_the_planted_noise() {
    let cfg = SynthConfig {
        ..storecast_testkit::clean(40, 11)
    };
    // What no forecast can know six weeks ahead: the daily noise and the weekly AR(1) noise
    // (its stationary sd; after six weeks little of it is predictable).
    let fx = cfg.effects.clone();
    let floor = (fx.noise_sigma.powi(2) + fx.ar_sigma.powi(2)).sqrt();
    let chain = storecast_testkit::chain_of(&cfg, false);
    let tl = Timeline::build(&chain.history, None).expect("timeline");
    let mut bt_cfg = storecast_testkit::quick(1, 80, 0.15, 2);
    let origins = vec![day(2014, 3, 3), day(2014, 10, 6), day(2015, 3, 2)];
    bt_cfg.origins = origins.clone();
    let bt = backtest::run(&tl, &chain.stores, &bt_cfg, &mut |_| {}).expect("backtest");

    assert_eq!(bt.folds.len(), 3);
    for (f, o) in bt.folds.iter().zip(&origins) {
        assert_eq!((f.kind, f.origin), (FoldKind::Chosen, *o));
        assert_eq!(f.end, *o + chrono::Duration::days(41));
        assert!(
            f.seconds > 0.0 && f.closed_days > 0 && f.scored_rows > 1000,
            "{f:?}"
        );
        assert_eq!(f.no_recent_stores, 0, "a clean chain has no gaps");
    }
    let table = origin_table(&bt);
    assert_eq!(table.len(), 4 * (1 + ModelKind::BASELINES.len()));
    let get = |m: ModelKind, fold: usize| {
        table
            .iter()
            .find(|r| r.model == m && r.fold == fold)
            .copied()
            .expect("row")
    };
    for fold in 0..=3 {
        let m = get(ModelKind::Model, fold);
        eprintln!(
            "fold {fold}: model RMSPE {:.4} WAPE {:.4} MASE {:.3}; floor {floor:.4}",
            m.rmspe, m.wape, m.mase
        );
        // Stated bound: no better than the planted noise allows (less 10 % for chance), and
        // within 40 % above it.
        assert!(
            m.rmspe > 0.9 * floor && m.rmspe < 1.4 * floor,
            "fold {fold}: RMSPE {} against a floor of {floor}",
            m.rmspe
        );
        assert!(
            m.wape > 0.0 && m.wape < m.rmspe && m.mase > 0.0 && m.mase < 1.0,
            "{m:?}"
        );
        for b in [ModelKind::Median, ModelKind::LastYear] {
            assert!(
                get(b, fold).rmspe > m.rmspe,
                "{b:?} beats the model at fold {fold}"
            );
        }
        // The chain is generated log-linear, the ridge baseline's own form: it comes close.
        assert!(
            m.rmspe < 1.05 * get(ModelKind::Ridge, fold).rmspe,
            "fold {fold}"
        );
    }
    // MASE counts closed days in its mean: with them left out it would be larger.
    let pooled = get(ModelKind::Model, 0);
    let open_only = pooled.mase
        * (pooled.open_days + bt.folds.iter().map(|f| f.closed_days).sum::<usize>()) as f64
        / pooled.open_days as f64;
    assert!(open_only > pooled.mase);
}
