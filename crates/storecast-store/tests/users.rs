//! Users and tokens: only the hash is stored, wrong and revoked tokens fail, roles limit what
//! a user sees, and repeated authentication does not pay for Argon2 again.

use storecast_store::{Role, Store, StoreError};

fn file_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).expect("open");
    (dir, path, store)
}

#[test]
fn add_authenticate_revoke() {
    let store = Store::open_in_memory().expect("open");
    let (user, token) = store
        .add_user("admin", "alice", Role::viewer([1]).expect("role"))
        .expect("add");
    assert_eq!(user.name, "alice");
    assert!(user.is_active());

    let who = store.authenticate(token.expose()).expect("auth");
    assert_eq!(who.as_ref().map(|u| u.id), Some(user.id));

    // A wrong secret with the right id, a wrong id, garbage, and the empty string all fail.
    let t = token.expose();
    let (id, secret) = t.split_once('.').expect("id.secret");
    let flipped = if secret.starts_with('0') { "1" } else { "0" };
    let wrong_secret = format!("{id}.{flipped}{}", &secret[1..]);
    assert_eq!(store.authenticate(&wrong_secret).expect("auth"), None);
    let wrong_id = format!("{}.{secret}", "f".repeat(id.len()));
    assert_eq!(store.authenticate(&wrong_id).expect("auth"), None);
    assert_eq!(store.authenticate("Bearer nonsense").expect("auth"), None);
    assert_eq!(store.authenticate("").expect("auth"), None);

    let revoked = store.revoke_user("admin", "alice").expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(store.authenticate(token.expose()).expect("auth"), None);
    assert!(matches!(
        store.revoke_user("admin", "alice"),
        Err(StoreError::AlreadyRevoked(_))
    ));
    assert!(matches!(
        store.revoke_user("admin", "nobody"),
        Err(StoreError::UnknownUser(_))
    ));
    // Revoked users keep their name; listing shows them.
    assert!(matches!(
        store.add_user("admin", "alice", Role::Director),
        Err(StoreError::UserExists(_))
    ));
    let users = store.list_users().expect("list");
    assert_eq!(users.len(), 1);
    assert!(!users[0].is_active());
}

#[test]
fn revocation_through_another_handle_takes_effect_at_once() {
    let (_dir, path, a) = file_store();
    let b = Store::open(&path).expect("second handle");
    let (_, token) = a.add_user("admin", "bob", Role::Director).expect("add");
    assert!(a.authenticate(token.expose()).expect("auth").is_some());
    // Another process (here: another handle) revokes; `a` must not keep bob in.
    b.revoke_user("admin", "bob").expect("revoke");
    assert_eq!(a.authenticate(token.expose()).expect("auth"), None);
}

#[test]
fn rotated_token_replaces_the_old_one() {
    let store = Store::open_in_memory().expect("open");
    let (_, old) = store.add_user("admin", "carol", Role::Admin).expect("add");
    assert!(store.authenticate(old.expose()).expect("auth").is_some());
    let (_, new) = store.rotate_token("admin", "carol").expect("rotate");
    assert_ne!(old, new);
    assert_eq!(store.authenticate(old.expose()).expect("auth"), None);
    assert!(store.authenticate(new.expose()).expect("auth").is_some());
}

#[test]
fn the_database_never_contains_a_plaintext_token() {
    let (dir, path, store) = file_store();
    let mut tokens = Vec::new();
    for (name, role) in [
        ("viewer-1", Role::viewer([1, 2]).expect("role")),
        ("director", Role::Director),
        ("root", Role::Admin),
    ] {
        let (_, token) = store.add_user("setup", name, role).expect("add");
        assert!(store.authenticate(token.expose()).expect("auth").is_some());
        tokens.push(token);
    }
    store.rotate_token("setup", "root").expect("rotate");
    drop(store);
    // Every file SQLite wrote (database, WAL, shared memory) is searched.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let p = entry.expect("entry").path();
        bytes.extend(std::fs::read(&p).expect("read"));
    }
    assert!(path.exists());
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    // The search is meaningful: what is stored is found ...
    assert!(contains("viewer-1"), "user name not found: wrong files?");
    assert!(contains("$argon2id$"), "no Argon2id hash found");
    // ... and no token, nor its secret part, is.
    for t in &tokens {
        let (_, secret) = t.expose().split_once('.').expect("id.secret");
        assert!(!contains(t.expose()), "plaintext token in the database");
        assert!(!contains(secret), "token secret in the database");
    }
}

#[test]
fn debug_output_never_shows_tokens_or_hashes() {
    let store = Store::open_in_memory().expect("open");
    let (user, token) = store.add_user("admin", "dave", Role::Admin).expect("add");
    let (_, secret) = token.expose().split_once('.').expect("id.secret");
    let shown = format!("{user:?} {token:?} {store:?} {:?}", store.list_users());
    assert!(!shown.contains(secret), "{shown}");
    assert!(!shown.contains("argon2"), "{shown}");
    let audit = format!("{:?}", store.audit_log(10).expect("audit"));
    assert!(
        !audit.contains(secret) && !audit.contains("argon2"),
        "{audit}"
    );
}

#[test]
fn roles_limit_what_a_user_sees() {
    let viewer = Role::viewer([1]).expect("role");
    assert!(viewer.can_view_store(1));
    assert!(!viewer.can_view_store(2));
    assert!(!viewer.can_view_chain());
    assert!(!viewer.is_admin());
    let area = Role::viewer([7, 3, 5]).expect("role");
    assert!(area.can_view_store(3) && area.can_view_store(5) && area.can_view_store(7));
    assert!(!area.can_view_store(4));
    for role in [Role::Director, Role::Admin] {
        assert!((1..=1115).all(|s| role.can_view_store(s)));
        assert!(role.can_view_chain());
    }
    assert!(!Role::Director.is_admin());
    assert!(Role::Admin.is_admin());

    // The role survives the database round trip.
    let store = Store::open_in_memory().expect("open");
    let (_, token) = store
        .add_user("admin", "eve", Role::viewer([1]).expect("role"))
        .expect("add");
    let eve = store
        .authenticate(token.expose())
        .expect("auth")
        .expect("eve");
    assert!(eve.can_view_store(1) && !eve.can_view_store(2) && !eve.is_admin());
    assert!(matches!(
        store.add_user("admin", "nostores", Role::Viewer { stores: vec![] }),
        Err(StoreError::InvalidInput(_))
    ));
    assert!(matches!(
        store.add_user("admin", "bad name!", Role::Director),
        Err(StoreError::InvalidInput(_))
    ));
}

#[test]
fn a_copied_database_without_its_key_grants_nothing() {
    // Token hashes are HMAC-SHA-256 under the server key kept beside the database: a stolen
    // copy of the database alone authenticates no one (and cannot be brute-forced offline).
    let (_dir, path, store) = file_store();
    let (_, token) = store
        .add_user("admin", "frank", Role::Director)
        .expect("add");
    assert!(store.authenticate(token.expose()).expect("auth").is_some());
    drop(store);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let copy = elsewhere.path().join("stolen.db");
    std::fs::copy(&path, &copy).expect("copy");
    // Issue 30, item 1: opening it made a fresh key, forking every keyed value; now refused,
    // and no key file is made.
    let refused = Store::open(&copy).expect_err("a keyed database without its key");
    assert!(
        matches!(refused, StoreError::MissingKey { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("stolen.db.key"), "{refused}");
    assert!(
        !elsewhere.path().join("stolen.db.key").exists(),
        "no key was made"
    );
    // Under another key (a thief's), nobody authenticates.
    let other = storecast_store::keys::Key::random();
    let stolen = Store::open_with_key(&copy, &other).expect("open under another key");
    assert_eq!(stolen.authenticate(token.expose()).expect("auth"), None);
    // With its key the original still works.
    let again = Store::open(&path).expect("reopen");
    assert!(again.authenticate(token.expose()).expect("auth").is_some());
}

#[cfg(unix)]
#[test]
fn the_database_and_its_key_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path, store) = file_store();
    store.add_user("admin", "gus", Role::Director).expect("add");
    for entry in std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
    {
        let mode = entry.metadata().expect("meta").permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o077,
            0,
            "{} is mode {mode:o}",
            entry.path().display()
        );
    }
    assert!(path.exists());
}

#[test]
fn a_user_cannot_pile_up_live_sessions() {
    // Issue 30, item 6: 200 sign-ins in 8 s left 205 live sessions for one user.
    let store = Store::open_in_memory().expect("open");
    let (user, _) = store.add_user("admin", "bob", Role::Director).expect("add");
    let (other, _) = store.add_user("admin", "eve", Role::Director).expect("add");
    let policy = storecast_store::SessionPolicy::default();
    let theirs = store.start_session(&other, &policy).expect("eve signs in");
    let ids: Vec<String> = (0..200)
        .map(|_| store.start_session(&user, &policy).expect("sign in").id)
        .collect();
    let live = ids
        .iter()
        .filter(|id| store.session(id, &policy).expect("lookup").is_some())
        .count();
    assert_eq!(live, policy.max_per_user, "live sessions of one user");
    let newest = ids.last().expect("a session");
    assert!(
        store.session(newest, &policy).expect("lookup").is_some(),
        "the newest stays"
    );
    assert!(
        ids[..150]
            .iter()
            .all(|id| store.session(id, &policy).expect("lookup").is_none()),
        "the oldest go (sign-ins within one millisecond may tie)"
    );
    assert!(
        store
            .session(&theirs.id, &policy)
            .expect("lookup")
            .is_some(),
        "another user's session is untouched"
    );
}

#[cfg(unix)]
#[test]
fn a_database_reached_through_a_symlink_uses_the_real_files_key() {
    // Issue 30, item 1: the key path was `<path as given>.key`, so a link made a new key and
    // every user was locked out ("audit log broken at row 1").
    let (dir, path, store) = file_store();
    let (_, token) = store.add_user("admin", "hal", Role::Director).expect("add");
    drop(store);
    let link = dir.path().join("alias.db");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    let through = Store::open(&link).expect("open through the link");
    assert!(through
        .authenticate(token.expose())
        .expect("auth")
        .is_some());
    assert!(through.verify_audit().expect("verify").first_bad.is_none());
    assert!(!dir.path().join("alias.db.key").exists(), "no second key");
}

#[test]
fn reading_a_database_never_creates_it_or_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.db");
    assert!(matches!(
        Store::open_existing(&missing),
        Err(StoreError::NoDatabase(_))
    ));
    assert!(!missing.exists());
    let (_d, path, store) = file_store();
    store.add_user("admin", "ivy", Role::Director).expect("add");
    drop(store);
    std::fs::remove_file(storecast_store::keys::db_key_path(&path)).expect("key removed");
    assert!(matches!(
        Store::open_existing(&path),
        Err(StoreError::MissingKey { .. })
    ));
    assert!(!storecast_store::keys::db_key_path(&path).exists());
}

#[cfg(unix)]
#[test]
fn file_hygiene_of_the_database_and_its_key() {
    // Issue 30, item 8.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // A database created through a dangling symlink ended up 0644.
    let target = dir.path().join("real.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    Store::open(&link).expect("open through a dangling link");
    let mode = std::fs::metadata(&target)
        .expect("created")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the database made through the link");
    // A failed open left a stray key file.
    let not_a_db = dir.path().join("folder.db");
    std::fs::create_dir(&not_a_db).expect("a directory");
    assert!(Store::open(&not_a_db).is_err());
    assert!(
        !dir.path().join("folder.db.key").exists(),
        "a stray key was left"
    );
    // A key file owned by another user was accepted.
    let key = storecast_store::keys::db_key_path(&target);
    if std::os::unix::fs::chown(&key, Some(4242), None).is_err() {
        println!("SKIPPED the key-owner check: changing a file's owner needs root");
        return;
    }
    let err = Store::open(&target).expect_err("a key owned by another user");
    assert!(err.to_string().contains("uid 4242"), "{err}");
}
