//! A shortened replay (issue 29): four weeks of operations on a synthetic chain where five
//! stores' sales jump by 60 % from the second week (a planted level shift, e.g. a competitor
//! closing). Asserted: every week issues, ingests and is scored; the shifted stores' CUSUM
//! alarms fire within 14 days of the shift (at most one unshifted store alarms); the retrain
//! scheduled after the third week is compared with the active model on the same days and
//! promoted; the live RMSPE after it is below the shift week's and below the old model's
//! forecast of the same week; every action is in an intact audit log.

use chrono::{Duration, NaiveDate};
use storecast_data::ChainData;
use storecast_pipeline::operations::OpsSettings;
use storecast_pipeline::replay::{replay, ReplaySettings};
use storecast_pipeline::{backtest_config, ModelSettings, Recorder};
use storecast_store::AlertKind;

const SHIFTED: [u16; 5] = [1, 2, 3, 4, 5];
const FACTOR: f64 = 1.6;

fn chain(shift_from: NaiveDate) -> ChainData {
    let mut chain = storecast_testkit::chain_of(&storecast_testkit::clean(30, 5), false);
    let h = &mut chain.history;
    for i in 0..h.store.len() {
        if SHIFTED.contains(&h.store[i]) && h.date[i] >= shift_from {
            h.sales[i] = (f64::from(h.sales[i]) * FACTOR).round() as i32;
            h.customers[i] = (f64::from(h.customers[i]) * FACTOR).round() as i32;
        }
    }
    chain
}

fn quick(folds: usize) -> storecast_model::backtest::BacktestConfig {
    let mut cfg = backtest_config(&ModelSettings {
        folds,
        trees: Some(60),
        threads: Some(1),
        ..ModelSettings::default()
    });
    cfg.same_season = false;
    cfg.params.learning_rate = 0.2;
    cfg
}

#[test]
fn a_replay_retrains_catches_a_level_shift_and_recovers() {
    let end = NaiveDate::from_ymd_opt(2015, 6, 20).expect("date");
    let from = end - Duration::weeks(4);
    let shift = from + Duration::weeks(1);
    let chain = chain(shift);
    let dir = tempfile::tempdir().expect("temp dir");
    // A chain of 30 stores scores about 1,000 store-days per six-week fold: judge on 500.
    let mut monitor = storecast_monitor::MonitorConfig::default();
    monitor.promotion.min_rows = 500;
    // A retrain on fresher data scores like the active model on the days both can be judged
    // on (neither fold model saw the shift): tolerate 2 % so freshness can win.
    monitor.promotion.max_rmspe_increase = 0.02;
    let settings = ReplaySettings {
        from,
        weeks: 4,
        out: dir.path().to_path_buf(),
        initial: quick(2),
        ops: OpsSettings {
            monitor,
            retrain: quick(1),
            every_weeks: 3,
            early_on: Vec::new(),
            actor: "replay".into(),
        },
    };
    let mut rec = Recorder::default();
    let r = replay(&chain, &settings, &mut rec).expect("replays");

    assert_eq!(r.weeks.len(), 4);
    for w in &r.weeks {
        assert!(w.live.n > 0, "week {} scored nothing", w.start);
        assert!(
            matches!(w.ingested, Ok(n) if n > 0),
            "week {}: {:?}",
            w.start,
            w.ingested
        );
        assert_eq!(w.by_horizon.first().map(|h| h.0), Some(0));
    }
    assert_eq!(
        r.weeks[3].by_horizon.len(),
        4,
        "week 4 has forecasts issued 0..3 weeks before"
    );

    // The scheduled retrain after the third week ran, compared on the same days, promoted.
    let retrains: Vec<_> = r.weeks.iter().filter_map(|w| w.retrain.as_ref()).collect();
    assert_eq!(retrains.len(), 1, "every third week: {retrains:?}");
    let t = r.weeks[2]
        .retrain
        .as_ref()
        .expect("the retrain after the third week");
    assert!(t.decision.contains("both on"), "{}", t.decision);
    assert!(t.promoted.is_some(), "{}", t.decision);
    assert_eq!(
        r.weeks[3].served, t.version,
        "the last week is served by the retrained model"
    );

    // CUSUM alarms for the shifted stores within 14 days of the shift, none elsewhere.
    let alarmed: std::collections::BTreeSet<String> = r
        .weeks
        .iter()
        .filter(|w| w.start < shift + Duration::days(14))
        .flat_map(|w| w.alerts.iter())
        .filter(|a| a.kind == AlertKind::Cusum)
        .map(|a| a.scope.clone())
        .collect();
    for s in SHIFTED {
        assert!(
            alarmed.contains(&format!("store {s}")),
            "store {s} not caught: {alarmed:?}"
        );
    }
    let unshifted: Vec<_> = alarmed
        .iter()
        .filter(|scope| !SHIFTED.iter().any(|s| **scope == format!("store {s}")))
        .collect();
    assert!(unshifted.len() <= 1, "false alarms: {unshifted:?}");

    // Live accuracy recovers after the retrain, and because of it: the retrained model's
    // forecast of the last week beats the old model's of the same week (issued a week earlier).
    let shift_week = r.weeks[1].live.rmspe;
    let after = r.weeks[3].live.rmspe;
    assert!(
        after < shift_week * 0.8,
        "RMSPE {shift_week:.4} in the shift week, {after:.4} after the retrain"
    );
    let old_model = r.weeks[3].by_horizon[1].1;
    assert!(
        after < old_model * 0.9,
        "retrained {after:.4}, old model {old_model:.4}"
    );

    // Progress and the record.
    let steps = rec.steps();
    assert!(steps.contains(&"replay weeks"), "{steps:?}");
    assert!(dir.path().join("replay.json").is_file());
    let html = std::fs::read_to_string(dir.path().join("replay.html")).expect("replay.html");
    assert!(html.contains("Operations replay") && html.contains("replay-rmspe"));
    assert!(
        html.contains(&format!("{} ↻", r.weeks[2].start)),
        "the promoted retrain's week is marked"
    );
    let store = storecast_store::Store::open(dir.path().join("replay.db")).expect("db");
    assert!(store.verify_audit().expect("verify").first_bad.is_none());
}
