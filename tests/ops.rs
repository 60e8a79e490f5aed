//! `storecast ops --watch DIR` through the real binary (issue 29): a SIGKILL in the middle of a
//! retrain leaves the audit log intact, the old model active and the file waiting; the next
//! run stores nothing twice, retrains, and files the actuals under done/.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn storecast(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args(args)
        .current_dir(cwd)
        .env_remove("STORECAST_DATA")
        .env_remove("STORECAST_DB")
        .output()
        .expect("storecast runs")
}

fn run_ok(args: &[&str], cwd: &Path) -> String {
    let out = storecast(args, cwd);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Splits a synthetic chain at `cut`: `base/` holds the history before it, the store table and
/// a plan (the week from `cut` as test rows, then the chain's own test.csv); the week's
/// actuals go to `watch/actuals-<cut>.csv`.
fn split(chain: &Path, base: &Path, watch: &Path, cut: &str, week_end: &str) {
    std::fs::create_dir_all(base).expect("base dir");
    std::fs::create_dir_all(watch).expect("watch dir");
    std::fs::copy(chain.join("store.csv"), base.join("store.csv")).expect("store.csv");
    let train = std::fs::read_to_string(chain.join("train.csv")).expect("train.csv");
    let mut lines = train.lines();
    let header = lines.next().expect("header");
    let (mut before, mut week) = (vec![header.to_string()], vec![header.to_string()]);
    let mut plan =
        vec!["Id,Store,DayOfWeek,Date,Open,Promo,StateHoliday,SchoolHoliday".to_string()];
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let date = f[2];
        if date < cut {
            before.push(line.to_string());
        } else if date <= week_end {
            week.push(line.to_string());
            let id = plan.len();
            plan.push(format!(
                "{id},{},{},{},{},{},{},{}",
                f[0], f[1], f[2], f[5], f[6], f[7], f[8]
            ));
        }
    }
    let test = std::fs::read_to_string(chain.join("test.csv")).expect("test.csv");
    for line in test.lines().skip(1) {
        let (_, rest) = line.split_once(',').expect("an id");
        let id = plan.len();
        plan.push(format!("{id},{rest}"));
    }
    std::fs::write(base.join("train.csv"), before.join("\n") + "\n").expect("train");
    std::fs::write(base.join("test.csv"), plan.join("\n") + "\n").expect("test");
    std::fs::write(
        watch.join(format!("actuals-{cut}.csv")),
        week.join("\n") + "\n",
    )
    .expect("week");
}

fn active(dir: &Path) -> (String, usize) {
    let list: serde_json::Value = serde_json::from_str(&run_ok(
        &["models", "list", "--registry", "reg", "--json"],
        dir,
    ))
    .expect("json");
    let versions = list.as_array().expect("versions");
    let active = versions
        .iter()
        .find(|v| v["active"] == true)
        .and_then(|v| v["version"].as_str())
        .expect("an active version");
    (active.to_string(), versions.len())
}

#[test]
fn a_sigkill_during_the_daemons_retrain_leaves_everything_consistent_and_the_next_run_completes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    run_ok(
        &[
            "synth",
            "--stores",
            "20",
            "--seed",
            "7",
            "--no-quirks",
            "--out",
            "chain",
        ],
        dir,
    );
    split(
        &dir.join("chain"),
        &dir.join("base"),
        &dir.join("watch"),
        "2015-06-13",
        "2015-06-19",
    );
    let data = ["--data", "base"];
    run_ok(
        &[
            &["ingest"][..],
            &data,
            &["--file", "base/train.csv", "--db", "ops.db"],
        ]
        .concat(),
        dir,
    );
    let quick = ["--folds", "1", "--trees", "40", "--threads", "1"];
    run_ok(
        &[
            &["train"][..],
            &data,
            &["--out", "m/model.json", "--registry", "reg"],
            &quick,
        ]
        .concat(),
        dir,
    );
    let registered = run_ok(
        &[
            "models",
            "register",
            "m/model.json",
            "--registry",
            "reg",
            "--db",
            "ops.db",
        ],
        dir,
    );
    let old = registered
        .split_whitespace()
        .nth(1)
        .expect("a version")
        .to_string();
    run_ok(
        &[
            "models",
            "promote",
            &old,
            "--registry",
            "reg",
            "--db",
            "ops.db",
        ],
        dir,
    );

    // The daemon retrains (a week of actuals past the model): kill it in the middle.
    let ops = |trees: &'static str| -> Vec<String> {
        [
            "ops",
            "--data",
            "base",
            "--db",
            "ops.db",
            "--registry",
            "reg",
            "--watch",
            "watch",
            "--once",
            "--retrain-every",
            "1",
            "--folds",
            "2",
            "--threads",
            "1",
            "--trees",
            trees,
        ]
        .map(String::from)
        .to_vec()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args(ops("3000"))
        .current_dir(dir)
        .env_remove("STORECAST_DATA")
        .env_remove("STORECAST_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ops starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line");
        let training = line.contains("step: backtest");
        seen.push(line);
        if training {
            std::thread::sleep(std::time::Duration::from_millis(300));
            child.kill().expect("SIGKILL");
            break;
        }
    }
    let status = child.wait().expect("ends");
    assert!(!status.success(), "killed during the retrain: {seen:?}");

    // Consistent: the audit chain holds, the old model is active, the file still waits.
    run_ok(&["audit", "verify", "--db", "ops.db"], dir);
    assert_eq!(active(dir), (old.clone(), 1));
    assert!(dir.join("watch/actuals-2015-06-13.csv").is_file());

    // The next run completes: nothing stored twice, a candidate registered and judged.
    let out = storecast(
        &ops("40").iter().map(String::as_str).collect::<Vec<_>>(),
        dir,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("0 new rows stored") && text.contains("retrain (scheduled"),
        "{text}"
    );
    assert!(dir.join("watch/done/actuals-2015-06-13.csv").is_file());
    let (_, versions) = active(dir);
    assert_eq!(versions, 2, "the candidate is registered");
    run_ok(&["audit", "verify", "--db", "ops.db"], dir);
}
