//! The web application for store managers and sales directors.
//!
//! Why this crate exists: the model's results only matter when the people who plan staff and
//! stock can see them. One axum router serves server-rendered pages (chain, stores, store,
//! model, data, reports) and a JSON API under `/api/v1` for everything the pages show. Assets
//! (Chart.js, the chart renderer, the page script, CSS) are compiled into the binary; pages
//! load no inline script, so a strict Content Security Policy applies. `router(state)` is used
//! by tests without a socket; `serve` binds and runs.

// The OpenAPI document is one large `json!` literal.

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
use axum::routing::{get, post};
use axum::Router;
use std::time::{Duration, Instant};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

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

/// `GET /api/v1/openapi.json`: the document, generated from the handlers and their types.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    summary = "This document (no authentication)",
    security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn openapi_json() -> Result<Response, error::AppError> {
    let json = openapi::document_json()
        .map_err(|e| error::AppError::Internal(format!("the OpenAPI document: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The largest request body of every route but the delivery of actuals (64 KiB: far above a
/// what-if, an override or a sign-in).
const BODY_LIMIT: usize = 64 * 1024;

/// Every route of the JSON API with its documentation: the router and the OpenAPI document are
/// built together from this one list (each handler's `#[utoipa::path]` gives its method, path
/// and answers), so a route cannot be served undocumented nor documented unserved. The
/// delivery of actuals has its own body limit ([`operations::UPLOAD_LIMIT`]); the rest
/// accept 64 KiB.
pub fn api_router() -> OpenApiRouter<AppState> {
    let small = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(api::stores))
        .routes(routes!(api::forecast))
        .routes(routes!(api::forecast_csv))
        .routes(routes!(api::store_history))
        .routes(routes!(api::explain_day))
        .routes(routes!(api::whatif))
        .routes(routes!(plan::get_plan))
        .routes(routes!(plan::override_history, plan::post_override))
        .routes(routes!(plan::bulk_csv))
        .routes(routes!(fva::get_fva))
        .routes(routes!(fva::get_exceptions))
        .routes(routes!(fva::post_ack))
        .routes(routes!(operations::get_monitoring))
        .routes(routes!(operations::get_alerts))
        .routes(routes!(operations::post_alert_ack))
        .routes(routes!(registry::get_models))
        .routes(routes!(registry::post_rollback))
        .routes(routes!(registry::post_promote))
        .routes(routes!(api::chain_forecast))
        .routes(routes!(api::chain_forecast_csv))
        .routes(routes!(api::chain_submission_csv))
        .routes(routes!(api::model))
        .routes(routes!(job::status))
        .routes(routes!(api::validation))
        .routes(routes!(api::analysis))
        .routes(routes!(openapi_json))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));
    let uploads = OpenApiRouter::new()
        .routes(routes!(operations::post_actuals))
        .layer(axum::extract::DefaultBodyLimit::max(
            operations::UPLOAD_LIMIT,
        ))
        .layer(RequestBodyLimitLayer::new(operations::UPLOAD_LIMIT));
    small.merge(uploads)
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_router().split_for_parts();
    let pages = Router::new()
        .route("/api/{*rest}", get(api::not_found).post(api::not_found))
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
    // Pages and unknown API routes take small bodies; the API's routes carry their own limits.
    let app = api
        .merge(pages.layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
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
