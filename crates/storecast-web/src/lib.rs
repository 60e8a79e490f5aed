//! The web application for store managers and sales directors.
//!
//! Why this crate exists: the model's results only matter when the people who plan staff and
//! stock can see them. One axum router serves server-rendered pages (chain, stores, store,
//! model, data, reports) and a JSON API under `/api/v1` for everything the pages show. Assets
//! (Chart.js, the chart renderer, the page script, CSS) are compiled into the binary; pages
//! load no inline script, so a strict Content Security Policy applies. `router(state)` is used
//! by tests without a socket; `serve` binds and runs.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod error;
pub mod follow;
pub mod fva;
pub mod heavy;
pub mod job;
pub mod launch;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod ops_pages;
pub mod pages;
pub mod plan;
pub mod plan_pages;
pub mod print;
pub mod registry;
pub mod state;

pub use launch::{
    choose_model, demo_app, launch, prepare, read_reports, serve_blocking, serve_state_blocking,
    AppStateBuilder, DemoApp, LaunchError, LaunchSettings, ModelSource, ServeSettings,
};
pub use state::{build_model_state, AppState, ModelState, ReportPage};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use std::time::{Duration, Instant};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn assets(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match name.as_str() {
        "chart.js" => asset("text/javascript; charset=utf-8", storecast_charts::CHART_JS),
        "zoom.js" => asset("text/javascript; charset=utf-8", storecast_charts::ZOOM_JS),
        "render.js" => asset(
            "text/javascript; charset=utf-8",
            storecast_charts::RENDER_JS,
        ),
        "app.js" => asset(
            "text/javascript; charset=utf-8",
            include_str!("../assets/app.js"),
        ),
        "base.css" => asset("text/css; charset=utf-8", storecast_charts::BASE_CSS),
        "app.css" => asset("text/css; charset=utf-8", include_str!("../assets/app.css")),
        "print.css" => asset("text/css; charset=utf-8", print::PRINT_CSS),
        _ => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    let class = format!("{}xx", resp.status().as_u16() / 100);
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), class.as_str()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[route.as_str()])
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`: Prometheus text, for an admin token (a scraper's `bearer_token`): the
/// counters show who uses what, when, and the monitor's figures per store type.
async fn metrics_text(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<auth::Caller>,
) -> Result<Response, error::AppError> {
    caller.require_admin()?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}

async fn health() -> &'static str {
    "ok"
}

async fn openapi() -> Json<serde_json::Value> {
    Json(openapi::document())
}

/// Every route of the JSON API: its path, the methods it answers (as the OpenAPI document
/// names them) and its handlers. The router is built from this table and a test holds the
/// document to it, so a route cannot be added without its documentation or the other way.
pub fn api_routes() -> Vec<(
    &'static str,
    &'static [&'static str],
    MethodRouter<AppState>,
)> {
    vec![
        ("/api/v1/stores", &["get"], get(api::stores)),
        ("/api/v1/stores/{id}/forecast", &["get"], get(api::forecast)),
        (
            "/api/v1/stores/{id}/forecast.csv",
            &["get"],
            get(api::forecast_csv),
        ),
        (
            "/api/v1/stores/{id}/history",
            &["get"],
            get(api::store_history),
        ),
        (
            "/api/v1/stores/{id}/explain",
            &["get"],
            get(api::explain_day),
        ),
        ("/api/v1/stores/{id}/whatif", &["post"], post(api::whatif)),
        ("/api/v1/stores/{id}/plan", &["get"], get(plan::get_plan)),
        (
            "/api/v1/stores/{id}/overrides",
            &["get", "post"],
            get(plan::override_history).post(plan::post_override),
        ),
        ("/api/v1/overrides.csv", &["post"], post(plan::bulk_csv)),
        ("/api/v1/fva", &["get"], get(fva::get_fva)),
        ("/api/v1/exceptions", &["get"], get(fva::get_exceptions)),
        (
            "/api/v1/exceptions/{id}/ack",
            &["post"],
            post(fva::post_ack),
        ),
        (
            "/api/v1/monitoring",
            &["get"],
            get(operations::get_monitoring),
        ),
        ("/api/v1/alerts", &["get"], get(operations::get_alerts)),
        (
            "/api/v1/alerts/{id}/ack",
            &["post"],
            post(operations::post_alert_ack),
        ),
        ("/api/v1/models", &["get"], get(registry::get_models)),
        (
            "/api/v1/models/rollback",
            &["post"],
            post(registry::post_rollback),
        ),
        (
            "/api/v1/models/{version}/promote",
            &["post"],
            post(registry::post_promote),
        ),
        ("/api/v1/chain/forecast", &["get"], get(api::chain_forecast)),
        (
            "/api/v1/chain/forecast.csv",
            &["get"],
            get(api::chain_forecast_csv),
        ),
        (
            "/api/v1/chain/submission.csv",
            &["get"],
            get(api::chain_submission_csv),
        ),
        ("/api/v1/model", &["get"], get(api::model)),
        ("/api/v1/job", &["get"], get(job::status)),
        ("/api/v1/validation", &["get"], get(api::validation)),
        ("/api/v1/analysis", &["get"], get(api::analysis)),
        ("/api/v1/openapi.json", &["get"], get(openapi)),
    ]
}

/// The delivery of actuals: an API route with its own body limit, outside [`api_routes`].
pub const UPLOAD_ROUTE: (&str, &[&str]) = ("/api/v1/actuals", &["post"]);

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = api_routes()
        .into_iter()
        .fold(Router::new(), |r, (path, _, handler)| {
            r.route(path, handler)
        })
        .route("/api/{*rest}", get(api::not_found).post(api::not_found));
    let pages = Router::new()
        .route("/", get(pages::chain))
        .route("/stores", get(pages::stores))
        .route("/store/{id}", get(pages::store))
        .route("/store/{id}/print", get(print::print_page))
        .route("/store/{id}/plan.pdf", get(print::plan_pdf))
        .route("/model", get(pages::model))
        .route("/fva", get(plan_pages::fva_page))
        .route("/exceptions", get(plan_pages::exceptions_page))
        .route("/data", get(pages::data))
        .route("/monitoring", get(ops_pages::monitoring_page))
        .route("/alerts", get(ops_pages::alerts_page))
        .route("/actuals", get(ops_pages::actuals_page))
        .route("/registry", get(ops_pages::registry_page))
        .route("/reports/{slug}", get(pages::report))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/assets/{name}", get(assets))
        .route("/healthz", get(health))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/metrics", get(metrics_text));
    // A global rate limit: a safety net against floods (200,000 requests/s sustained, bursts of
    // 200,000: above what two cores can serve, far above what the chain's users generate).
    let governor = tower_governor::governor::GovernorConfigBuilder::default()
        .per_nanosecond(5_000)
        .burst_size(200_000)
        .key_extractor(tower_governor::key_extractor::GlobalKeyExtractor)
        .finish()
        .map(tower_governor::GovernorLayer::new);
    // Deliveries of actuals are larger than any other request: their own body limit.
    let uploads = Router::new()
        .route(UPLOAD_ROUTE.0, post(operations::post_actuals))
        .layer(axum::extract::DefaultBodyLimit::max(
            operations::UPLOAD_LIMIT,
        ))
        .layer(RequestBodyLimitLayer::new(operations::UPLOAD_LIMIT));
    let small = RequestBodyLimitLayer::new(64 * 1024);
    let app = api
        .merge(pages)
        .layer(small)
        .merge(uploads)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn_with_state(state.clone(), auth::hsts))
        .layer(middleware::from_fn(error::json_rejections))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Authenticated answers hold the chain's figures: no shared or browser cache keeps
        // them (assets set their own public caching).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state);
    match governor {
        Some(g) => app.layer(g),
        None => app,
    }
}

/// Limits on connections: what keeps slow or idle clients from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// A client that has not sent a whole request header in this time is disconnected
    /// (also between requests on a kept-alive connection).
    pub header_timeout: Duration,
    /// Open connections at most; further ones are closed at once.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Serves on `listener` until the process is stopped, with the default [`ConnLimits`].
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(state, listener, ConnLimits::default()).await
}

/// Serves on `listener` with `limits`: each connection runs hyper's HTTP/1 server with a
/// header-read timeout, behind a cap on open connections; the peer address reaches the
/// handlers as `ConnectInfo` (the authentication throttle keys on it).
pub async fn serve_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    limits: ConnLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router(state);
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: log, breathe, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: too many open connections");
            drop(stream);
            continue;
        };
        let svc = tower::ServiceExt::map_request(
            app.clone(),
            move |mut r: axum::http::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                r
            },
        );
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(
                    TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(svc),
                )
                .await;
            if let Err(e) = conn {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
}
