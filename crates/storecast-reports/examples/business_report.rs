//! Renders the business report from a saved backtest:
//! `cargo run --release -p storecast-reports --example business_report -- BACKTEST.json OUT_DIR [ASSUMPTIONS.json]`
//! (`storecast backtest --out DIR` writes `DIR/backtest.json`).

use storecast_model::backtest::BacktestResult;
use storecast_model::training::coverage_rows;
use storecast_reports::business::{self, Assumptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(out)) = (args.get(1), args.get(2)) else {
        return Err("usage: business_report BACKTEST.json OUT_DIR [ASSUMPTIONS.json]".into());
    };
    let bt: BacktestResult = serde_json::from_slice(&std::fs::read(input)?)?;
    let assumptions: Assumptions = match args.get(3) {
        Some(p) => serde_json::from_slice(&std::fs::read(p)?)?,
        None => Assumptions::default(),
    };
    let coverage = coverage_rows(&bt);
    let doc = business::business(
        &bt,
        &coverage,
        &assumptions,
        &Default::default(),
        input,
        None,
    );
    let (html, md) = business::write_report(&doc, std::path::Path::new(out))?;
    let hl = business::headline(&bt);
    for r in &hl.rows {
        println!(
            "fold {} {:<28} {:>8.0} €/store-week  weekly miss {:>6.0} €  RMSPE {:.4}  WAPE {:.4}  bias {:+.4}",
            r.fold,
            r.model,
            r.eur_per_store_week,
            r.weekly_total_miss,
            r.metrics.rmspe,
            r.metrics.wape,
            r.metrics.bias
        );
    }
    println!(
        "model vs median: {:.1}% closer (last fold)",
        100.0 * hl.improvement(business::MEDIAN, hl.last_fold)
    );
    println!("wrote {} and {}", html.display(), md.display());
    Ok(())
}
