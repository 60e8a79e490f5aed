//! Order statistics: quantiles and medians, one definition each.
//!
//! Why this crate exists: the validation rules, the baselines, the monitor's CUSUM, the
//! analysis, the reports and the FVA intervals all take medians and quantiles; written in
//! each crate they had drifted into four copies of two methods. Here each method is written
//! once, named for what it is, and tested against hand-computed values: linear interpolation
//! between order statistics (Hyndman–Fan type 7, what R and NumPy default to) and the
//! nearest rank (an actual observation, for tables that quote one).

/// The `q`-quantile (0..=1) of sorted finite values by linear interpolation between order
/// statistics (type 7); NaN when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `q`-quantile of the finite values of `xs` (type 7); NaN when none is finite.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// The median of the finite values of `xs` (the mean of the two middle ones when their
/// number is even); NaN when none is finite.
pub fn median(xs: &[f64]) -> f64 {
    quantile(xs, 0.5)
}

/// The observation nearest to the `q`-quantile of sorted values: the value at rank
/// `round((n − 1) q)`; NaN when empty.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(median(&v), 2.5);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(quantile_sorted(&v, 0.25), 1.75);
        assert_eq!(quantile(&[4.0, f64::NAN, 1.0, 3.0, 2.0], 1.0), 4.0);
        assert_eq!(nearest_rank(&v, 0.25), 2.0);
        assert_eq!(nearest_rank(&v, 0.05), 1.0);
        assert_eq!(nearest_rank(&v, 0.95), 4.0);
        assert!(median(&[]).is_nan() && nearest_rank(&[], 0.5).is_nan());
    }
}
