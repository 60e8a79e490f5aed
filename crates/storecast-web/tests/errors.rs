//! Errors an operator relies on are shown, not swallowed (issue 35): each test fails on the
//! code before the change (a corrupt analysis read as no figures, a database error at
//! sign-in read as a wrong token, drift that could not be measured read as no drift).

mod common;

use common::ops::{actuals, call};
use std::sync::Arc;

/// The reference a 500 gives the user, or `None`.
fn reference(body: &str) -> Option<String> {
    let at = body.find("reference E")? + "reference ".len();
    Some(body[at..].chars().take_while(|c| *c != ')').collect())
}

#[tokio::test]
async fn a_corrupt_analysis_is_said_on_the_data_page_and_answered_as_a_server_error() {
    let app = common::app();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("analysis.body.html"), "<p>findings</p>").expect("body");
    std::fs::write(dir.path().join("analysis.json"), "{\"findings\": [").expect("json");
    let (_, analysis) = storecast_web::read_reports(dir.path());
    app.state.analysis.store(Arc::new(analysis));
    let (status, _, body) =
        common::call(&app, "GET", "/api/v1/analysis", Some(&app.director), None).await;
    assert_eq!(status.as_u16(), 500, "{body}");
    assert!(reference(&body).is_some(), "a reference to quote: {body}");
    assert!(
        !body.contains("findings\": ["),
        "the cause stays in the log: {body}"
    );
    let (status, _, page) = common::call(&app, "GET", "/data", Some(&app.director), None).await;
    assert_eq!(status.as_u16(), 200);
    assert!(
        page.contains("id=\"analysis-problem\""),
        "the data page says it"
    );
    assert!(page.contains("analysis.json does not parse"));
    assert!(
        page.contains("<p>findings</p>"),
        "the report as last written is still shown"
    );
}

#[tokio::test]
async fn a_database_error_at_sign_in_is_a_server_error_not_a_wrong_token() {
    let app = common::app();
    // Another process breaks the database under the server (a schema it cannot read).
    let conn = rusqlite::Connection::open(app._dir.path().join("t.db")).expect("db");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    for t in tables
        .iter()
        .filter(|t| t.contains("token") || *t == "users")
    {
        conn.execute_batch(&format!("ALTER TABLE {t} RENAME TO broken_{t}"))
            .expect("renamed");
    }
    drop(conn);
    let (status, _, body) =
        common::call(&app, "GET", "/api/v1/stores", Some(&app.director), None).await;
    assert_eq!(status.as_u16(), 500, "not 401: {body}");
    assert!(reference(&body).is_some(), "{body}");
    assert!(
        !body.contains("broken_") && !body.contains("no such table"),
        "{body}"
    );
    // The sign-in form says the same, not "That token is not valid.".
    let state = app.state.clone();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header(
            axum::http::header::COOKIE,
            format!("{}=abc", state.web.csrf_cookie()),
        )
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(format!(
            "csrf=abc&token={}",
            app.viewer1
        )))
        .expect("request");
    let resp = tower::ServiceExt::oneshot(storecast_web::router(state), req)
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 500);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    let page = String::from_utf8_lossy(&bytes);
    assert!(!page.contains("not valid"), "{page}");
    assert!(reference(&page).is_some(), "{page}");
}

/// The synthetic chain's last `days` days only: a server started on recent data has no
/// year-ago weeks to measure drift against.
fn recent_chain(days: i64) -> storecast_data::ChainData {
    let c = storecast_testkit::generate(&storecast_testkit::clean(12, 9));
    let train = String::from_utf8(c.train_csv()).expect("utf-8");
    let last = train
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2)?.parse::<chrono::NaiveDate>().ok())
        .max()
        .expect("dates");
    let cutoff = last - chrono::Duration::days(days);
    let kept: String = train
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            *i == 0
                || l.split(',')
                    .nth(2)
                    .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
                    .is_some_and(|d| d > cutoff)
        })
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    storecast_data::ChainData::from_bytes(
        kept.into_bytes(),
        c.store_csv(),
        Some(c.test_csv()),
        "recent synthetic chain",
    )
    .expect("loads")
    .into_strict()
    .expect("clean")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_that_cannot_be_measured_is_said_not_read_as_no_drift() {
    let artifact = common::train(&common::chain(), 1);
    let app = common::app_in(
        recent_chain(120),
        artifact,
        None,
        storecast_charts::Locale::En,
    );
    let m = app.state.model.load();
    let rows: Vec<storecast_store::ForecastRow> = m
        .stores
        .values()
        .flat_map(|s| s.days.iter().map(storecast_store::ForecastRow::from))
        .collect();
    let db = app.state.store.as_ref().expect("db");
    db.record_forecasts("test", &m.artifact().model_version, &rows)
        .expect("issued");
    let addr = common::serve_on_loopback(app.state.clone()).await;
    let week = actuals(&app, &[1, 2], 7);
    let (status, answer) = call(
        addr,
        "POST",
        "/api/v1/actuals?name=week.csv",
        &app.director,
        &week,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, report) = call(addr, "GET", "/api/v1/monitoring", &app.director, "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["drift"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let why = report["drift_unavailable"].as_str().unwrap_or_default();
    assert!(why.starts_with("input drift not measured"), "{report}");
    let (status, _, page) =
        common::call(&app, "GET", "/monitoring", Some(&app.director), None).await;
    assert_eq!(status.as_u16(), 200);
    assert!(
        page.contains("id=\"drift-unavailable\""),
        "the page says it"
    );
}
