//! The server follows the model registry (issue 12): a promotion and a rollback, made while
//! the real server is under load, fail no request, and the served version follows the pointer.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storecast_store::Registry;
use storecast_web::follow::{follow_once, follow_registry, Followed};

/// One GET over its own connection: status and answer (status 0 when the connection failed).
fn get(addr: SocketAddr, path: &str, token: &str) -> (u16, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    let text = common::raw_exchange(addr, &req)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    (common::status_of(&text), text)
}

fn served(app: &common::TestApp) -> String {
    app.state.model.load().artifact().model_version.clone()
}

async fn wait_for(app: &common::TestApp, version: &str) {
    let t = Instant::now();
    while served(app) != version {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{version} never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_and_a_rollback_under_load_fail_no_request() {
    let app = common::app();
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("registry");
    let mut first = app.artifact.clone();
    reg.sign(&mut first);
    reg.register(&first).expect("register first");
    reg.promote(&first.model_version).expect("promote first");
    let mut second = common::train(&app.chain, 2);
    reg.sign(&mut second);
    reg.register(&second).expect("register second");
    let (v1, v2) = (first.model_version.clone(), second.model_version.clone());
    assert_ne!(v1, v2);
    assert_eq!(served(&app), v1);

    let swaps = Arc::new(Mutex::new(Vec::new()));
    let log = swaps.clone();
    let _follower = follow_registry(
        app.state.clone(),
        reg.clone(),
        Duration::from_millis(50),
        move |s| log.lock().expect("log").push(s.clone()),
    )
    .expect("follower");
    let addr = common::serve_on_loopback(app.state.clone()).await;

    // 16 clients ask for forecasts of random stores (and the model's identity) until stopped.
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let mut clients = Vec::new();
    for c in 0..16u32 {
        let (stop, done, failed, seen) = (stop.clone(), done.clone(), failed.clone(), seen.clone());
        let token = app.admin.clone();
        clients.push(tokio::task::spawn_blocking(move || {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let path = if i % 10 == 0 {
                    "/api/v1/model".to_string()
                } else {
                    format!("/api/v1/stores/{}/forecast", 1 + i % 12)
                };
                let (code, text) = get(addr, &path, &token);
                done.fetch_add(1, Ordering::Relaxed);
                if code != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                } else if path == "/api/v1/model" {
                    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                        if let Some(m) = v["model_version"].as_str() {
                            seen.lock().expect("seen").insert(m.to_string());
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    reg.promote(&v2).expect("promote second");
    wait_for(&app, &v2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    reg.rollback().expect("roll back");
    wait_for(&app, &v1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(done > 200, "the load ran: {done} requests");
    assert_eq!(failed, 0, "{failed} of {done} requests failed");
    let seen = seen.lock().expect("seen").clone();
    assert!(
        seen.contains(&v1) && seen.contains(&v2),
        "versions answered: {seen:?}"
    );
    let swaps = swaps.lock().expect("log").clone();
    assert_eq!(
        swaps,
        vec![
            Followed::Swapped {
                from: v1.clone(),
                to: v2.clone()
            },
            Followed::Swapped { from: v2, to: v1 }
        ]
    );
}

#[test]
fn an_active_version_that_cannot_be_served_leaves_the_old_model_serving() {
    let app = common::app();
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(dir.path()).expect("registry");
    let mut first = app.artifact.clone();
    reg.sign(&mut first);
    reg.register(&first).expect("register");
    reg.promote(&first.model_version).expect("promote");
    assert_eq!(follow_once(&app.state, &reg, None), Followed::Unchanged);
    // A second version whose file is then replaced by a forgery (checksum recomputed).
    let mut second = common::train(&app.chain, 3);
    reg.sign(&mut second);
    reg.register(&second).expect("register");
    let mut forged = second.clone();
    forged.scale *= 1.5;
    forged.seal();
    forged
        .save(&reg.version_path(&second.model_version))
        .expect("overwrite");
    // The pointer is switched by hand, as a tool that skips the checks would.
    std::fs::write(dir.path().join("CURRENT"), &second.model_version).expect("pointer");
    let step = follow_once(&app.state, &reg, None);
    assert!(
        matches!(&step, Followed::Refused { version, reason } if *version == second.model_version && reason.contains("signature")),
        "{step:?}"
    );
    assert_eq!(
        served(&app),
        first.model_version,
        "the old model still serves"
    );
    // Not retried until the pointer moves.
    assert_eq!(
        follow_once(&app.state, &reg, Some(&second.model_version)),
        Followed::Unchanged
    );
}
