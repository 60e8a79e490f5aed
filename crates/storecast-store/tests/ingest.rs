//! Ingestion contract: a file goes in whole or not at all, re-delivery changes nothing, and a
//! refused file leaves every table byte-for-byte as it was.

mod common;

use common::*;
use storecast_store::{IngestError, Store};

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).expect("open");
    (dir, path, store)
}

#[test]
fn ingesting_the_same_file_twice_changes_nothing_the_second_time() {
    let (_dir, db, store) = fresh();
    let file = train_csv(&[1, 2, 3], date(2015, 7, 1), 14);
    let first = store
        .ingest_csv(file.as_bytes(), "week27.csv", "steward", &stores())
        .expect("first ingest");
    assert_eq!((first.rows, first.inserted, first.unchanged), (42, 42, 0));
    assert!(!first.report.has_errors());
    let actuals_before = dump(&db, "actuals");
    assert_eq!(actuals_before.len(), 42);
    let history_before = store.history().expect("history");

    let second = store
        .ingest_csv(file.as_bytes(), "week27.csv", "steward", &stores())
        .expect("second ingest");
    assert_eq!(
        (second.rows, second.inserted, second.unchanged),
        (42, 0, 42)
    );
    assert_eq!(dump(&db, "actuals"), actuals_before, "actuals changed");
    let history_after = store.history().expect("history");
    assert_eq!(history_after.len(), history_before.len());
    for i in 0..history_after.len() {
        assert_eq!(history_after.row(i), history_before.row(i));
    }
    // Both deliveries are on record, with the same fingerprint.
    let log = store.ingestions().expect("ingestions");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].sha256, log[1].sha256);
    assert_eq!((log[1].inserted, log[1].unchanged), (0, 42));
}

#[test]
fn overlapping_file_adds_only_the_new_rows() {
    let (_dir, _db, store) = fresh();
    let a = train_csv(&[1, 2], date(2015, 7, 1), 10);
    let b = train_csv(&[1, 2], date(2015, 7, 6), 10); // days 6..10 overlap
    store
        .ingest_csv(a.as_bytes(), "a.csv", "steward", &stores())
        .expect("a");
    let out = store
        .ingest_csv(b.as_bytes(), "b.csv", "steward", &stores())
        .expect("b");
    assert_eq!((out.rows, out.inserted, out.unchanged), (20, 10, 10));
    let (n, range) = store.actuals_summary().expect("summary");
    assert_eq!(n, 30);
    assert_eq!(range, Some((date(2015, 7, 1), date(2015, 7, 15))));
}

#[test]
fn stored_rows_read_back_exactly() {
    let (_dir, _db, store) = fresh();
    let file = train_csv(&[2, 3], date(2015, 7, 1), 7);
    store
        .ingest_csv(file.as_bytes(), "f.csv", "steward", &stores())
        .expect("ingest");
    let rows = store
        .actuals_between(date(2015, 7, 3), date(2015, 7, 4))
        .expect("between");
    assert_eq!(rows.len(), 4);
    let expected: Vec<String> = [(2, 3), (3, 3), (2, 4), (3, 4)]
        .iter()
        .map(|&(s, d)| train_line(s, date(2015, 7, d)))
        .collect();
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{},{},{},{},{},{},{},{},{}",
                r.store,
                r.day_of_week,
                r.date,
                r.sales,
                r.customers,
                u8::from(r.open),
                u8::from(r.promo),
                r.state_holiday.code(),
                u8::from(r.school_holiday)
            )
        })
        .collect();
    assert_eq!(got, expected);
    let h = store.history().expect("history");
    assert_eq!(h.len(), 14);
    assert_eq!(h.date_range(), Some((date(2015, 7, 1), date(2015, 7, 7))));
}

#[test]
fn a_malformed_cell_refuses_the_whole_file_and_writes_nothing() {
    let (_dir, db, store) = fresh();
    store
        .ingest_csv(
            train_csv(&[1], date(2015, 7, 1), 3).as_bytes(),
            "ok.csv",
            "steward",
            &stores(),
        )
        .expect("baseline");
    let before = dump_all(&db);
    // Valid new rows plus one with a bad Sales cell.
    let mut file = train_csv(&[2, 3], date(2015, 7, 1), 5);
    file.push_str("1,6,2015-07-04,12x,500,1,0,0,0\n");
    let err = store
        .ingest_csv(file.as_bytes(), "bad.csv", "steward", &stores())
        .expect_err("must be refused");
    match err {
        IngestError::Invalid {
            rejected_rows,
            report,
            blocking_rules,
            ..
        } => {
            assert_eq!(rejected_rows, 1);
            assert_eq!(report.count(storecast_validate::RuleId::ColumnType), 1);
            assert!(blocking_rules.contains(&"column_type".to_string()));
            let ex = &report
                .finding(storecast_validate::RuleId::ColumnType)
                .expect("finding")
                .examples[0];
            assert_eq!(ex.line, Some(12));
            assert_eq!(ex.column.as_deref(), Some("Sales"));
        }
        other => panic!("expected Invalid, got {other}"),
    }
    assert_eq!(dump_all(&db), before, "a refused file changed the database");
}

#[test]
fn an_error_severity_finding_refuses_the_whole_file_and_writes_nothing() {
    let (_dir, db, store) = fresh();
    let before = dump_all(&db);
    let mut file = train_csv(&[1, 2], date(2015, 7, 1), 5);
    // Closed (Open=0) with sales: parses fine, fails closed_with_sales (error severity).
    file.push_str("3,3,2015-07-01,5000,400,0,0,0,0\n");
    let err = store
        .ingest_csv(file.as_bytes(), "closed.csv", "steward", &stores())
        .expect_err("must be refused");
    match &err {
        IngestError::Invalid {
            rejected_rows,
            report,
            blocking_rules,
            ..
        } => {
            assert_eq!(*rejected_rows, 0);
            assert_eq!(blocking_rules, &vec!["closed_with_sales".to_string()]);
            assert!(report.has_errors());
            let json = storecast_validate::render::to_json(report).expect("json");
            assert!(json.contains("closed_with_sales"));
        }
        other => panic!("expected Invalid, got {other}"),
    }
    assert!(err.to_string().contains("closed_with_sales"));
    assert_eq!(dump_all(&db), before, "a refused file changed the database");
    assert_eq!(store.history().expect("history").len(), 0);
}

#[test]
fn unknown_stores_and_duplicates_refuse_the_file() {
    let (_dir, db, store) = fresh();
    let before = dump_all(&db);
    let unknown = train_csv(&[1, 9], date(2015, 7, 1), 3);
    match store.ingest_csv(unknown.as_bytes(), "u.csv", "steward", &stores()) {
        Err(IngestError::Invalid { blocking_rules, .. }) => {
            assert_eq!(blocking_rules, vec!["unknown_store".to_string()]);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut dup = train_csv(&[1], date(2015, 7, 1), 3);
    dup.push_str(&train_line(1, date(2015, 7, 2)));
    dup.push('\n');
    match store.ingest_csv(dup.as_bytes(), "d.csv", "steward", &stores()) {
        Err(IngestError::Invalid { blocking_rules, .. }) => {
            assert_eq!(blocking_rules, vec!["duplicate_store_date".to_string()]);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(dump_all(&db), before);
}

#[test]
fn a_row_contradicting_a_stored_row_refuses_the_file() {
    let (_dir, db, store) = fresh();
    store
        .ingest_csv(
            train_csv(&[1, 2], date(2015, 7, 1), 5).as_bytes(),
            "first.csv",
            "steward",
            &stores(),
        )
        .expect("first");
    let before = dump_all(&db);
    // New days for store 3 plus one stored day of store 2 with other sales.
    let mut file = train_csv(&[3], date(2015, 7, 1), 5);
    let original = train_line(2, date(2015, 7, 2));
    let mut cells: Vec<String> = original.split(',').map(str::to_string).collect();
    cells[3] = (cells[3].parse::<i32>().expect("sales") + 1).to_string();
    file.push_str(&cells.join(","));
    file.push('\n');
    let err = store
        .ingest_csv(file.as_bytes(), "second.csv", "steward", &stores())
        .expect_err("conflict");
    match &err {
        IngestError::Conflict { conflicts, .. } => {
            assert_eq!(conflicts.len(), 1);
            let c = &conflicts[0];
            assert_eq!(c.line, 7);
            assert_eq!((c.incoming.store, c.incoming.date), (2, date(2015, 7, 2)));
            assert_eq!(c.incoming.sales, c.stored.sales + 1);
        }
        other => panic!("expected Conflict, got {other}"),
    }
    assert!(err.to_string().contains("line 7"), "{err}");
    assert_eq!(
        dump_all(&db),
        before,
        "a conflicting file changed the database"
    );
}

#[test]
fn warnings_do_not_refuse_and_store_table_errors_are_not_the_files_fault() {
    let (_dir, _db, store) = fresh();
    // The store table itself has an error finding (unknown PromoInterval) ...
    let broken_stores =
        store_table_from(&store_csv().replace("\"Jan,Apr,Jul,Oct\"", "\"Jan,Feb\""));
    // ... and the file has a warning (open with zero sales).
    let mut file = train_csv(&[1], date(2015, 7, 1), 3);
    file.push_str("2,3,2015-07-01,0,0,1,0,0,0\n");
    let out = store
        .ingest_csv(file.as_bytes(), "w.csv", "steward", &broken_stores)
        .expect("accepted");
    assert_eq!(out.inserted, 4);
    assert_eq!(
        out.report.count(storecast_validate::RuleId::OpenZeroSales),
        1
    );
    assert_eq!(
        out.report
            .count(storecast_validate::RuleId::PromoIntervalValue),
        2
    );
}

#[test]
fn an_unreadable_file_is_a_load_error() {
    let (_dir, db, store) = fresh();
    let before = dump_all(&db);
    let err = store
        .ingest_csv(b"Store,Date\n1,2015-07-01\n", "h.csv", "steward", &stores())
        .expect_err("wrong header");
    assert!(matches!(err, IngestError::Load { .. }), "{err}");
    assert_eq!(dump_all(&db), before);
}

#[test]
fn actuals_fingerprint_depends_on_content_not_delivery() {
    let (_d1, _p1, a) = fresh();
    let (_d2, _p2, b) = fresh();
    let whole = train_csv(&[1, 2], date(2015, 7, 1), 6);
    a.ingest_csv(whole.as_bytes(), "whole.csv", "x", &stores())
        .expect("a");
    b.ingest_csv(
        train_csv(&[2, 1], date(2015, 7, 4), 3).as_bytes(),
        "late.csv",
        "x",
        &stores(),
    )
    .expect("b1");
    b.ingest_csv(
        train_csv(&[1, 2], date(2015, 7, 1), 3).as_bytes(),
        "early.csv",
        "x",
        &stores(),
    )
    .expect("b2");
    assert_eq!(
        a.actuals_fingerprint().expect("fa"),
        b.actuals_fingerprint().expect("fb")
    );
    b.ingest_csv(
        train_csv(&[3], date(2015, 7, 1), 1).as_bytes(),
        "more.csv",
        "x",
        &stores(),
    )
    .expect("b3");
    assert_ne!(
        a.actuals_fingerprint().expect("fa"),
        b.actuals_fingerprint().expect("fb")
    );
}

#[test]
fn implausible_actuals_are_refused_unless_accepted_with_a_reason() {
    // Before: a one-row file dated 2099-01-01 (or 1900-01-01, or sales 2,147,483,647) was
    // stored for good, and every later retrain backtested on the years up to it.
    let (_dir, db, store) = fresh();
    store
        .ingest_csv(
            train_csv(&[1, 2], date(2015, 5, 1), 60).as_bytes(),
            "history.csv",
            "steward",
            &stores(),
        )
        .expect("a plausible history");
    let before = dump_all(&db);
    let one_row = |line: String| {
        format!(
            "{}\n{line}\n",
            train_csv(&[1], date(2015, 1, 1), 0).trim_end()
        )
    };
    let attacks = [
        one_row("1,4,2099-01-01,5000,500,1,0,0,0".into()),
        one_row("1,1,1900-01-01,5000,500,1,0,0,0".into()),
        one_row("1,3,2015-07-01,2147483647,500,1,0,0,0".into()),
        // Within MAX_DAY_SALES, but 10 x what store 1 ever sold.
        one_row("1,3,2015-07-01,60000,500,1,0,0,0".into()),
    ];
    for file in &attacks {
        match store.ingest_csv(file.as_bytes(), "odd.csv", "steward", &stores()) {
            Err(IngestError::Implausible { file, rows }) => {
                assert_eq!(file, "odd.csv");
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].line, 2, "{}", rows[0]);
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    assert_eq!(dump_all(&db), before, "a refused file writes nothing");
    // Accepted with a reason: stored, and the reason is in the audit log.
    let options = storecast_store::IngestOptions {
        accept_implausible: Some("store 1 sold its fittings on 2015-07-01".into()),
        ..Default::default()
    };
    store
        .ingest_csv_with(
            attacks[3].as_bytes(),
            "odd.csv",
            "steward",
            &stores(),
            &options,
        )
        .expect("accepted with a reason");
    let audit = dump(&db, "audit").join("\n");
    assert!(audit.contains("sold its fittings"), "{audit}");
}

#[test]
fn a_stored_actual_is_corrected_only_with_a_reason_and_its_previous_value_is_kept() {
    // Before: a wrong actual, once stored, could never be changed (every later file with the
    // right value was refused as a conflict).
    let (_dir, db, store) = fresh();
    store
        .ingest_csv(
            train_csv(&[1, 2], date(2015, 7, 1), 5).as_bytes(),
            "first.csv",
            "steward",
            &stores(),
        )
        .expect("first");
    let original = train_line(2, date(2015, 7, 2));
    let mut cells: Vec<String> = original.split(',').map(str::to_string).collect();
    let wrong: i32 = cells[3].parse().expect("sales");
    cells[3] = (wrong + 250).to_string();
    let file = format!(
        "{}\n{}\n",
        train_csv(&[1], date(2015, 1, 1), 0).trim_end(),
        cells.join(",")
    );
    let before = dump_all(&db);
    assert!(matches!(
        store.ingest_csv(file.as_bytes(), "fix.csv", "steward", &stores()),
        Err(IngestError::Conflict { .. })
    ));
    let blank = storecast_store::IngestOptions {
        correct: Some("  ".into()),
        ..Default::default()
    };
    assert!(store
        .ingest_csv_with(file.as_bytes(), "fix.csv", "steward", &stores(), &blank)
        .is_err());
    assert_eq!(dump_all(&db), before, "a refused correction writes nothing");

    let options = storecast_store::IngestOptions {
        correct: Some("till 2 was counted twice on 2015-07-02".into()),
        ..Default::default()
    };
    let out = store
        .ingest_csv_with(file.as_bytes(), "fix.csv", "steward", &stores(), &options)
        .expect("corrected");
    assert_eq!((out.rows, out.inserted, out.corrected), (1, 0, 1));
    let history = store.history().expect("history");
    let fixed = (0..history.len())
        .map(|i| history.row(i))
        .find(|r| r.store == 2 && r.date == date(2015, 7, 2))
        .expect("row");
    assert_eq!(fixed.sales, wrong + 250);
    let kept = store.corrections().expect("corrections");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].previous["sales"], wrong);
    assert_eq!(kept[0].corrected["sales"], wrong + 250);
    assert_eq!(kept[0].actor, "steward");
    assert!(kept[0].reason.contains("counted twice"));
    let audit = dump(&db, "audit").join("\n");
    assert!(audit.contains("counted twice"), "{audit}");
    assert!(store.verify_audit().expect("verify").is_intact());
    // Re-delivering the corrected file changes nothing more.
    let again = store
        .ingest_csv_with(file.as_bytes(), "fix.csv", "steward", &stores(), &options)
        .expect("again");
    assert_eq!((again.corrected, again.unchanged), (0, 1));
    assert_eq!(store.corrections().expect("corrections").len(), 1);
}

#[test]
fn a_delivery_limited_to_some_stores_refuses_rows_of_others_naming_their_lines() {
    // Issue 31: a store manager may deliver their own store's rows only.
    let (_dir, db, store) = fresh();
    let before = dump_all(&db);
    let only_1 = storecast_store::IngestOptions {
        only_stores: Some(vec![1]),
        ..Default::default()
    };
    let file = train_csv(&[1, 2], date(2015, 7, 1), 2);
    match store.ingest_csv_with(file.as_bytes(), "mixed.csv", "viewer1", &stores(), &only_1) {
        Err(IngestError::OutOfScope { file, rows }) => {
            assert_eq!(file, "mixed.csv");
            assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), vec![2, 2]);
            assert!(rows.iter().all(|r| r.0 >= 2), "{rows:?}");
        }
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(dump_all(&db), before, "a refused file writes nothing");
    let own = train_csv(&[1], date(2015, 7, 1), 2);
    let out = store
        .ingest_csv_with(own.as_bytes(), "own.csv", "viewer1", &stores(), &only_1)
        .expect("own rows are stored");
    assert_eq!(out.inserted, 2);
}
