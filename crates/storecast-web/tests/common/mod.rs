//! A small app on a synthetic chain with a quickly trained model, shared by the web tests.
#![allow(dead_code)]

pub mod ops;

use std::sync::Arc;
use storecast_data::ChainData;
use storecast_model::ModelArtifact;
use storecast_store::{Role, Store};
use storecast_web::AppState;

/// The app plus tokens of an admin, a director and a viewer of store 1.
pub struct TestApp {
    pub state: AppState,
    pub admin: String,
    pub director: String,
    pub viewer1: String,
    pub artifact: ModelArtifact,
    pub chain: Arc<ChainData>,
    pub _dir: tempfile::TempDir,
}

/// The test chain as loaded (12 stores, clean), before the strict check.
pub fn load_report() -> storecast_data::LoadReport {
    let c = storecast_testkit::generate(&storecast_testkit::clean(12, 9));
    ChainData::from_bytes(
        c.train_csv(),
        c.store_csv(),
        Some(c.test_csv()),
        "synthetic test chain",
    )
    .expect("loads")
}

pub fn chain() -> ChainData {
    load_report().into_strict().expect("clean")
}

pub fn train(chain: &ChainData, seed: u64) -> ModelArtifact {
    let mut cfg = storecast_testkit::quick(2, 60, 0.2, 1);
    cfg.params.seed = seed;
    storecast_testkit::train(chain, &cfg).artifact
}

pub fn app() -> TestApp {
    let chain = chain();
    let artifact = train(&chain, 1);
    app_with(chain, artifact)
}

/// The app on `chain` serving `artifact`.
pub fn app_with(chain: ChainData, artifact: ModelArtifact) -> TestApp {
    app_from(chain, artifact, None)
}

/// The app on `chain` serving `artifact`, from `registry` when given (its promote and roll
/// back act there).
pub fn app_from(
    chain: ChainData,
    artifact: ModelArtifact,
    registry: Option<storecast_store::Registry>,
) -> TestApp {
    app_in(chain, artifact, registry, storecast_charts::Locale::En)
}

/// [`app_from`] writing its numbers in `locale`.
pub fn app_in(
    chain: ChainData,
    artifact: ModelArtifact,
    registry: Option<storecast_store::Registry>,
    locale: storecast_charts::Locale,
) -> TestApp {
    let load = ChainData::from_bytes(Vec::from(&b"Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n"[..]), Vec::from(&b"Store,StoreType,Assortment,CompetitionDistance,CompetitionOpenSinceMonth,CompetitionOpenSinceYear,Promo2,Promo2SinceWeek,Promo2SinceYear,PromoInterval\n"[..]), None, "empty").expect("empty");
    let validation =
        storecast_validate::validate(&load, &storecast_validate::ValidateConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("t.db")).expect("db");
    let admin = store
        .add_user("test", "admin", Role::Admin)
        .expect("admin")
        .1
        .expose()
        .to_string();
    let director = store
        .add_user("test", "director", Role::Director)
        .expect("director")
        .1
        .expose()
        .to_string();
    let viewer1 = store
        .add_user(
            "test",
            "viewer1",
            Role::parse("viewer", &[1]).expect("role"),
        )
        .expect("viewer")
        .1
        .expose()
        .to_string();
    let state = AppState::builder(chain, validation, artifact.clone())
        .store(store)
        .registry(registry)
        .locale(locale)
        .build()
        .expect("the app starts");
    let chain = state.chain.clone();
    TestApp {
        state,
        admin,
        director,
        viewer1,
        artifact,
        chain,
        _dir: dir,
    }
}

/// One request through the router (no network), as the holder of `token`: status, headers,
/// body text.
pub async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(axum::http::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header(axum::http::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(axum::body::Body::from(body.unwrap_or("").to_string()))
        .expect("request");
    let router = storecast_web::router(app.state.clone());
    let resp = tower::ServiceExt::oneshot(router, req)
        .await
        .expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A browser's session after signing in with `token` through `POST /login`.
pub struct Session {
    /// The `Cookie` header value to send (session and CSRF cookies).
    pub cookie: String,
    /// The session's CSRF token (for the `X-CSRF-Token` header).
    pub csrf: String,
    /// The `Set-Cookie` values the sign-in answered with.
    pub set_cookies: Vec<String>,
}

/// Signs in like the login form does (pre-session CSRF pair `abc`) on `state`'s router.
pub async fn sign_in(state: &storecast_web::AppState, token: &str) -> Session {
    let csrf_name = state.web.csrf_cookie();
    let body = format!("csrf=abc&token={token}");
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header(axum::http::header::COOKIE, format!("{csrf_name}=abc"))
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(body))
        .expect("request");
    let resp = tower::ServiceExt::oneshot(storecast_web::router(state.clone()), req)
        .await
        .expect("response");
    assert_eq!(
        resp.status(),
        axum::http::StatusCode::SEE_OTHER,
        "signed in"
    );
    session_from(state, resp.headers())
}

/// The session a sign-in answer set (its `Set-Cookie` headers).
pub fn session_from(state: &storecast_web::AppState, headers: &axum::http::HeaderMap) -> Session {
    let csrf_name = state.web.csrf_cookie();
    let set_cookies: Vec<String> = headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let value = |name: &str| {
        set_cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .and_then(|rest| rest.split(';').next())
            .expect("cookie set")
            .to_string()
    };
    let session = value(state.web.session_cookie());
    let csrf = value(csrf_name);
    Session {
        cookie: format!(
            "{}={session}; {csrf_name}={csrf}",
            state.web.session_cookie()
        ),
        csrf,
        set_cookies,
    }
}

/// Serves `state` through the real server on a fresh loopback port.
pub async fn serve_on_loopback(state: AppState) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { storecast_web::serve(state, listener).await });
    addr
}

/// Sends one raw HTTP/1.1 request on its own connection and reads the whole answer (the
/// request should say `Connection: close`); `None` when the connection fails.
pub fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(out)
}

/// The status code of a raw answer (0 when it has none).
pub fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
