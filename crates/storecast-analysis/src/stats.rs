//! Statistical primitives: descriptive statistics, the tests the report uses and the
//! multiple-comparison adjustments.
//!
//! Why this module exists: statrs gives distributions but not the tests (no Welch t-test, no
//! Kruskal–Wallis, no Spearman), and every finding needs the same few. Implementing them once,
//! next to unit tests against textbook values, keeps the findings short and the maths checkable.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// Arithmetic mean (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance with n − 1 (NaN below two values).
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Sample standard deviation.
pub fn sd(xs: &[f64]) -> f64 {
    variance(xs).sqrt()
}

pub use storecast_stats::{median, quantile, quantile_sorted};

/// Two-sided p-value of a standard normal z.
pub fn normal_p(z: f64) -> f64 {
    if !z.is_finite() {
        return f64::NAN;
    }
    match Normal::new(0.0, 1.0) {
        Ok(n) => (2.0 * n.sf(z.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
pub fn t_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => (2.0 * d.sf(t.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// The 1 − α/2 quantile of Student's t (for analytic intervals).
pub fn t_crit(df: f64, alpha: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(d) => d.inverse_cdf(1.0 - alpha / 2.0),
        Err(_) => 1.96,
    }
}

/// Result of a t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// t statistic.
    pub t: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Estimated difference (mean, or mean 1 − mean 2).
    pub estimate: f64,
    /// Standard error of the estimate.
    pub se: f64,
}

/// One-sample t-test of H0: mean = 0.
pub fn one_sample_t(xs: &[f64]) -> TTest {
    let n = xs.len() as f64;
    let m = mean(xs);
    let se = (variance(xs) / n).sqrt();
    let t = m / se;
    TTest {
        t,
        df: n - 1.0,
        p: t_p(t, n - 1.0),
        estimate: m,
        se,
    }
}

/// Welch's unequal-variance t-test of H0: mean(a) = mean(b).
pub fn welch_t(a: &[f64], b: &[f64]) -> TTest {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (variance(a) / na, variance(b) / nb);
    let se = (va + vb).sqrt();
    let estimate = mean(a) - mean(b);
    let t = estimate / se;
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    TTest {
        t,
        df,
        p: t_p(t, df),
        estimate,
        se,
    }
}

/// Average ranks (1-based) with ties sharing their mean rank; also returns Σ(t³ − t) over tie
/// groups for tie corrections.
pub fn ranks(xs: &[f64]) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&i, &j| xs[i].total_cmp(&xs[j]));
    let mut r = vec![0.0; xs.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && xs[idx[j]] == xs[idx[i]] {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        for &k in &idx[i..j] {
            r[k] = avg;
        }
        let t = (j - i) as f64;
        ties += t * t * t - t;
        i = j;
    }
    (r, ties)
}

/// Result of a Kruskal–Wallis test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KruskalWallis {
    /// H statistic (tie-corrected).
    pub h: f64,
    /// Degrees of freedom (groups − 1).
    pub df: f64,
    /// p-value from the chi-squared approximation.
    pub p: f64,
    /// Effect size ε² = H / (n − 1): share of rank variance explained by the groups.
    pub epsilon2: f64,
    /// Observations.
    pub n: usize,
}

/// Kruskal–Wallis rank test across groups (empty groups are ignored).
pub fn kruskal_wallis(groups: &[Vec<f64>]) -> KruskalWallis {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let n = all.len() as f64;
    let (r, ties) = ranks(&all);
    let mut h = 0.0;
    let mut offset = 0;
    for g in &groups {
        let sum: f64 = r[offset..offset + g.len()].iter().sum();
        h += sum * sum / g.len() as f64;
        offset += g.len();
    }
    h = 12.0 / (n * (n + 1.0)) * h - 3.0 * (n + 1.0);
    let correction = 1.0 - ties / (n * n * n - n);
    if correction > 0.0 {
        h /= correction;
    }
    let df = groups.len() as f64 - 1.0;
    let p = match ChiSquared::new(df) {
        Ok(c) if h.is_finite() => c.sf(h),
        _ => f64::NAN,
    };
    KruskalWallis {
        h,
        df,
        p,
        epsilon2: h / (n - 1.0),
        n: all.len(),
    }
}

/// Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Result of a Spearman rank correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spearman {
    /// ρ.
    pub rho: f64,
    /// 95% interval from Fisher's z with the Fieller–Hartley–Pearson variance 1.06 / (n − 3).
    pub ci: (f64, f64),
    /// Two-sided p-value (t approximation with n − 2 df).
    pub p: f64,
    /// Pairs.
    pub n: usize,
}

/// Spearman's ρ with a Fisher-z interval.
pub fn spearman(x: &[f64], y: &[f64]) -> Spearman {
    let n = x.len();
    let (rx, _) = ranks(x);
    let (ry, _) = ranks(y);
    let rho = pearson(&rx, &ry);
    let nf = n as f64;
    let z = rho.clamp(-0.999_999, 0.999_999).atanh();
    let se = (1.06 / (nf - 3.0)).sqrt();
    let ci = ((z - 1.96 * se).tanh(), (z + 1.96 * se).tanh());
    let t = rho * ((nf - 2.0) / (1.0 - rho * rho)).sqrt();
    Spearman {
        rho,
        ci,
        p: t_p(t, nf - 2.0),
        n,
    }
}

/// Holm–Bonferroni adjusted p-values (same order as the input; NaN stays NaN).
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..ps.len()).filter(|&i| ps[i].is_finite()).collect();
    idx.sort_by(|&i, &j| ps[i].total_cmp(&ps[j]));
    let m = idx.len();
    let mut out = vec![f64::NAN; ps.len()];
    let mut running: f64 = 0.0;
    for (k, &i) in idx.iter().enumerate() {
        let adj = ((m - k) as f64 * ps[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg adjusted p-values (same order as the input; NaN stays NaN).
pub fn benjamini_hochberg(ps: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..ps.len()).filter(|&i| ps[i].is_finite()).collect();
    idx.sort_by(|&i, &j| ps[i].total_cmp(&ps[j]));
    let m = idx.len();
    let mut out = vec![f64::NAN; ps.len()];
    let mut running: f64 = 1.0;
    for k in (0..m).rev() {
        let i = idx[k];
        let adj = (ps[i] * m as f64 / (k + 1) as f64).min(1.0);
        running = running.min(adj);
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn welch_matches_textbook() {
        // Hand computation: means 20.26 and 23.9167, variances 2.243 and 1.74167, so
        // se = sqrt(2.243/5 + 1.74167/6) = 0.85958, t = −4.2540, Welch–Satterthwaite
        // df = 8.1286; p from numerical integration of the t density = 0.0026846.
        let a = [19.1, 21.3, 18.4, 22.0, 20.5];
        let b = [23.2, 24.8, 22.1, 25.9, 24.0, 23.5];
        let t = welch_t(&a, &b);
        assert!(close(t.t, -4.2540, 1e-3), "{t:?}");
        assert!(close(t.df, 8.1286, 1e-3), "{t:?}");
        assert!(close(t.p, 0.0026846, 1e-5), "{t:?}");
    }

    #[test]
    fn one_sample_t_and_quantiles() {
        let t = one_sample_t(&[1.0, 2.0, 3.0, 4.0]);
        assert!(
            close(t.t, 3.873, 1e-3) && close(t.p, 0.03047, 1e-4),
            "{t:?}"
        );
        assert!(close(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75, 1e-12));
        assert!(close(median(&[3.0, 1.0, 2.0]), 2.0, 1e-12));
    }

    #[test]
    fn kruskal_wallis_matches_textbook() {
        // R: kruskal.test(list(c(2.9,3.0,2.5,2.6,3.2), c(3.8,2.7,4.0,2.4), c(2.8,3.4,3.7,2.2,2.0)))
        // H = 0.77143, df = 2, p = 0.68
        let g = vec![
            vec![2.9, 3.0, 2.5, 2.6, 3.2],
            vec![3.8, 2.7, 4.0, 2.4],
            vec![2.8, 3.4, 3.7, 2.2, 2.0],
        ];
        let kw = kruskal_wallis(&g);
        assert!(close(kw.h, 0.77143, 1e-4), "{kw:?}");
        assert!(close(kw.p, 0.68, 1e-3), "{kw:?}");
        // Clearly separated groups give a tiny p-value.
        let g = vec![
            (0..30).map(f64::from).collect(),
            (100..130).map(f64::from).collect(),
        ];
        assert!(kruskal_wallis(&g).p < 1e-8);
    }

    #[test]
    fn ranks_share_ties() {
        let (r, ties) = ranks(&[10.0, 20.0, 10.0, 30.0]);
        assert_eq!(r, vec![1.5, 3.0, 1.5, 4.0]);
        assert!(close(ties, 6.0, 1e-12));
    }

    #[test]
    fn spearman_monotone_and_ci() {
        let x: Vec<f64> = (0..50).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let s = spearman(&x, &y);
        assert!(close(s.rho, 1.0, 1e-12));
        let y2: Vec<f64> = x.iter().map(|v| ((v * 7.0) % 13.0) - v * 0.1).collect();
        let s2 = spearman(&x, &y2);
        assert!(s2.ci.0 < s2.rho && s2.rho < s2.ci.1);
    }

    #[test]
    fn adjustments() {
        let p = [0.01, 0.04, 0.03, 0.005, f64::NAN];
        let h = holm(&p);
        // sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1 -> max(.06,.04)=.06
        assert!(close(h[3], 0.02, 1e-12) && close(h[0], 0.03, 1e-12));
        assert!(close(h[2], 0.06, 1e-12) && close(h[1], 0.06, 1e-12));
        assert!(h[4].is_nan());
        let b = benjamini_hochberg(&p);
        // sorted .005,.01,.03,.04: .02, .02, .04, .04
        assert!(close(b[3], 0.02, 1e-12) && close(b[0], 0.02, 1e-12));
        assert!(close(b[2], 0.04, 1e-12) && close(b[1], 0.04, 1e-12));
    }

    #[test]
    fn normal_and_t_p() {
        assert!(close(normal_p(1.959964), 0.05, 1e-6));
        assert!(close(t_p(2.0, 10.0), 0.07339, 1e-4));
        assert!(close(t_crit(1e6, 0.05), 1.96, 1e-3));
    }
}
