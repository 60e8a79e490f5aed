//! Operations in the app (issue 31), through the real server on a loopback port: deliveries
//! of actuals (refused whole with every finding, or stored and scored), the monitoring a
//! store manager and a director see, alerts acknowledged with a note, and promote / roll back
//! of the registry's models with the roles and the audit they need.

mod common;

use common::ops::{actuals, assert_no_console_errors, call, ops, sign_in};

fn ingestions(app: &common::TestApp) -> usize {
    app.state
        .store
        .as_ref()
        .expect("db")
        .ingestions()
        .expect("ingestions")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_delivery_writes_nothing_and_a_good_one_is_scored_for_whom_may_see_it() {
    let o = ops().await;
    let (addr, app) = (o.addr, &o.app);
    // A malformed file: refused whole, every finding with its line and column.
    let good = actuals(app, &[1, 2], 7);
    let mut lines: Vec<&str> = good.lines().collect();
    let bad_line = lines[3].replacen(",1,", ",x,", 1).replace("-", "/");
    lines[3] = &bad_line;
    let bad = lines.join("\n") + "\n";
    let (status, answer) = call(
        addr,
        "POST",
        "/api/v1/actuals?name=week.csv",
        &app.director,
        &bad,
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["stored"], false);
    let f = &answer["findings"][0];
    assert_eq!(f["line"], 4, "{answer}");
    assert!(f["column"].is_string(), "{answer}");
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("week.csv: line 4")),
        "{answer}"
    );
    assert_eq!(ingestions(app), 0, "a refused file writes nothing");

    // A store-1 manager may not deliver store 2's rows (403, each line named), nothing written.
    let (status, answer) = call(addr, "POST", "/api/v1/actuals", &app.viewer1, &good).await;
    assert_eq!(status, 403, "{answer}");
    let lines: Vec<u64> = answer["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines.len(), 7, "{answer}");
    assert!(
        lines.iter().all(|&l| l >= 9),
        "store 2 is on lines 9..15: {lines:?}"
    );
    assert_eq!(ingestions(app), 0);
    let refused = app
        .state
        .store
        .as_ref()
        .expect("db")
        .audit_of("ingest.refused", 5)
        .expect("audit");
    assert!(
        refused.iter().any(|e| e.actor == "viewer1"),
        "the refused delivery is audited: {refused:?}"
    );

    // The director's good file is stored and scored: 5 % above the forecast on every day.
    let (status, answer) = call(
        addr,
        "POST",
        "/api/v1/actuals?name=week.csv",
        &app.director,
        &good,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["stored"].as_bool(), answer["inserted"].as_u64()),
        (Some(true), Some(14))
    );
    // Warnings are about the file: not the store table's own findings every delivery repeats.
    let findings = answer["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .all(|f| f["rule"] != "store_without_history"),
        "{answer}"
    );
    let audit = app
        .state
        .store
        .as_ref()
        .expect("db")
        .audit_log(20)
        .expect("audit");
    let row = audit
        .iter()
        .find(|e| e.action == "actuals.ingest")
        .expect("the delivery is audited");
    assert_eq!(row.actor, "director");
    assert_eq!(row.details["sha256"], answer["sha256"], "{:?}", row.details);

    let (status, chain) = call(addr, "GET", "/api/v1/monitoring", &app.director, "").await;
    assert_eq!(status, 200, "{chain}");
    assert_eq!(chain["scope"], "chain");
    let bias = chain["overall"]["bias"].as_f64().expect("bias");
    assert!((bias + 0.05 / 1.05).abs() < 2e-3, "bias {bias}");
    let stores: Vec<u64> = chain["by_store"]
        .as_array()
        .expect("stores")
        .iter()
        .map(|s| s["store"].as_u64().expect("store"))
        .collect();
    assert_eq!(stores, vec![1, 2]);
    assert_eq!(chain["by_horizon"][0]["week"], 1, "{}", chain["by_horizon"]);
    // Drift compares with the same weeks last year, from the history the server started on
    // (its database holds only this week's delivery).
    let drift = chain["drift"].as_array().expect("drift");
    assert!(
        drift.iter().any(|d| d["feature"] == "promo"),
        "{}",
        chain["drift"]
    );

    // The store-1 manager sees store 1 only: no store 2, no chain-wide drift or store types.
    let (status, mine) = call(addr, "GET", "/api/v1/monitoring", &app.viewer1, "").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["scope"], "store 1");
    assert_eq!(mine["by_store"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["by_store"][0]["store"], 1);
    assert_eq!(mine["by_store_type"].as_array().map(Vec::len), Some(0));
    assert_eq!(mine["drift"].as_array().map(Vec::len), Some(0));
    assert!(mine.to_string().find("\"store\":2").is_none(), "{mine}");
    // Their own store's rows they may deliver.
    let own = actuals(app, &[1], 7);
    let (status, answer) = call(addr, "POST", "/api/v1/actuals", &app.viewer1, &own).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["unchanged"], 7,
        "the same rows again change nothing: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_acknowledged_with_a_note_by_directors_only() {
    let o = ops().await;
    let (addr, app) = (o.addr, &o.app);
    let db = app.state.store.as_ref().expect("db");
    let alert = db
        .record_alert(
            "monitor",
            &storecast_store::NewAlert {
                kind: storecast_store::AlertKind::Accuracy,
                scope: "store 3".into(),
                value: 0.31,
                threshold: 0.2,
                message: "store 3 RMSPE 0.31 above 0.2".into(),
            },
        )
        .expect("alert");
    let path = format!("/api/v1/alerts/{}/ack", alert.id);
    let note = r#"{"note":"roadworks in front of the store; expected until August"}"#;
    let (status, _) = call(addr, "POST", &path, &app.viewer1, note).await;
    assert_eq!(status, 403);
    let denied = db.audit_of("access.denied", 5).expect("audit");
    assert_eq!(denied[0].actor, "viewer1");
    let (status, _) = call(addr, "POST", &path, &app.director, r#"{"note":"  "}"#).await;
    assert_eq!(status, 400, "a note is required");
    let (status, acked) = call(addr, "POST", &path, &app.director, note).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["acknowledged_by"], "director");
    let (_, list) = call(addr, "GET", "/api/v1/alerts", &app.director, "").await;
    assert_eq!(list["open"].as_array().map(Vec::len), Some(0), "{list}");
    assert!(list["acknowledged"][0]["acknowledged_note"]
        .as_str()
        .is_some_and(|n| n.starts_with("roadworks")));
    let (status, _) = call(addr, "GET", "/api/v1/alerts", &app.viewer1, "").await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_promotes_and_rolls_back_and_the_server_swaps_both_times() {
    let o = ops().await;
    let (addr, app) = (o.addr, &o.app);
    let v1 = app.state.model.load().artifact().model_version.clone();
    let mut second = common::train(&app.chain, 2);
    o.registry.sign(&mut second);
    o.registry.register(&second).expect("register");
    let v2 = second.model_version.clone();
    // An unsigned version is listed with its problem, and cannot be promoted.
    let mut unsigned = common::train(&app.chain, 3);
    unsigned.model_version = format!("{v2}-unsigned");
    unsigned
        .save(&o.registry.version_path(&unsigned.model_version))
        .expect("saved");

    let promote = format!("/api/v1/models/{v2}/promote");
    let db = app.state.store.as_ref().expect("db");
    for token in [&app.viewer1, &app.director] {
        let (status, _) = call(addr, "POST", &promote, token, "{}").await;
        assert_eq!(status, 403);
    }
    let denied = db.audit_of("access.denied", 5).expect("audit");
    assert_eq!(denied.len(), 2, "both attempts are audited");
    assert_eq!(denied[1].actor, "viewer1");
    assert_eq!(denied[1].target, v2);

    let (status, models) = call(addr, "GET", "/api/v1/models", &app.director, "").await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["can_act"], false);
    let listed = models["versions"].as_array().expect("versions");
    assert_eq!(listed.len(), 3);
    let bad = listed
        .iter()
        .find(|v| {
            v["version"]
                .as_str()
                .is_some_and(|s| s.ends_with("-unsigned"))
        })
        .expect("listed");
    assert_eq!(bad["verified"], false);
    assert!(bad["problem"].is_string());
    let bad_path = format!("/api/v1/models/{}/promote", unsigned.model_version);
    let (status, answer) = call(addr, "POST", &bad_path, &app.admin, "{}").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(app.state.model.load().artifact().model_version, v1);

    let (status, answer) = call(
        addr,
        "POST",
        &promote,
        &app.admin,
        r#"{"reason":"fold 3 better"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["served"], v2.as_str());
    assert_eq!(app.state.model.load().artifact().model_version, v2);
    let (status, answer) = call(addr, "POST", "/api/v1/models/rollback", &app.admin, "{}").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["served"], v1.as_str());
    assert_eq!(app.state.model.load().artifact().model_version, v1);
    let (_, models) = call(addr, "GET", "/api/v1/models", &app.admin, "").await;
    let v2_row = models["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["version"] == v2.as_str())
        .expect("v2");
    assert_eq!(v2_row["promoted_by"], "admin");
    assert_eq!(v2_row["fold_rmspe"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_operations_routes_are_documented_with_their_types() {
    let doc = serde_json::to_value(storecast_web::openapi::document()).expect("JSON");
    for (path, method, schema) in [
        ("/api/v1/actuals", "post", "UploadAnswer"),
        ("/api/v1/monitoring", "get", "Monitoring"),
        ("/api/v1/alerts", "get", "Alerts"),
        ("/api/v1/alerts/{id}/ack", "post", "Alert"),
        ("/api/v1/models", "get", "Models"),
        ("/api/v1/models/{version}/promote", "post", "SwitchAnswer"),
        ("/api/v1/models/rollback", "post", "SwitchAnswer"),
        ("/api/v1/stores/{id}/plan", "get", "StorePlan"),
        ("/api/v1/stores/{id}/overrides", "post", "StorePlan"),
        ("/api/v1/overrides.csv", "post", "BulkOutcome"),
        ("/api/v1/exceptions/{id}/ack", "post", "ExceptionAck"),
    ] {
        let op = &doc["paths"][path][method];
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(
            ok.as_str(),
            Some(format!("#/components/schemas/{schema}").as_str()),
            "{method} {path}"
        );
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

/// Sets the file of the input `css` to a file named `name` holding `text` (what a person
/// picking a file does; WebDriver cannot type into a file input's dialog).
fn pick_file(b: &mut storecast_browser::Browser, css: &str, name: &str, text: &str) {
    let js = format!(
        "const dt = new DataTransfer(); dt.items.add(new File([{}], {}, {{type: 'text/csv'}})); \
         document.querySelector({}).files = dt.files; return document.querySelector({}).files.length;",
        serde_json::to_string(text).expect("json"),
        serde_json::to_string(name).expect("json"),
        serde_json::to_string(css).expect("json"),
        serde_json::to_string(css).expect("json"),
    );
    assert_eq!(b.eval(&js).expect("file picked"), serde_json::json!(1));
}

#[test]
fn operations_work_in_a_real_browser() {
    use std::time::Duration;
    let Some(mut b) = storecast_browser::Browser::start().expect("browser") else {
        return;
    };
    let wait = Duration::from_secs(30);
    b.set_viewport(1400, 900).expect("a desktop's viewport");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let o = rt.block_on(ops());
    let app = &o.app;
    let origin = format!("http://{}", o.addr);
    let shots = storecast_browser::screenshot_dir().join("operations");

    // Deliver a file with an error: refused, the problem shown by line; then the good file.
    sign_in(&mut b, &origin, &app.admin, "/actuals");
    let good = actuals(app, &[1, 2, 3], 7);
    let bad = good.replacen("\n1,", "\n1,x", 1);
    pick_file(&mut b, "#actuals-file", "week-25.csv", &bad);
    b.click("#actuals-form button[type=submit]")
        .expect("deliver");
    b.wait_for("document.querySelector('#actuals-refused') !== null", wait)
        .expect("refused");
    let findings = b.text("#actuals-findings").expect("findings");
    assert!(
        findings.contains("week-25.csv: line 2") && findings.contains("DayOfWeek"),
        "the file is named as delivered, with the line and the column: {findings}"
    );
    b.screenshot(&shots.join("actuals-refused.png"))
        .expect("shot");
    assert_eq!(ingestions(app), 0);
    // The browser logs the refusal's 422 as a failed load; nothing else may be logged.
    let logged = b.console_errors().expect("console log");
    assert!(
        logged
            .iter()
            .all(|e| e.contains("/api/v1/actuals") && e.contains("422")),
        "{logged:?}"
    );
    pick_file(&mut b, "#actuals-file", "week-25.csv", &good);
    b.click("#actuals-form button[type=submit]")
        .expect("deliver");
    b.wait_for("document.querySelector('#actuals-stored') !== null", wait)
        .expect("stored");
    b.screenshot(&shots.join("actuals-stored.png"))
        .expect("shot");
    assert_no_console_errors(&mut b, "actuals");
    assert_eq!(ingestions(app), 1);

    // The delivery is scored on the monitoring page, charts drawn.
    b.goto(&format!("{origin}/monitoring")).expect("monitoring");
    b.wait_for(
        "window.storecastCharts && window.storecastCharts['live-rmspe'] > 0",
        wait,
    )
    .expect("accuracy chart drawn");
    assert!(b.count("#live-stores tr").expect("rows") >= 4);
    b.screenshot(&shots.join("monitoring-director.png"))
        .expect("shot");
    assert_no_console_errors(&mut b, "monitoring");

    // Acknowledge an alert with a note; the header's count goes down.
    let db = app.state.store.as_ref().expect("db");
    db.record_alert(
        "monitor",
        &storecast_store::NewAlert {
            kind: storecast_store::AlertKind::Bias,
            scope: "store 2".into(),
            value: -0.048,
            threshold: 0.03,
            message: "store 2 sells 4.8 % above its forecast (limit 3 %)".into(),
        },
    )
    .expect("alert");
    b.goto(&format!("{origin}/alerts")).expect("alerts");
    b.wait_for("document.querySelector('#open-alerts') !== null", wait)
        .expect("open alerts");
    let open = db.alerts(true).expect("open").len();
    assert_eq!(
        b.text("#alert-count .count").expect("count"),
        open.to_string()
    );
    b.set_value(
        "#open-alerts tr[data-alert] .ack-note",
        "new competitor opened on 1 June; plan adjusted",
    )
    .expect("note");
    b.click("#open-alerts tr[data-alert] button")
        .expect("acknowledge");
    b.wait_for(
        "document.querySelector('#acknowledged-alerts') !== null",
        wait,
    )
    .expect("history");
    assert!(b
        .text("#acknowledged-alerts")
        .expect("history")
        .contains("new competitor"));
    assert_eq!(
        b.text("#alert-count .count").expect("count"),
        (open - 1).to_string()
    );
    b.screenshot(&shots.join("alerts.png")).expect("shot");
    assert_no_console_errors(&mut b, "alerts");

    // Promote a second version after the confirmation, then roll back.
    let v1 = app.state.model.load().artifact().model_version.clone();
    let mut second = common::train(&app.chain, 2);
    o.registry.sign(&mut second);
    o.registry.register(&second).expect("register");
    let v2 = second.model_version.clone();
    b.goto(&format!("{origin}/registry")).expect("registry");
    b.wait_for("document.querySelector('#versions') !== null", wait)
        .expect("versions");
    b.click(&format!("button.promote[data-version='{v2}']"))
        .expect("promote");
    b.wait_for("!document.querySelector('#confirm').hidden", wait)
        .expect("asked to confirm");
    b.set_value("#confirm-reason", "better on the last two folds")
        .expect("reason");
    b.screenshot(&shots.join("registry-confirm.png"))
        .expect("shot");
    b.click("#confirm-yes").expect("confirm");
    let served = |v: &str| {
        format!("document.querySelector('#registry-served') && document.querySelector('#registry-served').textContent === '{v}'")
    };
    b.wait_for(&served(&v2), wait).expect("v2 served");
    assert_eq!(app.state.model.load().artifact().model_version, v2);
    b.screenshot(&shots.join("registry-promoted.png"))
        .expect("shot");
    b.click("#rollback").expect("roll back");
    b.wait_for("!document.querySelector('#confirm').hidden", wait)
        .expect("asked to confirm");
    b.click("#confirm-yes").expect("confirm");
    b.wait_for(&served(&v1), wait).expect("v1 served again");
    assert_eq!(app.state.model.load().artifact().model_version, v1);
    b.screenshot(&shots.join("registry-rolled-back.png"))
        .expect("shot");
    assert_no_console_errors(&mut b, "registry");

    // A store-1 manager: their store's accuracy only, and the delivery form for it.
    b.click("#signout").expect("sign out");
    b.wait_for("document.querySelector('#token') !== null", wait)
        .expect("signed out");
    sign_in(&mut b, &origin, &app.viewer1, "/monitoring");
    b.wait_for("document.querySelector('#live-overall') !== null", wait)
        .expect("monitoring");
    assert_eq!(
        b.count("#live-stores tr").expect("rows"),
        2,
        "a header and store 1"
    );
    assert_eq!(
        b.count("#alert-count").expect("badge"),
        0,
        "no alerts for managers"
    );
    assert_eq!(
        b.eval("return [window.innerWidth, window.innerHeight];")
            .expect("viewport"),
        serde_json::json!([1400, 900])
    );
    b.screenshot(&shots.join("monitoring-manager.png"))
        .expect("shot");
    assert_no_console_errors(&mut b, "manager monitoring");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_over_the_upload_limit_is_refused_before_it_is_read() {
    let o = ops().await;
    let addr = o.addr;
    let over = storecast_web::operations::UPLOAD_LIMIT + 1;
    let token = o.app.admin.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let req = format!(
            "POST /api/v1/actuals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: {over}\r\nConnection: close\r\n\r\n"
        );
        common::raw_exchange(addr, &req)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    })
    .await
    .expect("request");
    assert_eq!(common::status_of(&answer), 413, "{answer}");
    assert_eq!(ingestions(&o.app), 0);
    // Other routes keep their small limit.
    let (status, _) = call(
        addr,
        "POST",
        "/api/v1/alerts/1/ack",
        &o.app.director,
        &format!(r#"{{"note":"{}"}}"#, "x".repeat(70_000)),
    )
    .await;
    assert_eq!(status, 413);
}
