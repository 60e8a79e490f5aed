//! `storecast bench ...`: performance figures printed for notes and regression tracking.
//! Benchmarks print numbers; they never fail on time (a noisy machine is not a bug).

use crate::cli::DataArgs;
use anyhow::Result;
use std::process::ExitCode;
use std::time::Instant;
use storecast_validate::{validate, ValidateConfig};

/// Peak resident memory of this process so far (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn load(data: &DataArgs, iterations: usize) -> Result<ExitCode> {
    let mut load_s = Vec::new();
    let mut validate_s = Vec::new();
    let mut rows = 0;
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        let report = crate::input::load(data)?;
        let loaded = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let v = validate(&report, &ValidateConfig::default());
        validate_s.push(t.elapsed().as_secs_f64());
        load_s.push(loaded);
        rows = report.data.history.len();
        std::hint::black_box(v);
    }
    let total: Vec<f64> = load_s.iter().zip(&validate_s).map(|(a, b)| a + b).collect();
    let stat = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        (s[0], s[s.len() / 2], s[s.len() - 1])
    };
    println!(
        "bench load: {rows} history rows, {} iterations",
        total.len()
    );
    for (name, v) in [
        ("load", &load_s),
        ("validate", &validate_s),
        ("load+validate", &total),
    ] {
        let (min, med, max) = stat(v);
        println!("  {name:<14} min {min:.3} s   median {med:.3} s   max {max:.3} s");
    }
    if let Some(mib) = peak_rss_mib() {
        println!("  peak RSS       {mib:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}
