//! The app in a real headless Chromium: store views for two stores, the chart's forecast
//! points, a what-if toggle that changes the delta, a day's explanation, the CSV download, the
//! chain and model views, and the offline reports; no console errors, no request outside the
//! server. Screenshots go to target/screenshots/.

mod common;

use std::time::Duration;
use storecast_browser::{screenshot_dir, Browser};

const WAIT: Duration = Duration::from_secs(20);

fn assert_clean(b: &mut Browser, origin: &str, page: &str) {
    let errors = b.console_errors().expect("console log");
    assert!(errors.is_empty(), "{page}: console errors {errors:?}");
    let urls = b.requested_urls().expect("urls");
    assert!(
        urls.iter()
            .all(|u| u.starts_with(origin) || u.starts_with("file://")),
        "{page}: external request in {urls:?}"
    );
}

#[test]
fn the_app_works_in_a_real_browser() {
    let Some(mut b) = Browser::start().expect("browser") else {
        return;
    };
    let app = common::app();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = app.state.clone();
    rt.spawn(async move { storecast_web::serve(state, listener).await });
    let origin = format!("http://{addr}");
    let shots = screenshot_dir();

    // Sign in through the form (CSRF-protected).
    b.goto(&format!("{origin}/store/1")).expect("goto");
    b.wait_for("document.querySelector('#token') !== null", WAIT)
        .expect("redirected to sign-in");
    b.set_value("#token", &app.admin).expect("type token");
    b.click("#signin").expect("sign in");
    b.wait_for("document.querySelector('#chain-total') !== null", WAIT)
        .expect("chain view after sign-in");
    b.wait_for(
        "window.storecastCharts && window.storecastCharts['chain-total'] > 0",
        WAIT,
    )
    .expect("chain chart drawn");
    b.screenshot(&shots.join("chain.png")).expect("screenshot");
    assert_clean(&mut b, &origin, "chain");

    for store in [1, 7] {
        b.goto(&format!("{origin}/store/{store}"))
            .expect("store page");
        b.wait_for(
            "window.storecastCharts && window.storecastCharts['store-chart'] > 0",
            WAIT,
        )
        .expect("store chart drawn");
        // The chart has forecast points: the forecast dataset has 42 labelled days with values.
        let points = b
            .eval("var c = document.getElementById('store-chart')._chart; var ds = c.data.datasets.filter(function (d) { return d.label === 'forecast (80% band)'; })[0]; return ds.data.filter(function (v) { return v !== null; }).length;")
            .expect("points");
        assert!(
            points.as_u64().unwrap_or(0) >= 30,
            "store {store}: {points}"
        );
        assert_eq!(b.count("#days tr[data-date]").expect("rows"), 42);
        // The headline, the weekly totals and the daily column agree, as the reader sees them.
        let figures = b
            .eval("function e(t) { return t.indexOf('€') < 0 ? 0 : parseInt(t.replace(/[^0-9-]/g, ''), 10); } var days = Array.from(document.querySelectorAll('#days td.forecast')).map(function (td) { return e(td.textContent); }).reduce(function (a, b) { return a + b; }, 0); var weeks = Array.from(document.querySelectorAll('#weeks tr[data-monday] td:nth-child(2)')).map(function (td) { return e(td.textContent); }).reduce(function (a, b) { return a + b; }, 0); return [e(document.getElementById('total').textContent), weeks, days];")
            .expect("figures");
        assert!(
            figures[0].as_i64().unwrap_or(0) > 0,
            "store {store}: {figures}"
        );
        assert_eq!(figures[0], figures[1], "store {store}: headline vs weeks");
        assert_eq!(figures[0], figures[2], "store {store}: headline vs days");
        b.screenshot(&shots.join(format!("store-{store}.png")))
            .expect("screenshot");
        assert_clean(&mut b, &origin, "store");
    }

    // Explanation of a day.
    b.click("#days tr[data-date] button.why").expect("why");
    b.wait_for(
        "document.querySelectorAll('#explain-panel .driver').length > 0",
        WAIT,
    )
    .expect("explanation shown");
    let title = b.text("#explain-panel h3").expect("title");
    assert!(title.starts_with("Why"), "{title}");
    // It starts from the store's usual day, not the chain's average day.
    let start = b.text("#explain-baseline").expect("usual day");
    assert!(
        start.contains("a usual") && start.contains("for this store in this season"),
        "{start}"
    );
    b.eval("document.getElementById('explain-panel').scrollIntoView(); return true;")
        .expect("scroll");
    b.screenshot(&shots.join("store-explain.png"))
        .expect("screenshot");

    eprintln!("rows: {:?}", b.eval("return Array.from(document.querySelectorAll('#days tr[data-date]')).slice(0, 8).map(function (tr) { return tr.getAttribute('data-promo') + '/' + tr.getAttribute('data-open') + '/' + !!tr.querySelector('button.promo-toggle'); });"));
    // What-if: toggle a promo day, re-forecast, see a delta; toggle another, see it change.
    let first_off = "Array.from(document.querySelectorAll('#days tr[data-date]')).filter(function (tr) { return tr.getAttribute('data-promo') === 'false' && tr.querySelector('button.promo-toggle') && tr.getAttribute('data-open') === 'true'; })";
    b.eval(&format!(
        "{first_off}[0].querySelector('button.promo-toggle').click(); return true;"
    ))
    .expect("toggle");
    b.click("#whatif-run").expect("run");
    b.wait_for(
        "document.getElementById('whatif-delta').textContent.indexOf('six weeks') >= 0",
        WAIT,
    )
    .expect("delta shown");
    let d1 = b.text("#whatif-delta").expect("delta");
    b.eval(&format!(
        "{first_off}[1].querySelector('button.promo-toggle').click(); return true;"
    ))
    .expect("toggle 2");
    b.click("#whatif-run").expect("run 2");
    b.wait_for(
        &format!(
            "document.getElementById('whatif-delta').textContent !== {}",
            serde_json::json!(d1)
        ),
        WAIT,
    )
    .expect("delta changed");
    let d2 = b.text("#whatif-delta").expect("delta 2");
    assert_ne!(d1, d2);
    assert!(
        d1.starts_with('+') && d2.starts_with('+'),
        "promo adds sales: {d1} / {d2}"
    );
    b.screenshot(&shots.join("store-whatif.png"))
        .expect("screenshot");
    assert_clean(&mut b, &origin, "what-if");

    // CSV download: the link serves the store's forecast as CSV.
    let csv = b
        .eval("var a = document.getElementById('csv'); return fetch(a.href).then(function (r) { return r.text().then(function (t) { return [r.status, r.headers.get('content-type'), t.split('\\n')[0], a.hasAttribute('download')]; }); });")
        .expect("csv");
    assert_eq!(csv[0], 200);
    assert!(csv[1].as_str().is_some_and(|t| t.starts_with("text/csv")));
    assert_eq!(
        csv[2],
        "store,date,open,promo,forecast,lo80,hi80,lo95,hi95,override_kind,override_value,override_reason,plan"
    );
    assert_eq!(csv[3], true);

    // Model and data views.
    b.goto(&format!("{origin}/model")).expect("model");
    b.wait_for("window.storecastCharts && window.storecastCharts['model-scores'] > 0 && window.storecastCharts['importance'] > 0", WAIT).expect("model charts");
    assert!(b.count("#scores tr").expect("rows") > 5);
    b.screenshot(&shots.join("model.png")).expect("screenshot");
    assert_clean(&mut b, &origin, "model");
    b.goto(&format!("{origin}/data")).expect("data");
    b.wait_for("document.querySelector('#findings') !== null", WAIT)
        .expect("data view");
    b.screenshot(&shots.join("data.png")).expect("screenshot");
    assert_clean(&mut b, &origin, "data");
    b.goto(&format!("{origin}/stores?type=a")).expect("stores");
    assert!(b.count("#store-list tr").expect("rows") > 1);
    assert_clean(&mut b, &origin, "stores");

    // Signing out ends the session: the next page asks for the token again.
    b.click("#signout").expect("sign out");
    b.wait_for("document.querySelector('#token') !== null", WAIT)
        .expect("sign-in page after signing out");
    b.goto(&format!("{origin}/stores")).expect("stores again");
    b.wait_for("document.querySelector('#token') !== null", WAIT)
        .expect("the old session no longer opens a page");
}

#[test]
fn offline_reports_render_every_chart() {
    let Some(mut b) = Browser::start().expect("browser") else {
        return;
    };
    let chain = common::chain();
    let dir = tempfile::tempdir().expect("dir");
    // The statistical analysis report.
    let a =
        storecast_analysis::analyze(&chain, None, &storecast_analysis::AnalysisConfig::default());
    storecast_analysis::write_outputs(&a, dir.path()).expect("analysis written");
    let charts: usize = a.findings.iter().map(|f| f.charts.len()).sum();
    b.open_file(&dir.path().join("analysis.html"))
        .expect("open");
    b.wait_for(
        &format!(
            "window.storecastCharts && Object.keys(window.storecastCharts).length === {charts}"
        ),
        WAIT,
    )
    .expect("every analysis chart drawn");
    assert_eq!(
        b.eval("return window.storecastChartErrors.length;")
            .expect("errors"),
        0
    );
    assert!(b.console_errors().expect("log").is_empty());
    b.screenshot(&screenshot_dir().join("analysis.png"))
        .expect("screenshot");
    // The methodology report.
    let mut cfg = storecast_model::backtest::BacktestConfig {
        folds: 2,
        ..Default::default()
    };
    cfg.params.num_trees = 40;
    let tl = storecast_model::Timeline::build(&chain.history, None).expect("timeline");
    let bt =
        storecast_model::backtest::run(&tl, &chain.stores, &cfg, &mut |_| {}).expect("backtest");
    let doc = storecast_reports::methodology(
        &bt,
        &storecast_model::training::coverage_rows(&bt),
        "synthetic",
        None,
    );
    let path = dir.path().join("methodology.html");
    std::fs::write(&path, doc.to_html().expect("renders")).expect("write");
    let n = doc
        .body_html()
        .expect("renders")
        .matches("class=\"chart-spec\"")
        .count();
    b.open_file(&path).expect("open");
    b.wait_for(
        &format!("window.storecastCharts && Object.keys(window.storecastCharts).length === {n}"),
        WAIT,
    )
    .expect("every methodology chart drawn");
    assert!(b.console_errors().expect("log").is_empty());
    b.screenshot(&screenshot_dir().join("methodology.png"))
        .expect("screenshot");
    // The business report.
    let doc = storecast_reports::business(
        &bt,
        &[],
        &Default::default(),
        &Default::default(),
        "synthetic",
        None,
    );
    let (html, _) =
        storecast_reports::business::write_report(&doc, dir.path()).expect("report written");
    let n = doc
        .body_html()
        .expect("renders")
        .matches("class=\"chart-spec\"")
        .count();
    assert!(n >= 4);
    b.open_file(&html).expect("open");
    b.wait_for(
        &format!("window.storecastCharts && Object.keys(window.storecastCharts).length === {n}"),
        WAIT,
    )
    .expect("every business chart drawn");
    assert_eq!(
        b.eval("return window.storecastChartErrors.length;")
            .expect("errors"),
        0
    );
    assert!(b.console_errors().expect("log").is_empty());
    b.screenshot(&screenshot_dir().join("business-report.png"))
        .expect("screenshot");
    // A log-log chart (the page of `bench scale`): both axes logarithmic, lines through points.
    use storecast_charts::{Chart, Doc, Kind, Section, Series};
    let chart = Chart::new("loglog", Kind::Scatter, "Seconds by chain size")
        .axes("stores", "seconds")
        .log_axes()
        .series(Series::points(
            "train",
            vec![(1115.0, 280.0), (3345.0, 850.0), (11150.0, 2900.0)],
        ));
    let doc = Doc {
        title: "scale".into(),
        subtitle: String::new(),
        sections: vec![Section::new("s", "Scale").chart(chart)],
    };
    let path = dir.path().join("scale.html");
    std::fs::write(&path, doc.to_html().expect("renders")).expect("write");
    b.open_file(&path).expect("open");
    b.wait_for(
        "window.storecastCharts && window.storecastCharts.loglog === 3",
        WAIT,
    )
    .expect("the log-log chart drawn");
    assert_eq!(
        b.eval("var c = document.getElementById('loglog')._chart; return c.scales.x.type + ' ' + c.scales.y.type + ' ' + c.data.datasets[0].showLine;")
            .expect("axes"),
        "logarithmic logarithmic true"
    );
    assert!(b.console_errors().expect("log").is_empty());
}
