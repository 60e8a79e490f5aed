//! `storecast bench serve`: the app started as a child process on a loopback port (so its
//! peak memory is its own) and loaded by [`crate::loadgen`] with random-store workloads.
//! Benchmarks print numbers; they never fail on time (a noisy machine is not a bug).

use crate::loadgen::{self, fetch, Gen, Plan, Req, RouteStats, RunStats};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use hyper::http::Method;
use rand::rngs::StdRng;
use rand::Rng;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storecast_store::{Role, Store};

/// A workload of `bench serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServeWorkload {
    /// Store forecast API.
    Forecast,
    /// Store history API.
    History,
    /// Explanation of one day.
    Explain,
    /// What-if (1 to 5 days of promo changes).
    Whatif,
    /// Forecast as CSV.
    Csv,
    /// The store page (server-rendered).
    Page,
    /// 60 % forecast, 30 % history, 10 % explain.
    Mix,
    /// What-ifs on every connection, forecasts measured alongside on 8 more.
    Flood,
}

/// What `bench serve` runs.
#[derive(Debug, Clone)]
pub struct ServeBench {
    /// The `storecast` binary that serves.
    pub exe: PathBuf,
    /// The model file served.
    pub model: PathBuf,
    /// The data directory (`None`: the server's default).
    pub data: Option<PathBuf>,
    /// Seconds per workload.
    pub seconds: u64,
    /// Connections per workload.
    pub connections: usize,
    /// Requests per workload at most.
    pub max_requests: u64,
    /// Workloads to run (empty: all).
    pub only: Vec<ServeWorkload>,
    /// Loopback address for the server.
    pub addr: String,
    /// Directory of the explanation cache.
    pub explain_cache: Option<PathBuf>,
    /// The registry whose key the model is signed with (`None`: the server's default).
    pub registry: Option<PathBuf>,
}

/// How long the server took to start, and its memory meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct StartUp {
    /// Seconds until `/healthz` answered.
    pub listening: f64,
    /// Seconds until the model's explanations were ready.
    pub ready: f64,
    /// The server's peak resident memory, in MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Peak resident memory of another process (Linux `VmHWM`), in MiB.
pub(crate) fn peak_rss_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The server under test, stopped when dropped (also on an error).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the workloads draw from: stores, horizon dates.
struct Universe {
    stores: Vec<u16>,
    dates: Vec<String>,
}

impl Universe {
    fn store(&self, rng: &mut StdRng) -> u16 {
        self.stores[rng.gen_range(0..self.stores.len())]
    }
    fn date<'a>(&'a self, rng: &mut StdRng) -> &'a str {
        &self.dates[rng.gen_range(0..self.dates.len())]
    }
    fn request(&self, route: Route, rng: &mut StdRng) -> Req {
        let s = self.store(rng);
        let get = |route: &'static str, path: String| Req {
            route,
            method: Method::GET,
            path,
            body: None,
        };
        match route {
            Route::Forecast => get("forecast", format!("/api/v1/stores/{s}/forecast")),
            Route::History => get("history", format!("/api/v1/stores/{s}/history")),
            Route::Explain => {
                let d = self.date(rng);
                get("explain", format!("/api/v1/stores/{s}/explain?date={d}"))
            }
            Route::Csv => get("csv", format!("/api/v1/stores/{s}/forecast.csv")),
            Route::Page => get("page", format!("/store/{s}")),
            Route::Whatif => {
                let changes: Vec<serde_json::Value> = (0..rng.gen_range(1..=5))
                    .map(
                        |_| serde_json::json!({"date": self.date(rng), "promo": rng.gen_bool(0.5)}),
                    )
                    .collect();
                Req {
                    route: "whatif",
                    method: Method::POST,
                    path: format!("/api/v1/stores/{s}/whatif"),
                    body: Some(serde_json::json!({ "changes": changes }).to_string().into()),
                }
            }
        }
    }
}

/// A route the workloads send to.
#[derive(Debug, Clone, Copy)]
enum Route {
    Forecast,
    History,
    Explain,
    Whatif,
    Csv,
    Page,
}

fn single(u: &Arc<Universe>, route: Route) -> Gen {
    let u = u.clone();
    Arc::new(move |rng: &mut StdRng| u.request(route, rng))
}

/// The connection groups of a workload.
fn groups(w: ServeWorkload, u: &Arc<Universe>, connections: usize) -> Vec<(usize, Gen)> {
    match w {
        ServeWorkload::Forecast => vec![(connections, single(u, Route::Forecast))],
        ServeWorkload::History => vec![(connections, single(u, Route::History))],
        ServeWorkload::Explain => vec![(connections, single(u, Route::Explain))],
        ServeWorkload::Whatif => vec![(connections, single(u, Route::Whatif))],
        ServeWorkload::Csv => vec![(connections, single(u, Route::Csv))],
        ServeWorkload::Page => vec![(connections, single(u, Route::Page))],
        ServeWorkload::Mix => {
            let u = u.clone();
            let gen: Gen = Arc::new(move |rng: &mut StdRng| {
                let route = match rng.gen_range(0..10) {
                    0..=5 => Route::Forecast,
                    6..=8 => Route::History,
                    _ => Route::Explain,
                };
                u.request(route, rng)
            });
            vec![(connections, gen)]
        }
        ServeWorkload::Flood => vec![
            (connections, single(u, Route::Whatif)),
            (FLOOD_LIGHT, single(u, Route::Forecast)),
        ],
    }
}

/// Forecast connections measured alongside the what-if flood.
const FLOOD_LIGHT: usize = 8;

fn print_run(name: &str, run: &RunStats) {
    let secs = run.elapsed.as_secs_f64().max(1e-9);
    let mut rows: Vec<(&str, RouteStats)> =
        run.routes.iter().map(|(r, s)| (*r, s.clone())).collect();
    if rows.len() > 1 {
        rows.push(("(all)", run.all()));
    }
    for (route, s) in rows {
        let n: u64 = s.status.values().sum::<u64>() + s.io_errors;
        let [p50, p90, p99, max] = s.percentiles().unwrap_or([f64::NAN; 4]);
        println!(
            "{name:<9} {route:<9} {n:>8} {:>9.0} {p50:>8.2} {p90:>8.2} {p99:>8.2} {max:>8.2} {:>7} {:>7}",
            n as f64 / secs,
            s.errors(),
            s.shed()
        );
    }
}

async fn wait_ready(addr: SocketAddr, token: &str, server: &mut Server) -> Result<(f64, f64)> {
    let t = Instant::now();
    let mut listening = None;
    loop {
        if let Some(status) = server.0.try_wait()? {
            bail!("the server exited during start-up ({status}); see its log");
        }
        if t.elapsed() > Duration::from_secs(900) {
            bail!("the server was not ready within 900 s");
        }
        if listening.is_none() && matches!(fetch(addr, token, "/healthz").await, Ok((200, _))) {
            listening = Some(t.elapsed().as_secs_f64());
        }
        if listening.is_some() {
            if let Ok((200, body)) = fetch(addr, token, "/api/v1/model").await {
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                if v["explanations_ready"].as_bool() != Some(false) {
                    return Ok((listening.unwrap_or(0.0), t.elapsed().as_secs_f64()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn universe(addr: SocketAddr, token: &str) -> Result<Universe> {
    let (status, body) = fetch(addr, token, "/api/v1/stores").await?;
    if status != 200 {
        bail!("GET /api/v1/stores answered {status}");
    }
    let list: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
    let stores: Vec<u16> = list
        .iter()
        .filter_map(|s| s["store"].as_u64().and_then(|x| u16::try_from(x).ok()))
        .collect();
    let first = *stores.first().context("the server lists no store")?;
    let (_, body) = fetch(addr, token, &format!("/api/v1/stores/{first}/forecast")).await?;
    let f: serde_json::Value = serde_json::from_slice(&body)?;
    let dates: Vec<String> = f["forecast"]["days"]
        .as_array()
        .context("forecast without days")?
        .iter()
        .filter_map(|d| d["date"].as_str().map(str::to_string))
        .collect();
    if dates.is_empty() {
        bail!("the forecast has no days");
    }
    Ok(Universe { stores, dates })
}

fn start_server(args: &ServeBench, db: &Path, log: &Path) -> Result<Server> {
    let mut cmd = std::process::Command::new(&args.exe);
    cmd.arg("serve")
        .arg("--model")
        .arg(&args.model)
        .arg("--db")
        .arg(db)
        .arg("--addr")
        .arg(&args.addr);
    if let Some(d) = &args.data {
        cmd.arg("--data").arg(d);
    }
    if let Some(c) = &args.explain_cache {
        cmd.arg("--explain-cache").arg(c);
    }
    if let Some(r) = &args.registry {
        cmd.arg("--registry").arg(r);
    }
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        cmd.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdout(out.try_clone()?).stderr(out);
    Ok(Server(cmd.spawn().context("starting `storecast serve`")?))
}

/// The server of `args` on a fresh database with one admin: the server, its address, an
/// admin's token and its log file (all in `tmp`).
fn launch(args: &ServeBench, tmp: &Path) -> Result<(Server, SocketAddr, String, PathBuf)> {
    let addr: SocketAddr = args
        .addr
        .parse()
        .with_context(|| format!("--addr {:?} is not host:port", args.addr))?;
    if !addr.ip().is_loopback() {
        bail!("bench serve only runs on a loopback address, not {addr}");
    }
    let db = tmp.join("bench.db");
    let token = Store::open(&db)?
        .add_user("bench", "bench", Role::Admin)?
        .1
        .expose()
        .to_string();
    let log = tmp.join("serve.log");
    let server = start_server(args, &db, &log)?;
    Ok((server, addr, token, log))
}

/// The server's log after a failure, on stderr.
fn show_log(log: &Path) {
    let tail = std::fs::read_to_string(log).unwrap_or_default();
    eprintln!("server log:\n{tail}");
}

/// Starts the server of `args`, waits until its explanations are ready, and stops it.
pub fn start_up(args: &ServeBench) -> Result<StartUp> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let (mut server, addr, token, log) = launch(args, tmp.path())?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match rt.block_on(wait_ready(addr, &token, &mut server)) {
        Ok((listening, ready)) => Ok(StartUp {
            listening,
            ready,
            peak_rss_mib: peak_rss_of(server.0.id()),
        }),
        Err(e) => {
            drop(server);
            show_log(&log);
            Err(e)
        }
    }
}

/// `storecast bench serve`: the app on a loopback port under random-store workloads.
pub fn serve(args: &ServeBench) -> Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let (mut server, addr, token, log) = launch(args, tmp.path())?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = rt.block_on(async {
        let (listening, ready) = wait_ready(addr, &token, &mut server).await?;
        println!(
            "bench serve: server listening after {listening:.1} s, explanations ready after {ready:.1} s"
        );
        let u = Arc::new(universe(addr, &token).await?);
        println!(
            "{} stores, {} horizon days; {} connections, {} s per workload (at most {} requests)",
            u.stores.len(),
            u.dates.len(),
            args.connections,
            args.seconds,
            args.max_requests
        );
        println!(
            "{:<9} {:<9} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
            "workload", "route", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "503"
        );
        let plan = Plan {
            addr,
            token: token.clone(),
            duration: Duration::from_secs(args.seconds),
            max_requests: args.max_requests,
        };
        let workloads = if args.only.is_empty() {
            ServeWorkload::value_variants().to_vec()
        } else {
            args.only.clone()
        };
        for w in workloads {
            let run = loadgen::run(&plan, &groups(w, &u, args.connections)).await;
            let name = w.to_possible_value().map_or(String::new(), |v| v.get_name().to_string());
            print_run(&name, &run);
        }
        Ok::<(), anyhow::Error>(())
    });
    let rss = peak_rss_of(server.0.id());
    drop(server);
    if let Err(e) = result {
        show_log(&log);
        return Err(e);
    }
    match rss {
        Some(mib) => println!("server peak RSS {mib:.0} MiB"),
        None => println!("server peak RSS unknown (no /proc)"),
    }
    Ok(())
}
