//! `storecast explain`, `whatif` and `bench model`: a loaded model on the forecast scenario
//! (history + test.csv plan), explained, changed, and timed.

use crate::cli::DataArgs;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_explain::{explain as explain_cells, whatif as run_whatif, PlanChange};

/// The model and the forecast scenario of the data (see [`crate::input::model_on_plan`]).
pub use storecast_bench::Loaded;

fn load(data: &DataArgs, model: &Path) -> Result<Loaded> {
    crate::input::model_on_plan(data, model)
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
