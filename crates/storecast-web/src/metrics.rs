//! Prometheus metrics of the server: request counts and latency per route, the active model
//! version, and monitoring gauges set by whoever runs the monitor. Served at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The server's metric families.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status class.
    pub requests: IntCounterVec,
    /// Latency by route (seconds).
    pub latency: HistogramVec,
    /// 1 for the active model version.
    pub model: IntGaugeVec,
    /// Extra gauges in Prometheus text format (from monitoring), appended as is.
    pub extra: std::sync::RwLock<String>,
}

impl Metrics {
    /// Registers the families.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "storecast_http_requests_total",
                "HTTP requests by route and status class",
            ),
            &["route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "storecast_http_request_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["route"],
        )?;
        let model = IntGaugeVec::new(
            Opts::new("storecast_model_info", "The active model version (value 1)"),
            &["version"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(model.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            model,
            extra: std::sync::RwLock::new(String::new()),
        })
    }

    /// Marks `version` as the active model.
    pub fn set_model(&self, version: &str) {
        self.model.reset();
        self.model.with_label_values(&[version]).set(1);
    }

    /// Text exposition of every family.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        let mut text = String::from_utf8(buf).unwrap_or_default();
        if let Ok(extra) = self.extra.read() {
            text.push_str(&extra);
        }
        text
    }
}
