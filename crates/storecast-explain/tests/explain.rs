//! Explanations are exact, and what-if recovers a planted promo uplift.

use storecast_data::ChainData;
use storecast_explain::{explain, whatif, PlanChange};
use storecast_model::backtest::{BacktestConfig, Progress};
use storecast_model::{
    features, horizon_cells, training, Forecaster, Scenario, Timeline, N_FEATURES,
};
use storecast_synth::{generate, SynthChain, SynthConfig};

fn setup() -> (SynthChain, ChainData, Forecaster, f64) {
    let cfg = SynthConfig {
        stores: 40,
        seed: 5,
        quirks: false,
        ..SynthConfig::default()
    };
    let chain = generate(&cfg).expect("synthetic chain");
    let data = ChainData::from_bytes(
        chain.train_csv(),
        chain.store_csv(),
        Some(chain.test_csv()),
        "synth",
    )
    .expect("loads")
    .into_strict()
    .expect("clean");
    let mut bt = BacktestConfig {
        folds: 2,
        ..BacktestConfig::default()
    };
    bt.params.num_trees = 200;
    bt.params.learning_rate = 0.12;
    bt.params.threads = 2;
    let trained = training::train(&data, &bt, &mut |_: Progress| {}).expect("trains");
    let rmspe = trained
        .backtest
        .score("lightgbm", storecast_model::backtest::FoldScope::All)
        .map_or(1.0, |m| m.rmspe);
    let f = Forecaster::new(trained.artifact).expect("model starts");
    (chain, data, f, rmspe)
}

#[test]
fn contributions_are_exact_and_what_if_recovers_the_promo_uplift() {
    let (chain, data, forecaster, rmspe) = setup();

    // 1. On a backtest fold's horizon, base + contributions = prediction, for every row.
    let tl = Timeline::build(&data.history, None).expect("timeline");
    let origin = tl.days - 42;
    let cells = horizon_cells(&tl, origin, 42);
    let frame = features::build(&tl, &data.stores, origin, &cells);
    let pred = forecaster.gbdt().predict(&frame.x).expect("predicts");
    let contrib = forecaster
        .gbdt()
        .contributions(&frame.x)
        .expect("contributions");
    assert_eq!(contrib.len(), pred.len() * (N_FEATURES + 1));
    for (i, p) in pred.iter().enumerate() {
        let sum: f64 = contrib[i * (N_FEATURES + 1)..(i + 1) * (N_FEATURES + 1)]
            .iter()
            .sum();
        assert!((sum - p).abs() < 1e-6, "row {i}: {sum} vs {p}");
    }

    // 2. Euro shares by driver add up to the forecast, on the forecast scenario.
    let requests = data.requests.clone().expect("test.csv");
    let sc = Scenario::new(&data.history, &requests).expect("scenario");
    let store = data.stores.rows[0].store;
    let ex = explain(&forecaster, &sc, &data.stores, &sc.store_cells(store)).expect("explains");
    assert!(!ex.is_empty());
    for e in &ex {
        let total = e.baseline + e.drivers.iter().map(|d| d.euro).sum::<f64>();
        assert!(
            (total - e.forecast).abs() < 1e-6 * e.forecast.max(1.0),
            "{total} vs {}",
            e.forecast
        );
    }
    let fc = forecaster
        .forecast_cells(&sc, &data.stores, &sc.store_cells(store))
        .expect("forecasts");
    for e in &ex {
        let f = fc.iter().find(|f| f.date == e.date).expect("same day");
        assert!((f.sales - e.forecast).abs() < 1e-6 * f.sales);
    }

    // 3. What-if: switching off each store's promo days recovers its planted uplift.
    let mut errors = Vec::new();
    for info in &data.stores.rows {
        let truth = chain.truth.store(info.store).expect("planted truth");
        let cells = sc.store_cells(info.store);
        let plan = forecaster
            .forecast_cells(&sc, &data.stores, &cells)
            .expect("forecasts");
        let promo_days: Vec<_> = plan
            .iter()
            .filter(|d| d.promo && d.open)
            .map(|d| d.date)
            .collect();
        let (Some(&from), Some(&to)) = (promo_days.first(), promo_days.get(4)) else {
            continue;
        };
        let w = whatif(
            &forecaster,
            &sc,
            &data.stores,
            info.store,
            from,
            to,
            PlanChange {
                promo: Some(false),
                ..PlanChange::default()
            },
        )
        .expect("what-if");
        let on: f64 = w
            .before
            .iter()
            .filter(|d| d.date >= from && d.date <= to && d.open)
            .map(|d| d.sales)
            .sum();
        let off: f64 = w
            .after
            .iter()
            .filter(|d| d.date >= from && d.date <= to && d.open)
            .map(|d| d.sales)
            .sum();
        assert!(
            w.delta_eur < 0.0,
            "switching promo off must lower the forecast"
        );
        let promo_driver = w
            .driver_deltas
            .iter()
            .find(|(d, _)| *d == storecast_model::Driver::Promotion)
            .map_or(0.0, |x| x.1);
        assert!(
            promo_driver < 0.0,
            "the promotion driver must carry the drop"
        );
        errors.push(on / off - 1.0 - truth.promo_uplift);
    }
    assert!(errors.len() >= 20);
    let mean_err = errors.iter().sum::<f64>() / errors.len() as f64;
    let mean_abs = errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64;
    println!("what-if promo uplift: mean error {mean_err:+.4}, mean |error| {mean_abs:.4}, backtest RMSPE {rmspe:.4}");
    assert!(
        mean_err.abs() < rmspe,
        "mean error {mean_err} vs backtest RMSPE {rmspe}"
    );
    assert!(
        mean_abs < rmspe,
        "mean |error| {mean_abs} vs backtest RMSPE {rmspe}"
    );
}
