//! Integration tests on the real Rossmann files, when present (skipped with a printed reason
//! otherwise). They pin the real data's known quirks, so a rule that stops seeing them fails.

use std::path::PathBuf;
use storecast_data::ChainData;
use storecast_validate::{render, validate, ValidateConfig};

fn real_dir() -> Option<PathBuf> {
    let dir = storecast_data::real_data_dir();
    if dir.is_none() {
        eprintln!("SKIPPED: real data not found (set STORECAST_DATA)");
    }
    dir
}

#[test]
fn real_data_quirks_are_all_found() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = real_dir() else { return Ok(()) };
    let load = ChainData::load_dir(&dir)?;
    assert!(
        load.rejected.is_empty(),
        "{:?}",
        &load.rejected[..load.rejected.len().min(3)]
    );
    assert!(load.data.history.len() > 900_000);
    let report = validate(&load, &ValidateConfig::default());
    println!("{}", render::to_text(&report, 2));

    // 180 stores miss 2014-07-01..2014-12-31, one store misses its first day.
    let gaps = report
        .finding(storecast_validate::RuleId::SeriesGap)
        .expect("gaps found");
    assert_eq!(gaps.count, 181);
    assert!(gaps.examples_complete);
    let half_year = gaps
        .examples
        .iter()
        .filter(|e| {
            e.date.map(|d| d.to_string()).as_deref() == Some("2014-07-01")
                && e.until.map(|d| d.to_string()).as_deref() == Some("2014-12-31")
        })
        .count();
    assert_eq!(half_year, 180);
    // The 12 blank Open values in test.csv, all listed, with the policy stated.
    let open = report
        .finding(storecast_validate::RuleId::OpenMissing)
        .expect("blank Open found");
    assert_eq!(open.count, 12);
    assert_eq!(open.examples.len(), 12);
    assert!(open.policy.is_some());
    // The 3 stores without a competition distance.
    assert_eq!(
        report.count(storecast_validate::RuleId::CompetitionDistanceMissing),
        3
    );
    // Open days without sales exist and are listed in full.
    let zero = report
        .finding(storecast_validate::RuleId::OpenZeroSales)
        .expect("open days without sales");
    assert!(zero.count > 0 && zero.examples_complete);
    // Test period follows the history and is complete; everything known exists.
    assert_eq!(
        report.count(storecast_validate::RuleId::TestDatesContiguous),
        0
    );
    assert_eq!(report.count(storecast_validate::RuleId::UnknownStore), 0);
    assert_eq!(report.count(storecast_validate::RuleId::ClosedWithSales), 0);
    assert_eq!(
        report.count(storecast_validate::RuleId::DayOfWeekMismatch),
        0
    );
    assert_eq!(report.summary.forecast_rows, 46_830);
    assert!(!report.has_errors());

    let json: serde_json::Value = serde_json::from_str(&render::to_json(&report)?)?;
    assert!(json["summary"].is_object());
    assert!(json["findings"].as_array().is_some_and(|f| f
        .iter()
        .all(|x| x["rule"].is_string() && x["examples"].is_array())));
    let html = render::to_html(&report)?;
    assert!(html.contains("series_gap") && !html.contains("http://") && !html.contains("https://"));
    Ok(())
}
