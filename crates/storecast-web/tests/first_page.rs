//! A first page within a minute (issue 28), through the real server on a synthetic chain: the
//! demo serves a provisional model at once, trains the full one in the background at the
//! lowest priority, and the registry follower swaps it in. The first answer comes while the
//! full training runs; pages and the API say "provisional" (with the job's progress for a
//! director) until the swap, then neither; no request fails across the swap; the reports
//! written in the background appear; a rerun reuses the full model and trains nothing.

mod common;

use std::time::{Duration, Instant};
use storecast_pipeline::background::Board;
use storecast_pipeline::{DemoSettings, DemoStart, FirstModel, Progress, Silent};
use storecast_web::ServeSettings;

/// Quick models: a provisional one of 20 trees, a full one of 2 folds and 80 trees.
fn settings(start: DemoStart) -> DemoSettings {
    let mut s = DemoSettings::new(start);
    s.provisional.params.num_trees = 20;
    s.provisional.params.threads = 1;
    s.full.folds = 2;
    s.full.same_season = false;
    s.full.params.num_trees = 80;
    s.full.params.threads = 1;
    s
}

fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, String) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let answer = common::raw_exchange(addr, &request)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    (common::status_of(&answer), answer)
}

/// The demo served as `storecast demo` serves it: a provisional model, the full training in
/// a background job (started when `gate` opens, at once without one), the registry followed.
struct Served {
    addr: std::net::SocketAddr,
    token: String,
    board: Board,
    job: std::thread::JoinHandle<()>,
    paths: storecast_pipeline::DemoPaths,
    out: std::path::PathBuf,
    demo: DemoSettings,
    _dir: tempfile::TempDir,
}

fn serve_demo(gate: Option<std::sync::mpsc::Receiver<()>>) -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let demo = settings(DemoStart::Provisional);
    let d =
        storecast_pipeline::demo(common::load_report(), &out, &demo, &mut Silent).expect("demo");
    assert_eq!(d.first, FirstModel::TrainedProvisional);
    assert!(d.artifact.provisional);
    let token = d.token.expose().to_string();

    let paths = d.paths.clone();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let serve = ServeSettings {
        addr,
        db: paths.db.clone(),
        reports: Some(paths.reports.clone()),
        no_auth: false,
        https_proxy: false,
        locale: Default::default(),
        launch: Default::default(),
    };
    // The same start as `storecast demo`'s, with the full training held until `gate` opens.
    let before_full = move |progress: &mut dyn Progress| {
        if let Some(gate) = gate {
            progress.report("queued", 0, 1);
            gate.recv().map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let app = storecast_web::demo_app(d, demo.clone(), &serve, before_full, Silent, |_| {})
        .expect("the demo's app");
    assert!(
        app.state
            .reports
            .load()
            .iter()
            .all(|r| r.slug != "methodology"),
        "no methodology report before the full model"
    );
    let (board, job) = app.job.expect("a background job after a provisional start");
    let (state, source) = (app.state, app.source);
    std::thread::spawn(move || storecast_web::serve_state_blocking(state, source, serve, |_| {}));
    Served {
        addr,
        token,
        board,
        job,
        paths,
        out,
        demo,
        _dir: dir,
    }
}

#[test]
fn the_demo_serves_a_provisional_model_at_once_and_swaps_in_the_full_one() {
    let Served {
        addr,
        token,
        board,
        job,
        paths,
        out,
        demo,
        _dir,
    } = serve_demo(None);

    // The first answer, while the full model trains.
    let t = Instant::now();
    let first = loop {
        let (status, body) = get(addr, "/api/v1/job", &token);
        if status == 200 {
            break body;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no answer: {body}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        board.status().running,
        "the first answer came after the full training ended"
    );
    assert!(first.contains("\"provisional\":true"), "{first}");
    assert!(first.contains("Training the full model"), "{first}");

    // Requests all along: provisional pages until the swap, then the full model; none fails.
    let (mut provisional_pages, mut failed) = (0, Vec::new());
    let swapped = loop {
        for path in ["/", "/stores", "/api/v1/chain/forecast", "/api/v1/job"] {
            let (status, body) = get(addr, path, &token);
            if status != 200 {
                failed.push(format!("{path}: {status}"));
            }
            if path == "/" && body.contains("id=\"provisional\"") {
                provisional_pages += 1;
            }
        }
        let (_, job) = get(addr, "/api/v1/job", &token);
        if job.contains("\"provisional\":false") {
            break job;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no swap: {:?}",
            board.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    job.join().expect("the job thread ends");
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(
        provisional_pages > 0,
        "no page said provisional before the swap"
    );
    let status = board.status();
    assert_eq!(status.error, None);
    assert!(!status.running);
    assert!(swapped.contains("\"banner\":null"), "{swapped}");
    let (status, page) = get(addr, "/", &token);
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"provisional\"") && !page.contains("id=\"job\""));
    let (status, report) = get(addr, "/reports/methodology", &token);
    assert_eq!(status, 200, "the methodology report appears: {report}");

    // The promotion is the demo's own, audited, with its reason.
    let store = storecast_store::Store::open(&paths.db).expect("db");
    let promote = store
        .audit_log(50)
        .expect("audit")
        .into_iter()
        .find(|e| {
            e.action == "model.promote"
                && e.details.to_string().contains("replaces the provisional")
        })
        .expect("the swap's promotion is audited");
    assert_eq!(promote.actor, storecast_pipeline::demo::DEMO_ACTOR);

    // A rerun serves the full model at once and trains nothing.
    let again =
        storecast_pipeline::demo(common::load_report(), &out, &demo, &mut Silent).expect("rerun");
    assert_eq!(again.first, FirstModel::ReusedFull);
    assert!(!again.artifact.provisional && again.backtest.is_none());
}

#[test]
fn the_banner_shows_progress_in_a_browser_and_goes_after_the_swap() {
    let Some(mut b) = storecast_browser::Browser::start().expect("browser") else {
        return;
    };
    let (open, gate) = std::sync::mpsc::channel();
    let served = serve_demo(Some(gate));
    let origin = format!("http://{}", served.addr);
    let wait = Duration::from_secs(20);
    b.goto(&format!("{origin}/")).expect("goto");
    b.wait_for("document.querySelector('#token') !== null", wait)
        .expect("sign-in form");
    b.set_value("#token", &served.token).expect("type token");
    b.click("#signin").expect("sign in");
    b.wait_for("document.querySelector('#job') !== null", wait)
        .expect("the job's banner on the chain view");
    let banner = b.text("#job").expect("banner");
    assert!(
        banner.starts_with("Training the full model: queued 0 / 1"),
        "{banner}"
    );
    assert!(b
        .text("#provisional")
        .expect("label")
        .contains("Provisional model"));
    b.screenshot(&storecast_browser::screenshot_dir().join("provisional.png"))
        .expect("screenshot");

    open.send(()).expect("start the full training");
    b.wait_for(
        "document.querySelector('#job') === null && document.querySelector('#provisional') === null",
        Duration::from_secs(120),
    )
    .expect("the banners go after the swap");
    let swapped = b.text("#swapped").expect("the swap is said");
    assert!(swapped.contains("now serves"), "{swapped}");
    served.job.join().expect("job ends");
    let errors = b.console_errors().expect("console");
    assert!(errors.is_empty(), "console errors {errors:?}");
    b.goto(&format!("{origin}/")).expect("reload");
    b.wait_for("document.querySelector('#chain-total') !== null", wait)
        .expect("chain view");
    assert_eq!(b.count("#provisional, #job").expect("count"), 0);
}
