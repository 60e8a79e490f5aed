//! `storecast explain`, `whatif` and `bench model`: a loaded model on the forecast scenario
//! (history + test.csv plan), explained, changed, and timed.

use crate::cli::DataArgs;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_data::ChainData;
use storecast_explain::{explain as explain_cells, whatif as run_whatif, PlanChange};
use storecast_model::{Forecaster, ModelArtifact, Scenario};

/// The model and the forecast scenario built from the data's history and test.csv plan.
pub struct Loaded {
    /// The chain.
    pub chain: ChainData,
    /// The model.
    pub forecaster: Forecaster,
    /// History + plan.
    pub scenario: Scenario,
}

pub fn load(data: &DataArgs, model: &Path) -> Result<Loaded> {
    let artifact = ModelArtifact::load(model).with_context(|| {
        format!(
            "loading the model (train one with `storecast train --out {}`)",
            model.display()
        )
    })?;
    let chain = crate::input::load(data)?
        .into_strict()
        .context("the data has rows that do not parse; run `storecast validate`")?;
    let requests = chain
        .requests
        .clone()
        .context("the data has no test.csv: nothing to forecast")?;
    let scenario = Scenario::new(&chain.history, &requests)?;
    let forecaster = Forecaster::new(artifact).context("starting the model")?;
    Ok(Loaded {
        chain,
        forecaster,
        scenario,
    })
}

pub fn explain(
    data: &DataArgs,
    model: &Path,
    store: u16,
    date: NaiveDate,
    json: bool,
) -> Result<ExitCode> {
    let l = load(data, model)?;
    let s = l
        .scenario
        .tl
        .store_index(store)
        .with_context(|| format!("store {store} is not in the forecast"))?;
    let d = l
        .scenario
        .tl
        .day_index(date)
        .filter(|d| *d >= l.scenario.origin)
        .with_context(|| format!("{date} is not in the forecast horizon"))?;
    let ex = explain_cells(
        &l.forecaster,
        &l.scenario,
        &l.chain.stores,
        &[(s as u32, d as u32)],
    )?;
    let Some(e) = ex.first() else {
        println!("store {store} is planned closed on {date}: the forecast is 0 €");
        return Ok(ExitCode::SUCCESS);
    };
    if json {
        println!("{}", serde_json::to_string_pretty(e)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Store {store}, {} {date}: forecast {:.0} €",
        date.format("%A"),
        e.forecast
    );
    let bar = |euro: f64| "█".repeat(((euro.abs() / e.forecast.max(1.0)) * 60.0).round() as usize);
    println!(
        "  {:<44} {:>10.0} €",
        "the chain's average day", e.chain_baseline
    );
    for dr in &e.usual_day {
        println!("    {:<42} {:>+10.0} €", dr.label, dr.euro);
    }
    println!(
        "  {:<44} {:>10.0} €   (the waterfall starts here)",
        format!(
            "= a usual {} for store {store} in this season",
            date.format("%A")
        ),
        e.baseline
    );
    let mut running = e.baseline;
    let mut drivers = e.drivers.clone();
    drivers.sort_by(|a, b| b.euro.abs().total_cmp(&a.euro.abs()));
    for dr in &drivers {
        running += dr.euro;
        println!("  {:<44} {:>+10.0} €   {}", dr.label, dr.euro, bar(dr.euro));
    }
    println!("  {:<44} {:>10.0} €", "= forecast", running);
    println!("  top features (log contribution):");
    for (name, value, c) in e.features.iter().take(8) {
        println!("    {name:<26} = {value:<10.3} {c:+.4}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn whatif(
    data: &DataArgs,
    model: &Path,
    store: u16,
    from: NaiveDate,
    to: NaiveDate,
    change: PlanChange,
    json: bool,
) -> Result<ExitCode> {
    let l = load(data, model)?;
    let t = Instant::now();
    let w = run_whatif(
        &l.forecaster,
        &l.scenario,
        &l.chain.stores,
        store,
        from,
        to,
        change,
    )?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if json {
        println!("{}", serde_json::to_string_pretty(&w)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("Store {store}, change {from}..{to}: {change:?}");
    println!(
        "{:<12} {:>6} {:>6} {:>10} {:>10} {:>9}",
        "date", "open", "promo", "before €", "after €", "change"
    );
    for (b, a) in w.before.iter().zip(&w.after) {
        if b.sales != a.sales || (b.date >= from && b.date <= to) {
            println!(
                "{:<12} {:>6} {:>6} {:>10.0} {:>10.0} {:>+9.0}",
                b.date,
                if a.open { "yes" } else { "no" },
                if a.promo { "yes" } else { "no" },
                b.sales,
                a.sales,
                a.sales - b.sales
            );
        }
    }
    println!(
        "six-week total: {:+.0} € ({:+.1}%)",
        w.delta_eur,
        w.delta_pct * 100.0
    );
    for (d, v) in &w.driver_deltas {
        if v.abs() >= 0.5 {
            println!("  {:<18} {:>+10.0} €", d.label(), v);
        }
    }
    println!("(computed in {ms:.1} ms)");
    Ok(ExitCode::SUCCESS)
}

pub fn bench(data: &DataArgs, model: &Path, whatifs: usize) -> Result<ExitCode> {
    let l = load(data, model)?;
    let requests = l.chain.requests.clone().context("no test.csv")?;
    let t = Instant::now();
    let f = l
        .forecaster
        .forecast_requests(&l.scenario, &l.chain.stores, &requests)?;
    let forecast_s = t.elapsed().as_secs_f64();
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
        "  forecast (features + predict, after model load)  {forecast_s:.3} s for {} rows",
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
    super::bench::engines(&l, &sorted)?;
    Ok(ExitCode::SUCCESS)
}
