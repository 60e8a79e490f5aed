//! Each rule fires on a planted defect and stays quiet on clean data.

use storecast_data::{ChainData, LoadReport};
use storecast_synth::{generate, SynthConfig};
use storecast_validate::{render, validate, Severity, ValidateConfig};

fn chain(quirks: bool) -> storecast_synth::SynthChain {
    let cfg = SynthConfig {
        stores: 20,
        seed: 7,
        quirks,
        ..SynthConfig::default()
    };
    generate(&cfg).expect("synthetic chain")
}

fn load(train: Vec<u8>, store: Vec<u8>, test: Option<Vec<u8>>) -> LoadReport {
    ChainData::from_bytes(train, store, test, "test").expect("loads")
}

#[test]
fn clean_synthetic_chain_has_no_errors_and_no_quirk_findings() {
    let c = chain(false);
    let report = validate(
        &load(c.train_csv(), c.store_csv(), Some(c.test_csv())),
        &ValidateConfig::default(),
    );
    assert!(!report.has_errors(), "{}", render::to_text(&report, 3));
    for rule in [
        storecast_validate::RuleId::SeriesGap,
        storecast_validate::RuleId::OpenMissing,
        storecast_validate::RuleId::OpenZeroSales,
        storecast_validate::RuleId::CompetitionDistanceMissing,
        storecast_validate::RuleId::TestDatesContiguous,
    ] {
        assert_eq!(report.count(rule), 0, "{rule}");
    }
    assert_eq!(
        report.summary.rules.len(),
        storecast_validate::RuleId::ALL.len()
    );
}

#[test]
fn synthetic_quirks_are_found() {
    let c = chain(true);
    let report = validate(
        &load(c.train_csv(), c.store_csv(), Some(c.test_csv())),
        &ValidateConfig::default(),
    );
    let q = &c.truth.quirks;
    let gaps = report
        .finding(storecast_validate::RuleId::SeriesGap)
        .expect("gaps");
    assert_eq!(
        gaps.count,
        q.missing_half_year_stores.len() + usize::from(q.missing_first_day_store.is_some())
    );
    assert_eq!(
        report.count(storecast_validate::RuleId::OpenZeroSales),
        q.open_zero_sales.len()
    );
    assert_eq!(
        report.count(storecast_validate::RuleId::OpenMissing),
        q.blank_open_test.len()
    );
}

/// Replaces the first data line of a CSV that contains `needle` by `f(line)`.
fn edit(csv: &[u8], needle: &str, f: impl Fn(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(csv.to_vec()).expect("utf8");
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && !done && l.contains(needle) {
                done = true;
                f(l)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line with {needle}");
    (out.join("\n") + "\n").into_bytes()
}

#[test]
fn planted_defects_each_fire_their_rule() {
    let c = chain(false);
    let mut train = c.train_csv();
    // Open=0 with sales: a closed Sunday row gets sales.
    train = edit(&train, ",0,0,0,0,0,0", |l| {
        l.replacen(",0,0,0,0,0,0", ",500,40,0,0,0,0", 1)
    });
    // Wrong weekday on a row of 2015-06-18 (a Thursday).
    train = edit(&train, ",4,2015-06-18,", |l| {
        l.replacen(",4,2015-06-18,", ",3,2015-06-18,", 1)
    });
    // Negative sales.
    train = edit(&train, ",2015-06-17,", |l| {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        f[3] = format!("-{}", f[3]);
        f.join(",")
    });
    // An unknown store and a duplicate row.
    let first_line = String::from_utf8_lossy(&train)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut text = String::from_utf8(train).expect("utf8");
    text.push_str(&first_line);
    text.push('\n');
    text.push_str("999,5,2015-06-19,100,10,1,1,0,0\n");
    text.push_str("1,5,2015-06-19,100,10,1,1,z,0\n");
    let train = text.into_bytes();
    // store.csv: Promo2=0 with a filled interval, and an unknown interval.
    let mut stores = String::from_utf8(c.store_csv()).expect("utf8");
    stores.push_str("998,\"a\",\"a\",100,1,2010,0,,,\"Jan,Apr,Jul,Oct\"\n");
    stores.push_str("997,\"a\",\"a\",100,1,2010,1,10,2012,\"Jan,May\"\n");
    let report = validate(
        &load(train, stores.into_bytes(), Some(c.test_csv())),
        &ValidateConfig::default(),
    );
    for rule in [
        storecast_validate::RuleId::ClosedWithSales,
        storecast_validate::RuleId::DayOfWeekMismatch,
        storecast_validate::RuleId::NegativeValue,
        storecast_validate::RuleId::UnknownStore,
        storecast_validate::RuleId::DuplicateStoreDate,
        storecast_validate::RuleId::StateHolidayDomain,
        storecast_validate::RuleId::Promo2Inconsistent,
        storecast_validate::RuleId::PromoIntervalValue,
        storecast_validate::RuleId::StoreWithoutHistory,
    ] {
        assert!(
            report.count(rule) >= 1,
            "{rule} did not fire:\n{}",
            render::to_text(&report, 2)
        );
    }
    assert!(report.has_errors());
    let unknown = report
        .finding(storecast_validate::RuleId::UnknownStore)
        .expect("unknown store");
    assert_eq!(unknown.examples[0].store, Some(999));
    assert_eq!(unknown.severity, Severity::Error);
    let sh = report
        .finding(storecast_validate::RuleId::StateHolidayDomain)
        .expect("state holiday");
    assert!(
        sh.examples[0].message.contains("column 8 (StateHoliday)"),
        "{}",
        sh.examples[0].message
    );
}

#[test]
fn test_csv_starting_late_is_not_contiguous() {
    let c = chain(false);
    // Drop the first test day (2015-06-20) from test.csv.
    let text = String::from_utf8(c.test_csv()).expect("utf8");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(",2015-06-20,"))
        .collect();
    let test = (kept.join("\n") + "\n").into_bytes();
    let report = validate(
        &load(c.train_csv(), c.store_csv(), Some(test)),
        &ValidateConfig::default(),
    );
    let f = report
        .finding(storecast_validate::RuleId::TestDatesContiguous)
        .expect("fires");
    assert!(
        f.examples[0].message.contains("2015-06-20 was expected"),
        "{}",
        f.examples[0].message
    );
}

#[test]
fn every_rejected_row_is_counted_past_the_reasons_kept() {
    // The loader keeps MAX_REJECTED_KEPT reasons per file; the report still counts every row.
    let c = chain(false);
    let mut train = c.train_csv();
    let bad = storecast_data::MAX_REJECTED_KEPT + 123;
    for _ in 0..bad {
        train.extend_from_slice(b"1,5,2015-06-19,x,487,1,1,0,0\n");
    }
    let report = validate(
        &load(train, c.store_csv(), None),
        &ValidateConfig::default(),
    );
    assert_eq!(report.count(storecast_validate::RuleId::ColumnType), bad);
}
