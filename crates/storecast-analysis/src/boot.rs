//! Seeded, parallel bootstrap over stores (and, where the calendar is shared by all stores,
//! over weeks too).
//!
//! Why this module exists: stores are the independent units of this data, so confidence
//! intervals resample stores. Every finding first reduces the 1M rows to a few numbers per
//! store (or per store and week), and the bootstrap then only re-weights those aggregates:
//! a replicate is a vector of resampling counts, and the statistic is a function of the counts.
//! That keeps 1,000 replicates per interval cheap. When a comparison depends on which weeks
//! the chain happened to promote (one calendar for all stores), the weeks are resampled as
//! well (a two-way "pigeonhole" bootstrap), so the interval also covers calendar luck.
//!
//! Each interval has its own ChaCha stream derived from the seed, the finding's stream id and
//! the replicate number, so results do not depend on the order of findings or on threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A bootstrap estimate: the statistic on the data and its 95% percentile interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Est {
    /// Statistic on the original data.
    pub est: f64,
    /// 2.5 % percentile of the replicates.
    pub lo: f64,
    /// 97.5 % percentile of the replicates.
    pub hi: f64,
    /// Standard deviation of the replicates (bootstrap standard error).
    pub se: f64,
}

impl Est {
    /// The interval as a pair.
    pub fn ci(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }
    /// Wald p-value of H0: statistic = `null`, using the bootstrap standard error.
    pub fn p_vs(&self, null: f64) -> f64 {
        crate::stats::normal_p((self.est - null) / self.se)
    }
    /// Maps estimate and interval through a monotone increasing function.
    pub fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Self {
            est: f(self.est),
            lo: f(self.lo),
            hi: f(self.hi),
            se: self.se,
        }
    }
}

/// The bootstrap engine.
#[derive(Debug, Clone, Copy)]
pub struct Boot {
    /// Replicates.
    pub reps: usize,
    /// Worker threads.
    pub threads: usize,
    /// Seed.
    pub seed: u64,
}

fn mix(seed: u64, stream: u64) -> u64 {
    // SplitMix64 finaliser over the pair: distinct streams get unrelated seeds.
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Strata of units: groups resampled separately (each keeps its size).
fn strata_lists(strata: &[u8]) -> Vec<Vec<usize>> {
    let mut lists: Vec<Vec<usize>> = Vec::new();
    for (i, &s) in strata.iter().enumerate() {
        let s = usize::from(s);
        if lists.len() <= s {
            lists.resize_with(s + 1, Vec::new);
        }
        lists[s].push(i);
    }
    lists.retain(|l| !l.is_empty());
    lists
}

impl Boot {
    /// Runs the bootstrap of a vector-valued statistic. `stat(unit_w, week_w)` gets resampling
    /// counts for the `n_units` units (stratified by `strata`, one entry per unit) and for
    /// `n_weeks` calendar units (all ones when `n_weeks` is 0 or weeks are not resampled), and
    /// returns the statistics (NaN allowed). Returns one [`Est`] per statistic.
    pub fn run<F>(&self, stream: u64, strata: &[u8], n_weeks: usize, stat: F) -> Vec<Est>
    where
        F: Fn(&[f64], &[f64]) -> Vec<f64> + Sync,
    {
        let n_units = strata.len();
        let ones_u = vec![1.0; n_units];
        let ones_w = vec![1.0; n_weeks];
        let point = stat(&ones_u, &ones_w);
        let lists = strata_lists(strata);
        let seed = mix(self.seed, stream);
        let reps = self.reps;
        let threads = self.threads.clamp(1, 16);
        let run_range = |from: usize, to: usize| -> Vec<Vec<f64>> {
            let mut uw = vec![0.0; n_units];
            let mut ww = vec![0.0; n_weeks];
            (from..to)
                .map(|r| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(r as u64);
                    uw.iter_mut().for_each(|x| *x = 0.0);
                    for l in &lists {
                        for _ in 0..l.len() {
                            uw[l[rng.gen_range(0..l.len())]] += 1.0;
                        }
                    }
                    ww.iter_mut().for_each(|x| *x = 0.0);
                    for _ in 0..n_weeks {
                        ww[rng.gen_range(0..n_weeks)] += 1.0;
                    }
                    stat(&uw, &ww)
                })
                .collect()
        };
        let samples: Vec<Vec<f64>> = if threads == 1 || reps < 50 {
            run_range(0, reps)
        } else {
            let chunk = reps.div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (a, b) = ((t * chunk).min(reps), ((t + 1) * chunk).min(reps));
                        let f = &run_range;
                        s.spawn(move || f(a, b))
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        point
            .iter()
            .enumerate()
            .map(|(j, &est)| {
                let mut v: Vec<f64> = samples
                    .iter()
                    .filter_map(|s| s.get(j).copied())
                    .filter(|x| x.is_finite())
                    .collect();
                v.sort_by(f64::total_cmp);
                let se = crate::stats::sd(&v);
                Est {
                    est,
                    lo: crate::stats::quantile_sorted(&v, 0.025),
                    hi: crate::stats::quantile_sorted(&v, 0.975),
                    se,
                }
            })
            .collect()
    }

    /// Bootstrap of a weighted mean of per-unit values (NaN values are left out), stratified.
    pub fn mean(&self, stream: u64, values: &[f64], strata: &[u8]) -> Est {
        let (v, s): (Vec<f64>, Vec<u8>) = values
            .iter()
            .zip(strata)
            .filter(|(x, _)| x.is_finite())
            .map(|(x, s)| (*x, *s))
            .unzip();
        self.run(stream, &s, 0, |w, _| vec![weighted_mean(&v, w)])
            .into_iter()
            .next()
            .unwrap_or(Est {
                est: f64::NAN,
                lo: f64::NAN,
                hi: f64::NAN,
                se: f64::NAN,
            })
    }
}

/// Σ w·x / Σ w.
pub fn weighted_mean(x: &[f64], w: &[f64]) -> f64 {
    let (mut s, mut n) = (0.0, 0.0);
    for (a, b) in x.iter().zip(w) {
        s += a * b;
        n += b;
    }
    s / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_mean() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 17) * 0.1).collect();
        let strata: Vec<u8> = (0..200).map(|i| (i % 3) as u8).collect();
        let b = Boot {
            reps: 400,
            threads: 2,
            seed: 7,
        };
        let e1 = b.mean(1, &values, &strata);
        let e2 = Boot { threads: 1, ..b }.mean(1, &values, &strata);
        assert_eq!(e1, e2, "thread count must not change results");
        assert!(e1.lo < e1.est && e1.est < e1.hi);
        // Analytic standard error of the mean, roughly.
        let se = crate::stats::sd(&values) / (200f64).sqrt();
        assert!((e1.se / se - 1.0).abs() < 0.25, "{} vs {se}", e1.se);
        let other = b.mean(2, &values, &strata);
        assert_ne!(e1.lo, other.lo, "streams differ");
    }
}
