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
    storecast_testkit::chain(8, 11)
}

/// A database and a registry in a fresh folder, and a monitor configuration for a small
/// chain (its last fold has a few hundred store-days).
fn operations() -> (
    tempfile::TempDir,
    storecast_store::Store,
    storecast_store::Registry,
    storecast_monitor::MonitorConfig,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = storecast_store::Store::open(dir.path().join("ops.db")).expect("db");
    let registry = storecast_store::Registry::open(dir.path().join("registry")).expect("registry");
    let mut cfg = storecast_monitor::MonitorConfig::default();
    cfg.promotion.min_rows = 100;
    (dir, store, registry, cfg)
}

/// The chain's history delivered to `store` as a file of actuals.
fn deliver_history(
    store: &storecast_store::Store,
    chain: &ChainData,
) -> storecast_pipeline::Ingested {
    let c = storecast_testkit::generate(&storecast_testkit::clean(8, 11));
    let bytes = c.train_csv();
    let delivery = storecast_pipeline::Delivery {
        bytes: &bytes,
        name: "train.csv",
        actor: "test",
    };
    storecast_pipeline::ingest(store, delivery, &chain.stores, &Default::default())
        .expect("ingests")
}

/// The quick retraining configuration of these tests.
fn quick_retrain() -> storecast_model::backtest::BacktestConfig {
    let mut bt = backtest_config(&ModelSettings {
        folds: 1,
        trees: Some(30),
        threads: Some(1),
        learning_rate: Some(0.2),
        ..ModelSettings::default()
    });
    bt.same_season = false;
    bt
}

#[test]
fn train_reports_its_steps_in_order_and_saves_a_signed_model() {
    let chain = chain();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = backtest_config(&ModelSettings {
        folds: 2,
        trees: Some(40),
        threads: Some(1),
        learning_rate: Some(0.2),
        ..ModelSettings::default()
    });
    let settings = TrainSettings {
        backtest: cfg,
        out: dir.path().join("model.json"),
        registry: dir.path().join("registry"),
        provisional: false,
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
    assert!(!loaded.provisional);
    let text = std::fs::read_to_string(&result.saved_to).expect("file");
    assert!(
        !text.contains("\"provisional\""),
        "a full model carries no mark"
    );
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

#[test]
fn retrain_registers_decides_and_audits_and_monitor_needs_an_active_model() {
    use storecast_pipeline::{monitor, retrain, Ingested};
    let chain = chain();
    let (_dir, store, registry, cfg) = operations();
    let err = monitor(&store, &registry, chain.clone(), &cfg).expect_err("no model yet");
    assert!(err.to_string().contains("no active model"), "{err}");

    // The history arrives as a delivery of actuals.
    let stored = match deliver_history(&store, &chain) {
        Ingested::Stored(s) => s,
        Ingested::Refused(r) => panic!("refused: {r:?}"),
    };
    assert_eq!(stored.inserted, chain.history.len());

    let bt = quick_retrain();
    let mut rec = Recorder::default();
    let first = retrain(
        &store,
        &registry,
        chain.clone(),
        &bt,
        &cfg,
        "test",
        &mut rec,
    )
    .expect("retrains");
    assert!(first.decision.promote, "{}", first.decision.reason);
    let switch = first.promoted.expect("promoted");
    assert_eq!(switch.to, first.version);
    assert_eq!(
        registry.current_version().expect("active").as_deref(),
        Some(first.version.as_str())
    );
    assert!(rec
        .steps()
        .starts_with(&[steps::BACKTEST, steps::FINAL_FEATURES, steps::FINAL_FIT]));

    // A second candidate is judged against the active model, and the decision is audited
    // either way, with its reason.
    let mut worse = bt.clone();
    worse.params.num_trees = 3;
    let second = retrain(
        &store,
        &registry,
        chain,
        &worse,
        &cfg,
        "test",
        &mut Recorder::default(),
    )
    .expect("retrains");
    assert!(
        !second.decision.promote,
        "a 3-tree model replaced a 30-tree one: {}",
        second.decision.reason
    );
    assert_eq!(
        registry.current_version().expect("active").as_deref(),
        Some(first.version.as_str())
    );
    let log = store.audit_log(50).expect("audit log");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for a in ["model.register", "model.promote", "model.promotion_refused"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let refused = log
        .iter()
        .find(|e| e.action == "model.promotion_refused")
        .expect("refusal");
    assert!(refused
        .details
        .to_string()
        .contains(&second.decision.reason));
}

#[test]
fn a_provisional_model_is_marked_scored_on_its_fold_and_signed() {
    let chain = chain();
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = TrainSettings {
        backtest: storecast_pipeline::provisional_config(Some(1)),
        out: dir.path().join("provisional.json"),
        registry: dir.path().join("registry"),
        provisional: true,
    };
    let result = train(&chain, &settings, &mut Recorder::default()).expect("trains");
    assert!(result.artifact.provisional);
    assert_eq!(result.backtest.folds.len(), 1, "one rolling fold");
    assert_eq!(
        result.artifact.params.num_trees,
        storecast_pipeline::train::PROVISIONAL_TREES
    );
    let score = result
        .backtest
        .score(
            storecast_model::backtest::MODEL,
            storecast_model::backtest::FoldScope::Fold(1),
        )
        .expect("the fold's score");
    assert!(score.rmspe.is_finite() && score.n > 0);
    // Signed and sealed with the mark: the registry accepts it and the mark survives a load.
    let registry = storecast_store::Registry::open(&settings.registry).expect("registry");
    let loaded = registry.open_file(&settings.out).expect("signed");
    assert!(loaded.provisional);
    // The mark is in the file (a full model's file does not carry the field at all).
    let text = std::fs::read_to_string(&settings.out).expect("file");
    assert!(text.contains("\"provisional\":true"));
}

/// A candidate is never promoted on another basis than the policy's when the active model
/// cannot be re-scored on the candidate's fold: the refusal names the cause (before, it fell
/// back to the recorded scores without a word).
#[test]
fn a_failed_re_score_refuses_the_promotion_with_its_reason() {
    use storecast_pipeline::retrain;
    let chain = chain();
    let (_dir, store, registry, cfg) = operations();
    let bt = quick_retrain();
    let trained = storecast_testkit::train(&chain, &bt);
    // The active model: trained (it says) long before the candidate's fold, with poor
    // recorded scores, and a model text that no longer loads (signed: it passes the
    // registry's check, and fails only when it is run).
    let mut active = trained.artifact;
    active.model_version = "active-broken".into();
    active.train_end -= chrono::Duration::days(200);
    for s in &mut active.scores {
        s.metrics.rmspe *= 10.0;
    }
    active.lightgbm_model = "not a model".into();
    active.seal();
    registry.sign(&mut active);
    registry.register(&active).expect("register");
    registry.promote(&active.model_version).expect("promote");
    deliver_history(&store, &chain);
    let run = retrain(
        &store,
        &registry,
        chain,
        &bt,
        &cfg,
        "test",
        &mut Recorder::default(),
    )
    .expect("retrains");
    assert!(!run.decision.promote, "{}", run.decision.reason);
    assert!(
        run.decision.reason.contains("could not be re-scored"),
        "{}",
        run.decision.reason
    );
    assert_eq!(
        registry.current_version().expect("active").as_deref(),
        Some("active-broken")
    );
}
