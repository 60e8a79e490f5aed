//! The pages as their readers use them (issue 34): the printed plan fits one A4 page, a German
//! chain reads German figures, the keyboard reaches every control, every chart has its
//! figures in text, and no page or API answer shows anything internal to any role.

mod common;

use common::ops::{assert_no_console_errors, get_bytes, ops, sign_in};
use std::time::Duration;
use storecast_browser::{screenshot_dir, Browser};

const WAIT: Duration = Duration::from_secs(30);

/// Pages of a PDF: its `/Type /Page` objects (not the `/Pages` tree).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
        .count()
        + text
            .match_indices("/Type/Page")
            .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
            .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printable_plan_fits_one_a4_page() {
    let o = ops().await;
    let (addr, app) = (o.addr, &o.app);
    // Another store's plan is refused to a store's manager.
    let (status, _, _) = get_bytes(addr, "/store/2/print", &app.viewer1).await;
    assert_eq!(status, 403);
    let (status, _, _) = get_bytes(addr, "/store/2/plan.pdf", &app.viewer1).await;
    assert_eq!(status, 403);
    let (status, _, page) = get_bytes(addr, "/store/1/print", &app.viewer1).await;
    assert_eq!(status, 200);
    let page = String::from_utf8_lossy(&page);
    let weeks = app.state.model.load().stores[&1].weeks.len();
    assert_eq!(
        page.matches("<th scope=\"row\">").count(),
        weeks,
        "one row per calendar week"
    );
    if std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: the PDF part needs chromium (scripts/test installs it)");
        return;
    }
    let (status, head, pdf) = get_bytes(addr, "/store/1/plan.pdf", &app.viewer1).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/pdf"),
        "{head}"
    );
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    assert_eq!(pdf_pages(&pdf), 1, "the plan fits one A4 page");
    // A4 portrait: 595 × 842 points.
    let text = String::from_utf8_lossy(&pdf);
    assert!(
        text.contains("/MediaBox [0 0 594.9"),
        "an A4 page: {:?}",
        text.match_indices("/MediaBox")
            .map(|(i, _)| &text[i..i + 40])
            .collect::<Vec<_>>()
    );
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("store-1-plan.pdf"), &pdf).expect("saved");

    let Some(b) = tokio::task::block_in_place(Browser::start).expect("browser") else {
        println!("SKIPPED: the browser part needs chromium-driver");
        return;
    };
    let origin = format!("http://{addr}");
    tokio::task::block_in_place(move || {
        let mut b = b;
        b.set_viewport(1400, 900).expect("viewport");
        sign_in(&mut b, &origin, &app.viewer1, "/store/1");
        b.wait_for("document.querySelector('#print') !== null", WAIT)
            .expect("store view");
        b.click("#print").expect("printable plan");
        b.wait_for("document.querySelector('#calendar') !== null", WAIT)
            .expect("the sheet");
        let rows = b.count("#calendar tbody tr").expect("rows");
        assert_eq!(rows, weeks);
        b.screenshot(&dir.join("print-plan.png"))
            .expect("screenshot");
        assert_no_console_errors(&mut b, "printable plan");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_chain_reads_german_figures() {
    let chain = common::chain();
    let artifact = common::train(&chain, 1);
    let app = common::app_in(chain, artifact, None, storecast_charts::Locale::De);
    let (status, _, body) = common::call(&app, "GET", "/store/1", Some(&app.viewer1), None).await;
    assert_eq!(status, 200);
    assert!(body.contains("data-locale=\"de-DE\""));
    let total = app.state.model.load().stores[&1].total.point;
    let german = storecast_charts::Numbers::new(storecast_charts::Locale::De).eur(total);
    assert!(total >= 1000.0 && german.contains('.'), "{german}");
    assert!(
        body.contains(&format!("<b id=\"total\">{german}</b>")),
        "the total in German"
    );
    // The chart's text alternative is written in the same locale.
    assert!(body.contains("class=\"chart-data\""));
    let Some(b) = tokio::task::block_in_place(Browser::start).expect("browser") else {
        println!("SKIPPED: the browser part needs chromium-driver");
        return;
    };
    let addr = common::serve_on_loopback(app.state.clone()).await;
    let origin = format!("http://{addr}");
    tokio::task::block_in_place(move || {
        let mut b = b;
        sign_in(&mut b, &origin, &app.viewer1, "/store/1");
        b.wait_for(
            "window.storecastCharts && window.storecastCharts['store-chart'] > 0",
            WAIT,
        )
        .expect("chart drawn");
        let pct = b
            .eval("return window.storecastPct(0.123)")
            .expect("formatter");
        assert_eq!(pct, "12,3 %");
        let n = b
            .eval("return window.storecastNumber(1234.5, 1)")
            .expect("formatter");
        assert_eq!(n, "1.234,5");
        b.screenshot(&screenshot_dir().join("store-de.png"))
            .expect("screenshot");
        assert_no_console_errors(&mut b, "store view in German");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_reaches_every_control_and_explains_a_day() {
    let o = ops().await;
    let Some(b) = tokio::task::block_in_place(Browser::start).expect("browser") else {
        println!("SKIPPED: needs chromium-driver (scripts/test installs it)");
        return;
    };
    let origin = format!("http://{}", o.addr);
    tokio::task::block_in_place(move || {
        let mut b = b;
        b.set_viewport(1400, 900).expect("viewport");
        sign_in(&mut b, &origin, &o.app.viewer1, "/store/1");
        b.wait_for(
            "window.storecastCharts && window.storecastCharts['store-chart'] > 0",
            WAIT,
        )
        .expect("store view");
        // Number every visible control, then walk the page with Tab alone.
        let controls = b
            .eval(
                "const all = Array.from(document.querySelectorAll('a[href],button,input,select,textarea,summary'))\
                   .filter(e => !e.disabled && e.getClientRects().length > 0);\
                 all.forEach((e, i) => e.setAttribute('data-kb', i));\
                 document.activeElement.blur(); window.scrollTo(0, 0);\
                 return all.length;",
            )
            .expect("controls")
            .as_u64()
            .expect("a count") as usize;
        assert!(controls > 100, "the store view's controls: {controls}");
        let mut reached = std::collections::BTreeSet::new();
        for _ in 0..controls + 10 {
            b.press('\u{E004}').expect("Tab");
            if let Some(i) = b
                .eval("const a = document.activeElement; return a && a.getAttribute('data-kb');")
                .expect("focus")
                .as_str()
                .and_then(|s| s.parse::<usize>().ok())
            {
                reached.insert(i);
            }
        }
        let missed: Vec<usize> = (0..controls).filter(|i| !reached.contains(i)).collect();
        assert!(missed.is_empty(), "Tab never reaches controls {missed:?}");
        // Enter on a day's "why?" explains it, as a click does.
        b.eval("document.querySelector('#days button.why').focus(); return null;")
            .expect("focus why");
        b.press('\u{E007}').expect("Enter");
        b.wait_for(
            "document.querySelectorAll('#explain-panel .driver-row').length > 0",
            WAIT,
        )
        .expect("the day explained from the keyboard");
        assert_no_console_errors(&mut b, "keyboard walk");
    });
}

/// What must never reach a user: debug formatting, paths, SQL, panics.
const INTERNAL: [&str; 14] = [
    "Some(",
    "None)",
    "Error {",
    "Err(",
    "panicked",
    "/work/",
    "/home/",
    "/tmp/",
    ".rs:",
    "SELECT ",
    "INSERT ",
    "rusqlite",
    "RUST_BACKTRACE",
    "thread '",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_or_api_answer_shows_anything_internal_to_any_role() {
    let o = ops().await;
    let app = &o.app;
    let date = app.state.model.load().stores[&1]
        .days
        .iter()
        .find(|d| d.open)
        .expect("an open day")
        .date;
    let gets = [
        "/",
        "/stores",
        "/stores?sort=decline&per_page=5&page=3",
        "/store/1",
        "/store/2",
        "/store/1/print",
        "/store/abc",
        "/store/99999",
        "/model",
        "/fva",
        "/exceptions",
        "/data",
        "/monitoring",
        "/alerts",
        "/actuals",
        "/registry",
        "/reports/business",
        "/reports/nope",
        "/nope",
        "/api/v1/stores",
        "/api/v1/stores/1/forecast",
        "/api/v1/stores/1/forecast.csv",
        "/api/v1/stores/1/history",
        "/api/v1/stores/2/forecast",
        "/api/v1/stores/1/plan",
        "/api/v1/fva",
        "/api/v1/exceptions",
        "/api/v1/monitoring",
        "/api/v1/alerts",
        "/api/v1/models",
        "/api/v1/chain/forecast",
        "/api/v1/chain/forecast.csv",
        "/api/v1/chain/submission.csv",
        "/api/v1/model",
        "/api/v1/job",
        "/api/v1/validation",
        "/api/v1/analysis",
        "/api/v1/openapi.json",
        "/api/v1/nope",
        "/api/v1/stores/1/explain?date=2001-01-01",
        "/api/v1/stores/1/explain?date=nonsense",
    ];
    let explain = format!("/api/v1/stores/1/explain?date={date}");
    let posts = [
        ("/api/v1/stores/1/whatif", "{"),
        ("/api/v1/stores/1/whatif", "{\"days\": 5}"),
        ("/api/v1/stores/1/overrides", "{}"),
        ("/api/v1/stores/2/overrides", "{}"),
        ("/api/v1/overrides.csv", "Store,Date\nx,y\n"),
        ("/api/v1/actuals", "garbage"),
        ("/api/v1/models/nope/promote", "{}"),
        ("/api/v1/models/rollback", "{}"),
        ("/api/v1/alerts/999/ack", "{}"),
        ("/api/v1/exceptions/999/ack", "{}"),
    ];
    let tokens = [
        ("admin", Some(app.admin.as_str())),
        ("director", Some(app.director.as_str())),
        ("store manager", Some(app.viewer1.as_str())),
        ("a wrong token", Some("not-a-token")),
        ("nobody signed in", None),
    ];
    let mut checked = 0;
    for (who, token) in tokens {
        let requests = gets
            .iter()
            .map(|p| ("GET", p.to_string(), None))
            .chain(std::iter::once(("GET", explain.clone(), None)))
            .chain(posts.iter().map(|(p, b)| ("POST", p.to_string(), Some(*b))));
        for (method, path, body) in requests {
            let (status, headers, text) = common::call(app, method, &path, token, body).await;
            let what = format!("{method} {path} as {who}: {status}");
            assert!(status.as_u16() != 500, "{what}: {text}");
            for marker in INTERNAL {
                assert!(
                    !text.contains(marker),
                    "{what} shows {marker:?}: {text:.400}"
                );
            }
            let html = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
            if !path.starts_with("/api/") && method == "GET" && status.as_u16() != 303 {
                assert!(html, "{what}: a page answers HTML, even refused");
                assert!(
                    !text.trim_start().starts_with('{'),
                    "{what}: raw JSON in a browser"
                );
            }
            if !(200..300).contains(&status.as_u16()) && html {
                assert!(
                    text.contains("href=\"/"),
                    "{what}: a refused page offers a way back"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, tokens.len() * (gets.len() + 1 + posts.len()));
}

/// Every page's head comes from one partial: the sign-in page, a page and an error page
/// carry their own title and the app's stylesheets.
#[tokio::test]
async fn every_page_shares_one_head_with_its_own_title() {
    let app = common::app();
    for (uri, token, title) in [
        ("/login", None, "Sign in · storecast"),
        ("/stores", Some(app.director.as_str()), "Stores · storecast"),
        (
            "/no-such-page",
            Some(app.director.as_str()),
            "Not found · storecast",
        ),
    ] {
        let (_, _, page) = common::call(&app, "GET", uri, token, None).await;
        assert!(
            page.contains(&format!("<title>{title}</title>")),
            "{uri}: {page:.300}"
        );
        assert!(page.contains("href=\"/assets/app.css\""), "{uri}");
    }
}
