//! The train job through the library: on a small synthetic chain with a recording progress
//! sink, the steps arrive in order, each from 0 to its total, and the job's result is what
//! it says (a signed artifact on disk, its explanation table beside it); then the forecast
//! export writes what it reports.

use storecast_data::ChainData;
use storecast_pipeline::progress::steps;
use storecast_pipeline::{
    backtest_config, export_forecast, train, ForecastSettings, ModelSettings, Recorder,
    TrainSettings,
};

fn chain() -> ChainData {
    let cfg = storecast_synth::SynthConfig {
        stores: 8,
        seed: 11,
        quirks: false,
        ..storecast_synth::SynthConfig::default()
    };
    let c = storecast_synth::generate(&cfg).expect("synthetic chain");
    ChainData::from_bytes(
        c.train_csv(),
        c.store_csv(),
        Some(c.test_csv()),
        "synthetic",
    )
    .expect("loads")
    .into_strict()
    .expect("clean")
}

#[test]
fn train_reports_its_steps_in_order_and_saves_a_signed_model() {
    let chain = chain();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = backtest_config(&ModelSettings {
        folds: 2,
        trees: Some(40),
        threads: Some(1),
        members: 1,
    });
    cfg.params.learning_rate = 0.2;
    let settings = TrainSettings {
        backtest: cfg,
        out: dir.path().join("model.json"),
        registry: dir.path().join("registry"),
    };
    let mut rec = Recorder::default();
    let result = train(&chain, &settings, &mut rec).expect("trains");

    assert_eq!(
        rec.steps(),
        [
            steps::BACKTEST,
            steps::FINAL_FEATURES,
            steps::FINAL_FIT,
            steps::EXPLANATIONS
        ]
    );
    for (step, done, total) in &rec.0 {
        assert!(done <= total, "{step}: {done} > {total}");
    }
    for step in rec.steps() {
        let reports: Vec<_> = rec.0.iter().filter(|r| r.0 == step).collect();
        let (first, last) = (reports[0], reports[reports.len() - 1]);
        assert_eq!(first.1, 0, "{step} starts at 0");
        assert_eq!(last.1, last.2, "{step} ends done");
        assert!(
            reports.windows(2).all(|w| w[0].1 <= w[1].1),
            "{step} only moves forward"
        );
    }
    let folds = rec
        .0
        .iter()
        .find(|r| r.0 == steps::BACKTEST)
        .expect("backtest")
        .2;
    assert_eq!(folds as usize, result.backtest.folds.len());

    // The artifact on disk is the signed one the result carries, and the registry accepts it.
    let registry = storecast_store::Registry::open(&settings.registry).expect("registry");
    let loaded = registry
        .open_file(&result.saved_to)
        .expect("signed by the registry");
    assert_eq!(loaded.checksum, result.artifact.checksum);
    let filled = result
        .explanations
        .expect("the chain has a horizon")
        .expect("explanations precomputed");
    assert!(filled.rows > 0);
    assert!(matches!(
        filled.source,
        storecast_explain::table::Source::Computed { saved: Ok(_), .. }
    ));

    // The forecast export writes the rows and the total it reports.
    let requests = chain.requests.clone().expect("test.csv");
    let out = dir.path().join("forecast.csv");
    let mut rec = Recorder::default();
    let export = export_forecast(
        &chain,
        result.artifact,
        &requests,
        &ForecastSettings {
            out: out.clone(),
            intervals: false,
        },
        &mut rec,
    )
    .expect("exports");
    let text = std::fs::read_to_string(&out).expect("written");
    let sales: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("Sales").parse().expect("number"))
        .collect();
    assert_eq!(sales.len(), export.rows);
    assert_eq!(export.rows, requests.len());
    assert!((sales.iter().sum::<f64>() - export.total_sales).abs() < 0.005);
    assert_eq!(sales.iter().filter(|s| **s == 0.0).count(), export.closed);
    assert_eq!(rec.steps(), [steps::FORECAST]);
}
