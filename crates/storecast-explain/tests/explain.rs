//! Explanations are exact, and what-if recovers a planted promo uplift.

use storecast_data::ChainData;
use storecast_explain::{explain, whatif, PlanChange};
use storecast_model::{features, horizon_cells, Forecaster, Scenario, Timeline, N_FEATURES};
use storecast_synth::SynthChain;

fn setup() -> (SynthChain, ChainData, Forecaster, f64) {
    let chain = storecast_testkit::generate(&storecast_testkit::clean(40, 5));
    let data = storecast_testkit::load(&chain, true);
    let bt = storecast_testkit::quick(2, 200, 0.12, 2);
    let trained = storecast_testkit::train(&data, &bt);
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
        // The day is stated in whole euros; the explanation keeps the exact figure.
        assert_eq!(f.sales, storecast_model::forecaster::euros(e.forecast));
    }
    usual_day_is_the_stores_own(&forecaster, &sc, &data);

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

/// The waterfall starts from the store's own usual day (not the chain's average), the usual
/// day equals the model's own contributions of the usual-day drivers, it tracks what each
/// store actually sells on such days, and a day without promotion says so.
fn usual_day_is_the_stores_own(forecaster: &Forecaster, sc: &Scenario, data: &ChainData) {
    use storecast_explain::Presence;
    use storecast_model::{Driver, FEATURE_DRIVERS};
    let scale = forecaster.artifact.scale;
    let (mut pairs, mut absent_promo) = (Vec::new(), 0usize);
    for info in &data.stores.rows {
        let cells = sc.store_cells(info.store);
        let ex = explain(forecaster, sc, &data.stores, &cells).expect("explains");
        let frame = sc.features(&data.stores, &cells);
        let open: Vec<usize> = (0..frame.len())
            .filter(|&i| storecast_explain::contributions::explainable(sc, frame.rows[i]))
            .collect();
        let x: Vec<f32> = open.iter().flat_map(|&i| frame.row(i).to_vec()).collect();
        let c = forecaster.gbdt().contributions(&x).expect("contributions");
        assert_eq!(open.len(), ex.len());
        for (k, e) in ex.iter().enumerate() {
            let row = &c[k * (N_FEATURES + 1)..(k + 1) * (N_FEATURES + 1)];
            let usual: f64 = (0..N_FEATURES)
                .filter(|&j| FEATURE_DRIVERS[j].is_usual_day())
                .map(|j| row[j])
                .sum();
            let own = scale * (row[N_FEATURES] + usual).exp();
            assert!(
                (e.baseline - own).abs() < 1e-6 * own,
                "{} vs {own}",
                e.baseline
            );
            let steps = e.chain_baseline + e.usual_day.iter().map(|d| d.euro).sum::<f64>();
            assert!((steps - e.baseline).abs() < 1e-6 * e.baseline);
            let moved = e.baseline + e.drivers.iter().map(|d| d.euro).sum::<f64>();
            assert!((moved - e.forecast).abs() < 1e-6 * e.forecast);
            let promo = e.drivers.iter().find(|d| d.driver == Driver::Promotion);
            let promo = promo.expect("a promotion driver");
            let on = frame.row(open[k])[features::F::promo as usize] > 0.0;
            assert_eq!(promo.presence == Presence::Absent, !on);
            if !on {
                assert!(promo.label.starts_with("no promotion this day"));
                absent_promo += 1;
            }
        }
        // What the store sold on open days without promotion in its last 8 weeks.
        let s = sc.tl.store_index(info.store).expect("store");
        let sold: Vec<f64> = (sc.origin - 56..sc.origin)
            .filter(|&d| !sc.tl.plan(s, d as isize).promo)
            .filter_map(|d| sc.tl.sales_before(s, d as isize, sc.origin))
            .filter(|v| *v > 0.0)
            .map(f64::from)
            .collect();
        let plain: Vec<f64> = ex
            .iter()
            .zip(&open)
            .filter(|(_, &i)| frame.row(i)[features::F::promo as usize] == 0.0)
            .map(|(e, _)| e.baseline)
            .collect();
        if !sold.is_empty() && !plain.is_empty() {
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            pairs.push((mean(&plain).ln(), mean(&sold).ln()));
        }
    }
    assert!(absent_promo > 100);
    // Across stores the usual day follows each store's own level (the chain's average day is
    // one figure for all).
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let vx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
    let r = cov / (vx * vy).sqrt();
    let gap = (mx - my).exp();
    println!("usual day vs sold on plain days: r = {r:.3} over {n} stores, ratio {gap:.3}");
    assert!(r > 0.9, "correlation {r}");
    assert!((0.8..1.25).contains(&gap), "usual day / sold {gap}");
}
