//! `storecast bench demo`: a newcomer's first minutes, measured. The demo runs as a child
//! process from a clean folder; the benchmark times the first page, then asks for pages
//! without pause while the full model trains in the background (their latencies are the
//! server's responsiveness under training) until the full model serves, then stops the demo
//! and times a rerun on the same folder. The two models' last-fold RMSPE come from the
//! demo's registry.

use crate::loadgen::fetch;
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `bench demo` runs.
#[derive(Debug, Clone)]
pub struct DemoBench {
    /// The `storecast` binary.
    pub exe: PathBuf,
    /// The data directory (`None`: the demo's default).
    pub data: Option<PathBuf>,
    /// Loopback address for the demo's server.
    pub addr: SocketAddr,
    /// Seconds to wait for the full model at most.
    pub limit: u64,
}

/// The demo under test, stopped when dropped (also on an error).
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &DemoBench, out: &Path, log: &Path, stdout: &Path) -> Result<Demo> {
    let mut cmd = std::process::Command::new(&args.exe);
    cmd.arg("demo")
        .arg("--out")
        .arg(out)
        .arg("--addr")
        .arg(args.addr.to_string());
    if let Some(d) = &args.data {
        cmd.arg("--data").arg(d);
    }
    let create =
        |p: &Path| std::fs::File::create(p).with_context(|| format!("creating {}", p.display()));
    cmd.stdout(create(stdout)?).stderr(create(log)?);
    Ok(Demo(cmd.spawn().context("starting `storecast demo`")?))
}

/// Waits for the demo's admin token and its first page: the token and the seconds since `t0`.
async fn first_page(
    demo: &mut Demo,
    stdout: &Path,
    addr: SocketAddr,
    t0: Instant,
) -> Result<(String, f64)> {
    loop {
        if let Some(status) = demo.0.try_wait()? {
            bail!("the demo exited ({status}) before serving");
        }
        if t0.elapsed() > Duration::from_secs(900) {
            bail!("no page within 900 s");
        }
        let text = std::fs::read_to_string(stdout).unwrap_or_default();
        let token = text.split_whitespace().find(|w| {
            w.len() > 64 && w.contains('.') && w.chars().all(|c| c.is_ascii_hexdigit() || c == '.')
        });
        if let Some(token) = token {
            if let Ok((200, _)) = fetch(addr, token, "/").await {
                return Ok((token.to_string(), t0.elapsed().as_secs_f64()));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for pages without pause until the served model is no longer provisional: the
/// latencies (ms), the failures and the seconds since `t0` at the swap.
async fn until_swap(
    addr: SocketAddr,
    token: &str,
    t0: Instant,
    limit: u64,
) -> Result<(Vec<f64>, usize, f64)> {
    let (mut ms, mut failed) = (Vec::new(), 0);
    for round in 0u64.. {
        let store = round % 1115 + 1;
        for path in [
            "/".to_string(),
            "/stores".into(),
            format!("/store/{store}"),
            format!("/api/v1/stores/{store}/forecast"),
        ] {
            let t = Instant::now();
            match fetch(addr, token, &path).await {
                Ok((200, _)) => ms.push(t.elapsed().as_secs_f64() * 1000.0),
                // A store the chain does not have (a synthetic chain) is not a failure.
                Ok((404, _)) if path.contains(&store.to_string()) => {}
                _ => failed += 1,
            }
        }
        if round % 10 == 0 {
            let (_, body) = fetch(addr, token, "/api/v1/job").await?;
            let job: serde_json::Value = serde_json::from_slice(&body)?;
            if job["provisional"].as_bool() == Some(false) {
                return Ok((ms, failed, t0.elapsed().as_secs_f64()));
            }
        }
        if t0.elapsed() > Duration::from_secs(limit) {
            bail!("the full model did not serve within {limit} s");
        }
    }
    bail!("unreachable")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// `storecast bench demo`.
pub fn demo(args: &DemoBench) -> Result<()> {
    if !args.addr.ip().is_loopback() {
        bail!(
            "bench demo only runs on a loopback address, not {}",
            args.addr
        );
    }
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let out = tmp.path().join("out");
    let (log, stdout) = (tmp.path().join("demo.log"), tmp.path().join("demo.out"));
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let t0 = Instant::now();
    let mut d = start(args, &out, &log, &stdout)?;
    let run = rt.block_on(async {
        let (token, first) = first_page(&mut d, &stdout, args.addr, t0).await?;
        println!("bench demo: first page {first:.1} s after the start (clean folder)");
        let (mut ms, failed, swap) = until_swap(args.addr, &token, t0, args.limit).await?;
        ms.sort_by(f64::total_cmp);
        println!("full model served {swap:.1} s after the start");
        println!(
            "pages and forecasts asked without pause meanwhile: {} answered, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {failed} failed",
            ms.len(),
            percentile(&ms, 0.5),
            percentile(&ms, 0.9),
            percentile(&ms, 0.99),
            ms.last().copied().unwrap_or(0.0)
        );
        anyhow::Ok(())
    });
    if let Some(mib) = crate::serve::peak_rss_of(d.0.id()) {
        println!("demo process peak RSS {mib:.0} MiB");
    }
    drop(d);
    if let Err(e) = run {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: String = tail
            .chars()
            .rev()
            .take(2000)
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        bail!("{e:#}\n--- the demo's log ends with:\n{tail}");
    }
    for v in storecast_store::Registry::open(out.join("registry"))?.list()? {
        let rmspe = v.last_fold_rmspe.map_or("–".into(), |r| format!("{r:.4}"));
        println!(
            "model {} last-fold RMSPE {rmspe}{}",
            v.version,
            if v.active { " (active)" } else { "" }
        );
    }
    let t1 = Instant::now();
    let mut again = start(args, &out, &log, &stdout)?;
    let (_, rerun) = rt.block_on(first_page(&mut again, &stdout, args.addr, t1))?;
    println!("rerun on the same folder: first page {rerun:.1} s after the start");
    Ok(())
}
