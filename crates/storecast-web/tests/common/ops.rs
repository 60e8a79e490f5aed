//! The test app served through the real server from a model registry, with its forecasts
//! recorded as issued, and one-request helpers: what the operations and overrides tests share.

use serde_json::Value;
use std::net::SocketAddr;
use storecast_store::{ForecastRow, Registry};

/// One request over its own connection: status and the JSON answer (`Null` when not JSON).
pub fn http(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = super::raw_exchange(addr, &req)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (super::status_of(&answer), json)
}

/// Status, headers and body bytes of a GET as the holder of `token`, through the server.
pub async fn get_bytes(addr: SocketAddr, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    let raw =
        tokio::task::spawn_blocking(move || super::raw_exchange(addr, &req).unwrap_or_default())
            .await
            .expect("request");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    (super::status_of(&head), head, raw[split + 4..].to_vec())
}

pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, Value) {
    let (m, p, t, b) = (
        method.to_string(),
        path.to_string(),
        token.to_string(),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || http(addr, &m, &p, &t, &b))
        .await
        .expect("request")
}

pub struct Ops {
    pub app: super::TestApp,
    pub addr: SocketAddr,
    pub registry: Registry,
    pub _reg_dir: tempfile::TempDir,
}

/// The test app served from a registry holding its (signed, active) model, with the served
/// forecasts recorded as issued.
pub async fn ops() -> Ops {
    let chain = super::chain();
    let mut artifact = super::train(&chain, 1);
    let reg_dir = tempfile::tempdir().expect("registry dir");
    let registry = Registry::open(reg_dir.path()).expect("registry");
    registry.sign(&mut artifact);
    registry.register(&artifact).expect("register");
    registry.promote(&artifact.model_version).expect("promote");
    let app = super::app_from(chain, artifact, Some(registry.clone()));
    let m = app.state.model.load();
    let rows: Vec<ForecastRow> = m
        .stores
        .values()
        .flat_map(|s| s.days.iter().map(ForecastRow::from))
        .collect();
    let db = app.state.store.as_ref().expect("db");
    db.record_forecasts("test", &m.artifact().model_version, &rows)
        .expect("issued");
    let addr = super::serve_on_loopback(app.state.clone()).await;
    Ops {
        app,
        addr,
        registry,
        _reg_dir: reg_dir,
    }
}

/// Fails on any console error the browser logged since the last look.
pub fn assert_no_console_errors(b: &mut storecast_browser::Browser, page: &str) {
    let errors = b.console_errors().expect("console log");
    assert!(errors.is_empty(), "{page}: console errors {errors:?}");
}

/// Signs in through the form with `token`, then opens `then`.
pub fn sign_in(b: &mut storecast_browser::Browser, origin: &str, token: &str, then: &str) {
    let wait = std::time::Duration::from_secs(20);
    b.goto(&format!("{origin}/login")).expect("login page");
    b.wait_for("document.querySelector('#token') !== null", wait)
        .expect("sign-in form");
    b.set_value("#token", token).expect("token");
    b.click("#signin").expect("sign in");
    b.wait_for("document.querySelector('#signout') !== null", wait)
        .expect("signed in");
    b.goto(&format!("{origin}{then}")).expect("page");
}

/// Actuals for `stores` over the first `days` days of the forecast: 5 % above the forecast on
/// open days, with the plan's promo and holidays.
pub fn actuals(app: &super::TestApp, stores: &[u16], days: usize) -> String {
    let m = app.state.model.load();
    let requests = app.chain.requests.as_ref().expect("requests");
    let mut out = String::from(
        "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n",
    );
    for &s in stores {
        for d in m.stores[&s].days.iter().take(days) {
            let r = requests
                .rows
                .iter()
                .find(|r| r.store == s && r.date == d.date)
                .expect("planned day");
            let open = r.open.unwrap_or(true);
            let sales = if open {
                (d.sales * 1.05).round() as i64
            } else {
                0
            };
            out.push_str(&format!(
                "{s},{},{},{sales},{},{},{},{},{}\n",
                storecast_data::history::iso_weekday(d.date),
                d.date,
                sales / 10,
                u8::from(open),
                u8::from(r.promo),
                r.state_holiday.code(),
                u8::from(r.school_holiday)
            ));
        }
    }
    out
}
