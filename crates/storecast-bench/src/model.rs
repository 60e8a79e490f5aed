//! `storecast bench model` and `bench load`/`bench analyze`: the model's forecast, explain
//! and what-if timings, the prediction and explanation engines against LightGBM's own, and
//! the loading, validation and analysis of the data, with peak memory.

use anyhow::{Context, Result};
use std::time::Instant;
use storecast_data::LoadReport;
use storecast_explain::{explain as explain_cells, whatif as run_whatif, PlanChange};
use storecast_validate::{validate, ValidateConfig};

/// Peak resident memory of this process so far (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The model and the forecast scenario built from the data's history and test.csv plan.
pub use storecast_pipeline::input::OnPlan as Loaded;

/// `bench load`: `load` (the CLI's loader) and validation, `iterations` times.
pub fn load(loader: impl Fn() -> Result<LoadReport>, iterations: usize) -> Result<()> {
    let mut load_s = Vec::new();
    let mut validate_s = Vec::new();
    let mut rows = 0;
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        let report = loader()?;
        let loaded = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let v = validate(&report, &ValidateConfig::default());
        validate_s.push(t.elapsed().as_secs_f64());
        load_s.push(loaded);
        rows = report.data.history.len();
        std::hint::black_box(v);
    }
    let total: Vec<f64> = load_s.iter().zip(&validate_s).map(|(a, b)| a + b).collect();
    let stat = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        (s[0], s[s.len() / 2], s[s.len() - 1])
    };
    println!(
        "bench load: {rows} history rows, {} iterations",
        total.len()
    );
    for (name, v) in [
        ("load", &load_s),
        ("validate", &validate_s),
        ("load+validate", &total),
    ] {
        let (min, med, max) = stat(v);
        println!("  {name:<14} min {min:.3} s   median {med:.3} s   max {max:.3} s");
    }
    if let Some(mib) = peak_rss_mib() {
        println!("  peak RSS       {mib:.0} MiB");
    }
    Ok(())
}

/// `bench model`, engines: LightGBM's C API against the flat forest (prediction) and the
/// table TreeSHAP (explanation) on the open rows of test.csv, with the largest differences,
/// for the first ensemble member (every member runs the same engines).
pub fn engines(l: &Loaded, cells: &[(u32, u32)]) -> Result<()> {
    use storecast_model::flat::FlatForest;
    use storecast_model::shap::Explainer;
    use storecast_model::OpenState;
    let (gbdt, _) = l
        .forecaster
        .gbdt()
        .members()
        .first()
        .context("the model has no members")?;
    let nf = gbdt.n_features();
    let frame = l.scenario.features(&l.chain.stores, cells);
    let mut x = Vec::with_capacity(frame.x.len());
    for (i, &(s, d)) in frame.rows.iter().enumerate() {
        if l.scenario.tl.plan(s as usize, d as isize).open != OpenState::Closed {
            x.extend_from_slice(frame.row(i));
        }
    }
    let rows = x.len() / nf.max(1);
    let best_of = |n: usize, f: &mut dyn FnMut() -> Result<Vec<f64>>| -> Result<(f64, Vec<f64>)> {
        let mut best = f64::INFINITY;
        let mut out = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            out = f()?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        Ok((best, out))
    };
    let (lgb_s, lgb) = best_of(3, &mut || Ok(gbdt.lightgbm_predict(&x)?))?;
    let t = Instant::now();
    let forest = FlatForest::from_model_text(gbdt.model_text())?;
    let compile_s = t.elapsed().as_secs_f64();
    let (flat_s, flat) = best_of(5, &mut || Ok(forest.predict(&x, nf)?))?;
    let pred_diff = flat
        .iter()
        .zip(&lgb)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-12))
        .fold(0.0, f64::max);
    let t = Instant::now();
    let explainer = Explainer::new(forest);
    let tables_s = t.elapsed().as_secs_f64();
    let (fast_s, fast) = best_of(1, &mut || Ok(explainer.contributions(&x, nf)?))?;
    // LightGBM's predict_contrib costs ≈ 5 ms a row: timed on a sample, scaled to all rows
    // (the explain line above runs it on every row).
    let sample = rows.min(4000);
    let (lgb_shap_s, lgb_shap) = best_of(1, &mut || {
        Ok(gbdt.lightgbm_contributions(&x[..sample * nf])?)
    })?;
    let shap_diff = fast
        .iter()
        .zip(&lgb_shap)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "  engines on {rows} open test rows, {} trees:",
        explainer.forest().n_trees()
    );
    println!(
        "    predict   LightGBM C API {lgb_s:.3} s   flat forest {flat_s:.3} s (compile {compile_s:.3} s)   max rel diff {pred_diff:.1e}"
    );
    println!(
        "    explain   table TreeSHAP {fast_s:.2} s = {:.0} µs/row (tables {tables_s:.2} s, {:.0} MiB)   LightGBM predict_contrib {:.0} µs/row on {sample} rows = {:.0} s for all   max abs diff {shap_diff:.1e}",
        fast_s * 1e6 / rows.max(1) as f64,
        explainer.table_bytes() as f64 / (1024.0 * 1024.0),
        lgb_shap_s * 1e6 / sample.max(1) as f64,
        lgb_shap_s * rows as f64 / sample.max(1) as f64,
    );
    Ok(())
}

/// Forecasts of the whole request file timed by `bench model`.
const FORECAST_RUNS: usize = 3;

/// `bench model`: forecast, explain and what-if timings on the plan of `l`, then the engines.
pub fn model(l: &Loaded, whatifs: usize) -> Result<()> {
    let requests = l.chain.requests.clone().context("no test.csv")?;
    // The first call, then the best of three (the steady state a server sees).
    let mut times = Vec::with_capacity(FORECAST_RUNS);
    let mut f = Vec::new();
    for _ in 0..FORECAST_RUNS {
        let t = Instant::now();
        f = l
            .forecaster
            .forecast_requests(&l.scenario, &l.chain.stores, &requests)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let first_s = times.first().copied().unwrap_or(f64::NAN);
    let forecast_s = times.iter().copied().fold(f64::INFINITY, f64::min);
    let cells: Vec<(u32, u32)> = requests
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                l.scenario.tl.store_index(r.store)? as u32,
                l.scenario.tl.day_index(r.date)? as u32,
            ))
        })
        .collect();
    let mut sorted = cells.clone();
    sorted.sort_unstable();
    let t = Instant::now();
    let ex = explain_cells(&l.forecaster, &l.scenario, &l.chain.stores, &sorted)?;
    let explain_s = t.elapsed().as_secs_f64();
    let store = requests.rows.first().map_or(1, |r| r.store);
    let (first, last) = requests.date_range().context("empty test.csv")?;
    let mut lat = Vec::new();
    for i in 0..whatifs.max(1) {
        let t = Instant::now();
        let change = PlanChange {
            promo: Some(i % 2 == 0),
            ..PlanChange::default()
        };
        run_whatif(
            &l.forecaster,
            &l.scenario,
            &l.chain.stores,
            store,
            first,
            last,
            change,
        )?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!("bench model: {} test rows", requests.len());
    println!(
        "  forecast (features + predict, after model load)  {forecast_s:.3} s for {} rows (best of {FORECAST_RUNS}; first call {first_s:.3} s)",
        f.len()
    );
    println!(
        "  explain (TreeSHAP + € by driver)                 {explain_s:.3} s for {} open rows",
        ex.len()
    );
    println!(
        "  what-if, 1 store x {} days, {} calls            median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        (last - first).num_days() + 1,
        lat.len(),
        q(0.5),
        q(0.95),
        q(1.0)
    );
    engines(l, &sorted)
}

/// `bench analyze`: the statistical analysis of `load`, `iterations` times.
pub fn analyze(load: &LoadReport, iterations: usize) -> Result<()> {
    let validation = validate(load, &ValidateConfig::default());
    let mut times = Vec::new();
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        std::hint::black_box(storecast_analysis::analyze(
            &load.data,
            Some(&validation),
            &storecast_analysis::AnalysisConfig::default(),
        ));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "bench analyze: {} history rows, {} iterations: min {:.2} s, median {:.2} s, max {:.2} s; peak RSS {:.0} MiB",
        load.data.history.len(),
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1],
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(())
}
