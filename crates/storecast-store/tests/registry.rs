//! Model registry contract: immutable versions, promote and rollback, `CURRENT` switching
//! atomically, and a registry that stays loadable with the previous model active after a
//! crash at any point (simulated leftovers, and real SIGKILLs of a writing process).

mod common;

use common::artifact;
use std::path::Path;
use std::time::Duration;
use storecast_model::ModelArtifact;
use storecast_store::{Registry, RegistryError};

/// `a` signed with `reg`'s key, as training does.
fn signed(reg: &Registry, a: &ModelArtifact) -> ModelArtifact {
    let mut a = a.clone();
    reg.sign(&mut a);
    a
}

/// Whether `text` holds a run of 64 hex digits (a checksum or a MAC someone could reuse).
fn shows_a_digest(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .any(|w| w.len() >= 64)
}

#[test]
fn forged_unsigned_or_foreign_artifacts_are_refused_without_saying_what_would_pass() {
    // Before: a file with `scale` ×1.5 and a recomputed (unkeyed) checksum was registered and
    // promoted, forecasts +50 %; the checksum error printed the value that would pass.
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    let good = signed(&reg, &artifact("v1", "tree", 0.1));
    let mut forged = good.clone();
    forged.scale *= 1.5;
    forged.seal();
    let e = reg.register(&forged).expect_err("forged");
    assert!(matches!(e, RegistryError::BadSignature(_)), "{e}");
    assert!(!shows_a_digest(&e.to_string()), "{e}");
    let unsigned = artifact("v2", "tree", 0.1);
    assert!(matches!(
        reg.register(&unsigned),
        Err(RegistryError::Unsigned(_))
    ));
    let other = tempfile::tempdir().expect("tempdir");
    let foreign = signed(&Registry::open(other.path()).expect("open"), &unsigned);
    assert!(matches!(
        reg.register(&foreign),
        Err(RegistryError::BadSignature(_))
    ));
    assert_eq!(reg.versions().expect("versions"), Vec::<String>::new());

    // A registered file edited on disk afterwards, checksum recomputed: refused at load.
    reg.register(&good).expect("register");
    reg.promote("v1").expect("promote");
    forged.save(&reg.version_path("v1")).expect("overwrite");
    let e = reg.current().expect_err("forged on disk");
    assert!(matches!(e, RegistryError::BadSignature(_)), "{e}");
    // An edit without a new checksum: refused, without the checksum that would pass.
    let mut edited = good.clone();
    edited.scale *= 1.5;
    edited.save(&reg.version_path("v1")).expect("overwrite");
    let e = reg.load("v1").expect_err("edited");
    assert!(!shows_a_digest(&e.to_string()), "{e}");
    // And a file outside the registry (`serve --model`) is checked the same way.
    let file = dir.path().join("outside.json");
    forged.save(&file).expect("write");
    assert!(matches!(
        reg.open_file(&file),
        Err(RegistryError::BadSignature(_))
    ));
    good.save(&file).expect("write");
    let loaded = reg.open_file(&file).expect("signed loads");
    assert_eq!(loaded.checksum, good.checksum);
    assert_eq!(loaded.signature, good.signature);
}

/// Dot-named leftovers in `dir` (temp files); `.lock`, the registry's lock file, is kept on
/// purpose (its OS lock, not its existence, is what excludes writers).
fn dotfiles(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n != ".lock")
        .collect()
}

#[test]
fn register_promote_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path().join("models")).expect("open");
    assert!(reg.current().expect("current").is_none());
    assert!(matches!(reg.rollback(), Err(RegistryError::NoneActive)));

    let v1 = artifact("2015-06-30-aaaa", "tree v1", 0.12);
    let v2 = artifact("2015-07-31-bbbb", "tree v2", 0.11);
    let r1 = reg.register(&signed(&reg, &v1)).expect("register v1");
    assert!(!r1.already_present);
    reg.register(&signed(&reg, &v2)).expect("register v2");
    assert!(matches!(
        reg.promote("nope"),
        Err(RegistryError::UnknownVersion(_))
    ));

    let s = reg.promote(&v1.model_version).expect("promote v1");
    assert_eq!(
        (s.from, s.to.as_str(), s.changed),
        (None, "2015-06-30-aaaa", true)
    );
    assert!(matches!(
        reg.rollback(),
        Err(RegistryError::NothingToRollBack(_))
    ));
    let s = reg.promote(&v2.model_version).expect("promote v2");
    assert_eq!(s.from.as_deref(), Some("2015-06-30-aaaa"));
    let (active, a) = reg.current().expect("current").expect("active");
    assert_eq!(active, v2.model_version);
    assert_eq!(a.lightgbm_model, "tree v2");
    assert!(!reg.promote(&v2.model_version).expect("again").changed);

    let list = reg.list().expect("list");
    assert_eq!(list.len(), 2);
    let info2 = list
        .iter()
        .find(|i| i.version == v2.model_version)
        .expect("v2 listed");
    assert!(info2.active && info2.problem.is_none());
    assert_eq!(info2.last_fold_rmspe, Some(0.11));
    assert_eq!(info2.data_fingerprint, v2.data_fingerprint);
    assert!(
        !list
            .iter()
            .find(|i| i.version == v1.model_version)
            .expect("v1")
            .active
    );

    let s = reg.rollback().expect("rollback");
    assert_eq!(
        (s.from.as_deref(), s.to.as_str()),
        (Some("2015-07-31-bbbb"), "2015-06-30-aaaa")
    );
    assert_eq!(
        reg.current_version().expect("current").as_deref(),
        Some("2015-06-30-aaaa")
    );
    // Rollback steps back one promotion at a time; the first promotion has no predecessor.
    assert!(matches!(
        reg.rollback(),
        Err(RegistryError::NothingToRollBack(_))
    ));
    let h = reg.history().expect("history");
    let actions: Vec<(&str, &str)> = h
        .iter()
        .map(|e| (e.action.as_str(), e.version.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("promote", "2015-06-30-aaaa"),
            ("promote", "2015-07-31-bbbb"),
            ("rollback", "2015-06-30-aaaa"),
        ]
    );
    // CURRENT holds exactly the version name; no temp files remain.
    let current = std::fs::read_to_string(reg.dir().join("CURRENT")).expect("CURRENT");
    assert_eq!(current, "2015-06-30-aaaa\n");
    assert_eq!(dotfiles(reg.dir()), Vec::<String>::new());
    assert_eq!(dotfiles(&reg.dir().join("versions")), Vec::<String>::new());
}

#[test]
fn rollback_walks_back_through_several_promotions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    for v in ["a", "b", "c"] {
        reg.register(&signed(&reg, &artifact(v, v, 0.1)))
            .expect("register");
        reg.promote(v).expect("promote");
    }
    assert_eq!(reg.rollback().expect("1").to, "b");
    assert_eq!(reg.rollback().expect("2").to, "a");
    assert!(reg.rollback().is_err());
    reg.promote("c").expect("promote c");
    assert_eq!(reg.rollback().expect("3").to, "a");
}

#[test]
fn versions_are_immutable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    let v = artifact("v1", "tree", 0.1);
    reg.register(&signed(&reg, &v)).expect("register");
    let before = std::fs::read(reg.version_path("v1")).expect("read");
    let again = reg.register(&signed(&reg, &v)).expect("same content");
    assert!(again.already_present);
    let other = artifact("v1", "another tree", 0.1);
    assert!(matches!(
        reg.register(&signed(&reg, &other)),
        Err(RegistryError::VersionConflict { .. })
    ));
    assert_eq!(std::fs::read(reg.version_path("v1")).expect("read"), before);

    let mut unsealed = artifact("v2", "tree", 0.1);
    unsealed.scale = 2.0;
    assert!(matches!(
        reg.register(&signed(&reg, &unsealed)),
        Err(RegistryError::NotSealed(_))
    ));
    for bad in ["../escape", ".hidden", "a/b", ""] {
        let a = artifact(bad, "tree", 0.1);
        assert!(
            matches!(
                reg.register(&signed(&reg, &a)),
                Err(RegistryError::InvalidVersion(_))
            ),
            "{bad:?} accepted"
        );
    }
    assert_eq!(reg.versions().expect("versions"), vec!["v1".to_string()]);
}

#[test]
fn a_crash_during_registration_leaves_the_previous_model_active() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    let v1 = artifact("v1", "tree v1", 0.12);
    reg.register(&signed(&reg, &v1)).expect("register");
    reg.promote("v1").expect("promote");

    // What a writer killed mid-way leaves behind: half-written temps of a new version (never
    // renamed) and of CURRENT.
    let v2 = artifact("v2", "tree v2", 0.11);
    let full = serde_json::to_vec(&v2).expect("json");
    let versions = dir.path().join("versions");
    std::fs::write(versions.join(".v2.json.tmp-4242"), &full[..full.len() / 2]).expect("temp");
    std::fs::write(versions.join(".v2.json.tmp-4243"), b"").expect("temp");
    std::fs::write(dir.path().join(".CURRENT.tmp-4242-0"), b"v2").expect("temp");

    // A fresh process sees a loadable registry with the previous model active.
    let reg = Registry::open(dir.path()).expect("reopen");
    let (active, a) = reg.current().expect("current").expect("active");
    assert_eq!(
        (active.as_str(), a.lightgbm_model.as_str()),
        ("v1", "tree v1")
    );
    let listed: Vec<String> = reg
        .list()
        .expect("list")
        .into_iter()
        .map(|i| i.version)
        .collect();
    assert_eq!(listed, vec!["v1".to_string()]);

    // The next registration cleans the leftovers and works.
    reg.register(&signed(&reg, &v2)).expect("register v2");
    assert_eq!(dotfiles(&versions), Vec::<String>::new());
    assert_eq!(dotfiles(dir.path()), Vec::<String>::new());
    assert_eq!(
        reg.current_version().expect("current").as_deref(),
        Some("v1")
    );
    reg.promote("v2").expect("promote v2");
    assert_eq!(reg.rollback().expect("rollback").to, "v1");
}

#[test]
fn a_crash_between_current_and_history_is_repaired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    for v in ["a", "b", "c"] {
        reg.register(&signed(&reg, &artifact(v, v, 0.1)))
            .expect("register");
    }
    reg.promote("a").expect("a");
    // Killed after CURRENT was switched to b but before HISTORY was appended.
    std::fs::write(dir.path().join("CURRENT"), "b\n").expect("write");
    assert_eq!(
        reg.current_version().expect("current").as_deref(),
        Some("b")
    );
    assert_eq!(reg.rollback().expect("rollback").to, "a");
    let h = reg.history().expect("history");
    assert!(h.iter().any(|e| e.recovered && e.version == "b"));

    // Killed after a rollback switched CURRENT (c -> b) but before it was logged.
    reg.promote("b").expect("b");
    reg.promote("c").expect("c");
    std::fs::write(dir.path().join("CURRENT"), "b\n").expect("write");
    assert_eq!(reg.rollback().expect("rollback").to, "a");
}

#[test]
fn a_damaged_version_file_is_reported_not_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    reg.register(&signed(&reg, &artifact("good", "tree", 0.1)))
        .expect("good");
    reg.register(&signed(&reg, &artifact("bad", "tree", 0.1)))
        .expect("bad");
    reg.promote("good").expect("promote");
    let path = reg.version_path("bad");
    let text = std::fs::read_to_string(&path).expect("read");
    let tampered = text.replace("\"lightgbm_model\":\"tree\"", "\"lightgbm_model\":\"TREE\"");
    assert_ne!(tampered, text, "tampering missed");
    std::fs::write(&path, tampered).expect("tamper");
    let list = reg.list().expect("list");
    let bad = list.iter().find(|i| i.version == "bad").expect("listed");
    assert!(bad
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("checksum")));
    assert!(matches!(
        reg.promote("bad"),
        Err(RegistryError::Artifact(_))
    ));
    assert_eq!(
        reg.current_version().expect("current").as_deref(),
        Some("good")
    );
    // Re-registering over a damaged file is refused too (it is not silently replaced).
    assert!(reg
        .register(&signed(&reg, &artifact("bad", "tree", 0.1)))
        .is_err());
}

#[test]
fn readers_never_see_a_partial_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    for v in ["alpha", "beta"] {
        reg.register(&signed(&reg, &artifact(v, v, 0.1)))
            .expect("register");
    }
    reg.promote("alpha").expect("promote");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let reg = reg.clone();
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v = reg.current_version().expect("readable").expect("active");
                assert!(v == "alpha" || v == "beta", "saw {v:?}");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..60 {
        reg.promote(if i % 2 == 0 { "beta" } else { "alpha" })
            .expect("promote");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    assert!(reads > 0);
    assert_eq!(reg.history().expect("history").len(), 61);
}

const CHILD_ENV: &str = "STORECAST_REGISTRY_CRASH_CHILD";

/// The writer that the crash test kills: registers and promotes versions until killed.
/// Does nothing when run as an ordinary test.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, round) = spec.rsplit_once('|').expect("dir|round");
    let reg = Registry::open(dir).expect("open");
    for i in 0..100_000u32 {
        let v = format!("r{round}-{i:05}");
        let a = artifact(&v, &format!("tree {v} {}", "x".repeat(20_000)), 0.1);
        reg.register(&signed(&reg, &a)).expect("register");
        reg.promote(&v).expect("promote");
        if i % 3 == 2 {
            reg.rollback().expect("rollback");
        }
    }
}

#[test]
fn killing_a_writer_at_any_moment_leaves_a_loadable_registry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("open");
    reg.register(&signed(&reg, &artifact("base", "tree base", 0.1)))
        .expect("base");
    reg.promote("base").expect("promote");
    let exe = std::env::current_exe().expect("test binary");
    for (round, delay_ms) in [35u64, 80, 20, 150, 60, 110].iter().enumerate() {
        let mut child = std::process::Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}|{round}", dir.path().display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn writer");
        std::thread::sleep(Duration::from_millis(*delay_ms));
        let _ = child.kill(); // SIGKILL: no destructor, no cleanup
        child.wait().expect("reap");

        // Whatever moment it died at: the active model loads, every version loads.
        let reg = Registry::open(dir.path()).expect("reopen");
        let (active, a) = reg.current().expect("current readable").expect("active");
        assert_eq!(active, a.model_version);
        for info in reg.list().expect("list") {
            assert_eq!(info.problem, None, "version {} damaged", info.version);
        }
        reg.history().expect("history readable");
        // And the registry accepts changes again (a lock left by the dead writer is reclaimed).
        let v = format!("parent-{round}");
        reg.register(&signed(&reg, &artifact(&v, &v, 0.1)))
            .expect("register after crash");
        assert_eq!(dotfiles(&dir.path().join("versions")), Vec::<String>::new());
        reg.promote(&v).expect("promote after crash");
        assert_eq!(reg.rollback().expect("rollback after crash").to, active);
    }
    // The writers really wrote (the test is not vacuous): versions beyond base + the parent's.
    let reg = Registry::open(dir.path()).expect("reopen");
    let written = reg.versions().expect("versions").len();
    assert!(
        written > 1 + 6 + 6,
        "the writers registered only {written} versions"
    );
}
