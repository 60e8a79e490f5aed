//! The `storecast` binary end to end: exit codes of `validate` (0 clean, 1 error findings,
//! 2 unreadable input), the synthetic fallback being announced, and `synth` determinism.

use std::path::Path;
use std::process::{Command, Output};

fn storecast(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args(args)
        .current_dir(cwd)
        .env_remove("STORECAST_DATA")
        .output()
        .expect("storecast runs")
}

#[test]
fn validate_exit_codes_and_synth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = dir.path().join("chain");
    let out = storecast(
        &[
            "synth",
            "--stores",
            "15",
            "--seed",
            "3",
            "--out",
            chain.to_str().unwrap_or_default(),
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Same seed, same bytes.
    let again = dir.path().join("again");
    storecast(
        &[
            "synth",
            "--stores",
            "15",
            "--seed",
            "3",
            "--out",
            again.to_str().unwrap_or_default(),
        ],
        dir.path(),
    );
    for f in ["train.csv", "store.csv", "test.csv"] {
        assert_eq!(
            std::fs::read(chain.join(f)).ok(),
            std::fs::read(again.join(f)).ok(),
            "{f}"
        );
    }

    // Clean enough (warnings only): exit 0, JSON and HTML written.
    let json = dir.path().join("v.json");
    let html = dir.path().join("v.html");
    let out = storecast(
        &[
            "validate",
            "--data",
            chain.to_str().unwrap_or_default(),
            "--json",
            json.to_str().unwrap_or_default(),
            "--html",
            html.to_str().unwrap_or_default(),
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("json");
    assert!(report["summary"].is_object() && report["findings"].is_array());
    assert!(std::fs::read_to_string(&html)
        .expect("html written")
        .contains("Data quality report"));

    // An error-severity finding (a closed day with sales): exit 1.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).expect("dir");
    for f in ["store.csv", "test.csv"] {
        std::fs::copy(chain.join(f), bad.join(f)).expect("copy");
    }
    let mut train = std::fs::read_to_string(chain.join("train.csv")).expect("train");
    train.push_str("1,3,2013-01-02,999,10,0,0,0,0\n");
    std::fs::write(bad.join("train.csv"), train).expect("write");
    let out = storecast(
        &["validate", "--data", bad.to_str().unwrap_or_default()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("closed_with_sales"));

    // Unreadable input: a missing directory and a wrong header, exit 2 with file and line.
    let out = storecast(&["validate", "--data", "/nonexistent/dir"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no train.csv"));
    std::fs::write(bad.join("train.csv"), "Store,Date\n1,2015-01-01\n").expect("write");
    let out = storecast(
        &["validate", "--data", bad.to_str().unwrap_or_default()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train.csv: line 1: header lacks required column(s)"),
        "{err}"
    );

    // No data anywhere: the synthetic chain is used and announced.
    let empty = tempfile::tempdir().expect("temp dir");
    let nested = empty.path().join("a").join("b");
    std::fs::create_dir_all(&nested).expect("dir");
    let out = storecast(&["validate"], &nested);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SYNTHETIC chain"));
}
