//! Behaviour under load, without timing anything: precomputed explanations equal the exact
//! ones and survive a restart through the disk cache; a saturated heavy pool answers 503
//! with Retry-After while light routes still answer; history is served pre-serialised.

mod common;

use axum::http::{header, StatusCode};
use std::sync::{Arc, Mutex};
use storecast_explain::Lookup;
use storecast_web::state::start_explanations;
use storecast_web::{build_model_state, ModelState};

async fn call(
    app: &common::TestApp,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    common::call(app, method, uri, Some(&app.admin), body).await
}

/// Runs the background precomputation to its end and returns its report line.
fn precompute(m: &Arc<ModelState>, fingerprint: &str, dir: &std::path::Path) -> String {
    let line = Arc::new(Mutex::new(String::new()));
    let out = line.clone();
    let registry = storecast_store::Registry::open(dir.join("registry")).expect("registry");
    let cache = storecast_pipeline::train::cache_store(&registry, dir);
    let handle = start_explanations(m.clone(), fingerprint.to_string(), Some(cache), move |l| {
        *out.lock().expect("lock") = l
    })
    .expect("thread starts");
    handle.join().expect("thread ends");
    let l = line.lock().expect("lock").clone();
    l
}

#[test]
fn precomputed_explanations_equal_the_exact_ones_and_are_cached() {
    let app = common::app();
    let dir = tempfile::tempdir().expect("temp dir");
    let m = Arc::new(build_model_state(&app.chain, app.artifact.clone()).expect("state"));
    assert!(!m.explanations.is_ready());
    let sc = &m.scenario;
    assert!(matches!(
        m.explanations.lookup(sc, 0, sc.origin),
        Lookup::Pending
    ));
    let line = precompute(&m, &app.chain.fingerprint, dir.path());
    assert!(line.contains("computed"), "{line}");
    assert!(m.explanations.is_ready() && !m.explanations.is_empty());

    // A sample of cells over stores and days, open and closed.
    let cells: Vec<(u32, u32)> = (0..sc.tl.stores.len())
        .flat_map(|s| {
            (sc.origin..sc.tl.days)
                .step_by(5)
                .map(move |d| (s as u32, d as u32))
        })
        .collect();
    let exact = storecast_explain::explain(&m.forecaster, sc, &app.chain.stores, &cells)
        .expect("exact explanations");
    let mut exact = exact.into_iter().peekable();
    let (mut compared, mut closed) = (0, 0);
    for &(s, d) in &cells {
        let date = sc.tl.date(d as usize);
        let store = sc.tl.stores[s as usize];
        match m.explanations.lookup(sc, s as usize, d as usize) {
            Lookup::Ready(e) => {
                let x = exact
                    .next()
                    .expect("an exact explanation for an explained cell");
                assert_eq!((x.store, x.date), (store, date));
                let tol = 1e-6 * x.forecast.abs().max(1.0);
                assert!((e.forecast - x.forecast).abs() <= tol);
                assert!((e.baseline - x.baseline).abs() <= tol);
                assert!((e.log_output - x.log_output).abs() <= 1e-6);
                for (a, b) in e.drivers.iter().zip(&x.drivers) {
                    assert_eq!(a.driver, b.driver);
                    assert!((a.log - b.log).abs() <= 1e-6, "{a:?} vs {b:?}");
                    assert!((a.euro - b.euro).abs() <= tol, "{a:?} vs {b:?}");
                }
                let by_name = |f: &[(String, f32, f64)]| {
                    let mut v = f.to_vec();
                    v.sort_by(|a, b| a.0.cmp(&b.0));
                    v
                };
                for (a, b) in by_name(&e.features).iter().zip(by_name(&x.features)) {
                    assert_eq!((&a.0, a.1.to_bits()), (&b.0, b.1.to_bits()));
                    assert!((a.2 - b.2).abs() <= 1e-6);
                }
                compared += 1;
            }
            Lookup::NotExplained => {
                assert!(exact
                    .peek()
                    .is_none_or(|x| (x.store, x.date) != (store, date)));
                closed += 1;
            }
            Lookup::Pending => panic!("the table is ready"),
        }
    }
    assert!(
        exact.next().is_none(),
        "every exact explanation was compared"
    );
    assert!(
        compared > 20 && closed > 0,
        "{compared} compared, {closed} closed"
    );

    // A restart reads the cache; a damaged cache is recomputed; another model misses it.
    let again = Arc::new(build_model_state(&app.chain, app.artifact.clone()).expect("state"));
    let line = precompute(&again, &app.chain.fingerprint, dir.path());
    assert!(line.contains("read from"), "{line}");
    let file = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "bin"))
        .expect("cache file");
    let pristine = std::fs::read(&file).expect("cache");
    let mut bytes = pristine.clone();
    let n = bytes.len();
    bytes[n - 3] ^= 0x55;
    std::fs::write(&file, &bytes).expect("damage");
    let third = Arc::new(build_model_state(&app.chain, app.artifact.clone()).expect("state"));
    let line = precompute(&third, &app.chain.fingerprint, dir.path());
    assert!(
        line.contains("computed") && line.contains("checksum"),
        "{line}"
    );
    // Issue 30, item 2: an attacker who can write the file multiplies the contributions by 3
    // and recomputes the payload's SHA-256 in the header: that was read and served. Now the
    // header is signed with the registry's key: refused, recomputed.
    let (magic_and_header, payload) = {
        let nl = pristine
            .iter()
            .skip(18)
            .position(|b| *b == b'\n')
            .expect("header")
            + 18;
        (pristine[..=nl].to_vec(), pristine[nl + 1..].to_vec())
    };
    let rows = third.explanations.len();
    let mut forged = payload.clone();
    for v in forged[rows * 16..].chunks_exact_mut(4) {
        let x = f32::from_le_bytes([v[0], v[1], v[2], v[3]]) * 3.0;
        v.copy_from_slice(&x.to_le_bytes());
    }
    use sha2::Digest;
    let old = format!("{:x}", sha2::Sha256::digest(&payload));
    let new = format!("{:x}", sha2::Sha256::digest(&forged));
    let header = String::from_utf8(magic_and_header)
        .expect("text")
        .replace(&old, &new);
    std::fs::write(&file, [header.into_bytes(), forged].concat()).expect("forge");
    let fourth = Arc::new(build_model_state(&app.chain, app.artifact.clone()).expect("state"));
    let line = precompute(&fourth, &app.chain.fingerprint, dir.path());
    assert!(
        line.contains("computed") && line.contains("signature"),
        "a forged cache was read: {line}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("cache")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the cache is private");
    }
    let other = Arc::new(build_model_state(&app.chain, app.artifact.clone()).expect("state"));
    let line = precompute(&other, "other data", dir.path());
    assert!(line.contains("computed"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_heavy_pool_sheds_with_503_and_light_routes_still_answer() {
    let mut app = common::app();
    app.state.heavy = storecast_web::heavy::HeavyPool::new(1);
    // Occupy the only slot until the end of the test.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let pool = app.state.heavy.clone();
    let blocker = tokio::spawn(async move { pool.run(move || wait.recv().is_ok()).await });
    while app.state.heavy.busy() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let date = app.state.model.load().stores[&1].days[0].date;
    let body = format!(r#"{{"changes":[{{"date":"{date}","promo":true}}]}}"#);
    let (s, h, text) = call(&app, "POST", "/api/v1/stores/1/whatif", Some(&body)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert_eq!(
        h.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON error");
    assert_eq!(v["status"], 503);
    // Explanations are not precomputed here, so explain needs the pool too: shed as well.
    let uri = format!("/api/v1/stores/1/explain?date={date}");
    let (s, _, _) = call(&app, "GET", &uri, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    // Light routes answer meanwhile.
    for uri in [
        "/api/v1/stores/1/forecast",
        "/api/v1/stores/1/history",
        "/api/v1/stores/1/forecast.csv",
        "/store/1",
    ] {
        let (s, _, _) = call(&app, "GET", uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
    }
    release.send(()).expect("blocker waits");
    assert!(matches!(blocker.await.expect("joins"), Ok(true)));
    let (s, _, text) = call(&app, "POST", "/api/v1/stores/1/whatif", Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn history_default_is_preserialised_and_equals_the_built_answer() {
    let app = common::app();
    let (s, _, text) = call(&app, "GET", "/api/v1/stores/2/history", None).await;
    assert_eq!(s, StatusCode::OK);
    let served: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let m = app.state.model.load();
    let built = serde_json::to_value(storecast_web::api::history_body(
        &m,
        2,
        storecast_web::state::HISTORY_DAYS,
    ))
    .expect("JSON");
    assert_eq!(served, built);
    assert_eq!(
        served["history"].as_array().map(Vec::len),
        Some(storecast_web::state::HISTORY_DAYS)
    );
    let (s, _, text) = call(&app, "GET", "/api/v1/stores/2/history?days=7", None).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["history"].as_array().map(Vec::len), Some(7));
}
