//! Forecast accuracy metrics. RMSPE is the headline (relative error per store-day, so a small
//! store's miss counts as much as a big store's), with MAPE, WAPE and bias beside it so that
//! no single number hides a problem (RMSPE punishes rare big misses; WAPE weighs by euros;
//! bias shows systematic over- or under-forecasting). Only days with actual sales > 0 count:
//! a relative error is undefined on a closed day, and closed days are forecast as 0 anyway.

use serde::{Deserialize, Serialize};

/// The metric set for one scored sample.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Root mean squared percentage error: sqrt(mean(((y - ŷ) / y)²)).
    pub rmspe: f64,
    /// Mean absolute percentage error: mean(|y - ŷ| / y).
    pub mape: f64,
    /// Weighted absolute percentage error: Σ|y - ŷ| / Σy.
    pub wape: f64,
    /// Relative bias: Σ(ŷ - y) / Σy (positive = over-forecast).
    pub bias: f64,
    /// Mean log error: mean(ln(ŷ / y)) over days with a positive forecast (positive =
    /// over-forecast): the bias a model trained on log sales sees, which a few large days do
    /// not sway. NaN (written null) in results written before it was recorded.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub mean_log_error: f64,
    /// Store-days scored.
    pub n: usize,
}

impl Metrics {
    /// Scores predictions against actuals; pairs with actual ≤ 0 are skipped.
    pub fn compute(actual: &[f64], predicted: &[f64]) -> Metrics {
        let (mut sq, mut ap, mut abs, mut sum, mut err, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0usize);
        let (mut log_err, mut n_log) = (0.0, 0usize);
        for (&y, &p) in actual.iter().zip(predicted) {
            if y <= 0.0 {
                continue;
            }
            let r = (y - p) / y;
            sq += r * r;
            ap += r.abs();
            abs += (y - p).abs();
            sum += y;
            err += p - y;
            n += 1;
            if p > 0.0 {
                log_err += (p / y).ln();
                n_log += 1;
            }
        }
        if n == 0 {
            return Metrics {
                rmspe: f64::NAN,
                mape: f64::NAN,
                wape: f64::NAN,
                bias: f64::NAN,
                mean_log_error: f64::NAN,
                n,
            };
        }
        Metrics {
            rmspe: (sq / n as f64).sqrt(),
            mape: ap / n as f64,
            wape: abs / sum,
            bias: err / sum,
            mean_log_error: if n_log == 0 {
                f64::NAN
            } else {
                log_err / n_log as f64
            },
            n,
        }
    }
}

/// NaN (a serde default for metrics written before a field existed).
pub(crate) fn nan() -> f64 {
    f64::NAN
}

/// A number, or NaN where JSON holds null (how serde_json writes NaN).
pub(crate) fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The multiplier `c` in `grid` minimising RMSPE of `c · predicted` (tuned on backtests only).
pub fn best_scale(actual: &[f64], predicted: &[f64], grid: impl IntoIterator<Item = f64>) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for c in grid {
        let scaled: Vec<f64> = predicted.iter().map(|p| p * c).collect();
        let m = Metrics::compute(actual, &scaled).rmspe;
        if m < best.0 {
            best = (m, c);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // Errors: (100 -> 110) = -10 %, (200 -> 150) = +25 %, (50 -> 50) = 0, closed day skipped.
        let y = [100.0, 200.0, 50.0, 0.0];
        let p = [110.0, 150.0, 50.0, 30.0];
        let m = Metrics::compute(&y, &p);
        assert_eq!(m.n, 3);
        let rmspe = ((0.01 + 0.0625 + 0.0) / 3.0f64).sqrt();
        assert!((m.rmspe - rmspe).abs() < 1e-12, "{}", m.rmspe);
        assert!((m.mape - (0.1 + 0.25) / 3.0).abs() < 1e-12);
        assert!((m.wape - 60.0 / 350.0).abs() < 1e-12);
        assert!((m.bias - (-40.0 / 350.0)).abs() < 1e-12);
        let mle = ((110.0f64 / 100.0).ln() + (150.0f64 / 200.0).ln() + 0.0) / 3.0;
        assert!(
            (m.mean_log_error - mle).abs() < 1e-12,
            "{}",
            m.mean_log_error
        );
    }

    #[test]
    fn perfect_forecast_and_empty_sample() {
        let m = Metrics::compute(&[5.0, 7.0], &[5.0, 7.0]);
        assert_eq!((m.rmspe, m.mape, m.wape, m.bias), (0.0, 0.0, 0.0, 0.0));
        assert!(Metrics::compute(&[0.0], &[1.0]).rmspe.is_nan());
    }

    #[test]
    fn best_scale_finds_the_shrink() {
        // Over-forecast by 10 % everywhere: the best scale is 1/1.1.
        let y = [100.0, 200.0, 300.0];
        let p: Vec<f64> = y.iter().map(|v| v * 1.1).collect();
        let grid = (800..=1100).map(|i| f64::from(i) / 1000.0);
        let c = best_scale(&y, &p, grid);
        assert!((c - 1.0 / 1.1).abs() < 0.001, "{c}");
    }
}
