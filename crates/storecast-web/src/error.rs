//! One error type for every handler: it maps to a status code and a JSON body with a clear
//! message, and logs internal causes without showing them to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Every API error's body: the reason in words and the status code.
#[derive(utoipa::ToSchema, Debug, serde::Serialize)]
pub struct ErrorBody {
    /// What went wrong, for the person reading it.
    pub error: String,
    /// The HTTP status.
    pub status: u16,
}

/// Seconds a client is asked to wait after a 503 ([`AppError::Busy`]).
pub const RETRY_AFTER_S: u32 = 1;

/// Handler errors.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: a parameter or body is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or invalid credentials.
    #[error("authentication required: send `Authorization: Bearer <token>` or sign in")]
    Unauthorized,
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 429: too many failed authentications from this client; retry after this many seconds.
    #[error("too many failed sign-in attempts from your address; retry in {0} s")]
    TooManyRequests(u64),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request needs a confirmation it did not carry (e.g. an override outside the
    /// model's 95 % band).
    #[error("{0}")]
    Conflict(String),
    /// 503: the heavy-work pool is full; the client should retry after [`RETRY_AFTER_S`].
    #[error("the server is busy with other heavy requests: retry in a moment")]
    Busy,
    /// 500: something failed inside (logged, not shown).
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A reference for one internal error, shown to the user and logged with the cause, so the
/// operator finds the cause of what a user reports (`E20261206-174512-3`).
fn reference() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("E{}-{n}", chrono::Utc::now().format("%Y%m%d-%H%M%S"))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut message = self.to_string();
        if let Self::Internal(cause) = &self {
            let reference = reference();
            tracing::error!(%cause, %reference, "internal error");
            if std::env::var_os("STORECAST_DEBUG_ERRORS").is_some() {
                eprintln!("internal error {reference}: {cause}");
            }
            message =
                format!("internal error (reference {reference}): the operator's log has the cause");
        }
        let status = self.status();
        let mut resp = (
            status,
            Json(ErrorBody {
                error: message,
                status: status.as_u16(),
            }),
        )
            .into_response();
        if matches!(self, Self::Busy) {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_S),
            );
        }
        resp
    }
}

impl From<storecast_model::ForecastError> for AppError {
    fn from(e: storecast_model::ForecastError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<storecast_explain::whatif::WhatIfError> for AppError {
    fn from(e: storecast_explain::whatif::WhatIfError) -> Self {
        match e {
            storecast_explain::whatif::WhatIfError::Forecast(f) => Self::Internal(f.to_string()),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

/// Whether `path` is a page a person opens in a browser (not the API, a scraper's metrics,
/// an asset or the health check).
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/assets/")
        || path == "/metrics"
        || path == "/healthz")
}

/// A refused or failed page as a page: the reason in words and a way back, never the JSON
/// meant for API clients.
async fn error_page(resp: Response) -> Response {
    use axum::http::{header, HeaderValue};
    let status = resp.status();
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
    let title = match status {
        StatusCode::FORBIDDEN => "Not for your role".to_string(),
        StatusCode::NOT_FOUND => "Not found".to_string(),
        s => s
            .canonical_reason()
            .unwrap_or("Something went wrong")
            .to_string(),
    };
    let ctx = minijinja::context! { title => title, message => message };
    let html = crate::pages::render("error.html", ctx)
        .map(|h| h.0)
        .unwrap_or_else(|_| {
            format!(
                "<!doctype html><title>{}</title><p>{}</p>",
                status,
                storecast_charts::html_escape(&message)
            )
        });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, axum::body::Body::from(html))
}

/// Answers every API error as JSON (`{"error", "status"}`), also those produced by the
/// framework before a handler runs (body over the limit, a query or path that does not
/// parse, an unknown method), which come as plain text: one shape for every client; and
/// every refused or failed page as a page ([`error_page`]).
pub async fn json_rejections(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{header, HeaderValue};
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let failed = status.is_client_error() || status.is_server_error();
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if failed && is_page(&path) && !is_html {
        return error_page(resp).await;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_string(&ErrorBody {
        error: message,
        status: status.as_u16(),
    })
    .unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}
