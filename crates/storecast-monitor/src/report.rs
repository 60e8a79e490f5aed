//! One monitoring run: live accuracy, drift and CUSUM judged against the thresholds, with the
//! breaches as alert records.
//!
//! Why this module exists: the numbers only help when someone is told which of them is out of
//! bounds, where, and by how much. [`evaluate`] applies every threshold of [`MonitorConfig`]
//! to the chain, each store type and each store, and writes one [`NewAlert`] per breach, ready
//! for `Store::record_alert`, with a sentence a sales director can act on. The thresholds
//! actually used (e.g. the RMSPE limit derived from the model's own backtest) travel with the
//! report so a reader can see why something did or did not alert.
//!
//! What alerts: RMSPE above its limit (`accuracy`), 80 % / 95 % band coverage below its
//! minimum and too low to be chance (`coverage80`, `coverage95`), |bias| above its limit
//! (`bias`), in scopes with at least `min_days` scored days; a feature whose PSI reaches
//! `psi_alert` (`drift`; `psi_warn` is reported, not alerted); a store whose CUSUM crossed h
//! (`cusum`). Per-week numbers are reported but do not alert: a single week is at the mercy
//! of one holiday.

use crate::accuracy::{by_horizon_week, live_accuracy, Accuracy, HorizonAccuracy, LiveAccuracy};
use crate::cusum::{store_cusums, Direction, StoreCusum};
use crate::drift::{DriftLevel, FeatureDrift};
use crate::{MonitorConfig, MonitorError};
use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};
use std::collections::BTreeMap;
use storecast_data::StoreType;
use storecast_model::backtest::MODEL;
use storecast_model::ModelArtifact;
use storecast_store::{Alert, ForecastVsActual, NewAlert};

/// Alert kinds written by the monitor (the store's vocabulary, re-exported).
pub use storecast_store::AlertKind;

/// The thresholds a run applied, resolved from the configuration and the model.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// RMSPE limit of the chain and store types.
    pub rmspe: f64,
    /// Where it comes from, for people.
    pub rmspe_basis: String,
    /// The model's backtest last-fold RMSPE, when known.
    pub backtest_rmspe: Option<f64>,
    /// RMSPE limit of one store.
    pub store_rmspe: f64,
    /// Minimum 80 % coverage.
    pub coverage80_min: f64,
    /// Minimum 95 % coverage.
    pub coverage95_min: f64,
    /// Binomial evidence a coverage alert needs.
    pub coverage_alpha: f64,
    /// |bias| limit of the chain and store types.
    pub bias_abs_max: f64,
    /// |bias| limit of one store.
    pub store_bias_abs_max: f64,
    /// Scored days a scope needs to alert.
    pub min_days: usize,
    /// PSI warn level.
    pub psi_warn: f64,
    /// PSI alert level.
    pub psi_alert: f64,
    /// CUSUM decision threshold (σ).
    pub cusum_h: f64,
}

impl Thresholds {
    /// Resolves the limits: the RMSPE limit is `rmspe_factor` × the model's backtest
    /// last-fold RMSPE when the artifact is given (the model is judged against its own
    /// promise), else `rmspe_abs`.
    pub fn resolve(cfg: &MonitorConfig, model: Option<&ModelArtifact>) -> Self {
        let backtest = model
            .and_then(|m| m.last_fold_score(MODEL))
            .map(|(_, m)| m.rmspe)
            .filter(|r| r.is_finite() && *r > 0.0);
        let (rmspe, rmspe_basis) = match backtest {
            Some(b) => (
                cfg.rmspe_factor * b,
                format!(
                    "{} × backtest last-fold RMSPE {b:.4}",
                    fmt_num(cfg.rmspe_factor)
                ),
            ),
            None => (
                cfg.rmspe_abs,
                "absolute (no backtest figure for this model)".to_string(),
            ),
        };
        Self {
            rmspe,
            rmspe_basis,
            backtest_rmspe: backtest,
            store_rmspe: rmspe * cfg.store_rmspe_factor,
            coverage80_min: cfg.coverage80_min,
            coverage95_min: cfg.coverage95_min,
            coverage_alpha: cfg.coverage_alpha,
            bias_abs_max: cfg.bias_abs_max,
            store_bias_abs_max: cfg.store_bias_abs_max,
            min_days: cfg.min_days,
            psi_warn: cfg.psi_warn,
            psi_alert: cfg.psi_alert,
            cusum_h: cfg.cusum.h,
        }
    }
}

/// The outcome of one monitoring run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorReport {
    /// The model version monitored (`None` when there were no rows).
    pub model_version: Option<String>,
    /// Thresholds applied.
    pub thresholds: Thresholds,
    /// Live accuracy and coverage.
    pub live: LiveAccuracy,
    /// Accuracy by week of the horizon (empty without the model's artifact).
    pub by_horizon: Vec<HorizonAccuracy>,
    /// Input drift per feature (as given to [`evaluate`]).
    pub drift: Vec<FeatureDrift>,
    /// Why drift was not measured, when it could not be: said beside the figures, so an
    /// empty drift list never reads as "no drift".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_unavailable: Option<String>,
    /// CUSUM per store.
    pub cusum: Vec<StoreCusum>,
    /// Stores whose CUSUM alarmed (with at least `min_days` days).
    pub cusum_alarms: usize,
    /// Threshold breaches, ready for `Store::record_alert`.
    pub alerts: Vec<NewAlert>,
}

impl MonitorReport {
    /// Number of alerts of a kind.
    pub fn alert_count(&self, kind: AlertKind) -> usize {
        self.alerts.iter().filter(|a| a.kind == kind).count()
    }
}

/// A number without trailing zeros (1.25, 0.7, 5).
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn pct(v: f64) -> String {
    storecast_charts::Numbers::EN.pct(v)
}

/// Probability of at most `hits` successes in `n` trials at `p`.
fn binomial_lower_tail(hits: usize, n: usize, p: f64) -> f64 {
    Binomial::new(p, n as u64).map_or(1.0, |b| b.cdf(hits as u64))
}

struct Limits {
    rmspe: f64,
    bias: f64,
}

fn check_scope(
    scope: &str,
    a: &Accuracy,
    limits: &Limits,
    t: &Thresholds,
    window: &str,
    out: &mut Vec<NewAlert>,
) {
    if a.n < t.min_days || a.n == 0 {
        return;
    }
    if a.rmspe > limits.rmspe {
        out.push(NewAlert {
            kind: AlertKind::Accuracy,
            scope: scope.into(),
            value: a.rmspe,
            threshold: limits.rmspe,
            message: format!(
                "{scope}: live RMSPE {:.4} over {} store-days{window} is above the limit {:.4} ({}).",
                a.rmspe, a.n, limits.rmspe, t.rmspe_basis
            ),
        });
    }
    for (kind, level, hits, share, min) in [
        (
            AlertKind::Coverage80,
            0.80,
            a.hits80,
            a.cover80,
            t.coverage80_min,
        ),
        (
            AlertKind::Coverage95,
            0.95,
            a.hits95,
            a.cover95,
            t.coverage95_min,
        ),
    ] {
        let p = binomial_lower_tail(hits, a.n, level);
        if share < min && p < t.coverage_alpha {
            out.push(NewAlert {
                kind,
                scope: scope.into(),
                value: share,
                threshold: min,
                message: format!(
                    "{scope}: only {} of {} actuals{window} fell inside the {:.0}% band \
                     (minimum {}; chance of so few at the nominal level p = {p:.1e}): \
                     the intervals are too narrow.",
                    pct(share),
                    a.n,
                    level * 100.0,
                    pct(min)
                ),
            });
        }
    }
    if a.bias.abs() > limits.bias {
        let threshold = limits.bias.copysign(a.bias);
        let what = if a.bias > 0.0 {
            "above actuals (over-forecast)"
        } else {
            "below actuals (under-forecast)"
        };
        out.push(NewAlert {
            kind: AlertKind::Bias,
            scope: scope.into(),
            value: a.bias,
            threshold,
            message: format!(
                "{scope}: forecasts are {} {what}{window}, beyond the ±{} limit.",
                pct(a.bias.abs()),
                pct(limits.bias)
            ),
        });
    }
}

/// Judges one model version's issued forecasts (joined with actuals, e.g.
/// `Store::forecast_vs_actual(Some(version))`) and the drift computed for its window.
///
/// `model` is the artifact that issued the rows (for the RMSPE limit; `None` falls back to
/// `rmspe_abs`). `drift` comes from [`crate::feature_drift`] (empty when not computed). Errors
/// when the rows mix model versions or belong to another model than `model`, or when the
/// configuration is invalid.
pub fn evaluate(
    rows: &[ForecastVsActual],
    store_types: &BTreeMap<u16, StoreType>,
    model: Option<&ModelArtifact>,
    drift: Vec<FeatureDrift>,
    cfg: &MonitorConfig,
) -> Result<MonitorReport, MonitorError> {
    cfg.validate()?;
    let live = live_accuracy(rows, store_types);
    if live.model_versions.len() > 1 {
        return Err(MonitorError::MixedVersions(live.model_versions.join(", ")));
    }
    let model_version = live.model_versions.first().cloned();
    if let (Some(v), Some(m)) = (&model_version, model) {
        if *v != m.model_version {
            return Err(MonitorError::WrongModel {
                rows: v.clone(),
                artifact: m.model_version.clone(),
            });
        }
    }
    let t = Thresholds::resolve(cfg, model);
    let window = live
        .dates
        .map_or(String::new(), |(a, b)| format!(" ({a}..{b})"));
    let mut alerts = Vec::new();

    let chain = Limits {
        rmspe: t.rmspe,
        bias: t.bias_abs_max,
    };
    check_scope("chain", &live.overall, &chain, &t, &window, &mut alerts);
    for ty in &live.by_store_type {
        let scope = format!("type {}", ty.store_type);
        check_scope(&scope, &ty.accuracy, &chain, &t, &window, &mut alerts);
    }
    let store = Limits {
        rmspe: t.store_rmspe,
        bias: t.store_bias_abs_max,
    };
    for s in &live.by_store {
        let scope = format!("store {}", s.store);
        check_scope(&scope, &s.accuracy, &store, &t, &window, &mut alerts);
    }

    for d in drift.iter().filter(|d| d.level == DriftLevel::Alert) {
        alerts.push(NewAlert {
            kind: AlertKind::Drift,
            scope: format!("feature {}", d.feature),
            value: d.psi,
            threshold: t.psi_alert,
            message: format!(
                "feature {} ({}): PSI {:.3} against the same weeks a year earlier \
                 (alert at {}; missing {} now vs {} then): its inputs changed, check the data \
                 and the plan before trusting the forecasts.",
                d.feature,
                d.driver.label(),
                d.psi,
                fmt_num(t.psi_alert),
                pct(d.current_missing),
                pct(d.reference_missing)
            ),
        });
    }

    let cusum = store_cusums(rows, &cfg.cusum);
    let mut cusum_alarms = 0;
    for c in cusum.iter().filter(|c| c.n >= t.min_days) {
        let Some(alarm) = c.alarm else { continue };
        cusum_alarms += 1;
        let what = match alarm.direction {
            Direction::Up => "actuals running above forecasts (under-forecast)",
            Direction::Down => "actuals running below forecasts (over-forecast)",
        };
        alerts.push(NewAlert {
            kind: AlertKind::Cusum,
            scope: format!("store {}", c.store),
            value: alarm.statistic,
            threshold: t.cusum_h,
            message: format!(
                "store {}: forecast errors shifted {} since about {}, {what}; the CUSUM \
                 crossed {}σ on {} (mean log-error {:+.3}, σ {:.3}).",
                c.store,
                alarm.direction.as_str(),
                alarm.since,
                fmt_num(t.cusum_h),
                alarm.date,
                c.mean_log_error,
                c.sigma
            ),
        });
    }

    Ok(MonitorReport {
        model_version,
        thresholds: t,
        by_horizon: model.map_or_else(Vec::new, |m| by_horizon_week(rows, m.train_end)),
        live,
        drift,
        drift_unavailable: None,
        cusum,
        cusum_alarms,
        alerts,
    })
}

/// The alerts of a run that are not already open (unacknowledged) with the same kind and
/// scope: what a scheduled monitor should record so a lasting problem is one alert, not one
/// per run.
pub fn fresh_alerts(alerts: &[NewAlert], open: &[Alert]) -> Vec<NewAlert> {
    alerts
        .iter()
        .filter(|a| {
            !open
                .iter()
                .any(|o| !o.acknowledged && o.kind == a.kind && o.scope == a.scope)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::tests::{date, row};
    use crate::promotion::tests::artifact;
    use chrono::Duration;
    use storecast_model::Driver;

    fn types() -> BTreeMap<u16, StoreType> {
        [(1, StoreType::A), (2, StoreType::A), (3, StoreType::B)].into()
    }

    /// 28 days per store; every actual equals the forecast except for the given distortion.
    fn rows(distort: impl Fn(u16, usize) -> f64) -> Vec<ForecastVsActual> {
        let mut out = Vec::new();
        for day in 0..28 {
            for store in 1..=3u16 {
                let f = 1000.0 * f64::from(store);
                let a = f * distort(store, day);
                out.push(row(
                    store,
                    date(2015, 8, 3) + Duration::days(day as i64),
                    f,
                    a.round() as i32,
                ));
            }
        }
        out
    }

    fn drift(feature: &str, psi: f64, cfg: &MonitorConfig) -> FeatureDrift {
        FeatureDrift {
            feature: feature.into(),
            driver: Driver::Promotion,
            psi,
            level: DriftLevel::of(psi, cfg),
            reference_n: 100,
            current_n: 100,
            reference_missing: 0.0,
            current_missing: 0.0,
        }
    }

    fn summary(r: &MonitorReport) -> Vec<(String, String)> {
        r.alerts
            .iter()
            .map(|a| (a.kind.to_string(), a.scope.clone()))
            .collect()
    }

    #[test]
    fn a_healthy_run_raises_nothing() -> Result<(), MonitorError> {
        let cfg = MonitorConfig::default();
        // ±3 % alternating errors: inside the ±10 % band, no bias, RMSPE 0.03.
        let r = rows(|_, d| if d % 2 == 0 { 1.03 } else { 0.97 });
        let report = evaluate(&r, &types(), None, vec![drift("promo", 0.05, &cfg)], &cfg)?;
        assert!(report.alerts.is_empty(), "{:?}", report.alerts);
        assert_eq!(report.model_version.as_deref(), Some("m1"));
        assert_eq!(report.thresholds.rmspe, 0.15);
        assert_eq!(report.cusum_alarms, 0);
        Ok(())
    }

    #[test]
    fn thresholds_produce_the_expected_alerts() -> Result<(), MonitorError> {
        let cfg = MonitorConfig::default();
        // Store 3 (the only type b store) sells 25 % below its forecasts from day 7 on; the
        // others are fine. Feature promo drifted, school_holiday only warns.
        let r = rows(|s, d| match (s, d) {
            (3, d) if d >= 7 => 0.75,
            (_, d) if d % 2 == 0 => 1.02,
            _ => 0.98,
        });
        let model = artifact("m1", 0.10, 0.20, 5000);
        let report = evaluate(
            &r,
            &types(),
            Some(&model),
            vec![
                drift("promo", 0.4, &cfg),
                drift("school_holiday", 0.15, &cfg),
            ],
            &cfg,
        )?;
        // RMSPE limit from the model's backtest: 1.25 × 0.10; stores 1.5 × that.
        assert!((report.thresholds.rmspe - 0.125).abs() < 1e-12);
        assert!((report.thresholds.store_rmspe - 0.1875).abs() < 1e-12);
        assert!(report.thresholds.rmspe_basis.contains("1.25 × backtest"));
        let got = summary(&report);
        let want: Vec<(String, String)> = [
            // Store 3 sells 3000 forecast as 2250 on 21 of 84 chain store-days: the chain's
            // RMSPE is sqrt(21 · (1/3)² / 84) ≈ 0.17, only 75 % of its actuals are inside the
            // 95 % band and its bias is 15750 / 152250 ≈ +10 %; its 80 % coverage (75 %) is
            // still above the 70 % minimum.
            ("accuracy", "chain"),
            ("coverage95", "chain"),
            ("bias", "chain"),
            ("accuracy", "type b"),
            ("coverage80", "type b"),
            ("coverage95", "type b"),
            ("bias", "type b"),
            ("accuracy", "store 3"),
            ("coverage80", "store 3"),
            ("coverage95", "store 3"),
            ("bias", "store 3"),
            ("drift", "feature promo"),
            ("cusum", "store 3"),
        ]
        .iter()
        .map(|(k, s)| (k.to_string(), s.to_string()))
        .collect();
        assert_eq!(got, want);
        let chain = &report.live.overall;
        assert!((chain.rmspe - (21.0 / 9.0 / 84.0f64 + 63.0 * 0.0004 / 84.0).sqrt()).abs() < 1e-3);
        assert!((chain.cover80 - 0.75).abs() < 1e-12);
        let bias = &report.alerts[2];
        assert!((bias.value - chain.bias).abs() < 1e-12);
        assert!(
            (bias.value - 15750.0 / 152250.0).abs() < 1e-3,
            "{}",
            bias.value
        );
        assert_eq!(bias.threshold, 0.05);
        let cusum = report.alerts.last().expect("a cusum alert");
        assert!(cusum.message.contains("shifted down"), "{}", cusum.message);
        assert_eq!(report.cusum_alarms, 1);
        let alarm = report.cusum[2].alarm.expect("store 3 alarmed");
        assert!(alarm.date >= date(2015, 8, 10) && alarm.date <= date(2015, 8, 13));
        // Every alert is recordable (finite value and threshold, kind and scope set).
        assert!(report
            .alerts
            .iter()
            .all(|a| a.value.is_finite() && a.threshold.is_finite() && !a.message.is_empty()));
        Ok(())
    }

    #[test]
    fn small_samples_and_chance_misses_do_not_alert() -> Result<(), MonitorError> {
        let cfg = MonitorConfig::default();
        // Store 1 misses the 80 % band on 1 day in 3 (coverage 67 % < 70 %), but with 28 days
        // that is well within chance at the nominal 80 %: no coverage alert.
        let r = rows(|s, d| if s == 1 && d % 3 == 0 { 1.15 } else { 1.0 });
        let report = evaluate(&r, &types(), None, Vec::new(), &cfg)?;
        assert!(report.live.by_store[0].accuracy.cover80 < 0.70);
        assert_eq!(
            report.alert_count(AlertKind::Coverage80),
            0,
            "{:?}",
            report.alerts
        );
        // Too few days (10 < 14): nothing for the store even when it is far off, while the
        // chain (30 days) does alert.
        let few: Vec<ForecastVsActual> = rows(|s, _| if s == 2 { 0.5 } else { 1.0 })
            .into_iter()
            .filter(|r| r.forecast.date < date(2015, 8, 3) + Duration::days(10))
            .collect();
        let report = evaluate(&few, &types(), None, Vec::new(), &cfg)?;
        assert!(
            report.alerts.iter().all(|a| !a.scope.starts_with("store")),
            "{:?}",
            report.alerts
        );
        assert!(report.alert_count(AlertKind::Accuracy) > 0);
        assert!(report.cusum[1].alarm.is_some() && report.cusum_alarms == 0);
        Ok(())
    }

    #[test]
    fn mixed_or_foreign_versions_are_refused() {
        let cfg = MonitorConfig::default();
        let mut r = rows(|_, _| 1.0);
        let model = artifact("other", 0.1, 0.2, 5000);
        assert!(matches!(
            evaluate(&r, &types(), Some(&model), Vec::new(), &cfg),
            Err(MonitorError::WrongModel { .. })
        ));
        r[0].model_version = "m0".into();
        assert!(matches!(
            evaluate(&r, &types(), None, Vec::new(), &cfg),
            Err(MonitorError::MixedVersions(_))
        ));
    }

    #[test]
    fn open_alerts_are_not_raised_again() {
        let new = |kind: AlertKind, scope: &str| NewAlert {
            kind,
            scope: scope.into(),
            value: 1.0,
            threshold: 0.5,
            message: String::new(),
        };
        let open = |kind: AlertKind, scope: &str, acknowledged: bool| Alert {
            id: 1,
            at: String::new(),
            kind,
            scope: scope.into(),
            value: 1.0,
            threshold: 0.5,
            message: String::new(),
            acknowledged,
            acknowledged_by: None,
            acknowledged_at: None,
            acknowledged_note: None,
        };
        use AlertKind::{Bias, Cusum};
        let alerts = [
            new(Bias, "chain"),
            new(Cusum, "store 3"),
            new(Bias, "store 3"),
        ];
        let fresh = fresh_alerts(
            &alerts,
            &[open(Bias, "chain", false), open(Cusum, "store 3", true)],
        );
        let scopes: Vec<(&str, &str)> = fresh
            .iter()
            .map(|a| (a.kind.name(), a.scope.as_str()))
            .collect();
        assert_eq!(scopes, vec![("cusum", "store 3"), ("bias", "store 3")]);
    }
}
