//! A closed-loop HTTP/1.1 load generator for loopback benchmarks (`storecast bench serve`).
//!
//! Why it exists: the figures that matter for the app are latencies under a chain's traffic
//! (random stores, mixed routes, many connections), measured without an external tool. Each
//! of `connections` keep-alive connections (hyper's client) sends one request, waits for the
//! whole answer, records the latency under the request's route, and sends the next, until
//! the time or the request budget runs out. Nothing here retries: a failed connection counts
//! an error and is re-opened.

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::http::{header, Method, Request};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request to send, with the route it is counted under.
pub struct Req {
    /// Route label in the results.
    pub route: &'static str,
    /// GET or POST.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Body (POST).
    pub body: Option<Bytes>,
}

/// Draws the next request of a workload.
pub type Gen = Arc<dyn Fn(&mut StdRng) -> Req + Send + Sync>;

/// Latencies and outcomes of one route.
#[derive(Debug, Default, Clone)]
pub struct RouteStats {
    /// Latency of every answered request (µs).
    pub latency_us: Vec<u32>,
    /// Answers by status code.
    pub status: BTreeMap<u16, u64>,
    /// Connection or protocol failures.
    pub io_errors: u64,
}

impl RouteStats {
    fn merge(&mut self, other: RouteStats) {
        self.latency_us.extend(other.latency_us);
        for (k, v) in other.status {
            *self.status.entry(k).or_default() += v;
        }
        self.io_errors += other.io_errors;
    }

    /// Answers with a 2xx status.
    pub fn ok(&self) -> u64 {
        self.status
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Answers 503 (shed by admission control).
    pub fn shed(&self) -> u64 {
        self.status.get(&503).copied().unwrap_or(0)
    }

    /// Errors: I/O failures and non-2xx answers other than 503.
    pub fn errors(&self) -> u64 {
        let answered: u64 = self.status.values().sum();
        self.io_errors + answered - self.ok() - self.shed()
    }

    /// (p50, p90, p99, max) in ms.
    pub fn percentiles(&self) -> Option<[f64; 4]> {
        let mut v = self.latency_us.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |q: f64| {
            let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
            f64::from(v[i]) / 1000.0
        };
        Some([at(0.5), at(0.9), at(0.99), at(1.0)])
    }
}

/// The outcome of one run.
#[derive(Debug, Default)]
pub struct RunStats {
    /// Per route.
    pub routes: BTreeMap<&'static str, RouteStats>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl RunStats {
    /// All routes together.
    pub fn all(&self) -> RouteStats {
        let mut all = RouteStats::default();
        for r in self.routes.values() {
            all.merge(r.clone());
        }
        all
    }
}

/// Where and how long to send.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Server address (loopback).
    pub addr: SocketAddr,
    /// `Authorization: Bearer` token.
    pub token: String,
    /// Time budget.
    pub duration: Duration,
    /// Request budget over all connections.
    pub max_requests: u64,
}

async fn connect(addr: SocketAddr) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn connection(plan: Arc<Plan>, gen: Gen, seed: u64, sent: Arc<AtomicU64>) -> RunStats {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: BTreeMap<&'static str, RouteStats> = BTreeMap::new();
    let deadline = Instant::now() + plan.duration;
    let auth = format!("Bearer {}", plan.token);
    let mut sender = None;
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < plan.max_requests {
        let r = gen(&mut rng);
        let stats = out.entry(r.route).or_default();
        if sender.is_none() {
            sender = connect(plan.addr).await.ok();
        }
        let Some(s) = sender.as_mut() else {
            stats.io_errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let req = Request::builder()
            .method(r.method)
            .uri(r.path)
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, &auth)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(r.body.unwrap_or_default()));
        let Ok(req) = req else {
            stats.io_errors += 1;
            continue;
        };
        let t = Instant::now();
        let answer = async {
            s.ready().await?;
            let resp = s.send_request(req).await?;
            let status = resp.status().as_u16();
            resp.into_body().collect().await?;
            Ok::<u16, hyper::Error>(status)
        }
        .await;
        match answer {
            Ok(status) => {
                let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                stats.latency_us.push(us);
                *stats.status.entry(status).or_default() += 1;
            }
            Err(_) => {
                stats.io_errors += 1;
                sender = None;
            }
        }
    }
    RunStats {
        routes: out,
        elapsed: Duration::ZERO,
    }
}

/// One request on a fresh connection: status and body (set-up and polling, not measured).
pub async fn fetch(addr: SocketAddr, token: &str, path: &str) -> Result<(u16, Bytes)> {
    let mut s = connect(addr).await?;
    let req = Request::builder()
        .uri(path)
        .header(header::HOST, "127.0.0.1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))?;
    let resp = s.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Runs groups of connections at the same time (e.g. a what-if flood and forecasts measured
/// alongside): `(connections, generator)` each.
pub async fn run(plan: &Plan, groups: &[(usize, Gen)]) -> RunStats {
    let plan = Arc::new(plan.clone());
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut seed = 1u64;
    for (n, gen) in groups {
        for _ in 0..*n {
            tasks.push(tokio::spawn(connection(
                plan.clone(),
                gen.clone(),
                seed,
                sent.clone(),
            )));
            seed += 1;
        }
    }
    let mut total = RunStats::default();
    for t in tasks {
        if let Ok(r) = t.await {
            for (route, s) in r.routes {
                total.routes.entry(route).or_default().merge(s);
            }
        }
    }
    total.elapsed = start.elapsed();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_error_classes() {
        let mut s = RouteStats {
            latency_us: (1..=100).map(|i| i * 1000).collect(),
            ..RouteStats::default()
        };
        s.status.insert(200, 97);
        s.status.insert(503, 2);
        s.status.insert(500, 1);
        s.io_errors = 1;
        assert_eq!(s.percentiles(), Some([50.0, 90.0, 99.0, 100.0]));
        assert_eq!((s.ok(), s.shed(), s.errors()), (97, 2, 2));
        assert_eq!(RouteStats::default().percentiles(), None);
    }
}
