//! The `storecast` binary end to end: exit codes of `validate` (0 clean, 1 error findings,
//! 2 unreadable input), the synthetic fallback being announced, `synth` determinism, the
//! operations commands, their attacks, and a SIGKILL of the operations daemon.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn storecast(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args(args)
        .current_dir(cwd)
        .env_remove("STORECAST_DATA")
        .env_remove("STORECAST_DB")
        .output()
        .expect("storecast runs")
}

/// Runs `storecast args` in `cwd`, asserts success (showing stderr otherwise), returns stdout.
fn run_ok(args: &[&str], cwd: &Path) -> String {
    let out = storecast(args, cwd);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `name` inside the test's temporary directory, as a command-line argument.
fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path()
        .join(name)
        .to_str()
        .unwrap_or_default()
        .to_string()
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

#[test]
fn audit_verify_exits_1_naming_the_row_after_the_log_is_edited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ops.db");
    let db_s = db.to_str().unwrap_or_default();
    for name in ["ann", "bob"] {
        let out = storecast(
            &["users", "add", name, "--role", "director", "--db", db_s],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = storecast(&["audit", "verify", "--db", db_s], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Rewrite the first row outside storecast (INSERT OR REPLACE: no trigger fires).
    let conn = rusqlite::Connection::open(&db).expect("raw open");
    conn.execute_batch(
        "INSERT OR REPLACE INTO audit (id, at, actor, action, target, details, hash)
         SELECT id, at, 'mallory', action, target, details, hash FROM audit WHERE id = 1;",
    )
    .expect("attack");
    drop(conn);
    let out = storecast(&["audit", "verify", "--db", db_s], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("row 1"), "{text}");
}

#[test]
fn a_registry_change_whose_audit_row_cannot_be_written_is_refused() {
    // Before: `models promote V --db /dev/null/x.db` switched the model, then failed to audit.
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| path_in(&dir, name);
    let run = |args: &[&str]| run_ok(args, dir.path());
    run(&[
        "synth",
        "--stores",
        "6",
        "--seed",
        "4",
        "--out",
        &p("chain"),
    ]);
    let (reg, db) = (p("registry"), p("ops.db"));
    for (trees, out) in [("15", "a.json"), ("16", "b.json")] {
        run(&[
            "train",
            "--data",
            &p("chain"),
            "--folds",
            "1",
            "--trees",
            trees,
            "--out",
            &p(out),
            "--registry",
            &reg,
        ]);
    }
    // A model signed by another registry's key (trained elsewhere) is refused, and audited.
    let out = storecast(
        &[
            "models",
            "register",
            &p("a.json"),
            "--registry",
            &p("elsewhere"),
            "--db",
            &db,
        ],
        dir.path(),
    );
    assert!(!out.status.success(), "a foreign model was registered");
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not verify"));
    let log = run(&["audit", "show", "--db", &db]);
    assert!(log.contains("model.register.refused"), "{log}");
    let version = |listing: &str, active: bool| -> Option<String> {
        listing
            .lines()
            .find(|l| l.starts_with('*') == active)
            .and_then(|l| l.split_whitespace().find(|w| w.contains('-')))
            .map(str::to_string)
    };
    run(&[
        "models",
        "register",
        &p("a.json"),
        "--registry",
        &reg,
        "--db",
        &db,
    ]);
    run(&[
        "models",
        "register",
        &p("b.json"),
        "--registry",
        &reg,
        "--db",
        &db,
    ]);
    let listing = run(&["models", "list", "--registry", &reg]);
    let first = version(&listing, false).expect("a version");
    run(&["models", "promote", &first, "--registry", &reg, "--db", &db]);
    let listing = run(&["models", "list", "--registry", &reg]);
    let other = version(&listing, false).expect("the other version");
    let out = storecast(
        &[
            "models",
            "promote",
            &other,
            "--registry",
            &reg,
            "--db",
            "/dev/null/x.db",
        ],
        dir.path(),
    );
    assert!(
        !out.status.success(),
        "a promotion without its audit row must fail"
    );
    let listing = run(&["models", "list", "--registry", &reg]);
    assert_eq!(version(&listing, true), Some(first.clone()), "{listing}");
    let doc: serde_json::Value =
        serde_json::from_str(&run(&["models", "list", "--registry", &reg, "--json"]))
            .expect("one JSON document");
    let active: Vec<&serde_json::Value> = doc
        .as_array()
        .expect("versions")
        .iter()
        .filter(|v| v["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["version"], first.as_str());
    let out = storecast(&["audit", "verify", "--db", &db], dir.path());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn users_add_takes_a_token_expiry_and_refuses_one_in_the_past() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ops.db");
    let db_s = db.to_str().unwrap_or_default();
    let out = storecast(
        &[
            "users",
            "add",
            "temp",
            "--role",
            "director",
            "--expires",
            "30d",
            "--db",
            db_s,
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(", expires 20"));
    let out = storecast(&["users", "list", "--db", db_s], dir.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("expires 20"));
    for past in ["0d", "2001-01-01", "soon"] {
        let out = storecast(
            &[
                "users",
                "add",
                "late",
                "--role",
                "admin",
                "--expires",
                past,
                "--db",
                db_s,
            ],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "--expires {past} accepted");
    }
    // Issue 30, item 9: an overflowing day count panicked (exit 101); the last day of year 9999
    // was refused as "in the past" (stored text "+10000-…" compared below "2026-…").
    let out = storecast(
        &[
            "users",
            "add",
            "far",
            "--role",
            "admin",
            "--expires",
            "99999999d",
            "--db",
            db_s,
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("latest expiry"));
    let out = storecast(
        &[
            "users",
            "add",
            "last",
            "--role",
            "viewer",
            "--stores",
            "1",
            "--expires",
            "9999-12-31",
            "--db",
            db_s,
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = storecast(&["users", "list", "--db", db_s], dir.path());
    let listed = String::from_utf8_lossy(&listed.stdout);
    let line = listed
        .lines()
        .find(|l| l.starts_with("last "))
        .expect("listed");
    assert!(line.contains("expires 9999-12-31T23:59:59.999Z"), "{line}");
}

#[test]
fn the_audited_cli_actor_is_the_os_user_not_what_user_says() {
    // Before: the actor of a CLI action was whatever `$USER` said.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ops.db");
    let db_s = db.to_str().unwrap_or_default();
    let out = Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args(["users", "add", "eve", "--role", "director", "--db", db_s])
        .current_dir(dir.path())
        .env("USER", "mallory")
        .output()
        .expect("storecast runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = storecast(&["audit", "show", "--db", db_s], dir.path());
    let log = String::from_utf8_lossy(&out.stdout);
    let line = log
        .lines()
        .find(|l| l.contains("user.add"))
        .expect("audited");
    assert!(line.contains("(uid "), "{line}");
    assert!(!line.contains("cli:mallory"), "{line}");
    assert!(
        line.contains("$USER=mallory"),
        "the claim is kept beside the fact: {line}"
    );
}

#[test]
fn a_stored_actual_changes_only_through_ingest_correct_with_its_previous_value_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| path_in(&dir, name);
    let out = storecast(
        &[
            "synth",
            "--stores",
            "4",
            "--seed",
            "2",
            "--out",
            &p("chain"),
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let train = std::fs::read_to_string(dir.path().join("chain").join("train.csv")).expect("train");
    let mut lines = train.lines();
    let header = lines.next().expect("header");
    let row = lines
        .find(|l| l.split(',').nth(5) == Some("1"))
        .expect("an open day");
    let mut cells: Vec<String> = row.split(',').map(str::to_string).collect();
    std::fs::write(p("day.csv"), format!("{header}\n{row}\n")).expect("write");
    let sales: i64 = cells[3].parse().expect("sales");
    cells[3] = (sales + 40).to_string();
    std::fs::write(p("fix.csv"), format!("{header}\n{}\n", cells.join(","))).expect("write");
    let ingest = |file: &str, extra: &[&str]| {
        let mut args = vec![
            "ingest",
            "--data",
            &p("chain"),
            "--file",
            file,
            "--db",
            &p("ops.db"),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        storecast(&refs, dir.path())
    };
    let db = p("ops.db");
    assert!(ingest(&p("day.csv"), &[]).status.success());
    let refused = ingest(&p("fix.csv"), &[]);
    assert!(
        !refused.status.success(),
        "a contradicting file was accepted"
    );
    let fixed = ingest(&p("fix.csv"), &["--correct", "till counted twice"]);
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    assert!(String::from_utf8_lossy(&fixed.stdout).contains("1 corrected"));
    let out = storecast(&["audit", "corrections", "--db", &db], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("\"sales\":{sales}")), "{text}");
    assert!(
        text.contains(&format!("\"sales\":{}", sales + 40)),
        "{text}"
    );
    assert!(text.contains("till counted twice"), "{text}");
    let out = storecast(&["audit", "verify", "--db", &db], dir.path());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn json_output_of_train_forecast_and_ingest_parses_and_matches_the_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| path_in(&dir, name);
    let run = |args: &[&str]| run_ok(args, dir.path());
    let json = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
    };
    run(&[
        "synth",
        "--stores",
        "5",
        "--seed",
        "3",
        "--out",
        &p("chain"),
    ]);
    let train = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            &p("chain"),
            "--folds",
            "1",
            "--trees",
            "15",
            "--threads",
            "1",
            "--out",
            out,
            "--registry",
            &p("reg"),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    };
    // Train: the same model either way; the JSON carries the text's figures.
    let text = train(&p("a.json"), &["--quiet"]);
    let doc = json(&train(&p("b.json"), &["--json"]));
    let version = doc["model_version"].as_str().expect("version");
    let rows = doc["train_rows"].as_u64().expect("rows");
    assert!(
        text.contains(&format!("model {version} trained on {rows} rows")),
        "{text}"
    );
    let lgb = doc["scores"]
        .as_array()
        .expect("scores")
        .iter()
        .find(|s| s["model"] == "lightgbm")
        .expect("the model's score");
    let rmspe = format!("{:.4}", lgb["rmspe"].as_f64().expect("rmspe"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("lightgbm ") && l.contains(&rmspe)),
        "{text}"
    );
    let explained = doc["explanations"].as_str().expect("explanations line");
    let rows_part = explained.split(" rows").next().expect("rows");
    assert!(
        text.contains(&format!("{rows_part} rows")),
        "{explained} vs {text}"
    );

    // Backtest: the scores and the files it wrote.
    let doc = json(&run(&[
        "backtest",
        "--data",
        &p("chain"),
        "--folds",
        "1",
        "--trees",
        "15",
        "--threads",
        "1",
        "--learning-rate",
        "0.3",
        "--leaves",
        "15",
        "--depth",
        "4",
        "--feature-fraction",
        "0.5",
        "--objective",
        "regression",
        "--categorical",
        "true",
        "--out",
        &p("bt"),
        "--json",
    ]));
    // The tree shape flags reach the fit (as the backtest records them).
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bt").join("backtest.json"))
            .expect("backtest.json"),
    )
    .expect("json");
    let params = &written["config"]["params"];
    assert_eq!(params["learning_rate"], 0.3, "{params}");
    assert_eq!(
        (params["num_leaves"].as_u64(), params["max_depth"].as_u64()),
        (Some(15), Some(4))
    );
    assert_eq!(
        (
            params["feature_fraction"].as_f64(),
            params["objective"].as_str()
        ),
        (Some(0.5), Some("regression"))
    );
    // The coded columns as categories (store type, assortment, region, state holiday).
    assert_eq!(
        params["categorical"],
        serde_json::json!([1, 2, 3, 24]),
        "{params}"
    );
    let refused = storecast(
        &["backtest", "--learning-rate", "0", "--out", &p("no")],
        dir.path(),
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a number in (0, 1]"));
    assert!(
        !dir.path().join("no").exists(),
        "a refused command writes nothing"
    );
    assert!(doc["scores"]
        .as_array()
        .expect("scores")
        .iter()
        .any(|s| s["model"] == "lightgbm" && s["rmspe"].as_f64().is_some()));
    for f in doc["files"].as_array().expect("files") {
        assert!(Path::new(f.as_str().expect("path")).exists(), "{f}");
    }

    // Forecast.
    let text = run(&[
        "forecast",
        "--data",
        &p("chain"),
        "--model",
        &p("a.json"),
        "--out",
        &p("f1.csv"),
    ]);
    let doc = json(&run(&[
        "forecast",
        "--data",
        &p("chain"),
        "--model",
        &p("a.json"),
        "--out",
        &p("f2.csv"),
        "--json",
    ]));
    let (n, closed) = (
        doc["rows"].as_u64().expect("rows"),
        doc["closed"].as_u64().expect("closed"),
    );
    assert!(
        text.contains(&format!("forecast {n} rows ({closed} closed")),
        "{text}"
    );
    let total = doc["total_sales"].as_f64().expect("total");
    assert!(text.contains(&format!("total {total:.0} €")), "{text}");
    let csv = std::fs::read_to_string(p("f2.csv")).expect("written");
    assert_eq!(csv.lines().count() as u64, n + 1);

    // Ingest: stored through --json, then the same file again as text (all unchanged).
    let train_csv =
        std::fs::read_to_string(dir.path().join("chain").join("train.csv")).expect("train");
    let few: Vec<&str> = train_csv.lines().take(11).collect();
    std::fs::write(p("few.csv"), few.join("\n") + "\n").expect("write");
    let ingest = |extra: &[&str]| {
        let mut args = vec![
            "ingest",
            "--data",
            &p("chain"),
            "--file",
            &p("few.csv"),
            "--db",
            &p("ops.db"),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    };
    let doc = json(&ingest(&["--json"]));
    assert_eq!(doc["stored"], true);
    assert_eq!(doc["ingestion"]["rows"], 10);
    assert_eq!(doc["ingestion"]["inserted"], 10);
    let text = ingest(&[]);
    assert!(text.contains("10 rows, 0 new, 10 already stored"), "{text}");
}

#[test]
fn demo_runs_the_pipeline_job_then_reuses_its_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| path_in(&dir, name);
    let out = storecast(
        &[
            "synth",
            "--stores",
            "5",
            "--seed",
            "3",
            "--out",
            &p("chain"),
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let demo = || {
        let out = storecast(
            &[
                "demo",
                "--data",
                &p("chain"),
                "--out",
                &p("out"),
                "--no-serve",
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = demo();
    let reused = |log: &str| log.lines().any(|l| l.starts_with("reused "));
    assert!(!reused(&first), "{first}");
    for f in [
        "validation.json",
        "analysis.html",
        "model.json",
        "backtest.json",
        "methodology.html",
        "report.html",
        "submission.csv",
        "storecast.db",
        "reports/analysis.body.html",
        "reports/methodology.body.html",
        "reports/business.body.html",
    ] {
        assert!(dir.path().join("out").join(f).exists(), "{f} missing");
    }
    let explained = std::fs::read_dir(dir.path().join("out"))
        .expect("out")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("explanations-"));
    assert!(explained, "the demo's model has its explanation table");
    let second = demo();
    assert!(reused(&second), "{second}");
}

#[test]
fn stored_text_cannot_drive_the_terminal_or_forge_a_line() {
    // Issue 30, item 7: a file name with an ESC sequence and a new line went raw to the
    // terminal from `ingest` and `audit show`.
    let dir = tempfile::tempdir().expect("temp dir");
    run_ok(
        &[
            "synth",
            "--stores",
            "3",
            "--seed",
            "2",
            "--no-quirks",
            "--out",
            "chain",
        ],
        dir.path(),
    );
    let train = std::fs::read_to_string(dir.path().join("chain/train.csv")).expect("train");
    let few: Vec<&str> = train.lines().take(20).collect();
    let evil = "evil\u{1b}[2J\nFORGED ALERT.csv";
    std::fs::write(dir.path().join(evil), few.join("\n") + "\n").expect("evil file");
    let db = ["--db", "ops.db"];
    let out = run_ok(
        &[&["ingest", "--data", "chain", "--file", evil][..], &db].concat(),
        dir.path(),
    );
    let shown = run_ok(&[&["audit", "show"][..], &db].concat(), dir.path());
    for text in [&out, &shown] {
        assert!(
            !text.contains('\u{1b}'),
            "an ESC reached the terminal: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("FORGED")),
            "a forged line: {text:?}"
        );
        assert!(
            text.contains("\\u{1b}[2J\\nFORGED"),
            "the name is shown escaped: {text:?}"
        );
    }
}

#[test]
fn a_database_without_its_key_is_refused_and_no_key_is_made() {
    // Issue 30, item 1: `audit verify` on a restored database without its key made a fresh
    // key and reported "audit log broken at row 1"; tokens were then refused.
    let dir = tempfile::tempdir().expect("temp dir");
    run_ok(
        &["users", "add", "ann", "--role", "admin", "--db", "ops.db"],
        dir.path(),
    );
    std::fs::remove_file(dir.path().join("ops.db.key")).expect("the key goes missing");
    for args in [&["audit", "verify"][..], &["users", "list"][..]] {
        let out = storecast(&[args, &["--db", "ops.db"]].concat(), dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went on without the key");
        assert!(
            err.contains("ops.db.key") && err.contains("missing"),
            "{args:?}: {err}"
        );
        assert!(
            !dir.path().join("ops.db.key").exists(),
            "{args:?} made a new key"
        );
    }
}

// `storecast ops --watch DIR` (issue 29): a SIGKILL in the middle of a retrain leaves the
// audit log intact, the old model active and the file waiting; the next run stores nothing
// twice, retrains, and files the actuals under done/.

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

/// `bench scale` on two tiny chains: each size in its own process, every step measured, the
/// exponents fitted, the JSON and the page written (the figures themselves are the bench's
/// output, never asserted on time).
#[test]
fn bench_scale_measures_every_step_at_each_size_and_writes_its_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = path_in(&dir, "scale");
    let text = run_ok(
        &[
            "bench",
            "scale",
            "--sizes",
            "12,24",
            "--trees",
            "5",
            "--folds",
            "1",
            "--addr",
            "127.0.0.1:8131",
            "--out",
            &out,
        ],
        dir.path(),
    );
    assert!(text.contains("exponent (time)"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("scale/scale.json")).expect("scale.json"),
    )
    .expect("json");
    let sizes = json["sizes"].as_array().expect("sizes");
    assert_eq!(sizes.len(), 2);
    assert_eq!(sizes[0]["stores"], 12);
    assert_eq!(sizes[1]["stores"], 24);
    // The larger chain has twice the stores and so about twice the history rows.
    let rows = |i: usize| sizes[i]["history_rows"].as_f64().expect("rows");
    assert!(
        (rows(1) / rows(0) - 2.0).abs() < 0.1,
        "{} {}",
        rows(0),
        rows(1)
    );
    for s in sizes {
        let steps: Vec<&str> = s["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|c| c["step"].as_str().expect("step"))
            .collect();
        assert_eq!(
            steps,
            [
                "load",
                "validate",
                "analyze",
                "features",
                "train",
                "forecast",
                "explain",
                "serve_start_up"
            ]
        );
        for c in s["steps"].as_array().expect("steps") {
            assert!(c["seconds"].as_f64().expect("seconds") > 0.0, "{c}");
            assert!(c["peak_rss_mib"].as_f64().expect("rss") > 1.0, "{c}");
        }
        // The model of each size is scored: its backtest, and its forecast against the
        // chain's true sales (test_truth.csv) on the days with sales of the six weeks.
        let accuracy = &s["accuracy"];
        for key in ["backtest_rmspe", "test_rmspe", "test_wape"] {
            let v = accuracy[key].as_f64().unwrap_or(f64::NAN);
            assert!(v > 0.0 && v < 1.0, "{key}: {accuracy}");
        }
        let days = accuracy["test_days"].as_u64().expect("test_days");
        let stores = s["stores"].as_u64().expect("stores");
        assert!(
            days > 30 * stores && days <= 42 * stores,
            "{days} of {stores} stores"
        );
    }
    let train = json["growth"]
        .as_array()
        .expect("growth")
        .iter()
        .find(|g| g["step"] == "train")
        .expect("train growth");
    assert!(train["exponent"].as_f64().is_some(), "{train}");
    let html = std::fs::read_to_string(dir.path().join("scale/scale.html")).expect("page");
    assert!(html.contains("\"log_axes\":true"), "the charts are log-log");
    assert!(html.contains("scale-seconds") && html.contains("scale-memory"));
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Root mean squared percentage error of `forecast.csv` against the chain's `test_truth.csv`
/// (both `Id,Sales`), on the days with sales.
fn rmspe_against_truth(forecast: &Path, truth: &Path) -> f64 {
    let read = |p: &Path| -> std::collections::HashMap<u32, f64> {
        std::fs::read_to_string(p)
            .expect("csv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split(',');
                Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
            })
            .collect()
    };
    let (f, t) = (read(forecast), read(truth));
    let errors: Vec<f64> = t
        .iter()
        .filter(|(_, &y)| y > 0.0)
        .map(|(id, &y)| ((f[id] - y) / y).powi(2))
        .collect();
    assert!(errors.len() > 1000, "{} scored days", errors.len());
    (errors.iter().sum::<f64>() / errors.len() as f64).sqrt()
}

/// Issue 38: two ranks as two processes on loopback ports train one model with LightGBM's
/// data-parallel learner, each on half the stores; rank 0 writes a signed artifact that loads,
/// forecasts every requested day, and scores within noise of the model one process trains on
/// the same data with the same settings.
#[test]
fn a_rank_whose_partners_never_come_fails_with_their_names_and_writes_nothing() {
    // Rank 0 of 3, the others never started. Left to LightGBM, a lone rank aborts (SIGABRT)
    // or retries for minutes; storecast meets the ranks first and fails after --wait.
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = path_in(&dir, "chain");
    run_ok(
        &["synth", "--stores", "20", "--seed", "11", "--out", &chain],
        dir.path(),
    );
    let machines = format!(
        "127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    let (out_path, registry) = (path_in(&dir, "model.json"), path_in(&dir, "registry"));
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_storecast"))
        .args([
            "train",
            "--data",
            &chain,
            "--registry",
            &registry,
            "--out",
            &out_path,
            "--trees",
            "5",
            "--quiet",
            "--distributed",
            "--machines",
            &machines,
            "--rank",
            "0",
            "--wait",
            "2",
        ])
        .current_dir(dir.path())
        .env_remove("STORECAST_DATA")
        .output()
        .expect("runs");
    let waited = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error, not a signal: {stderr}"
    );
    assert!(
        stderr.contains("rank 1 (127.0.0.1:") && stderr.contains("rank 2 (127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("within 2 s"), "{stderr}");
    assert!(waited < 30.0, "gave up after {waited:.1} s");
    assert!(
        !std::path::Path::new(&out_path).exists(),
        "no model written"
    );
}

/// Seconds the two-rank training may take before its ranks are killed (it takes about 12).
const WATCHDOG_S: u64 = 180;

#[test]
fn two_ranks_on_loopback_train_one_model_that_scores_like_a_single_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = path_in(&dir, "chain");
    run_ok(
        &["synth", "--stores", "120", "--seed", "11", "--out", &chain],
        dir.path(),
    );
    let registry = path_in(&dir, "registry");
    let settings = |out: &str| -> Vec<String> {
        [
            "train",
            "--data",
            &chain,
            "--registry",
            &registry,
            "--trees",
            "60",
            "--folds",
            "1",
            "--threads",
            "1",
            "--quiet",
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let machines = format!("127.0.0.1:{},127.0.0.1:{}", free_port(), free_port());
    let rank = |r: &str, out: &str, extra: &[&str]| {
        let mut args = settings(out);
        args.extend(["--distributed", "--machines", &machines, "--rank", r].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_storecast"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("STORECAST_DATA")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rank starts")
    };
    // Rank 1 answers --json (see below for what else reaches its stdout).
    let one = rank("1", &path_in(&dir, "rank1.json"), &["--json"]);
    let zero = rank("0", &path_in(&dir, "distributed.json"), &[]);
    // A hung rank must fail the suite, not stall it: past the watchdog's time, both die.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let pids = [zero.id(), one.id()];
    let watchdog = std::thread::spawn(move || {
        let hung = finished
            .recv_timeout(std::time::Duration::from_secs(WATCHDOG_S))
            .is_err();
        if hung {
            for pid in pids {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        hung
    });
    let mut outputs = Vec::new();
    for child in [zero, one] {
        outputs.push(child.wait_with_output().expect("rank ends"));
    }
    let _ = done.send(());
    assert!(
        !watchdog.join().expect("watchdog"),
        "the ranks did not finish within {WATCHDOG_S} s and were killed"
    );
    for (name, out) in ["rank 0", "rank 1"].iter().zip(&outputs) {
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // LightGBM's log goes to stderr through its callback, except one line ("Listening...")
    // that its listener thread prints to stdout: the callback is thread-local in LightGBM.
    // Whatever else rank 1 prints on stdout is its JSON.
    let stdout = String::from_utf8_lossy(&outputs[1].stdout);
    let (lightgbm, ours): (Vec<&str>, Vec<&str>) =
        stdout.lines().partition(|l| l.starts_with("[LightGBM]"));
    assert!(
        lightgbm.len() <= 1,
        "LightGBM's log on stdout: {lightgbm:?}"
    );
    let said: serde_json::Value = serde_json::from_str(&ours.join("\n"))
        .unwrap_or_else(|e| panic!("rank 1's stdout is not JSON ({e}): {stdout}"));
    assert_eq!(said["rank"], 1);
    assert_eq!(said["machines"], 2);
    assert!(
        !dir.path().join("rank1.json").exists(),
        "only rank 0 writes the model"
    );
    let single = settings(&path_in(&dir, "single.json"));
    run_ok(
        &single.iter().map(String::as_str).collect::<Vec<_>>(),
        dir.path(),
    );

    let artifact: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("distributed.json")).expect("rank 0 wrote the model"),
    )
    .expect("json");
    let origin = artifact["data_origin"].as_str().expect("origin");
    assert!(origin.contains("trained on 2 machines"), "{origin}");
    assert!(
        artifact["signature"].is_string(),
        "signed like any artifact"
    );
    // Rank 0 trained on its half of the stores' rows; the trees split on both halves.
    let single_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("single.json")).expect("single"))
            .expect("json");
    let rows = |a: &serde_json::Value| a["train_rows"].as_f64().expect("rows");
    let share = rows(&artifact) / rows(&single_json);
    assert!(
        (0.4..0.6).contains(&share),
        "rank 0 held {share:.2} of the rows"
    );
    // Yet its trees were grown on every rank's rows: the first tree's root counts the rows
    // of both ranks (bagged at 0.8), not rank 0's half (a model fit on one rank alone would).
    let root = |a: &serde_json::Value| -> f64 {
        let text = a["lightgbm_model"].as_str().expect("model text");
        let at = text.find("internal_count=").expect("tree") + "internal_count=".len();
        text[at..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("count")
    };
    let seen = root(&artifact) / rows(&single_json);
    assert!(
        (0.7..0.9).contains(&seen),
        "the distributed root saw {seen:.2} of all rows (one process: {:.2})",
        root(&single_json) / rows(&single_json)
    );

    let truth = dir.path().join("chain/test_truth.csv");
    let mut scores = Vec::new();
    for model in ["distributed.json", "single.json"] {
        let out = path_in(&dir, &format!("{model}.csv"));
        run_ok(
            &[
                "forecast", "--data", &chain, "--model", model, "--out", &out, "--quiet",
            ],
            dir.path(),
        );
        scores.push(rmspe_against_truth(Path::new(&out), &truth));
    }
    let (distributed, single) = (scores[0], scores[1]);
    eprintln!("RMSPE on the test weeks: two ranks {distributed:.4}, one process {single:.4}");
    assert!(
        single < 0.25,
        "the single-process model learned ({single:.4})"
    );
    assert!(
        (distributed / single - 1.0).abs() < 0.05,
        "two ranks {distributed:.4} vs one process {single:.4}: more than 5 % apart"
    );
}
