//! Database contract: migrations are idempotent and guarded, every write leaves exactly one
//! audit row in its own transaction, the audit log cannot be edited, and issued forecasts
//! join with actuals for monitoring.

mod common;

use common::*;
use storecast_store::audit::actions;
use storecast_store::db::{latest_version, MIGRATIONS};
use storecast_store::{ForecastRow, IngestError, NewAlert, Role, Store, StoreError};

#[test]
fn migrations_are_idempotent_and_data_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("store.db");
    {
        let store = Store::open(&path).expect("first open");
        assert_eq!(store.schema_version().expect("version"), latest_version());
        store.add_user("admin", "alice", Role::Admin).expect("add");
    }
    let schema_before = dump(&path, "sqlite_master");
    for _ in 0..2 {
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.schema_version().expect("version"), latest_version());
        assert_eq!(store.list_users().expect("users").len(), 1);
    }
    assert_eq!(dump(&path, "schema_version").len(), MIGRATIONS.len());
    assert_eq!(dump(&path, "sqlite_master"), schema_before);
    // WAL mode and foreign keys are on.
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    drop(Store::open(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw");
    conn.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (999, 'future', 'x')",
        [],
    )
    .expect("insert");
    drop(conn);
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (999, latest_version()));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn every_write_appears_in_the_audit_log() {
    let store = Store::open_in_memory().expect("open");
    let file = train_csv(&[1, 2], date(2015, 7, 1), 7);
    store
        .ingest_csv(file.as_bytes(), "w27.csv", "steward", &stores())
        .expect("ingest");
    store
        .ingest_csv(file.as_bytes(), "w27.csv", "steward", &stores())
        .expect("re-ingest");
    let rows = [ForecastRow {
        store: 1,
        date: date(2015, 7, 2),
        sales: 5000.0,
        lo80: 4500.0,
        hi80: 5500.0,
        lo95: 4000.0,
        hi95: 6000.0,
    }];
    store
        .record_forecasts("app", "v1", &rows)
        .expect("forecasts");
    store
        .add_user("admin", "alice", Role::viewer([1]).expect("role"))
        .expect("add");
    store.rotate_token("admin", "alice").expect("rotate");
    store.revoke_user("admin", "alice").expect("revoke");
    let alert = store
        .record_alert(
            "monitor",
            &NewAlert {
                kind: storecast_store::AlertKind::Accuracy,
                scope: "chain".into(),
                value: 0.2,
                threshold: 0.15,
                message: "RMSPE above threshold".into(),
            },
        )
        .expect("alert");
    store
        .acknowledge_alert("admin", alert.id, "checked")
        .expect("ack");
    store
        .audit(
            "admin",
            "model.promote",
            "2015-07-31-abc",
            serde_json::json!({"from": null}),
        )
        .expect("audit");

    // Refused writes leave no audit row.
    let mut bad = train_csv(&[1], date(2015, 7, 10), 1);
    bad.push_str("2,5,2015-07-10,100,1,0,0,0,0\n");
    assert!(matches!(
        store.ingest_csv(bad.as_bytes(), "bad.csv", "steward", &stores()),
        Err(IngestError::Invalid { .. })
    ));
    assert!(store.add_user("admin", "alice", Role::Admin).is_err());
    assert!(store.revoke_user("admin", "alice").is_err());
    store
        .acknowledge_alert("admin", alert.id, "again")
        .expect("ack again is a no-op");

    let log = store.audit_log(100).expect("log");
    let got: Vec<(&str, &str, &str)> = log
        .iter()
        .rev()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("steward", actions::INGEST, "w27.csv"),
            ("steward", actions::INGEST, "w27.csv"),
            ("app", actions::FORECASTS_RECORD, "v1"),
            ("admin", actions::USER_ADD, "alice"),
            ("admin", actions::USER_ROTATE, "alice"),
            ("admin", actions::USER_REVOKE, "alice"),
            ("monitor", actions::ALERT_RECORD, "chain"),
            ("admin", actions::ALERT_ACK, "chain"),
            ("admin", "model.promote", "2015-07-31-abc"),
        ]
    );
    assert_eq!(log[log.len() - 1].details["inserted"], 14);
    assert_eq!(log[log.len() - 2].details["unchanged"], 14);
    assert_eq!(store.audit_log(2).expect("log").len(), 2);
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
}

#[test]
fn a_write_whose_audit_row_fails_is_rolled_back() {
    let store = Store::open_in_memory().expect("open");
    // An empty actor cannot be audited: the user must not be created either.
    assert!(matches!(
        store.add_user(" ", "ghost", Role::Admin),
        Err(StoreError::InvalidInput(_))
    ));
    assert!(store.user("ghost").expect("lookup").is_none());
    assert!(store
        .record_alert(
            "",
            &NewAlert {
                kind: storecast_store::AlertKind::Bias,
                scope: "s".into(),
                value: 1.0,
                threshold: 0.5,
                message: String::new(),
            },
        )
        .is_err());
    assert!(store.alerts(false).expect("alerts").is_empty());
    assert!(store.audit_log(10).expect("log").is_empty());
}

#[test]
fn the_audit_log_cannot_be_edited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).expect("open");
    store
        .audit("admin", "test", "x", serde_json::Value::Null)
        .expect("audit");
    let conn = rusqlite::Connection::open(&path).expect("raw");
    assert!(conn
        .execute("UPDATE audit SET actor = 'mallory'", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert_eq!(store.audit_log(10).expect("log")[0].actor, "admin");
}

#[test]
fn issued_forecasts_join_actuals_for_monitoring() {
    let store = Store::open_in_memory().expect("open");
    store
        .ingest_csv(
            train_csv(&[1, 2], date(2015, 7, 1), 3).as_bytes(),
            "a.csv",
            "steward",
            &stores(),
        )
        .expect("ingest");
    let actual = store
        .actuals_between(date(2015, 7, 2), date(2015, 7, 2))
        .expect("actuals");
    let a1 = f64::from(actual.iter().find(|r| r.store == 1).expect("store 1").sales);
    let row = |store: u16, d: u32, sales: f64| ForecastRow {
        store,
        date: date(2015, 7, d),
        sales,
        lo80: sales * 0.9,
        hi80: sales * 1.1,
        lo95: sales * 0.8,
        hi95: sales * 1.2,
    };
    // v1: store 1 on 2 July (has an actual, inside 80 %), and 20 July (no actual yet).
    let v1 = [row(1, 2, a1 * 1.05), row(1, 20, 5000.0)];
    let out = store.record_forecasts("app", "v1", &v1).expect("v1");
    assert_eq!((out.inserted, out.unchanged, out.replaced), (1 + 1, 0, 0));
    let again = store.record_forecasts("app", "v1", &v1).expect("v1 again");
    assert_eq!((again.inserted, again.unchanged, again.replaced), (0, 2, 0));
    // v2: store 2 on 2 July, far off (outside both bands); then reissued with new numbers.
    store
        .record_forecasts("app", "v2", &[row(2, 2, 1.0)])
        .expect("v2");
    let re = store
        .record_forecasts("app", "v2", &[row(2, 2, 2.0)])
        .expect("v2 reissue");
    assert_eq!(re.replaced, 1);

    let v1_rows = store.forecast_vs_actual(Some("v1")).expect("join");
    assert_eq!(v1_rows.len(), 1, "only forecasts with an actual are joined");
    assert_eq!(v1_rows[0].forecast.store, 1);
    assert_eq!(f64::from(v1_rows[0].actual_sales), a1);
    assert!(v1_rows[0].inside80() && v1_rows[0].inside95());
    let all = store.forecast_vs_actual(None).expect("join all");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].model_version, "v2");
    assert_eq!(all[1].forecast.sales, 2.0);
    assert!(!all[1].inside80() && !all[1].inside95());
    assert_eq!(
        store.forecast_versions().expect("versions"),
        vec![("v1".to_string(), 2), ("v2".to_string(), 1)]
    );
    assert!(matches!(
        store.record_forecasts("app", "v3", &[row(1, 2, f64::NAN)]),
        Err(StoreError::InvalidInput(_))
    ));
    assert!(store.forecast_vs_actual(Some("v3")).expect("v3").is_empty());
}

#[test]
fn alerts_stay_open_until_acknowledged() {
    let store = Store::open_in_memory().expect("open");
    let new = |kind: storecast_store::AlertKind| NewAlert {
        kind,
        scope: "store 12".into(),
        value: 0.4,
        threshold: 0.25,
        message: format!("{kind} too high"),
    };
    let a = store
        .record_alert("monitor", &new(storecast_store::AlertKind::Accuracy))
        .expect("a");
    let b = store
        .record_alert("monitor", &new(storecast_store::AlertKind::Coverage80))
        .expect("b");
    assert_eq!(store.alerts(true).expect("open").len(), 2);
    let acked = store
        .acknowledge_alert("alice", a.id, "called the store")
        .expect("ack");
    assert!(acked.acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(acked.acknowledged_note.as_deref(), Some("called the store"));
    assert!(store
        .acknowledge_alert(
            "alice",
            b.id,
            &"x".repeat(storecast_store::MAX_NOTE_CHARS + 1)
        )
        .is_err());
    let open = store.alerts(true).expect("open");
    assert_eq!(open.iter().map(|x| x.id).collect::<Vec<_>>(), vec![b.id]);
    assert_eq!(store.alerts(false).expect("all").len(), 2);
    assert!(matches!(
        store.acknowledge_alert("alice", 999, ""),
        Err(StoreError::UnknownAlert(999))
    ));
    // Kinds read back typed, by the names the monitor's JSON and Prometheus labels use.
    assert_eq!(store.alerts(false).expect("all")[0].kind, "coverage80");
    for k in storecast_store::AlertKind::ALL {
        assert_eq!(serde_json::to_string(&k).expect("json"), format!("\"{k}\""));
        assert_eq!(storecast_store::AlertKind::from_name(k.name()), Some(k));
    }
}

#[test]
fn store_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    let store = std::sync::Arc::new(Store::open_in_memory().expect("open"));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for j in 0..10 {
                    s.audit(
                        &format!("t{i}"),
                        "test",
                        &j.to_string(),
                        serde_json::json!({}),
                    )
                    .expect("audit");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(store.audit_log(1000).expect("log").len(), 40);
}

#[test]
fn a_schema_2_database_with_actuals_upgrades_and_keeps_them() {
    // Schema 3 rebuilds `ingestions`, which `actuals` and `corrections` reference.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);",
        )
        .expect("version table");
        for m in MIGRATIONS.iter().filter(|m| m.version <= 2) {
            conn.execute_batch(m.sql).expect("old migration");
            conn.execute(
                "INSERT INTO schema_version VALUES (?1, ?2, '2026-01-01T00:00:00.000Z')",
                rusqlite::params![m.version, m.description],
            )
            .expect("version row");
        }
        conn.execute_batch(&format!(
            "INSERT INTO ingestions (file_name, sha256, rows, inserted, unchanged, at, actor)
               VALUES ('w1.csv', '{}', 1, 1, 0, '2026-01-01T00:00:00.000Z', 'steward');
             INSERT INTO actuals (store, date, day_of_week, sales, customers, open, promo,
                                  state_holiday, school_holiday, ingestion_id)
               VALUES (1, '2015-07-01', 3, 5263, 555, 1, 1, '0', 1, 1);",
            "a".repeat(64)
        ))
        .expect("old data");
    }
    let store = Store::open(&path).expect("upgrades");
    assert_eq!(store.schema_version().expect("version"), latest_version());
    let log = store.ingestions().expect("ingestions");
    assert_eq!((log.len(), log[0].inserted), (1, 1));
    let history = store.history().expect("history");
    assert_eq!((history.len(), history.row(0).sales), (1, 5263));
    // References hold after the rebuild: a row naming a missing ingestion is refused.
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute_batch("PRAGMA foreign_keys = ON;").expect("fk");
    assert!(conn
        .execute(
            "INSERT INTO actuals (store, date, day_of_week, sales, customers, open, promo,
                                  state_holiday, school_holiday, ingestion_id)
             VALUES (2, '2015-07-01', 3, 1, 1, 1, 0, '0', 0, 99)",
            [],
        )
        .is_err());
}
