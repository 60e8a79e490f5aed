//! The app starts itself: the model-choice rule (an explicit file, else the registry's active
//! version, else the fallback file; refused when unsigned; a clear error when there is none),
//! and `launch` serving the chosen model on a listener it is given, as the CLI does.

mod common;

use std::path::Path;
use storecast_store::Registry;
use storecast_web::{choose_model, LaunchError, LaunchSettings};

#[tokio::test(flavor = "multi_thread")]
async fn the_model_choice_rule_and_launch_serve_the_chosen_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg_dir = dir.path().join("registry");
    let registry = Registry::open(&reg_dir).expect("registry");
    let missing = dir.path().join("none.json");

    // Nothing trained: a clear error.
    let err = choose_model(&reg_dir, None, &missing).expect_err("no model");
    assert!(matches!(err, LaunchError::NoModel), "{err}");

    // An unsigned file is refused; the signed one is served from its file.
    let chain = common::chain();
    let mut artifact = common::train(&chain, 3);
    let file = dir.path().join("m").join("model.json");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("dir");
    artifact.save(&file).expect("save");
    assert!(
        choose_model(&reg_dir, Some(&file), &missing).is_err(),
        "unsigned model served"
    );
    registry.sign(&mut artifact);
    artifact.save(&file).expect("save");
    let (a, source) = choose_model(&reg_dir, Some(&file), &missing).expect("explicit file");
    assert_eq!(a.checksum, artifact.checksum);
    assert!(source.follow.is_none());
    assert_eq!(source.dir, file.parent().expect("dir"));

    // The fallback file when the registry has no active version; the active version first.
    let (_, source) = choose_model(&reg_dir, None, &file).expect("fallback");
    assert!(source.follow.is_none());
    let registered = registry.register(&artifact).expect("register");
    registry.promote(&registered.version).expect("promote");
    let (a, source) = choose_model(&reg_dir, None, Path::new("/nonexistent")).expect("active");
    assert_eq!(a.model_version, registered.version);
    assert!(source.follow.is_some(), "the active version is followed");
    assert_eq!(source.dir, reg_dir);

    // Launch: the state from the builder, served on our listener, answers with that model.
    let app = common::app_with(chain, a);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let state = app.state.clone();
    tokio::spawn(async move {
        let log = move |l: String| sink.lock().expect("log").push(l);
        storecast_web::launch(state, source, LaunchSettings::default(), listener, log).await
    });
    let request = format!(
        "GET /api/v1/model HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        app.director
    );
    let mut answer = String::new();
    for _ in 0..50 {
        if let Some(bytes) = common::raw_exchange(addr, &request) {
            answer = String::from_utf8_lossy(&bytes).into_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(common::status_of(&answer), 200, "{answer}");
    assert!(answer.contains(&registered.version), "{answer}");
    for _ in 0..100 {
        if lines
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.starts_with("explanations:"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let lines = lines.lock().expect("log");
    assert!(
        lines.iter().any(|l| l.starts_with("explanations:")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provisional_model_is_said_on_every_page_and_in_the_api() {
    let chain = common::chain();
    let mut artifact = common::train(&chain, 5);
    artifact.provisional = true;
    artifact.seal();
    let note = artifact.provisional_note().expect("a note");
    assert!(note.contains("last-fold RMSPE 0."), "{note}");
    let app = common::app_with(chain, artifact);
    for (uri, token) in [
        ("/", &app.director),
        ("/stores", &app.director),
        ("/store/1", &app.viewer1),
        ("/model", &app.admin),
        ("/data", &app.admin),
    ] {
        let (status, _, body) = common::call(&app, "GET", uri, Some(token), None).await;
        assert_eq!(status, 200, "{uri}");
        assert!(
            body.contains("id=\"provisional\""),
            "{uri} hides the provisional model"
        );
    }
    let (_, _, body) = common::call(&app, "GET", "/api/v1/model", Some(&app.viewer1), None).await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["provisional"], true);
    assert_eq!(v["provisional_note"], note.as_str());

    // A full model: no banner, no note.
    let app = common::app();
    let (_, _, body) = common::call(&app, "GET", "/", Some(&app.director), None).await;
    assert!(!body.contains("id=\"provisional\""));
    let (_, _, body) = common::call(&app, "GET", "/api/v1/model", Some(&app.director), None).await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["provisional"], false);
    assert!(v["provisional_note"].is_null());
}

#[cfg(unix)]
#[test]
fn reports_are_read_from_regular_files_only() {
    // Issue 30, item 8: /reports/* followed a symlink out of the reports folder.
    let dir = tempfile::tempdir().expect("temp dir");
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, "the server's secret").expect("secret");
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).expect("reports dir");
    std::os::unix::fs::symlink(&outside, reports.join("methodology.body.html")).expect("link");
    std::fs::write(reports.join("business.body.html"), "<p>business</p>").expect("report");
    let (pages, _) = storecast_web::read_reports(&reports);
    let slugs: Vec<&str> = pages.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(slugs, ["business"], "the linked report is not read");
    assert!(pages.iter().all(|p| !p.body.contains("secret")));
}
