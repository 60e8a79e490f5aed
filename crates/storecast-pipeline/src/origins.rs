//! Which origins a backtest at chosen origins runs: listed dates, or one every so many days
//! from a date; each checked against the history before any model is fitted.
//!
//! Why this module exists: `storecast backtest --origins ...` and `--every 6w --from D` are
//! how the error is measured over a whole year (issue: model choices made on spring folds
//! only). The check belongs to the job, not the CLI, so the app and scripts get the same
//! refusal, naming the origin and the range that would work.

use crate::error::PipelineError;
use chrono::{Duration, NaiveDate};

/// Days of history a chosen origin needs before it (eight weeks: the model's recent-level
/// features and the baselines' medians need them).
pub const MIN_HISTORY_DAYS: i64 = 56;

/// How the origins are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginSpec {
    /// These first forecast days.
    Dates(Vec<NaiveDate>),
    /// One every `step_days` from `from`, while the horizon fits in the history.
    Every {
        /// Days between origins.
        step_days: i64,
        /// The first origin.
        from: NaiveDate,
    },
}

/// Parses a step such as `6w`, `42d` or `42` (days).
pub fn parse_step(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (n, unit) = match t.strip_suffix('w') {
        Some(n) => (n, 7),
        None => (t.strip_suffix('d').unwrap_or(t), 1),
    };
    match n.parse::<i64>() {
        Ok(k) if k > 0 => Ok(k * unit),
        _ => Err(format!("{text:?} is not a step like 6w or 42d")),
    }
}

/// The origins of `spec` for a `horizon`-day backtest on a history from `first` to `last`,
/// oldest first; refused (nothing run) when an origin has fewer than [`MIN_HISTORY_DAYS`]
/// before it or its horizon runs past the history.
pub fn resolve(
    spec: &OriginSpec,
    horizon: usize,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<NaiveDate>, PipelineError> {
    let span = Duration::days(horizon as i64 - 1);
    let earliest = first + Duration::days(MIN_HISTORY_DAYS);
    let latest = last - span;
    let mut origins = match spec {
        OriginSpec::Dates(d) => d.clone(),
        OriginSpec::Every { step_days, from } => {
            std::iter::successors(Some(*from), |d| Some(*d + Duration::days(*step_days)))
                .take_while(|d| *d <= latest)
                .collect()
        }
    };
    origins.sort();
    origins.dedup();
    if origins.is_empty() {
        return Err(PipelineError::Input(format!(
            "no origin between {earliest} and {latest} (a {horizon}-day horizon in the history {first}..{last})"
        )));
    }
    if let Some(bad) = origins.iter().find(|d| **d < earliest || **d > latest) {
        return Err(PipelineError::Input(format!(
            "origin {bad} is outside {earliest}..{latest}: an origin needs {MIN_HISTORY_DAYS} days of history before it and its {horizon}-day horizon inside the history ({first}..{last})"
        )));
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn every_six_weeks_fits_the_horizon_and_bad_origins_are_refused() {
        let history = (d(2013, 1, 1), d(2015, 6, 19));
        assert_eq!(parse_step("6w"), Ok(42));
        assert_eq!(parse_step("10d"), Ok(10));
        assert!(parse_step("0w").is_err() && parse_step("six").is_err());
        let every = OriginSpec::Every {
            step_days: 42,
            from: d(2014, 3, 1),
        };
        let o = resolve(&every, 42, history).expect("origins");
        assert_eq!(o.first(), Some(&d(2014, 3, 1)));
        assert_eq!(o[1], d(2014, 4, 12));
        let last = *o.last().expect("one");
        assert!(last + Duration::days(41) <= history.1 && last + Duration::days(83) > history.1);
        assert_eq!(o.len(), 11);
        let late = OriginSpec::Dates(vec![d(2015, 6, 1)]);
        let e = resolve(&late, 42, history).expect_err("past the history");
        assert!(e
            .to_string()
            .contains("origin 2015-06-01 is outside 2013-02-26..2015-05-09"));
        let early = OriginSpec::Dates(vec![d(2013, 1, 20)]);
        assert!(resolve(&early, 42, history).is_err());
    }
}
