//! The analysis on the real Rossmann files, when they are present.
//!
//! Why this test exists: synthetic chains prove the statistics recover planted effects; this
//! proves the analysis runs on the real 1M-row history within the time budget and lands in sane
//! ranges (a known strong promotion, Sunday closed for most stores, a December peak). It looks
//! for the data in `$STORECAST_DATA` or `/work/shared/data/rossmann` and prints SKIPPED
//! without them. Run it in release: `cargo test --release -p storecast-analysis --test real_data`.

use std::path::PathBuf;
use std::time::Instant;
use storecast_analysis::{analyze, to_html, write_outputs, AnalysisConfig};
use storecast_data::ChainData;
use storecast_validate::{validate, ValidateConfig};

fn data_dir() -> Option<PathBuf> {
    storecast_data::real_data_dir()
}

#[test]
fn real_data_analysis_is_sane_and_fast() {
    let Some(dir) = data_dir() else {
        println!("SKIPPED: no real data (set STORECAST_DATA)");
        return;
    };
    let report = ChainData::load_dir(&dir).expect("real data loads");
    let validation = validate(&report, &ValidateConfig::default());
    let t = Instant::now();
    let a = analyze(&report.data, Some(&validation), &AnalysisConfig::default());
    let elapsed = t.elapsed();
    println!("analyze on the real data: {elapsed:.2?}");
    // Debug builds are far slower; the 10 s budget is for release builds.
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_secs_f64() <= 10.0, "analyze took {elapsed:.2?}");
    }

    let stat = |f: &str, s: &str| {
        a.finding(f)
            .and_then(|x| x.stat(s))
            .unwrap_or_else(|| panic!("missing {f}/{s}"))
            .clone()
    };
    let promo = stat("promo", "promo_uplift");
    println!(
        "promo uplift {:.3} [{:.3}, {:.3}]",
        promo.estimate,
        promo.ci_low.unwrap_or(f64::NAN),
        promo.ci_high.unwrap_or(f64::NAN)
    );
    assert!(promo.estimate > 0.15 && promo.estimate < 0.50, "{promo:?}");
    assert!(promo.significant(0.05));
    assert!(stat("weekday", "sunday_closed_share").estimate > 0.9);
    let dec = stat("seasonality", "december_vs_november");
    assert!(dec.estimate > 0.05 && dec.significant(0.05), "{dec:?}");
    let comp = stat("competition", "competitor_opening_effect");
    assert!(comp.estimate < 0.0 && comp.estimate > -0.3, "{comp:?}");
    let gap = stat("caveats", "main_gap_stores");
    assert_eq!(gap.estimate, 180.0);
    assert!((5..=8).contains(&a.headlines.len()), "{:?}", a.headlines);
    for f in &a.findings {
        assert!(!f.conclusion.is_empty(), "{} has no conclusion", f.id);
        assert!(!f.charts.is_empty(), "{} has no chart", f.id);
    }

    let html = to_html(&a).expect("renders");
    let charts: usize = a.findings.iter().map(|f| f.charts.len()).sum();
    assert_eq!(
        html.matches("class=\"chart-spec\" data-for=").count(),
        charts
    );
    let out = tempfile::tempdir().expect("tempdir");
    let files = write_outputs(&a, out.path()).expect("writes");
    assert_eq!(files.len(), 3);
    for h in &a.headlines {
        println!("{}. {}", h.rank, h.text);
    }
}
