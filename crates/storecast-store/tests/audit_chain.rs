//! The audit log is tamper-evident: every way of rewriting it outside storecast (an
//! `INSERT OR REPLACE`, dropping the triggers and deleting or editing rows, cutting rows off
//! the end, reordering ids, appending a forged row) is found by `verify_audit`, which names
//! the first bad row. Each attack runs on its own copy of a database with a few audited writes.

use storecast_store::{Role, Store};

/// A database with five audited writes, and its directory (the key file lives beside it).
fn audited_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).expect("open");
    for name in ["ann", "bob", "cem", "dov"] {
        store.add_user("root", name, Role::Director).expect("add");
    }
    store.revoke_user("root", "bob").expect("revoke");
    let v = store.verify_audit().expect("verify");
    assert!(v.first_bad.is_none(), "{:?}", v.first_bad);
    assert!(v.rows >= 5, "{} rows", v.rows);
    (dir, path)
}

/// Runs `sql` on the raw file, then verifies through storecast: the first bad row.
fn attack(sql: &str) -> (i64, String) {
    let (_dir, path) = audited_db();
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute_batch(sql)
        .expect("the attack runs on the raw file");
    drop(conn);
    let store = Store::open(&path).expect("reopen");
    let v = store.verify_audit().expect("verify");
    let bad = v.first_bad.unwrap_or_else(|| panic!("not detected: {sql}"));
    (bad.id, bad.problem)
}

#[test]
fn every_rewrite_of_the_audit_log_is_detected_and_named() {
    // INSERT OR REPLACE deletes and re-inserts: the update trigger does not fire.
    let (id, why) = attack(
        "INSERT OR REPLACE INTO audit (id, at, actor, action, target, details, hash)
         SELECT id, at, 'mallory', action, target, details, hash FROM audit WHERE id = 2;",
    );
    assert_eq!(id, 2, "{why}");
    // Drop the triggers, then edit or delete freely.
    let (id, why) = attack(
        "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
         UPDATE audit SET target = 'nobody' WHERE id = 3;",
    );
    assert_eq!(id, 3, "{why}");
    let (id, why) = attack("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2;");
    assert!(id <= 3, "row {id}: {why}");
    // Cut the last row off: the keyed head still vouches for it.
    let (id, why) = attack(
        "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = (SELECT max(id) FROM audit);",
    );
    assert!(id >= 4, "row {id}: {why}");
    // Swap two rows' contents (a reordering).
    let (id, why) = attack(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET id = -1 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3;
         UPDATE audit SET id = 3 WHERE id = -1;",
    );
    assert_eq!(id, 2, "{why}");
    // Append a row that looks like storecast's, with a made-up hash.
    let (id, why) = attack(
        "INSERT INTO audit (at, actor, action, target, details, hash)
         SELECT at, 'mallory', 'user.add', 'mallory', '{}', hash FROM audit ORDER BY id DESC LIMIT 1;",
    );
    assert!(id >= 6, "row {id}: {why}");
}

#[test]
fn a_copy_of_the_database_cannot_be_resealed_without_the_key() {
    // Whoever holds only the database cannot recompute the chain: verification under another
    // key fails at the first row (and `Store::open` refuses the copy without its key file).
    let (_dir, path) = audited_db();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    assert!(
        Store::open(&copy).is_err(),
        "a keyed copy without its key is refused"
    );
    let store = Store::open_with_key(&copy, &storecast_store::Key::random()).expect("open copy");
    let v = store.verify_audit().expect("verify");
    assert_eq!(v.first_bad.map(|b| b.id), Some(1));
}
