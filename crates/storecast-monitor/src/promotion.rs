//! Retrain decision: may a freshly trained candidate replace the active model?
//!
//! Why this module exists: retraining on new actuals is routine, but a retrained model is not
//! automatically better (a bad delivery, an unlucky period, a changed parameter). Promotion is
//! a decision with a rule, a reason and numbers, so it can run unattended and be audited.
//!
//! The rule ([`PromotionPolicy`]): the candidate's last backtest fold must have scored at least
//! `min_rows` store-days, must beat the store × weekday × promo median baseline on that same
//! fold (when `must_beat_baseline`), and its RMSPE must not exceed the active model's by more
//! than `max_rmspe_increase` (relative; 0 = not worse). Without an active model, the guards
//! alone decide.
//!
//! Making the comparison fair. Each artifact's last fold is the six weeks before its own
//! training end, so a candidate trained today was scored on later weeks than the active model
//! was; weeks differ in difficulty (Christmas, Easter, summer holidays), and comparing the two
//! numbers mixes model quality with period difficulty. Two ways, in order of preference:
//!
//! 1. **Same fold** ([`rescore_current`] + [`decide_promotion_rescored`]): the active model
//!    forecasts the candidate's last fold (origin, same horizon, same scored store-days) with
//!    features as of that fold's origin, exactly as it would have in production, and its RMSPE
//!    there is compared with the candidate's. This is only out of sample when the active model
//!    was trained before that fold starts (checked; else an error and the caller falls back).
//!    It mildly favours the candidate, whose fold model saw data up to the fold origin while the
//!    active model stopped earlier, which is exactly the freshness retraining is for.
//! 2. **Same days** ([`decide_promotion_same_days`]): when the active model was trained
//!    inside the candidate's last fold (weekly retraining), both are scored on the fold's days
//!    after the active model's training end: the active model forecasting them from its own
//!    training end, the candidate with its fold model's forecasts. Both out of sample, the
//!    same store-days; the candidate forecasts them from further away (a handicap). Without
//!    this, a retrain after a level shift compared the candidate on the shifted weeks with the
//!    active model on its calmer ones and was refused (seen in the replay, issue 29).
//! 3. **Latest folds** ([`decide_promotion`]): each artifact's own last-fold RMSPE (model
//!    `lightgbm`, fold = number of folds). Cheap and always available; the [`Decision`] says
//!    which periods were compared so a reader can judge.

use crate::{MonitorError, PromotionPolicy};
use chrono::NaiveDate;
use serde::Serialize;
use storecast_data::{ForecastRequest, ForecastRequests, SalesHistory, StoreTable};
use storecast_model::backtest::{Fold, MODEL};
use storecast_model::{Forecaster, Metrics, ModelArtifact, Scenario};

/// The baseline the candidate must beat on its own fold.
pub const BASELINE: &str = storecast_model::ModelKind::Median.name();

/// What the RMSPEs of a decision were measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Basis {
    /// No active model to compare with.
    NoCurrentModel,
    /// Each model's own last backtest fold (different periods).
    LatestFolds {
        /// The candidate's last fold.
        candidate_fold: (NaiveDate, NaiveDate),
        /// The active model's last fold.
        current_fold: Option<(NaiveDate, NaiveDate)>,
    },
    /// Both models on the candidate's last fold.
    SameFold {
        /// The fold.
        fold: (NaiveDate, NaiveDate),
    },
    /// Both models on the days of the candidate's last fold after the active model's training.
    SameDays {
        /// First and last day compared.
        days: (NaiveDate, NaiveDate),
    },
}

/// A promotion decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Whether the candidate should become the active model.
    pub promote: bool,
    /// Why, for people and the audit log.
    pub reason: String,
    /// Candidate version.
    pub candidate_version: String,
    /// Active version, if any.
    pub current_version: Option<String>,
    /// Candidate RMSPE on the compared period (its last fold, or the same days; NaN when
    /// missing).
    pub candidate_rmspe: f64,
    /// Active model's RMSPE on the compared period, if any.
    pub current_rmspe: Option<f64>,
    /// Store-days of the candidate's last fold.
    pub candidate_rows: usize,
    /// What was compared.
    pub basis: Basis,
}

impl Decision {
    /// This decision, refused: the comparison the policy needs could not be made (`why`),
    /// so the candidate is not promoted on another basis behind the operator's back.
    pub fn refused(mut self, why: &str) -> Self {
        self.promote = false;
        self.reason = format!("not promoted: {why} (recorded scores: {})", self.reason);
        self
    }
}

fn span(f: &Fold) -> (NaiveDate, NaiveDate) {
    (f.origin, f.end)
}

/// The guards and the comparison. `current` is (version, RMSPE on the compared period);
/// `compared` the candidate's RMSPE on it when it is not the whole last fold.
fn decide(
    candidate: &ModelArtifact,
    current: Option<(&str, f64)>,
    basis: impl FnOnce(&Fold) -> Basis,
    compared: Option<f64>,
    policy: &PromotionPolicy,
) -> Decision {
    let score = candidate.last_fold_score(MODEL);
    let (fold_rmspe, candidate_rows) = score.map_or((f64::NAN, 0), |(_, m)| (m.rmspe, m.n));
    let candidate_rmspe = compared.unwrap_or(fold_rmspe);
    let mut d = Decision {
        promote: false,
        reason: String::new(),
        candidate_version: candidate.model_version.clone(),
        current_version: current.map(|c| c.0.to_string()),
        candidate_rmspe,
        current_rmspe: current.map(|c| c.1),
        candidate_rows,
        basis: Basis::NoCurrentModel,
    };
    let Some((fold, m)) = score else {
        d.reason = format!("refused: the candidate has no {MODEL} score on its last fold");
        return d;
    };
    d.basis = if current.is_some() {
        basis(fold)
    } else {
        Basis::NoCurrentModel
    };
    let period = format!("{}..{}", fold.origin, fold.end);
    if !m.rmspe.is_finite() {
        d.reason = format!("refused: the candidate's RMSPE on {period} is not a number");
        return d;
    }
    if m.n < policy.min_rows {
        d.reason = format!(
            "refused: the candidate's last fold ({period}) scored {} store-days, fewer than the \
             {} required to judge it",
            m.n, policy.min_rows
        );
        return d;
    }
    if policy.must_beat_baseline {
        let base = candidate
            .scores
            .iter()
            .find(|s| s.model == BASELINE && s.fold == fold.index)
            .map(|s| s.metrics.rmspe)
            .filter(|r| r.is_finite());
        if let Some(b) = base.filter(|b| m.rmspe >= *b) {
            d.reason = format!(
                "refused: the candidate's RMSPE {:.4} on {period} does not beat the store × \
                 weekday × promo median baseline ({b:.4})",
                m.rmspe
            );
            return d;
        }
    }
    let Some((version, cur)) = current else {
        d.promote = true;
        d.reason = format!(
            "promote: no active model; the candidate's RMSPE on {period} is {:.4}",
            m.rmspe
        );
        return d;
    };
    if !cur.is_finite() {
        d.promote = true;
        d.reason = format!(
            "promote: the active model {version} has no usable RMSPE to defend; the candidate's \
             is {:.4}",
            m.rmspe
        );
        return d;
    }
    let limit = cur * (1.0 + policy.max_rmspe_increase);
    let on = match &d.basis {
        Basis::SameFold { .. } => format!("both on the candidate's last fold {period}"),
        Basis::SameDays { days: (a, b) } => {
            format!("both on {a}..{b}, the days of the candidate's last fold after the active model's training")
        }
        Basis::LatestFolds {
            current_fold: Some((a, b)),
            ..
        } => format!("candidate on {period}, active model on its own last fold {a}..{b}"),
        _ => period.clone(),
    };
    d.promote = candidate_rmspe <= limit;
    d.reason = format!(
        "{}: candidate RMSPE {:.4} vs active {version} {cur:.4} ({on}); limit {limit:.4}{}",
        if d.promote { "promote" } else { "refused" },
        candidate_rmspe,
        if policy.max_rmspe_increase > 0.0 {
            format!(
                " ({} tolerated)",
                storecast_charts::Numbers::EN.signed_pct(policy.max_rmspe_increase)
            )
        } else {
            " (not worse)".to_string()
        }
    );
    d
}

/// Decides on each artifact's own last-fold RMSPE (model `lightgbm`, fold = number of folds).
/// The periods differ (see the module docs); prefer [`decide_promotion_rescored`] when the
/// active model can be re-scored on the candidate's fold.
pub fn decide_promotion(
    candidate: &ModelArtifact,
    current: Option<&ModelArtifact>,
    policy: &PromotionPolicy,
) -> Decision {
    let cur = current.map(|c| {
        let score = c.last_fold_score(MODEL);
        (
            c.model_version.as_str(),
            score.map_or(f64::NAN, |(_, m)| m.rmspe),
            score.map(|(f, _)| span(f)),
        )
    });
    decide(
        candidate,
        cur.map(|c| (c.0, c.1)),
        |f| Basis::LatestFolds {
            candidate_fold: span(f),
            current_fold: cur.and_then(|c| c.2),
        },
        None,
        policy,
    )
}

/// Decides with the active model's metrics on the candidate's last fold (from
/// [`rescore_current`]): both RMSPEs measure the same store-days.
pub fn decide_promotion_rescored(
    candidate: &ModelArtifact,
    current_version: &str,
    current_on_fold: &Metrics,
    policy: &PromotionPolicy,
) -> Decision {
    decide(
        candidate,
        Some((current_version, current_on_fold.rmspe)),
        |f| Basis::SameFold { fold: span(f) },
        None,
        policy,
    )
}

/// Decides with both models scored on the same days (`days`) of the candidate's last fold
/// after the active model's training end: the candidate's fold forecasts there
/// ([`candidate_on_days`]) against the active model's ([`rescore_current`] from its training
/// end). The candidate's guards (rows, baseline) still use its whole last fold.
pub fn decide_promotion_same_days(
    candidate: &ModelArtifact,
    candidate_on_days: &Metrics,
    current_version: &str,
    current_on_days: &Metrics,
    days: (NaiveDate, NaiveDate),
    policy: &PromotionPolicy,
) -> Decision {
    decide(
        candidate,
        Some((current_version, current_on_days.rmspe)),
        |_| Basis::SameDays { days },
        Some(candidate_on_days.rmspe),
        policy,
    )
}

/// The candidate's fold-`fold` backtest forecasts of the days `from..=to`, scored.
pub fn candidate_on_days(
    predictions: &[storecast_model::backtest::Prediction],
    fold: usize,
    from: NaiveDate,
    to: NaiveDate,
) -> Metrics {
    let (actual, predicted): (Vec<f64>, Vec<f64>) = predictions
        .iter()
        .filter(|p| p.fold == fold && p.date >= from && p.date <= to)
        .map(|p| (p.actual, p.model))
        .unzip();
    Metrics::compute(&actual, &predicted)
}

/// Scores the active model on a backtest fold of the candidate (`fold`, e.g. from
/// [`ModelArtifact::last_fold_score`]): it forecasts `fold.origin..` from the history before the origin (and
/// the known plan from it on), and the store-days of `fold.origin..=fold.end` with positive
/// actual sales are scored, as in the backtest. Errors when the active model was trained on
/// any day of the fold (not out of sample) or the history does not cover the fold.
pub fn rescore_current(
    current: &Forecaster,
    history: &SalesHistory,
    stores: &StoreTable,
    fold: &Fold,
) -> Result<Metrics, MonitorError> {
    let a = &current.artifact;
    if a.train_end >= fold.origin {
        return Err(MonitorError::Rescore(format!(
            "the active model {} was trained through {}, inside or after the fold starting {}: \
             its score there would not be out of sample",
            a.model_version, a.train_end, fold.origin
        )));
    }
    let mut before = SalesHistory::default();
    let mut plan = ForecastRequests::default();
    // Actual sales of each plan row inside the fold (0 outside it or when closed: not scored).
    let mut actual = Vec::new();
    for i in 0..history.len() {
        let r = history.row(i);
        if r.date < fold.origin {
            before.push(r, 0);
            continue;
        }
        let id = u32::try_from(plan.rows.len() + 1).unwrap_or(u32::MAX);
        plan.rows.push(ForecastRequest::known_ahead(&r, id, 0));
        let scored = r.open && r.date <= fold.end;
        actual.push(if scored { f64::from(r.sales) } else { 0.0 });
    }
    if before.is_empty() || !actual.iter().any(|&v| v > 0.0) {
        return Err(MonitorError::Rescore(format!(
            "the history does not cover the fold {}..{} and the days before it",
            fold.origin, fold.end
        )));
    }
    let sc = Scenario::new(&before, &plan)?;
    let forecasts = current.forecast_requests(&sc, stores, &plan)?;
    let predicted: Vec<f64> = forecasts.iter().map(|f| f.sales).collect();
    Ok(Metrics::compute(&actual, &predicted))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use storecast_model::artifact::{CODE_VERSION, FORMAT_VERSION};
    use storecast_model::backtest::ScoreRow;
    use storecast_model::intervals::{IntervalCalibration, ResidualBlocks};
    use storecast_model::{GbdtParams, FEATURE_DRIVERS, FEATURE_NAMES};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn metrics(rmspe: f64, n: usize) -> Metrics {
        Metrics {
            rmspe,
            mape: rmspe * 0.8,
            wape: rmspe * 0.7,
            bias: 0.0,
            mean_log_error: 0.0,
            n,
        }
    }

    /// A hand-made artifact with two folds: fold 1 scored 0.2 worse than the last fold, fold 2
    /// (last) with the given RMSPE of `lightgbm` and the median baseline over `n` store-days.
    pub(crate) fn artifact(version: &str, rmspe: f64, baseline: f64, n: usize) -> ModelArtifact {
        let folds = vec![
            Fold {
                index: 1,
                kind: Default::default(),
                profile: Default::default(),
                origin: day(2015, 5, 9),
                end: day(2015, 6, 19),
                train_rows: 10_000,
                scored_rows: n,
                last_year_fallback: 0.0,
                closed_days: 0,
                no_recent_stores: 0,
                seconds: 0.0,
            },
            Fold {
                index: 2,
                kind: Default::default(),
                profile: Default::default(),
                origin: day(2015, 6, 20),
                end: day(2015, 7, 31),
                train_rows: 11_000,
                scored_rows: n,
                last_year_fallback: 0.0,
                closed_days: 0,
                no_recent_stores: 0,
                seconds: 0.0,
            },
        ];
        let mut scores = Vec::new();
        for (fold, m, b) in [
            (0, rmspe + 0.1, baseline + 0.1),
            (1, rmspe + 0.2, baseline + 0.2),
            (2, rmspe, baseline),
        ] {
            scores.push(ScoreRow {
                model: MODEL.into(),
                fold,
                metrics: metrics(m, n),
            });
            scores.push(ScoreRow {
                model: BASELINE.into(),
                fold,
                metrics: metrics(b, n),
            });
        }
        ModelArtifact {
            format_version: FORMAT_VERSION,
            model_version: version.into(),
            trained_at: "2015-08-01T00:00:00Z".into(),
            code_version: CODE_VERSION.into(),
            data_fingerprint: "test".into(),
            data_origin: "test".into(),
            train_start: day(2013, 1, 1),
            train_end: day(2015, 7, 31),
            train_rows: 11_000,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            drivers: FEATURE_DRIVERS.to_vec(),
            params: GbdtParams::default(),
            scale: 1.0,
            intervals: IntervalCalibration {
                volatility_cuts: [0.1, 0.2],
                bands: Vec::new(),
            },
            residuals: ResidualBlocks {
                chain_weeks: Vec::new(),
                store_week: Default::default(),
                day: Default::default(),
                volatility_cuts: [0.1, 0.2],
                widen: Default::default(),
            },
            folds,
            scores,
            coverage: Vec::new(),
            lightgbm_model: String::new(),
            ensemble: Default::default(),
            provisional: false,
            checksum: String::new(),
            signature: None,
        }
    }

    #[test]
    fn a_better_candidate_is_promoted_and_a_worse_one_refused() {
        let policy = PromotionPolicy::default();
        let current = artifact("old", 0.110, 0.20, 5000);
        let better = artifact("new", 0.100, 0.20, 5000);
        let worse = artifact("new", 0.115, 0.20, 5000);

        let d = decide_promotion(&better, Some(&current), &policy);
        assert!(d.promote, "{}", d.reason);
        assert_eq!((d.candidate_rmspe, d.current_rmspe), (0.100, Some(0.110)));
        assert!(d.reason.starts_with("promote"), "{}", d.reason);
        assert!(matches!(d.basis, Basis::LatestFolds { .. }));

        let d = decide_promotion(&worse, Some(&current), &policy);
        assert!(!d.promote, "{}", d.reason);
        assert!(d.reason.starts_with("refused"), "{}", d.reason);

        // A tolerance lets a slightly worse (fresher) model through.
        let tolerant = PromotionPolicy {
            max_rmspe_increase: 0.05,
            ..policy.clone()
        };
        assert!(decide_promotion(&worse, Some(&current), &tolerant).promote);
        // Equal is "not worse".
        assert!(decide_promotion(&current, Some(&current), &policy).promote);
    }

    #[test]
    fn guards_refuse_a_candidate_whatever_the_active_model() {
        let policy = PromotionPolicy::default();
        let current = artifact("old", 0.30, 0.35, 5000);
        // Better than the active model but not better than its own baseline.
        let d = decide_promotion(&artifact("new", 0.21, 0.20, 5000), Some(&current), &policy);
        assert!(!d.promote && d.reason.contains("baseline"), "{}", d.reason);
        // Too few scored days.
        let d = decide_promotion(&artifact("new", 0.10, 0.20, 50), Some(&current), &policy);
        assert!(
            !d.promote && d.reason.contains("fewer than"),
            "{}",
            d.reason
        );
        // No score at all.
        let mut empty = artifact("new", 0.10, 0.20, 5000);
        empty.scores.clear();
        assert!(!decide_promotion(&empty, None, &policy).promote);
        // No active model: the guards alone decide.
        let d = decide_promotion(&artifact("new", 0.10, 0.20, 5000), None, &policy);
        assert!(d.promote && d.basis == Basis::NoCurrentModel, "{d:?}");
    }

    #[test]
    fn same_fold_comparison_uses_the_rescored_metrics() {
        let policy = PromotionPolicy::default();
        let candidate = artifact("new", 0.100, 0.20, 5000);
        let d = decide_promotion_rescored(&candidate, "old", &metrics(0.095, 5000), &policy);
        assert!(!d.promote, "{}", d.reason);
        assert!(
            d.reason.contains("both on the candidate's last fold"),
            "{}",
            d.reason
        );
        assert_eq!(
            d.basis,
            Basis::SameFold {
                fold: (day(2015, 6, 20), day(2015, 7, 31))
            }
        );
        let d = decide_promotion_rescored(&candidate, "old", &metrics(0.12, 5000), &policy);
        assert!(d.promote, "{}", d.reason);
    }
}
