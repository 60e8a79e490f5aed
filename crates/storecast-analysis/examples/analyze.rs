//! Runs the analysis on a data directory (or a synthetic chain) and prints the time taken and
//! the headline numbers; optionally writes the three outputs.
//!
//! Why this example exists: it is the quickest way to measure `analyze` on the real data
//! (`cargo run --release -p storecast-analysis --example analyze -- /path/to/rossmann [OUT]`)
//! and to eyeball a synthetic chain (`... -- synth 1115 [OUT]`).

use std::path::Path;
use std::time::Instant;
use storecast_analysis::{analyze, write_outputs, AnalysisConfig};
use storecast_data::ChainData;
use storecast_validate::{validate, ValidateConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let first = args.first().map(String::as_str).unwrap_or("synth");
    let t0 = Instant::now();
    let (report, out) = if first == "synth" {
        let stores: u16 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1115);
        let cfg = storecast_synth::SynthConfig {
            stores,
            quirks: std::env::var("QUIRKS").is_ok(),
            effects: if std::env::var("NULL").is_ok() {
                storecast_synth::PlantedEffects::none()
            } else {
                storecast_synth::PlantedEffects::realistic()
            },
            ..Default::default()
        };
        let chain = storecast_synth::generate(&cfg)?;
        let r = ChainData::from_bytes(
            chain.train_csv(),
            chain.store_csv(),
            Some(chain.test_csv()),
            "synth",
        )?;
        (r, args.get(2).cloned())
    } else {
        (ChainData::load_dir(Path::new(first))?, args.get(1).cloned())
    };
    let t_load = t0.elapsed();
    let validation = validate(&report, &ValidateConfig::default());
    let t1 = Instant::now();
    let analysis = analyze(&report.data, Some(&validation), &AnalysisConfig::default());
    let t_an = t1.elapsed();
    eprintln!("load {:.2?}, analyze {:.2?}", t_load, t_an);
    for h in &analysis.headlines {
        println!("{}. {}", h.rank, h.text);
    }
    for f in &analysis.findings {
        println!("\n## {} — {}", f.id, f.conclusion);
        for s in &f.statistics {
            println!(
                "  {:<40} {:>12.4} [{:>10.4}, {:>10.4}] p={:?} padj={:?} n={}",
                s.name,
                s.estimate,
                s.ci_low.unwrap_or(f64::NAN),
                s.ci_high.unwrap_or(f64::NAN),
                s.p_value.map(|p| (p * 1e4).round() / 1e4),
                s.p_adjusted.map(|p| (p * 1e4).round() / 1e4),
                s.n
            );
        }
    }
    if let Some(out) = out {
        let files = write_outputs(&analysis, Path::new(&out))?;
        eprintln!("wrote {files:?}");
    }
    Ok(())
}
