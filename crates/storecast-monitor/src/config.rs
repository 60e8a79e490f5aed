//! Monitoring thresholds and policies, with documented defaults.
//!
//! Why this module exists: every "is this bad enough to wake someone?" number must be visible,
//! reviewable and changeable without a rebuild, so none is hard-coded in the checks. The
//! structs are flat serde structs with `#[serde(default)]`, so a TOML (or JSON) file only
//! names what it changes, e.g.
//!
//! ```toml
//! [monitor]
//! rmspe_factor = 1.3
//! coverage80_min = 0.72
//! [monitor.cusum]
//! h = 6.0
//! ```
//!
//! Unknown keys are refused (a typo must not silently keep a default).
//!
//! Why these defaults: the RMSPE alert is relative to what the model promised in its own
//! backtest (a 25 % degradation is news whatever the level), with an absolute fallback when the
//! artifact is unknown. Coverage minima leave room for sampling noise under the nominal 80/95 %
//! and are additionally gated by a binomial test, because a store's 6 weeks are only ~36 scored
//! days. Store-level RMSPE and bias limits are looser than the chain's because one store's
//! numbers are noisier. PSI 0.1 / 0.25 are the usual "watch" / "act" levels.
//!
//! The CUSUM threshold is set for a chain, not for one series: with k = 0.5σ, the textbook
//! h = 5σ gives each store a ~7 % chance of a false alarm in six weeks of pure noise, i.e.
//! ~80 false alarms among 1,115 stores. The default h = 8σ brings that to ~0.3 % (~4 stores),
//! and still catches a 15 % sales shift (ln 1.15 ≈ 1.4σ for a typical store's σ ≈ 0.1) in
//! about 8 days, 1.75σ in about 6, 1σ in about 13 (simulated: iid normal errors, shift from day
//! 15 of 42). Real errors are autocorrelated (a hot week lifts every day of it), which raises
//! the false-alarm rate; raise h if the alarms are mostly noise.

use crate::MonitorError;
use serde::{Deserialize, Serialize};

/// Features the drift check leaves out by default (they move year on year by construction).
pub const DEFAULT_DRIFT_EXCLUDE: [&str; 30] = [
    "year",
    // Functions of the date alone: the same weekdays a year earlier (364 days back) sit one or
    // two days earlier in the month and the year, so a week's values fall in other bins (a
    // one-week window gave PSI 1.35 on day_of_year with nothing changed in the data).
    "day_of_month",
    "day_of_year",
    "days_to_month_end",
    "competition_months",
    "promo2_weeks",
    "days_to_holiday",
    "days_since_holiday",
    "days_to_school_holiday",
    "days_since_school_holiday",
    "days_to_closure",
    "days_since_closure",
    // Event counters and promo distances: the promo cycle and the movable holidays sit on
    // other days a year earlier, so these move by construction.
    "days_since_promo",
    "days_to_promo",
    "promo_last_week",
    "promo_next_week",
    "promo_last_7",
    "promo_next_7",
    "holidays_last_7",
    "holidays_next_7",
    "holidays_last_14",
    "holidays_next_14",
    "school_last_7",
    "school_next_7",
    "school_last_14",
    "school_next_14",
    "closed_last_7",
    "closed_next_7",
    "closed_last_14",
    "closed_next_14",
];

/// All monitoring thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// RMSPE alert threshold as a multiple of the model's backtest last-fold RMSPE
    /// (chain and store types). Default 1.25.
    pub rmspe_factor: f64,
    /// RMSPE alert threshold used when the model's backtest RMSPE is unknown. Default 0.15.
    pub rmspe_abs: f64,
    /// A store's RMSPE threshold is the chain threshold times this. Default 1.5.
    pub store_rmspe_factor: f64,
    /// Minimum share of actuals inside the 80 % band. Default 0.70.
    pub coverage80_min: f64,
    /// Minimum share of actuals inside the 95 % band. Default 0.88.
    pub coverage95_min: f64,
    /// A coverage alert also needs the binomial probability of so few hits under the nominal
    /// level to be below this (keeps small samples from alerting on chance). Default 0.01.
    pub coverage_alpha: f64,
    /// Largest tolerated |bias| (Σ(forecast − actual) / Σ actual) of the chain and store
    /// types. Default 0.05.
    pub bias_abs_max: f64,
    /// Largest tolerated |bias| of one store. Default 0.10.
    pub store_bias_abs_max: f64,
    /// Scored store-days a scope needs before it may raise accuracy, coverage, bias or CUSUM
    /// alerts. Default 14.
    pub min_days: usize,
    /// Quantile bins of the PSI (from the reference sample). Default 10.
    pub psi_bins: usize,
    /// PSI from which a feature is reported as `warn`. Default 0.1.
    pub psi_warn: f64,
    /// PSI from which a feature is reported as `alert` and raises an alert. Default 0.25.
    pub psi_alert: f64,
    /// Features left out of the drift check because they move between a window and the same
    /// weeks a year earlier by construction (see [`crate::drift`]). Default: `year`,
    /// `competition_months`, `promo2_weeks`, the six distances to holidays and closures,
    /// and the event counters and promo distances.
    pub drift_exclude: Vec<String>,
    /// Per-store CUSUM on log-errors.
    pub cusum: CusumConfig,
    /// When a retrained model may replace the active one.
    pub promotion: PromotionPolicy,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            rmspe_factor: 1.25,
            rmspe_abs: 0.15,
            store_rmspe_factor: 1.5,
            coverage80_min: 0.70,
            coverage95_min: 0.88,
            coverage_alpha: 0.01,
            bias_abs_max: 0.05,
            store_bias_abs_max: 0.10,
            min_days: 14,
            psi_bins: 10,
            psi_warn: 0.1,
            psi_alert: 0.25,
            drift_exclude: DEFAULT_DRIFT_EXCLUDE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            cusum: CusumConfig::default(),
            promotion: PromotionPolicy::default(),
        }
    }
}

/// Where a store's error scale (σ) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigmaSource {
    /// From each issued forecast's own 80 % band: the band is the backtest's 10 % and 90 %
    /// log-residual quantiles for that store's volatility band and horizon week, so
    /// σ = ln(hi80 / lo80) / (2 · 1.2816) and the expected log-error is the band's centre.
    /// Needs no warm-up: alarms can fire from the first day.
    Intervals,
    /// Robust estimates from the store's first `warmup_days` scored days: the median
    /// log-error as the centre and 1.4826 × MAD as σ. Detects change relative to how the
    /// store started, whatever the backtest said.
    Warmup,
}

/// Per-store CUSUM settings, in units of the store's σ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CusumConfig {
    /// Allowance k: drift per day that is tolerated (in σ). Default 0.5.
    pub k: f64,
    /// Decision threshold h (in σ). Default 8.0 (see the module docs for why not 5).
    pub h: f64,
    /// Where σ comes from. Default `intervals`.
    pub sigma: SigmaSource,
    /// Days used by [`SigmaSource::Warmup`]. Default 28.
    pub warmup_days: usize,
    /// Floor on σ (log scale) so a suspiciously calm store cannot alarm on tiny errors.
    /// Default 0.02.
    pub min_sigma: f64,
    /// Standardised errors are clipped to ±this before accumulating, so one freak day (a
    /// half-day opening, a data error) cannot raise an alarm alone. Default 4.0.
    pub z_clip: f64,
}

impl Default for CusumConfig {
    fn default() -> Self {
        Self {
            k: 0.5,
            h: 8.0,
            sigma: SigmaSource::Intervals,
            warmup_days: 28,
            min_sigma: 0.02,
            z_clip: 4.0,
        }
    }
}

/// When a retrained candidate may replace the active model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromotionPolicy {
    /// Largest tolerated relative RMSPE increase over the active model (0.0 = not worse;
    /// 0.02 = up to 2 % worse, e.g. to favour fresher data). Default 0.0.
    pub max_rmspe_increase: f64,
    /// Scored store-days the candidate's last backtest fold needs. Default 1000.
    pub min_rows: usize,
    /// The candidate must also beat the store × weekday × promo median baseline on the same
    /// fold (a sanity check that does not depend on the active model). Default true.
    pub must_beat_baseline: bool,
}

impl Default for PromotionPolicy {
    fn default() -> Self {
        Self {
            max_rmspe_increase: 0.0,
            min_rows: 1000,
            must_beat_baseline: true,
        }
    }
}

impl MonitorConfig {
    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), MonitorError> {
        let bad = |what: &str| Err(MonitorError::Config(what.to_string()));
        let pos = |v: f64| v.is_finite() && v > 0.0;
        let share = |v: f64| v.is_finite() && v > 0.0 && v < 1.0;
        if !pos(self.rmspe_factor) || !pos(self.rmspe_abs) || !pos(self.store_rmspe_factor) {
            return bad("rmspe_factor, rmspe_abs and store_rmspe_factor must be > 0");
        }
        if !share(self.coverage80_min) || !share(self.coverage95_min) {
            return bad("coverage80_min and coverage95_min must be in (0, 1)");
        }
        if !share(self.coverage_alpha) {
            return bad("coverage_alpha must be in (0, 1)");
        }
        if !pos(self.bias_abs_max) || !pos(self.store_bias_abs_max) {
            return bad("bias_abs_max and store_bias_abs_max must be > 0");
        }
        if self.psi_bins < 2 {
            return bad("psi_bins must be at least 2");
        }
        if !pos(self.psi_warn) || !pos(self.psi_alert) || self.psi_warn > self.psi_alert {
            return bad("need 0 < psi_warn <= psi_alert");
        }
        if let Some(f) = self
            .drift_exclude
            .iter()
            .find(|f| !storecast_model::FEATURE_NAMES.contains(&f.as_str()))
        {
            return Err(MonitorError::Config(format!(
                "drift_exclude names {f:?}, which is not a model feature"
            )));
        }
        let c = &self.cusum;
        if !(c.k.is_finite() && c.k >= 0.0 && pos(c.h)) {
            return bad("cusum needs k >= 0 and h > 0");
        }
        if !pos(c.min_sigma) || !pos(c.z_clip) {
            return bad("cusum min_sigma and z_clip must be > 0");
        }
        if c.sigma == SigmaSource::Warmup && c.warmup_days < 5 {
            return bad("cusum warmup_days must be at least 5");
        }
        let p = &self.promotion;
        if !(p.max_rmspe_increase.is_finite() && p.max_rmspe_increase >= 0.0) {
            return bad("promotion max_rmspe_increase must be >= 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_partial_configs_fill_in() -> Result<(), Box<dyn std::error::Error>> {
        MonitorConfig::default().validate()?;
        let cfg: MonitorConfig = serde_json::from_str(
            r#"{"rmspe_factor": 1.5, "cusum": {"h": 6.0, "sigma": "warmup"}}"#,
        )?;
        assert_eq!(cfg.rmspe_factor, 1.5);
        assert_eq!(cfg.cusum.h, 6.0);
        assert_eq!(cfg.cusum.sigma, SigmaSource::Warmup);
        assert_eq!(cfg.cusum.k, 0.5);
        assert_eq!(cfg.coverage80_min, 0.70);
        assert_eq!(cfg.promotion, PromotionPolicy::default());
        // A typo is refused instead of silently keeping the default.
        assert!(serde_json::from_str::<MonitorConfig>(r#"{"rmspe_facter": 1.5}"#).is_err());
        // Round trip.
        let back: MonitorConfig = serde_json::from_str(&serde_json::to_string(&cfg)?)?;
        assert_eq!(back, cfg);
        Ok(())
    }

    #[test]
    fn excluded_features_exist() {
        for f in DEFAULT_DRIFT_EXCLUDE {
            assert!(storecast_model::FEATURE_NAMES.contains(&f), "{f}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let mut cfg = MonitorConfig {
            psi_warn: 0.3,
            ..MonitorConfig::default()
        };
        assert!(cfg.validate().is_err());
        cfg.psi_warn = 0.1;
        cfg.coverage80_min = 1.2;
        assert!(cfg.validate().is_err());
        cfg.coverage80_min = 0.7;
        cfg.cusum.h = 0.0;
        assert!(cfg.validate().is_err());
        cfg.cusum.h = 8.0;
        cfg.validate().expect("valid again");
        cfg.drift_exclude.push("yaer".into());
        assert!(cfg.validate().is_err());
    }
}
