//! The API and pages without a browser: access control, bad input, security headers, CSRF,
//! and a model switch under concurrent load.

mod common;

use common::call;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn access_control_and_errors() {
    let app = common::app();
    let a = Some(app.admin.as_str());
    // No token: 401 on the API, redirect to sign-in on pages.
    let (s, _, body) = call(&app, "GET", "/api/v1/stores/1/forecast", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("\"error\""));
    let (s, h, _) = call(&app, "GET", "/store/1", None, None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        h.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    // A wrong token is 401 too.
    let (s, _, _) = call(
        &app,
        "GET",
        "/api/v1/stores/1/forecast",
        Some("0000000000000000.00"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A viewer of store 1 sees store 1, gets 403 on store 2 and on chain views.
    let v = Some(app.viewer1.as_str());
    let (s, _, body) = call(&app, "GET", "/api/v1/stores/1/forecast", v, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"days\""));
    let (s, _, _) = call(&app, "GET", "/api/v1/stores/2/forecast", v, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&app, "GET", "/store/2", v, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&app, "GET", "/api/v1/chain/forecast", v, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, body) = call(&app, "GET", "/api/v1/stores", v, None).await;
    assert_eq!(s, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));
    // A director sees the chain.
    let (s, _, _) = call(
        &app,
        "GET",
        "/api/v1/chain/forecast",
        Some(app.director.as_str()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Bad parameters: 4xx with a JSON message, never 5xx.
    for (uri, want) in [
        ("/api/v1/stores/abc/forecast", StatusCode::BAD_REQUEST),
        ("/api/v1/stores/0/forecast", StatusCode::BAD_REQUEST),
        ("/api/v1/stores/99999999/forecast", StatusCode::BAD_REQUEST),
        ("/api/v1/stores/999/forecast", StatusCode::NOT_FOUND),
        (
            "/api/v1/stores/1/explain?date=2015-13-01",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/stores/1/explain", StatusCode::BAD_REQUEST),
        (
            "/api/v1/stores/1/explain?date=2014-01-01",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/stores/1/history?days=0", StatusCode::BAD_REQUEST),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND),
    ] {
        let (s, _, body) = call(&app, "GET", uri, a, None).await;
        assert_eq!(s, want, "{uri}: {body}");
        assert!(body.contains("\"error\""), "{uri}: {body}");
    }
    for (body, want) in [
        ("{not json", StatusCode::BAD_REQUEST),
        ("{\"changes\": []}", StatusCode::BAD_REQUEST),
        (
            "{\"changes\": [{\"date\": \"2020-01-01\", \"promo\": true}]}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"changes\": [{\"date\": \"2015-06-22\", \"state_holiday\": \"x\"}]}",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, _, text) = call(&app, "POST", "/api/v1/stores/1/whatif", a, Some(body)).await;
        assert_eq!(s, want, "{body}: {text}");
    }
    // A good what-if.
    let (s, _, body) = call(&app, "POST", "/api/v1/stores/1/whatif", a, Some("{\"changes\": [{\"date\": \"2015-06-23\", \"promo\": true}, {\"date\": \"2015-06-24\", \"promo\": true}]}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let w: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(w["delta_eur"].as_f64().is_some());
    // An explanation sums up.
    let (s, _, body) = call(
        &app,
        "GET",
        "/api/v1/stores/1/explain?date=2015-06-23",
        a,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).expect("json");
    let total = e["baseline"].as_f64().unwrap_or(0.0)
        + e["drivers"].as_array().map_or(0.0, |d| {
            d.iter().map(|x| x["euro"].as_f64().unwrap_or(0.0)).sum()
        });
    assert!((total - e["forecast"].as_f64().unwrap_or(-1.0)).abs() < 1e-6 * total.max(1.0));
}

#[tokio::test]
async fn headers_openapi_csv_metrics_and_csrf() {
    let app = common::app();
    let a = Some(app.admin.as_str());
    let (s, h, _) = call(&app, "GET", "/", a, None).await;
    assert_eq!(s, StatusCode::OK);
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(
        h.get(header::X_CONTENT_TYPE_OPTIONS)
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        h.get(header::X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let (s, _, body) = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(doc["paths"]["/api/v1/stores/{id}/whatif"]["post"].is_object());
    let (s, h, body) = call(&app, "GET", "/api/v1/stores/1/forecast.csv", a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv")));
    assert_eq!(body.lines().count(), 43, "header + 42 days");
    // Metrics are for an admin token (a Prometheus scraper's bearer token), not for anyone.
    let (s, _, _) = call(&app, "GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call(&app, "GET", "/metrics", Some(&app.viewer1), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, body) = call(&app, "GET", "/metrics", a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("storecast_http_requests_total"), "{body}");
    // A session-authenticated POST must echo the session's own CSRF token: without the
    // header, or with a pair the attacker chose (cookie and header both "abc": the old
    // double-submit check passed it), it is refused; with the session's token it passes.
    let session = common::sign_in(&app.state, &app.admin).await;
    let whatif = |cookie: String, csrf: Option<&str>| {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/v1/stores/1/whatif")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.body(Body::from(
            "{\"changes\": [{\"date\": \"2015-06-23\", \"promo\": true}]}",
        ))
        .expect("request")
    };
    let session_only = session
        .cookie
        .split("; ")
        .next()
        .expect("session cookie")
        .to_string();
    for (cookie, csrf) in [
        (session.cookie.clone(), None),
        (format!("{session_only}; storecast_csrf=abc"), Some("abc")),
    ] {
        let resp = storecast_web::router(app.state.clone())
            .oneshot(whatif(cookie, csrf))
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let resp = storecast_web::router(app.state.clone())
        .oneshot(whatif(session.cookie.clone(), Some(&session.csrf)))
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    // The token itself in a cookie is no session.
    let resp = storecast_web::router(app.state.clone())
        .oneshot(whatif(
            format!("storecast_session={}; storecast_csrf=abc", app.admin),
            Some("abc"),
        ))
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_switch_under_load_fails_no_request() {
    let app = common::app();
    let second = common::train(&app.chain, 2);
    let other = storecast_web::build_model_state(&app.chain, second).expect("second model");
    let first_version = app.state.model.load().artifact().model_version.clone();
    let second_version = other.artifact().model_version.clone();
    assert_ne!(first_version, second_version);
    let router = storecast_web::router(app.state.clone());
    let token = app.admin.clone();
    let mut tasks = Vec::new();
    for i in 0..2000u32 {
        let r = router.clone();
        let t = token.clone();
        tasks.push(tokio::spawn(async move {
            let store = 1 + i % 12;
            let req = Request::builder()
                .uri(format!("/api/v1/stores/{store}/forecast"))
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .expect("request");
            let resp = r.oneshot(req).await.expect("response");
            let ok = resp.status() == StatusCode::OK;
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            ok && !body.is_empty()
        }));
    }
    // Promote the second model while the requests run.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.state.model.store(std::sync::Arc::new(other));
    let mut failures = 0;
    for t in tasks {
        if !t.await.unwrap_or(false) {
            failures += 1;
        }
    }
    assert_eq!(failures, 0);
    assert_eq!(
        app.state.model.load().artifact().model_version,
        second_version
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_view_states_like_for_like_scope_and_band_coverage() {
    let app = common::app();
    let (status, _, page) = common::call(&app, "GET", "/", Some(&app.director), None).await;
    assert_eq!(status, StatusCode::OK);
    let m = app.state.model.load();
    let chain = &m.totals[0];
    assert!(
        page.contains(&format!("{} of {}", chain.comparable_stores, chain.stores)),
        "the comparable share is stated"
    );
    assert!(page.contains("like-for-like"));
    let held = storecast_model::training::Aggregate::ChainDay
        .coverage(m.artifact())
        .expect("measured");
    assert!(
        page.contains(&format!(
            "the 80% band held {}",
            storecast_charts::Numbers::EN.pct_with(held.cover80, 0)
        )),
        "the measured coverage is beside the band"
    );
}

#[tokio::test]
async fn a_refused_page_is_a_page_and_a_store_manager_lands_on_their_store() {
    let app = common::app();
    // A store-1 manager opening the start page lands on store 1.
    let (status, headers, _) = call(&app, "GET", "/", Some(&app.viewer1), None).await;
    assert_eq!(status.as_u16(), 303);
    assert_eq!(headers["location"], "/store/1");
    // A page their role does not allow: a page with the reason and a way back, not JSON.
    for uri in ["/store/2", "/model", "/exceptions", "/reports/nope"] {
        let (status, headers, body) = call(&app, "GET", uri, Some(&app.viewer1), None).await;
        assert!(status.is_client_error(), "{uri}: {status}");
        assert!(
            headers["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/html")),
            "{uri}"
        );
        assert!(!body.contains("{\"error\""), "{uri}: {body}");
        assert!(
            body.contains("id=\"error-message\"") && body.contains("href=\"/\""),
            "{uri}: {body}"
        );
    }
    // The API keeps its JSON.
    let (status, headers, body) = call(
        &app,
        "GET",
        "/api/v1/stores/2/forecast",
        Some(&app.viewer1),
        None,
    )
    .await;
    assert_eq!(status.as_u16(), 403);
    assert!(headers["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("application/json")));
    assert!(body.contains("\"error\""));
}

#[tokio::test]
async fn the_chain_downloads_parse_one_line_per_store_day_and_per_request() {
    let app = common::app();
    let (status, headers, body) = call(
        &app,
        "GET",
        "/api/v1/chain/submission.csv",
        Some(&app.director),
        None,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert!(headers["content-disposition"]
        .to_str()
        .is_ok_and(|d| d.contains("submission.csv")));
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        rdr.headers().expect("header").iter().collect::<Vec<_>>(),
        ["Id", "Sales"]
    );
    let mut ids = std::collections::BTreeSet::new();
    for rec in rdr.records() {
        let rec = rec.expect("a row");
        assert!(
            ids.insert(rec[0].parse::<u32>().expect("an id")),
            "Id {} twice",
            &rec[0]
        );
        assert!(rec[1].parse::<f64>().is_ok_and(|v| v >= 0.0));
    }
    let requests = app.chain.requests.as_ref().expect("requests");
    let expected: std::collections::BTreeSet<u32> = requests.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected, "one line per test Id");

    let (status, _, body) = call(
        &app,
        "GET",
        "/api/v1/chain/forecast.csv",
        Some(&app.director),
        None,
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, storecast_web::api::FORECAST_CSV_HEADER);
    let m = app.state.model.load();
    let days: usize = m.stores.values().map(|s| s.days.len()).sum();
    assert_eq!(rdr.records().count(), days, "one line per store-day");
    for uri in ["/api/v1/chain/forecast.csv", "/api/v1/chain/submission.csv"] {
        let (status, _, _) = call(&app, "GET", uri, Some(&app.viewer1), None).await;
        assert_eq!(status.as_u16(), 403, "{uri}");
    }
}

#[tokio::test]
async fn the_store_list_sorts_and_pages_through_every_store() {
    let app = common::app();
    let m = app.state.model.load();
    let n = m.stores.len();
    let growth = m
        .stores
        .values()
        .filter(|s| s.change_vs_last_year().is_some())
        .max_by(|a, b| {
            a.change_vs_last_year()
                .unwrap_or(0.0)
                .total_cmp(&b.change_vs_last_year().unwrap_or(0.0))
        })
        .expect("a comparable store")
        .store;
    let (status, _, page1) = call(
        &app,
        "GET",
        "/stores?sort=growth&per_page=5",
        Some(&app.director),
        None,
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let first_link = page1
        .split("<a href=\"/store/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a store link");
    assert_eq!(first_link, growth.to_string(), "largest growth first");
    assert!(
        page1.contains(&format!(
            "{n} stores, 1–5 shown (page 1 of {})",
            n.div_ceil(5)
        )),
        "{page1}"
    );
    // Every store is reachable by paging: the pages together list each once.
    let mut seen = std::collections::BTreeSet::new();
    for p in 1..=n.div_ceil(5) {
        let (_, _, body) = call(
            &app,
            "GET",
            &format!("/stores?per_page=5&page={p}"),
            Some(&app.director),
            None,
        )
        .await;
        for link in body.split("<a href=\"/store/").skip(1) {
            let id: u16 = link
                .split('"')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("an id");
            assert!(seen.insert(id), "store {id} twice");
        }
    }
    assert_eq!(seen.len(), n);
}

/// The OpenAPI document, as JSON.
fn openapi_doc() -> serde_json::Value {
    serde_json::to_value(storecast_web::openapi::document()).expect("the document serialises")
}

/// Every (path, method) the document describes.
fn documented(doc: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (path.clone(), m.clone()))
        })
        .collect()
}

/// The router and the document are built from one list, so what is documented is what is
/// served: each documented operation reaches its handler (not the unknown-route answer, not
/// 405), and every API address the app's own pages and scripts call is documented.
#[tokio::test]
async fn every_api_route_is_documented_and_every_documented_route_is_served() {
    let doc = openapi_doc();
    let documented = documented(&doc);
    assert!(documented.len() >= 28, "{documented:?}");
    // The app's own calls: every `/api/v1/...` in the templates and scripts is documented.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let templates: Vec<std::path::PathBuf> = ["templates", "assets", "src"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).expect("dir"))
        .map(|e| e.expect("entry").path())
        .collect();
    let pattern: Vec<(String, Vec<&str>)> = documented
        .iter()
        .map(|(p, _)| (p.clone(), p.split('/').collect()))
        .collect();
    let mut used = 0;
    for file in templates {
        let text = std::fs::read_to_string(&file).expect("text");
        for (at, _) in text.match_indices("/api/v1/") {
            let tail = &text[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/._-{}".contains(c)))
                .unwrap_or(tail.len());
            let url = tail[..end].trim_end_matches('/');
            let parts: Vec<&str> = url.split('/').collect();
            // A URL built in a script ends where the script adds a variable part.
            let known = pattern.iter().any(|(_, p)| {
                p.len() >= parts.len()
                    && parts.iter().zip(p).all(|(a, b)| {
                        a == b || b.starts_with('{') || (a.is_empty() && b.starts_with('{'))
                    })
            });
            assert!(
                known,
                "{} calls {url}, which is not documented",
                file.display()
            );
            used += 1;
        }
    }
    assert!(used > 5, "the app's own API calls were found ({used})");
    // Each documented operation reaches its handler.
    let app = common::app();
    for (path, method) in &documented {
        let uri = path.replace("{id}", "1").replace("{version}", "v0");
        let body = (method == "post").then_some("{}");
        let (status, _, text) =
            call(&app, &method.to_uppercase(), &uri, Some(&app.admin), body).await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {text}"
        );
        assert!(
            !text.contains("no such API route"),
            "{method} {uri} is not served: {text}"
        );
    }
}

/// Where `value` departs from `schema` (resolving `$ref`s in `doc`): a wrong type, a missing
/// required field, a field the schema does not name, a value outside an enum.
fn departures(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
    out: &mut Vec<String>,
) {
    shape(doc, schema, value, at, true, out)
}

/// [`departures`]; fields the schema does not name count only when `strict` (a part of an
/// `allOf` names only its own).
fn shape(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
    strict: bool,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "{at}: dangling reference {r}");
        return shape(doc, target, value, at, strict, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|o| {
                let mut e = Vec::new();
                shape(doc, o, value, at, strict, &mut e);
                e.is_empty()
            });
            if !fits {
                out.push(format!("{at}: {value} fits none of {key}"));
            }
            return;
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        // Flattened parts: each part checks the fields it names.
        for part in all {
            shape(doc, part, value, at, false, out);
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !fits {
        out.push(format!("{at}: {kind} where the schema says {types:?}"));
        return;
    }
    if let (Some(options), false) = (schema["enum"].as_array(), value.is_null()) {
        if !options.contains(value) {
            out.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    match value {
        Value::Array(items) => {
            let item = schema.get("items").or_else(|| schema.get("prefixItems"));
            for (i, v) in items.iter().enumerate().take(20) {
                let s = match item {
                    Some(Value::Array(prefix)) => prefix.get(i).unwrap_or(&Value::Null),
                    Some(s) => s,
                    None => &Value::Null,
                };
                if !s.is_null() {
                    shape(doc, s, v, &format!("{at}[{i}]"), true, out);
                }
            }
        }
        Value::Object(fields) => {
            let props = schema["properties"].as_object();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !fields.contains_key(name) {
                    out.push(format!("{at}: required field {name} missing"));
                }
            }
            for (k, v) in fields {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => shape(doc, s, v, &format!("{at}.{k}"), true, out),
                    None => match &schema["additionalProperties"] {
                        Value::Object(_) => {
                            shape(doc, &schema["additionalProperties"], v, at, true, out)
                        }
                        Value::Bool(true) => {}
                        _ if strict && props.is_some() => {
                            out.push(format!("{at}.{k} is not in the schema"))
                        }
                        _ => {}
                    },
                }
            }
        }
        _ => {}
    }
}

/// The document tells the truth: every JSON answer of a documented GET, asked as a director
/// and as the admin, has the shape its schema gives (types, required and named fields,
/// enums), and every 200 answer of JSON names a schema, not a bare object. The analysis is
/// checked on one computed for the test chain.
#[tokio::test]
async fn every_json_answer_has_the_shape_its_schema_documents() {
    let doc = openapi_doc();
    let app = common::app();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, method) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
        if path.ends_with("openapi.json") || ok.is_null() {
            continue;
        }
        assert!(
            ok.get("$ref").is_some() || ok.get("items").is_some(),
            "{method} {path}: the 200 answer names no type: {ok}"
        );
        if method != "get" {
            continue;
        }
        let uri = path.replace("{id}", "1");
        let uri = if uri.ends_with("/explain") {
            let day = app.state.model.load().stores[&1].days[0].date;
            format!("{uri}?date={day}")
        } else {
            uri
        };
        for token in [&app.director, &app.admin] {
            let (status, _, text) = call(&app, "GET", &uri, Some(token), None).await;
            if status != StatusCode::OK {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            departures(&doc, ok, &value, &uri, &mut problems);
            checked += 1;
        }
    }
    let analysis = storecast_analysis::analyze(
        &app.chain,
        None,
        &storecast_analysis::AnalysisConfig::default(),
    );
    let value = serde_json::to_value(&analysis).expect("analysis JSON");
    let schema = &doc["paths"]["/api/v1/analysis"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    departures(&doc, schema, &value, "analysis", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 24, "answers checked: {checked}");
}
