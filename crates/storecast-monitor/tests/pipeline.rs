//! The monitor end to end on a synthetic chain: a model trained six weeks before the end of
//! the history issues forecasts (recorded in the SQLite store), the actuals arrive, and the
//! monitor judges them: live accuracy through the store's join, seasonal feature drift on the
//! real feature builder (quiet on unchanged data, loud on a planted promotion change), CUSUM on
//! a planted store shift, alert records without repeats, Prometheus text, and the promotion
//! decision with the active model re-scored on the candidate's last fold.

use chrono::Duration;
use storecast_data::{ForecastRequest, ForecastRequests, SalesHistory};
use storecast_model::backtest::{BacktestConfig, Progress, MODEL};
use storecast_model::{training, Forecaster, Scenario, Timeline, N_FEATURES};
use storecast_monitor::{
    decide_promotion, decide_promotion_rescored, evaluate, feature_drift, fresh_alerts,
    prometheus_gauges, rescore_current, seasonal_reference, store_types, window_cells, Basis,
    DriftLevel, MonitorConfig, MonitorError, PromotionPolicy,
};
use storecast_store::{ForecastRow, Store};

type Res = Result<(), Box<dyn std::error::Error>>;

fn quick() -> BacktestConfig {
    storecast_testkit::quick(2, 80, 0.15, 2)
}

fn subset(h: &SalesHistory, keep: impl Fn(chrono::NaiveDate) -> bool) -> SalesHistory {
    let mut out = SalesHistory::default();
    for i in 0..h.len() {
        if keep(h.date[i]) {
            out.push(h.row(i), h.line[i]);
        }
    }
    out
}

fn plan_of(h: &SalesHistory) -> ForecastRequests {
    ForecastRequests {
        rows: (0..h.len())
            .map(|i| {
                let r = h.row(i);
                ForecastRequest {
                    id: i as u32 + 1,
                    store: r.store,
                    day_of_week: r.day_of_week,
                    date: r.date,
                    open: Some(r.open),
                    promo: r.promo,
                    state_holiday: r.state_holiday,
                    school_holiday: r.school_holiday,
                    line: 0,
                }
            })
            .collect(),
    }
}

#[test]
fn monitor_end_to_end_on_a_synthetic_chain() -> Res {
    let synth = storecast_testkit::generate(&storecast_testkit::clean(10, 23));
    let data = storecast_testkit::load(&synth, false);
    let (_, end) = data.history.date_range().ok_or("empty history")?;
    let cutoff = end - Duration::days(41);

    // The active model: trained on everything before the last six weeks.
    let mut before = data.clone();
    before.history = subset(&data.history, |d| d < cutoff);
    let current = training::train(&before, &quick(), &mut |_: Progress| {})?.artifact;
    let version = current.model_version.clone();
    assert!(current.train_end < cutoff);

    // It issues forecasts for the six weeks; the actuals arrive; the store joins them.
    let store = Store::open_in_memory()?;
    store.ingest_csv(&synth.train_csv(), "train.csv", "test", &data.stores)?;
    let window = subset(&data.history, |d| d >= cutoff);
    let plan = plan_of(&window);
    let forecaster = Forecaster::new(current.clone())?;
    let sc = Scenario::new(&before.history, &plan)?;
    let issued: Vec<ForecastRow> = forecaster
        .forecast_requests(&sc, &data.stores, &plan)?
        .iter()
        .map(ForecastRow::from)
        .collect();
    store.record_forecasts("test", &version, &issued)?;
    let rows = store.forecast_vs_actual(Some(&version))?;
    assert_eq!(rows.len(), window.len());

    // Seasonal drift on the real feature builder: the same weeks a year earlier.
    let cfg = MonitorConfig::default();
    let tl = Timeline::build(&store.history()?, None).ok_or("timeline")?;
    let origin = tl.day_index(cutoff).ok_or("cutoff outside the grid")?;
    let cur = window_cells(&tl, cutoff, end);
    let reference = seasonal_reference(&tl, &cur);
    assert!(!cur.is_empty() && reference.len() > cur.len() / 2);
    assert!(reference
        .iter()
        .all(|&(_, d)| tl.weekday(d as usize) == tl.weekday(d as usize + 364)));
    let drift = feature_drift(&tl, &data.stores, &cur, &reference, origin, &cfg)?;
    assert_eq!(drift.len(), N_FEATURES - cfg.drift_exclude.len());
    assert!(drift.iter().all(|d| d.feature != "year"));
    for d in drift.iter().filter(|d| d.level != DriftLevel::Ok) {
        eprintln!(
            "unchanged data: {} PSI {:.3} ({})",
            d.feature,
            d.psi,
            d.level.as_str()
        );
    }
    assert!(
        drift.iter().all(|d| d.level != DriftLevel::Alert),
        "no feature alerts on unchanged data"
    );
    let psi_of = |drift: &[storecast_monitor::FeatureDrift], f: &str| {
        drift
            .iter()
            .find(|d| d.feature == f)
            .map(|d| (d.psi, d.level))
    };
    // One week (a weekly delivery): the date's own positions sit a day or two off a year
    // earlier, so they would alert by construction; the default leaves them out.
    let week = window_cells(&tl, cutoff, cutoff + chrono::Duration::days(6));
    let week_reference = seasonal_reference(&tl, &week);
    let calendar_in = MonitorConfig {
        drift_exclude: vec!["year".into()],
        ..cfg.clone()
    };
    let raw = feature_drift(
        &tl,
        &data.stores,
        &week,
        &week_reference,
        origin,
        &calendar_in,
    )?;
    assert!(
        psi_of(&raw, "day_of_year").is_some_and(|(p, _)| p > cfg.psi_alert),
        "the false alarm the default avoids: {:?}",
        psi_of(&raw, "day_of_year")
    );
    let short = feature_drift(&tl, &data.stores, &week, &week_reference, origin, &cfg)?;
    for f in ["day_of_month", "day_of_year", "days_to_month_end"] {
        assert!(psi_of(&short, f).is_none(), "{f} is not judged by default");
    }
    let quiet = [
        "promo",
        "day_of_week",
        "school_holiday",
        "store_id",
        "store_type",
    ];
    for f in quiet {
        let (psi, level) = psi_of(&drift, f).ok_or(f)?;
        assert!(
            psi < 0.1 && level == DriftLevel::Ok,
            "{f}: PSI {psi} on unchanged data"
        );
    }
    // Plant a change: every open day of the window runs a promotion.
    let mut promo_everywhere = store.history()?;
    for i in 0..promo_everywhere.len() {
        if promo_everywhere.date[i] >= cutoff && promo_everywhere.open[i] {
            promo_everywhere.promo[i] = true;
        }
    }
    let tl2 = Timeline::build(&promo_everywhere, None).ok_or("timeline")?;
    let drifted = feature_drift(&tl2, &data.stores, &cur, &reference, origin, &cfg)?;
    let (psi, level) = psi_of(&drifted, "promo").ok_or("promo")?;
    assert!(
        level == DriftLevel::Alert,
        "promo PSI {psi} after the planted change"
    );
    let first_weeks = window_cells(&tl, tl.start, tl.start + Duration::days(41));
    assert!(seasonal_reference(&tl, &first_weeks).is_empty());
    assert!(
        matches!(
            feature_drift(&tl, &data.stores, &first_weeks, &[], 42, &cfg),
            Err(MonitorError::Drift(_))
        ),
        "the first year has no seasonal reference"
    );

    // The monitoring run.
    let types = store_types(&data.stores);
    let report = evaluate(&rows, &types, Some(&current), drift.clone(), &cfg)?;
    let scored = (0..window.len()).filter(|&i| window.sales[i] > 0).count();
    assert_eq!(report.live.overall.n, scored);
    assert!(report.live.overall.rmspe < 0.5, "{:?}", report.live.overall);
    assert_eq!(report.live.by_store.len(), 10);
    assert!(report.live.by_week.len() >= 6);
    let (_, bt) = current.last_fold_score(MODEL).ok_or("no backtest score")?;
    assert!((report.thresholds.rmspe - 1.25 * bt.rmspe).abs() < 1e-12);
    for a in fresh_alerts(&report.alerts, &store.alerts(true)?) {
        store.record_alert("monitor", &a)?;
    }
    assert_eq!(report.alert_count(storecast_monitor::AlertKind::Drift), 0);
    let recorded = store.alerts(true)?.len();
    assert_eq!(recorded, report.alerts.len());
    // The next run finds the same problems already open: nothing new to record.
    let again = evaluate(&rows, &types, Some(&current), drift, &cfg)?;
    assert!(fresh_alerts(&again.alerts, &store.alerts(true)?).is_empty());

    // Planted shift: store 1 sells 20 % less than forecast from the third week on.
    let mut shifted = rows.clone();
    for r in &mut shifted {
        if r.forecast.store == 1 && r.forecast.date >= cutoff + Duration::days(14) {
            r.actual_sales = (f64::from(r.actual_sales) * 0.8).round() as i32;
        }
    }
    let report2 = evaluate(&shifted, &types, Some(&current), drifted, &cfg)?;
    let c1 = &report2.cusum[0];
    assert_eq!(c1.store, 1);
    let alarm = c1.alarm.ok_or("no CUSUM alarm after a 20 % drop")?;
    assert!(alarm.date >= cutoff + Duration::days(14), "{alarm:?}");
    assert!(report2
        .alerts
        .iter()
        .any(|a| a.kind == "cusum" && a.scope == "store 1"));
    assert!(report2
        .alerts
        .iter()
        .any(|a| a.kind == "drift" && a.scope == "feature promo"));
    let text = prometheus_gauges(&report2)?;
    assert!(
        text.contains("storecast_feature_psi{feature=\"promo\"} "),
        "{text}"
    );
    assert!(text
        .lines()
        .all(|l| l.starts_with("# ") || l.starts_with("storecast_")));

    // Retraining: the candidate sees the six weeks too; its last fold is exactly them.
    let candidate = training::train(&data, &quick(), &mut |_: Progress| {})?.artifact;
    let (fold, cand) = candidate
        .last_fold_score(MODEL)
        .ok_or("no candidate score")?;
    assert_eq!((fold.origin, fold.end), (cutoff, end));
    let policy = PromotionPolicy {
        min_rows: 100,
        ..PromotionPolicy::default()
    };
    let naive = decide_promotion(&candidate, Some(&current), &policy);
    assert!(matches!(naive.basis, Basis::LatestFolds { .. }));
    // Same-fold comparison: the active model re-scored on the candidate's fold scores the
    // same store-days, and (its forecasts there being the ones it issued) reproduces the live
    // numbers exactly.
    let rescored = rescore_current(&forecaster, &data.history, &data.stores, fold)?;
    assert_eq!(rescored.n, cand.n);
    assert!((rescored.rmspe - report.live.overall.rmspe).abs() < 1e-12);
    assert!((rescored.bias - report.live.overall.bias).abs() < 1e-12);
    let fair = decide_promotion_rescored(&candidate, &version, &rescored, &policy);
    assert_eq!(
        fair.promote,
        cand.rmspe <= rescored.rmspe,
        "{}",
        fair.reason
    );
    assert!(matches!(fair.basis, Basis::SameFold { .. }));
    eprintln!(
        "live RMSPE {:.4} (backtest {:.4}); candidate last fold {:.4}; naive: {}; fair: {}",
        report.live.overall.rmspe, bt.rmspe, cand.rmspe, naive.reason, fair.reason
    );
    // The candidate itself cannot be re-scored on a fold it was trained on.
    let own = Forecaster::new(candidate.clone())?;
    assert!(matches!(
        rescore_current(&own, &data.history, &data.stores, fold),
        Err(MonitorError::Rescore(_))
    ));
    Ok(())
}
